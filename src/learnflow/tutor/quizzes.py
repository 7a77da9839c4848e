"""Topic quizzes: an attempt draws questions from the topic's pool, is answered once, and feeds mastery."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from learnflow.curriculum import Curriculum, QuizQuestion, TopicQuiz
from learnflow.db.models import Progress, QuizAttempt
from learnflow.errors import NotFound, Unprocessable
from learnflow.tutor import progress

# Questions drawn from the topic's pool for one attempt.
QUESTIONS_PER_ATTEMPT = 5

Answer = int | str


def quiz_for(curriculum: Curriculum, topic: str) -> TopicQuiz:
    quiz = curriculum.quizzes.get(topic)
    if quiz is None:
        if topic not in curriculum.topics:
            raise NotFound(f"topic {topic!r} does not exist; topics: {', '.join(curriculum.topics)}")
        raise NotFound(f"topic {topic!r} has no quiz yet")
    return quiz


def _normalise_output(text: str) -> str:
    # Trailing spaces and a missing final newline are invisible when typing an answer; content is not.
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").strip("\n").split("\n"))


def is_correct(question: QuizQuestion, given: Answer | None) -> bool:
    if given is None:
        return False
    if question.kind == "choice":
        assert question.answer is not None  # guaranteed by the model's validator
        if isinstance(given, bool):  # bool is an int subclass; True is not "choice 1"
            return False
        if isinstance(given, int):
            return given == question.answer
        return given.strip() == question.choices[question.answer].strip()
    assert question.output is not None
    return isinstance(given, str) and _normalise_output(given) == _normalise_output(question.output)


def expected(question: QuizQuestion) -> str:
    if question.kind == "choice":
        assert question.answer is not None
        return question.choices[question.answer]
    assert question.output is not None
    return question.output


@dataclass(frozen=True)
class QuizGrade:
    score: float
    correct: int
    total: int
    results: list[dict[str, Any]]


def draw(quiz: TopicQuiz, *, seen: dict[str, int], rng: random.Random) -> list[QuizQuestion]:
    """Pick an attempt's questions: those the student has met least often, in random order.

    With a pool larger than an attempt, retaking a quiz brings new questions before old ones come
    back, so a score cannot be reached by remembering the last attempt's answers.
    """
    pool = list(quiz.questions)
    rng.shuffle(pool)
    pool.sort(key=lambda q: seen.get(q.id, 0))  # stable: random order among equally seen questions
    return pool[:QUESTIONS_PER_ATTEMPT]


def grade(questions: list[QuizQuestion], answers: dict[str, Answer]) -> QuizGrade:
    """Grade answers keyed by question id; unanswered questions count as wrong, others are refused."""
    known = {q.id for q in questions}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise Unprocessable(
            f"not a question of this attempt: {', '.join(unknown)}; its questions: {', '.join(known)}", field="answers"
        )
    if not answers:
        raise Unprocessable("answer at least one question", field="answers")
    # A choice index has a domain: outside it the answer is a client error, not a wrong answer.
    refused = [
        {"field": f"answers.{q.id}", "message": f"choose an index from 0 to {len(q.choices) - 1} (or a choice's text)"}
        for q in questions
        if q.kind == "choice"
        and isinstance(given := answers.get(q.id), int)
        and (isinstance(given, bool) or not 0 <= given < len(q.choices))
    ]
    if refused:
        raise Unprocessable("; ".join(f"{r['field']}: {r['message']}" for r in refused), details=refused)
    results = []
    for q in questions:
        given = answers.get(q.id)
        results.append(
            {
                "question_id": q.id,
                "answered": given is not None,
                "given": given,
                "correct": is_correct(q, given),
                "expected": expected(q),
                "explanation": q.explanation,
            }
        )
    correct = sum(1 for r in results if r["correct"])
    return QuizGrade(score=round(correct / len(results), 4), correct=correct, total=len(results), results=results)


async def seen_counts(session: AsyncSession, *, student_id: str, topic: str) -> dict[str, int]:
    """How often the student has been given each question of the topic's quiz."""
    counts: dict[str, int] = {}
    rows = await session.execute(
        select(QuizAttempt.question_ids).where(QuizAttempt.student_id == student_id, QuizAttempt.topic == topic)
    )
    for (ids,) in rows:
        for question_id in ids or []:
            counts[question_id] = counts.get(question_id, 0) + 1
    return counts


async def start(
    session: AsyncSession, *, attempt_id: str, student_id: str, topic: str, questions: list[QuizQuestion]
) -> QuizAttempt:
    """Record an open attempt with its drawn questions; caller commits."""
    attempt = QuizAttempt(
        id=attempt_id,
        student_id=student_id,
        topic=topic,
        status="open",
        question_ids=[q.id for q in questions],
        score=0.0,
        correct=0,
        total=len(questions),
        results=[],
    )
    session.add(attempt)
    await session.flush()
    return attempt


def questions_of(quiz: TopicQuiz, attempt: QuizAttempt) -> list[QuizQuestion]:
    by_id = {q.id: q for q in quiz.questions}
    missing = [i for i in attempt.question_ids if i not in by_id]
    if missing:  # the curriculum changed under an open attempt
        raise Unprocessable(
            f"this attempt's questions are no longer in the quiz ({', '.join(missing)}); start a new one"
        )
    return [by_id[i] for i in attempt.question_ids]


async def record(session: AsyncSession, *, attempt: QuizAttempt, graded: QuizGrade) -> Progress:
    """Close the attempt with its grade and recompute the topic's mastery; caller commits."""
    attempt.status = "graded"
    attempt.score = graded.score
    attempt.correct = graded.correct
    attempt.total = graded.total
    attempt.results = graded.results
    attempt.graded_at = datetime.now(UTC)
    await session.flush()
    return await progress.recompute(session, student_id=attempt.student_id, topic=attempt.topic)
