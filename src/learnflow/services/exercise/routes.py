"""Exercise HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from learnflow.db.models import StruggleAlert, Student
from learnflow.errors import NotFound, Unprocessable
from learnflow.services.common import CONFLICT_RESPONSE, ERROR_RESPONSES, RuntimeDep, SessionDep
from learnflow.services.exercise import service
from learnflow.services.exercise.schemas import (
    ALERT_EXAMPLE,
    EXERCISE_EXAMPLE,
    AlertRead,
    Difficulty,
    ExerciseCreate,
    ExerciseCreated,
    ExerciseRead,
    GenerateRequest,
    ProgressRead,
    QuizAnswers,
    QuizAttemptRead,
    QuizInfo,
    QuizRead,
    QuizStart,
    SubmissionCreate,
    SubmissionRead,
    TopicProgress,
)
from learnflow.tutor import exercises, progress

router = APIRouter(prefix="/api", tags=["exercise"], responses=ERROR_RESPONSES)


@router.get(
    "/exercises",
    response_model=list[ExerciseRead],
    responses={200: {"content": {"application/json": {"example": [EXERCISE_EXAMPLE]}}}},
)
async def list_exercises(
    session: SessionDep, runtime: RuntimeDep, topic: str | None = None, difficulty: Difficulty | None = None
) -> list[ExerciseRead]:
    """List exercises, optionally by topic and difficulty."""
    if topic is not None:
        _known_topic(runtime, topic, field="query.topic")
    return [service.read(e) for e in await exercises.list_(session, topic=topic, difficulty=difficulty)]


@router.get("/exercises/{exercise_id}", response_model=ExerciseRead)
async def get_exercise(exercise_id: str, session: SessionDep) -> ExerciseRead:
    """One exercise, without its solution or hidden tests."""
    return service.read(await exercises.get(session, exercise_id=exercise_id))


@router.post("/exercises/generate", response_model=ExerciseRead)
async def generate(body: GenerateRequest, runtime: RuntimeDep) -> ExerciseRead:
    """Assign the student an exercise that fits their progress (or the asked topic and difficulty)."""
    exercise = await service.generate(runtime, student_id=body.student_id, topic=body.topic, difficulty=body.difficulty)
    return service.read(exercise)


@router.post("/exercises", response_model=ExerciseCreated, status_code=201)
async def create_exercise(body: ExerciseCreate, runtime: RuntimeDep) -> ExerciseCreated:
    """Add a teacher-authored exercise; rejected unless its solution passes its tests and the starter does not.

    ``warnings`` lists changed versions of the solution (single-fault mutants) that still pass every test.
    """
    _known_topic(runtime, body.topic, field="topic")
    data = exercises.NewExercise(
        title=body.title,
        topic=body.topic,
        difficulty=body.difficulty,
        description=body.description,
        starter_code=body.starter_code,
        solution=body.solution,
        tests=body.tests or "",
        io_tests=body.io_tests or [],
        hints=body.hints,
    )
    async with runtime.unit_of_work() as work:
        exercise, warnings = await exercises.create(
            work.session, grader=runtime.grader, data=data, exercise_id="t-" + service.new_id(), runner=runtime.sandbox
        )
    return ExerciseCreated(**service.read(exercise).model_dump(), warnings=warnings)


@router.post("/exercises/{exercise_id}/submissions", response_model=SubmissionRead)
async def submit(exercise_id: str, body: SubmissionCreate, runtime: RuntimeDep) -> SubmissionRead:
    """Grade a submission against all of the exercise's tests, visible and hidden."""
    return await service.submit(
        runtime,
        exercise_id=exercise_id,
        student_id=body.student_id,
        code=body.code,
        submission_id=service.new_id(),
    )


@router.get("/quizzes/{topic}", response_model=QuizInfo)
async def quiz_info(topic: str, runtime: RuntimeDep) -> QuizInfo:
    """The topic's quiz: its pool of questions and how many an attempt draws."""
    _known_topic(runtime, topic, field="path.topic")
    return service.quiz_info(runtime, topic)


