"""Exercise logic shared by the HTTP routes and the event handlers."""

from __future__ import annotations

import logging
import random
import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from learnflow.bus import Outcome
from learnflow.db.models import Assignment, Exercise, Progress, QuizAttempt
from learnflow.errors import Conflict, NotFound
from learnflow.events import (
    CloudEvent,
    ExerciseAssigned,
    ExerciseGraded,
    ExerciseSubmitted,
    LearningQuery,
    ProgressUpdated,
    StruggleDetected,
    Topic,
)
from learnflow.events.payloads import TestOutcome
from learnflow.runtime import Runtime, derived_id
from learnflow.sandbox import SandboxUnavailable, queued_as_student
from learnflow.services import budget, render, struggle
from learnflow.services.answers import reply
from learnflow.services.exercise.schemas import (
    CodeQuality,
    ExerciseRead,
    QuizAttemptRead,
    QuizInfo,
    QuizQuestionRead,
    QuizRead,
    SubmissionRead,
)
from learnflow.tutor import exercises, progress, queries, quizzes

log = logging.getLogger(__name__)

_HARDER = re.compile(r"\b(harder|more difficult|tougher|advanced|challenging)\b", re.I)
_EASIER = re.compile(r"\b(easier|simpler|more basic)\b", re.I)
_STEPS = ["beginner", "intermediate", "advanced"]
_QUIZ = re.compile(r"\b(quiz(zes)?|quizz?ed|test me|test my knowledge)\b", re.I)


def read(ex: Exercise) -> ExerciseRead:
    return ExerciseRead(
        exercise_id=ex.id,
        title=ex.title,
        topic=ex.topic,
        # difficulty and author are str columns: pydantic checks them against their Literals.
        difficulty=ex.difficulty,  # type: ignore[arg-type]
        description=ex.description,
        starter_code=ex.starter_code,
        visible_tests=ex.visible_tests,
        hints=list(ex.hints or []),
        author=ex.author,  # type: ignore[arg-type]
    )


@queued_as_student
async def generate(
    rt: Runtime, *, student_id: str, topic: str | None, difficulty: str | None, cause_id: str | None = None
) -> Exercise:
    """Choose, record and announce the student's next exercise.

    The bank comes first, without repeats. Once the student has had every fitting bank exercise, an
    LLM (when configured, within the student's budget) may write a new one; it is used only if the
    sandbox shows its solution passing its tests and its starter failing, else the bank repeats.
    """
    async with rt.unit_of_work() as work:
        session = work.session
        exercise, repeat = await exercises.choose(
            session, curriculum=rt.curriculum, student_id=student_id, topic=topic, difficulty=difficulty
        )
        proposed = None
        if repeat and rt.ai.is_llm:
            used = [e.title for e in await exercises.list_(session, topic=exercise.topic)]
            ai = await budget.ai_for(rt, student_id=student_id, agent="exercise")
            proposed = await exercises.propose_with_llm(
                ai,
                grader=rt.grader,
                curriculum=rt.curriculum,
                topic=exercise.topic,
                difficulty=difficulty or exercise.difficulty,
                used_titles=used,
            )
        # Writes only after the slow part: on SQLite the first write takes the one writer's lock.
        await queries.ensure_student(session, student_id=student_id)
        if proposed is not None:
            exercise = exercises.store(session, data=proposed, exercise_id="llm-" + new_id(), author="llm")
            await session.flush()  # the assignment's foreign key needs the row first
        assignment = await exercises.assign(session, student_id=student_id, exercise=exercise)
        event = ExerciseAssigned(
            exercise_id=exercise.id,
            student_id=student_id,
            topic=exercise.topic,
            # difficulty is a str column: pydantic checks it against the Literal.
            difficulty=exercise.difficulty,  # type: ignore[arg-type]
            assigned_at=assignment.assigned_at or datetime.now(UTC),
        )
        await rt.publish(
            Topic.EXERCISE_ASSIGNED,
            event,
            subject=student_id,
            event_id=derived_id(cause_id, "assigned") if cause_id else None,
        )
    return exercise


