"""Topic quizzes: questions without answers for the student, grading, and what an attempt changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from learnflow.curriculum import Curriculum, QuizQuestion, TopicQuiz
from learnflow.db.models import Progress, QuizAttempt
from learnflow.errors import NotFound, Unprocessable
from learnflow.tutor import progress

# A quiz under this score raises struggle.detected (the "quiz score under 50%").
LOW_SCORE = 0.5

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


def grade(quiz: TopicQuiz, answers: dict[str, Answer]) -> QuizGrade:
    """Grade answers keyed by question id; unanswered questions count as wrong, unknown ids are refused."""
    known = {q.id for q in quiz.questions}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise Unprocessable(f"no such question in the {quiz.topic!r} quiz: {', '.join(unknown)}")
    if not answers:
        raise Unprocessable("answer at least one question")
    results = []
    for q in quiz.questions:
        given = answers.get(q.id)
        results.append(
            {
                "question_id": q.id,
                "answered": given is not None,
                "correct": is_correct(q, given),
                "expected": expected(q),
                "explanation": q.explanation,
            }
        )
    correct = sum(1 for r in results if r["correct"])
    return QuizGrade(score=round(correct / len(results), 4), correct=correct, total=len(results), results=results)


async def record(
    session: AsyncSession, *, attempt_id: str, student_id: str, topic: str, graded: QuizGrade
) -> tuple[QuizAttempt, Progress]:
    """Store the attempt and recompute the topic's mastery (idempotent per attempt id); caller commits."""
    attempt = await session.get(QuizAttempt, attempt_id)
    if attempt is None:
        attempt = QuizAttempt(
            id=attempt_id,
            student_id=student_id,
            topic=topic,
            score=graded.score,
            correct=graded.correct,
            total=graded.total,
            results=graded.results,
        )
        session.add(attempt)
        await session.flush()
    return attempt, await progress.recompute(session, student_id=student_id, topic=topic)
