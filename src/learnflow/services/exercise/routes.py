"""Exercise HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from learnflow.auth import classes
from learnflow.auth.access import EVERYONE, STAFF, CallerDep, allow, check_acting_as
from learnflow.auth.identity import Role
from learnflow.db.models import QuizAttempt, StruggleAlert
from learnflow.errors import NotFound, Unprocessable
from learnflow.events.payloads import TestOutcome
from learnflow.services.common import CONFLICT_RESPONSE, ERROR_RESPONSES, RuntimeDep, SessionDep
from learnflow.services.exercise import service
from learnflow.services.exercise.schemas import (
    ALERT_EXAMPLE,
    EXERCISE_EXAMPLE,
    STUDENT_SUBMISSION_EXAMPLE,
    AlertRead,
    CurriculumRead,
    Difficulty,
    ExerciseCreate,
    ExerciseCreated,
    ExerciseRead,
    GenerateRequest,
    HistoryPoint,
    ModuleOutline,
    ProgressHistoryRead,
    ProgressRead,
    QuizAnswers,
    QuizAttemptRead,
    QuizInfo,
    QuizRead,
    QuizStart,
    StudentSubmissionRead,
    SubmissionCreate,
    SubmissionRead,
    TopicOutline,
    TopicProgress,
)
from learnflow.tutor import exercises, progress, studentwork

router = APIRouter(prefix="/api", tags=["exercise"], responses=ERROR_RESPONSES)


@router.get(
    "/exercises",
    dependencies=[allow(*EVERYONE)],
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


@router.get("/exercises/{exercise_id}", response_model=ExerciseRead, dependencies=[allow(*EVERYONE)])
async def get_exercise(exercise_id: str, session: SessionDep) -> ExerciseRead:
    """One exercise, without its solution or hidden tests."""
    return service.read(await exercises.get(session, exercise_id=exercise_id))


@router.post("/exercises/generate", response_model=ExerciseRead, dependencies=[allow(Role.student)])
async def generate(body: GenerateRequest, runtime: RuntimeDep, caller: CallerDep) -> ExerciseRead:
    """Assign the student an exercise that fits their progress (or the asked topic and difficulty)."""
    check_acting_as(caller, body.student_id)
    exercise = await service.generate(runtime, student_id=body.student_id, topic=body.topic, difficulty=body.difficulty)
    return service.read(exercise)


@router.post("/exercises", response_model=ExerciseCreated, status_code=201, dependencies=[allow(*STAFF)])
async def create_exercise(body: ExerciseCreate, runtime: RuntimeDep, caller: CallerDep) -> ExerciseCreated:
    """Add a teacher-authored exercise; rejected unless its solution passes its tests and the starter does not.

    ``warnings`` lists changed versions of the solution (single-fault mutants) that still pass every test.
    Only teachers and admins author; their own submissions to it never count towards their progress.
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
            work.session,
            grader=runtime.grader,
            data=data,
            exercise_id="t-" + service.new_id(),
            runner=runtime.sandbox,
            author_id=caller.id if caller.authenticated else None,
        )
    return ExerciseCreated(**service.read(exercise).model_dump(), warnings=warnings)


@router.post("/exercises/{exercise_id}/submissions", response_model=SubmissionRead, dependencies=[allow(Role.student)])
async def submit(exercise_id: str, body: SubmissionCreate, runtime: RuntimeDep, caller: CallerDep) -> SubmissionRead:
    """Grade a submission against all of the exercise's tests, visible and hidden."""
    # The submission, the grade and progress events all carry this id: checked here, at the edge.
    check_acting_as(caller, body.student_id)
    return await service.submit(
        runtime,
        exercise_id=exercise_id,
        student_id=body.student_id,
        code=body.code,
        submission_id=service.new_id(),
    )


@router.get("/curriculum", response_model=CurriculumRead, dependencies=[allow(*EVERYONE)])
async def curriculum(runtime: RuntimeDep) -> CurriculumRead:
    """The modules in teaching order and their topics (no explanations): what exercises are browsed by."""
    return CurriculumRead(
        modules=[
            ModuleOutline(
                module=m.module,
                title=m.title,
                order=m.order,
                topics=[TopicOutline(topic=t.id, title=t.title, summary=t.summary) for t in m.topics],
            )
            for m in runtime.curriculum.modules
        ]
    )


@router.get("/quizzes/{topic}", response_model=QuizInfo, dependencies=[allow(*EVERYONE)])
async def quiz_info(topic: str, runtime: RuntimeDep) -> QuizInfo:
    """The topic's quiz: its pool of questions and how many an attempt draws."""
    _known_topic(runtime, topic, field="path.topic")
    return service.quiz_info(runtime, topic)


@router.post("/quizzes/{topic}/attempts", response_model=QuizRead, status_code=201, dependencies=[allow(Role.student)])
async def start_quiz(topic: str, body: QuizStart, runtime: RuntimeDep, caller: CallerDep) -> QuizRead:
    """Start an attempt: questions drawn from the pool (those the student has met least), without answers."""
    check_acting_as(caller, body.student_id)
    _known_topic(runtime, topic, field="path.topic")
    return await service.start_quiz(runtime, topic=topic, student_id=body.student_id, attempt_id=service.new_id())