@queued_as_student
async def submit(rt: Runtime, *, exercise_id: str, student_id: str, code: str, submission_id: str) -> SubmissionRead:
    """Grade a submission and publish the grade, the progress and any struggle it shows."""
    async with rt.unit_of_work() as work:
        session = work.session
        exercise = await exercises.get(session, exercise_id=exercise_id)
        graded = await exercises.grade_submission(
            session,
            grader=rt.grader,
            exercise=exercise,
            submission_id=submission_id,
            student_id=student_id,
            code=code,
        )
        overall, _ = await progress.overview(session, student_id=student_id, curriculum=rt.curriculum)
        sub = graded.submission
        tests = [TestOutcome.model_validate(t) for t in sub.results]
        await rt.publish(
            Topic.EXERCISE_GRADED,
            ExerciseGraded(
                submission_id=sub.id,
                exercise_id=exercise.id,
                student_id=student_id,
                topic=exercise.topic,
                passed=sub.passed,
                score=sub.score,
                tests=tests,
                feedback=sub.feedback,
                quality=sub.quality,
            ),
            subject=student_id,
            event_id=derived_id(sub.id, "graded"),
        )
        await rt.publish(
            Topic.PROGRESS_UPDATED,
            ProgressUpdated(
                student_id=student_id,
                topic=exercise.topic,
                mastery=graded.progress.mastery,
                # level is a str column: pydantic checks it against the Literal.
                level=graded.progress.level,  # type: ignore[arg-type]
                overall=overall,
            ),
            subject=student_id,
            event_id=derived_id(sub.id, "progress"),
        )
        seen = struggle.SubmissionGraded(sub.id, student_id, exercise.id, exercise.topic, sub.passed, datetime.now(UTC))
        await struggle.check(rt, seen, session=session)
    return SubmissionRead(
        submission_id=sub.id,
        exercise_id=exercise.id,
        passed=sub.passed,
        score=sub.score,
        tests=tests,
        feedback=sub.feedback,
        quality=CodeQuality(score=sub.quality, findings=sub.quality_findings) if sub.quality is not None else None,
    )


async def flag_stuck(rt: Runtime, *, now: datetime | None = None) -> int:
    """Alert on students still failing an exercise long after it was assigned; return how many alerts.

    Runs on a schedule: a student can be stuck between submissions (a failed submission checks too).
    """
    return len(await struggle.check(rt, struggle.Sweep(now or datetime.now(UTC))))