@router.post("/quizzes/{topic}/attempts", response_model=QuizRead, status_code=201)
async def start_quiz(topic: str, body: QuizStart, runtime: RuntimeDep) -> QuizRead:
    """Start an attempt: questions drawn from the pool (those the student has met least), without answers."""
    _known_topic(runtime, topic, field="path.topic")
    return await service.start_quiz(runtime, topic=topic, student_id=body.student_id, attempt_id=service.new_id())


@router.post("/quizzes/attempts/{attempt_id}/answers", response_model=QuizAttemptRead, responses=CONFLICT_RESPONSE)
async def answer_quiz(attempt_id: str, body: QuizAnswers, runtime: RuntimeDep) -> QuizAttemptRead:
    """Grade an attempt once: the score counts 30% of the topic's mastery; under 50% alerts teachers."""
    return await service.answer_quiz(runtime, attempt_id=attempt_id, answers=body.answers)


@router.get("/students/{student_id}/progress", response_model=ProgressRead)
async def student_progress(student_id: str, runtime: RuntimeDep, session: SessionDep) -> ProgressRead:
    """Mastery per topic and overall (the mean over every curriculum topic)."""
    if await session.get(Student, student_id) is None:
        raise NotFound(f"student {student_id!r} does not exist")
    overall, rows = await progress.overview(session, student_id=student_id, curriculum=runtime.curriculum)
    return ProgressRead(
        student_id=student_id,
        overall=overall,
        topics=[
            TopicProgress(
                topic=r.topic,
                mastery=r.mastery,
                # level is a str column: pydantic checks it against the Literal.
                level=r.level,  # type: ignore[arg-type]
                completion=r.completion,
                quiz=r.quiz,
                quality=r.quality,
                consistency=r.consistency,
            )
            for r in rows
        ],
    )


@router.get(
    "/alerts",
    response_model=list[AlertRead],
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": [
                        ALERT_EXAMPLE,
                        # Not a `topic: null` alert: the schema generator drops nulls from examples.
                        {
                            "alert_id": "5b2f0c1e-8d3a-5f47-9e61-2a7c4b9d0e13",
                            "student_id": "student-42",
                            "topic": "for-loops",
                            "reason": "failed_submissions",
                            "details": "3 failed submissions in a row on exercise 'for-loops-1-sum-evens'.",
                            "resolved": True,
                            "created_at": "2026-01-31T09:12:47.310554Z",
                        },
                    ]
                }
            }
        }
    },
)
async def alerts(
    session: SessionDep,
    resolved: bool | None = None,
    student_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlertRead]:
    """Struggle alerts for teachers, newest first."""
    stmt = select(StruggleAlert).order_by(StruggleAlert.created_at.desc()).limit(limit)
    if resolved is not None:
        stmt = stmt.where(StruggleAlert.resolved == resolved)
    if student_id:
        stmt = stmt.where(StruggleAlert.student_id == student_id)
    return [_alert(a) for a in (await session.execute(stmt)).scalars()]


@router.post("/alerts/{alert_id}/resolve", response_model=AlertRead)
async def resolve_alert(alert_id: str, runtime: RuntimeDep) -> AlertRead:
    """Mark an alert as handled."""
    async with runtime.unit_of_work() as work:
        alert = await work.session.get(StruggleAlert, alert_id)
        if alert is None:
            raise NotFound(f"alert {alert_id!r} does not exist")
        if not alert.resolved:
            alert.resolved = True
            alert.resolved_at = datetime.now(UTC)
    return _alert(alert)


def _known_topic(runtime: RuntimeDep, topic: str, *, field: str) -> None:
    # An unknown topic is a client error wherever it appears (path, query or body): one status, one code.
    if topic not in runtime.curriculum.topics:
        topics = ", ".join(runtime.curriculum.topics)
        raise Unprocessable(f"unknown topic {topic!r}; topics: {topics}", field=field)


def _alert(a: StruggleAlert) -> AlertRead:
    return AlertRead(
        alert_id=a.id,
        student_id=a.student_id,
        topic=a.topic,
        reason=a.reason,
        details=a.details,
        resolved=a.resolved,
        created_at=a.created_at,
    )