@router.post(
    "/quizzes/attempts/{attempt_id}/answers",
    response_model=QuizAttemptRead,
    responses=CONFLICT_RESPONSE,
    dependencies=[allow(Role.student)],
)
async def answer_quiz(attempt_id: str, body: QuizAnswers, runtime: RuntimeDep, caller: CallerDep) -> QuizAttemptRead:
    """Grade an attempt once: the score counts 30% of the topic's mastery; under 50% alerts teachers."""
    async with runtime.reading() as session:
        attempt = await session.get(QuizAttempt, attempt_id)
    if attempt is not None:
        # Only the student the attempt was drawn for answers it: the grade counts towards their mastery.
        check_acting_as(caller, attempt.student_id)
    return await service.answer_quiz(runtime, attempt_id=attempt_id, answers=body.answers)


@router.get("/students/{student_id}/progress", response_model=ProgressRead, dependencies=[allow(*EVERYONE)])
async def student_progress(
    student_id: str, runtime: RuntimeDep, session: SessionDep, caller: CallerDep
) -> ProgressRead:
    """Mastery per topic and overall (the mean over every curriculum topic): the student, their teachers, admins."""
    await classes.check_known_student(session, caller, student_id)
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
    "/students/{student_id}/progress/history", response_model=ProgressHistoryRead, dependencies=[allow(*EVERYONE)]
)
async def student_progress_history(
    student_id: str,
    session: SessionDep,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> ProgressHistoryRead:
    """Mastery over time, recomputed after each of the latest graded submissions and quizzes (oldest first)."""
    await classes.check_known_student(session, caller, student_id)
    points = await progress.history(session, student_id=student_id, limit=limit)
    return ProgressHistoryRead(
        student_id=student_id, points=[HistoryPoint(at=p.at, topic=p.topic, mastery=p.mastery) for p in points]
    )


@router.get(
    "/students/{student_id}/submissions",
    response_model=list[StudentSubmissionRead],
    dependencies=[allow(*EVERYONE)],
    responses={200: {"content": {"application/json": {"example": [STUDENT_SUBMISSION_EXAMPLE]}}}},
)
async def student_submissions(
    student_id: str,
    session: SessionDep,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[StudentSubmissionRead]:
    """The student's submissions with their results, newest first: the student, their teachers, admins."""
    await classes.check_known_student(session, caller, student_id)
    return [
        StudentSubmissionRead(
            submission_id=g.submission.id,
            exercise_id=g.submission.exercise_id,
            title=g.title,
            passed=g.submission.passed,
            score=g.submission.score,
            tests=[TestOutcome.model_validate(t) for t in g.visible],
            hidden_passed=g.hidden_passed,
            hidden_total=g.hidden_total,
            code=g.submission.code,
            created_at=g.submission.created_at,
        )
        for g in await studentwork.submissions(session, student_id=student_id, limit=limit)
    ]


@router.get(
    "/alerts",
    dependencies=[allow(*STAFF)],
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
    caller: CallerDep,
    resolved: bool | None = None,
    student_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlertRead]:
    """Struggle alerts, newest first: a teacher's are those of their classes' students; an admin's, everyone's."""
    stmt = select(StruggleAlert).order_by(StruggleAlert.created_at.desc()).limit(limit)
    if student_id:
        await classes.check_student_data(session, caller, student_id)
    elif caller.authenticated and caller.role is Role.teacher:
        stmt = stmt.where(StruggleAlert.student_id.in_(await classes.students_of(session, teacher_id=caller.id)))
    if resolved is not None:
        stmt = stmt.where(StruggleAlert.resolved == resolved)
    if student_id:
        stmt = stmt.where(StruggleAlert.student_id == student_id)
    return [
        _alert(a, recent_code=await studentwork.recent_code(session, alert=a))
        for a in (await session.execute(stmt)).scalars()
    ]


@router.post("/alerts/{alert_id}/resolve", response_model=AlertRead, dependencies=[allow(*STAFF)])
async def resolve_alert(alert_id: str, runtime: RuntimeDep, caller: CallerDep) -> AlertRead:
    """Mark an alert as handled (a teacher: only alerts about students in their classes)."""
    async with runtime.unit_of_work() as work:
        alert = await work.session.get(StruggleAlert, alert_id)
        if alert is None:
            raise NotFound(f"alert {alert_id!r} does not exist")
        await classes.check_student_data(work.session, caller, alert.student_id)
        if not alert.resolved:
            alert.resolved = True
            alert.resolved_at = datetime.now(UTC)
        code = await studentwork.recent_code(work.session, alert=alert)
    return _alert(alert, recent_code=code)


def _known_topic(runtime: RuntimeDep, topic: str, *, field: str) -> None:
    # An unknown topic is a client error wherever it appears (path, query or body): one status, one code.
    if topic not in runtime.curriculum.topics:
        topics = ", ".join(runtime.curriculum.topics)
        raise Unprocessable(f"unknown topic {topic!r}; topics: {topics}", field=field)


def _alert(a: StruggleAlert, *, recent_code: str | None) -> AlertRead:
    return AlertRead(
        alert_id=a.id,
        student_id=a.student_id,
        topic=a.topic,
        reason=a.reason,
        details=a.details,
        resolved=a.resolved,
        created_at=a.created_at,
        recent_code=recent_code,
    )