async def _last_assignment(rt: Runtime, student_id: str) -> Exercise | None:
    async with rt.reading() as session:
        row = (
            await session.execute(
                select(Exercise)
                .join(Assignment, Assignment.exercise_id == Exercise.id)
                .where(Assignment.student_id == student_id)
                .order_by(Assignment.assigned_at.desc(), Assignment.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
    return row


async def on_query(rt: Runtime, event: CloudEvent[LearningQuery]) -> Outcome:
    """Answer an exercise request: check attached code against the current exercise, or assign one."""
    q = event.data
    last = await _last_assignment(rt, q.student_id)
    if q.code and q.code.strip() and last is not None:
        result = await submit(
            rt,
            exercise_id=last.id,
            student_id=q.student_id,
            code=q.code,
            submission_id=derived_id(event.id, "submission"),
        )
        content = render.graded(last.title, result)
        data = result.model_dump(mode="json")
    elif _QUIZ.search(q.query) and (
        quiz_topic := q.topic
        or (t.id if (t := rt.curriculum.best_topic(q.query)) else None)
        or (last.topic if last else None)
        or await _weakest_topic(rt, q.student_id)
    ):
        found = await start_quiz(rt, topic=quiz_topic, student_id=q.student_id, attempt_id=derived_id(event.id, "quiz"))
        content = render.quiz(found)
        data = found.model_dump(mode="json")
    else:
        topic = q.topic or (t.id if (t := rt.curriculum.best_topic(q.query)) else None)
        difficulty = None
        if last is not None and (
            _HARDER.search(q.query)
            or _EASIER.search(q.query)
            or re.search(r"\b(another|next|same|like the last)\b", q.query, re.I)
        ):
            topic = topic or last.topic
            step = _STEPS.index(last.difficulty) if last.difficulty in _STEPS else 0
            if _HARDER.search(q.query):
                step = min(step + 1, 2)
            elif _EASIER.search(q.query):
                step = max(step - 1, 0)
            difficulty = _STEPS[step]
        try:
            exercise = await generate(
                rt, student_id=q.student_id, topic=topic, difficulty=difficulty, cause_id=event.id
            )
        except NotFound:
            exercise = await generate(rt, student_id=q.student_id, topic=topic, difficulty=None, cause_id=event.id)
        content = render.exercise(exercise)
        data = read(exercise).model_dump(mode="json")
    return await reply(rt, event, agent="exercise", content=content, data=data, source="offline")


async def _weakest_topic(rt: Runtime, student_id: str) -> str:
    """The first curriculum topic the student has not yet reached Proficient in."""
    async with rt.reading() as session:
        _, rows = await progress.overview(session, student_id=student_id, curriculum=rt.curriculum)
    strong = {r.topic for r in rows if r.level in ("Proficient", "Mastered")}
    return next((t for t in rt.curriculum.topics if t not in strong), next(iter(rt.curriculum.topics)))


async def on_submitted(rt: Runtime, event: CloudEvent[ExerciseSubmitted]) -> Outcome:
    s = event.data
    try:
        await submit(rt, exercise_id=s.exercise_id, student_id=s.student_id, code=s.code, submission_id=s.submission_id)
    except NotFound:
        return Outcome.DROP  # no such exercise: retrying cannot help
    except SandboxUnavailable as exc:
        # No isolation on this server: no later attempt could grade it either (a busy queue still retries).
        log.warning("submission %s not graded: %s", s.submission_id, exc.message)
        return Outcome.DROP
    return Outcome.DONE


async def on_struggle(rt: Runtime, event: CloudEvent[StruggleDetected]) -> Outcome:
    s = event.data
    async with rt.unit_of_work() as work:
        session = work.session
        await queries.ensure_student(session, student_id=s.student_id)
        await progress.record_alert(
            session,
            alert_id=s.alert_id,
            student_id=s.student_id,
            topic=s.topic,
            reason=s.reason,
            details=s.details,
        )
    return Outcome.DONE


def quiz_info(rt: Runtime, topic: str) -> QuizInfo:
    found = quizzes.quiz_for(rt.curriculum, topic)
    return QuizInfo(
        topic=topic,
        title=rt.curriculum.topics[topic].title,
        pool_size=len(found.questions),
        questions_per_attempt=min(quizzes.QUESTIONS_PER_ATTEMPT, len(found.questions)),
    )


async def start_quiz(rt: Runtime, *, topic: str, student_id: str, attempt_id: str) -> QuizRead:
    """Open an attempt: draw the questions the student has met least, without their answers."""
    found = quizzes.quiz_for(rt.curriculum, topic)
    async with rt.unit_of_work() as work:
        session = work.session
        existing = await session.get(QuizAttempt, attempt_id)
        if existing is not None:  # the same request again (a redelivered query): the same questions
            drawn = quizzes.questions_of(found, existing)
        else:
            await queries.ensure_student(session, student_id=student_id)
            seen = await quizzes.seen_counts(session, student_id=student_id, topic=topic)
            drawn = quizzes.draw(found, seen=seen, rng=random.Random())
            await quizzes.start(session, attempt_id=attempt_id, student_id=student_id, topic=topic, questions=drawn)
    return QuizRead(
        attempt_id=attempt_id,
        topic=topic,
        title=rt.curriculum.topics[topic].title,
        questions=[
            QuizQuestionRead(question_id=q.id, kind=q.kind, prompt=q.prompt, code=q.code, choices=q.choices)
            for q in drawn
        ],
    )


async def answer_quiz(rt: Runtime, *, attempt_id: str, answers: dict[str, int | str]) -> QuizAttemptRead:
    """Grade an open attempt once, update mastery, and alert teachers when the score is under 50%.

    Sending the same answers again returns the same result (a retried request); different answers
    to an attempt already graded are refused.
    """
    async with rt.unit_of_work() as work:
        session = work.session
        attempt = await session.get(QuizAttempt, attempt_id)
        if attempt is None:
            raise NotFound(f"quiz attempt {attempt_id!r} does not exist")
        if attempt.status == "graded":
            given = {r["question_id"]: r.get("given") for r in attempt.results if r.get("answered")}
            if given != answers:
                raise Conflict(f"quiz attempt {attempt_id!r} was already answered; start a new attempt")
            # Grading the attempt stored the progress; a retried request only reads it.
            stored = await session.get(Progress, (attempt.student_id, attempt.topic)) or await progress.recompute(
                session, student_id=attempt.student_id, topic=attempt.topic
            )
            return _attempt_read(attempt, stored, low=attempt.score < rt.settings.struggle.low_quiz_score)
        found = quizzes.quiz_for(rt.curriculum, attempt.topic)
        graded = quizzes.grade(quizzes.questions_of(found, attempt), answers)
        topic_progress = await quizzes.record(session, attempt=attempt, graded=graded)
        student_id, topic = attempt.student_id, attempt.topic
        overall, _ = await progress.overview(session, student_id=student_id, curriculum=rt.curriculum)
        # One transaction: the grade is stored if and only if its events are sent.
        await rt.publish(
            Topic.PROGRESS_UPDATED,
            ProgressUpdated(
                student_id=student_id,
                topic=topic,
                mastery=topic_progress.mastery,
                # level is a str column: pydantic checks it against the Literal.
                level=topic_progress.level,  # type: ignore[arg-type]
                overall=overall,
            ),
            subject=student_id,
            event_id=derived_id(attempt.id, "progress"),
            session=session,
        )
        seen = struggle.QuizGraded(attempt.id, student_id, topic, graded.correct, graded.total, graded.score)
        low = bool(await struggle.check(rt, seen, session=session))
    return _attempt_read(attempt, topic_progress, low=low)


def _attempt_read(attempt: QuizAttempt, topic_progress: Progress, *, low: bool) -> QuizAttemptRead:
    return QuizAttemptRead(
        attempt_id=attempt.id,
        topic=attempt.topic,
        score=attempt.score,
        correct=attempt.correct,
        total=attempt.total,
        results=attempt.results,
        mastery=topic_progress.mastery,
        # level is a str column: pydantic checks it against the Literal.
        level=topic_progress.level,  # type: ignore[arg-type]
        struggle_detected=low,
    )


def new_id() -> str:
    return str(uuid.uuid4())
