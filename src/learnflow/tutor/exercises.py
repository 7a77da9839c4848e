"""Exercises: the bank, assignment, teacher-authored exercises and grading submissions."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from learnflow.ai import AIProvider, AIUnavailable
from learnflow.curriculum import Curriculum
from learnflow.db.models import Assignment, Exercise, Progress, StruggleAlert, Submission
from learnflow.errors import NotFound, Unprocessable
from learnflow.sandbox import CodeRunner
from learnflow.sandbox.grading import GradeReport, GradesCode, IOCase, test_names
from learnflow.tutor import bankcheck, quality, queries
from learnflow.tutor import progress as progress_service
from learnflow.tutor.prompts import EXERCISE_SYSTEM, fence
from learnflow.tutor.schemas import LLMExercise

log = logging.getLogger(__name__)

_DIFFICULTY_FOR_LEVEL = {
    "Beginner": "beginner",
    "Learning": "intermediate",
    "Proficient": "advanced",
    "Mastered": "advanced",
}
# Each mutant is one sandbox grading: this many keeps a teacher's request within seconds.
TEACHER_MUTANTS = 24


def all_tests(exercise: Exercise) -> str:
    return (exercise.visible_tests or "") + "\n\n" + (exercise.hidden_tests or "")


def io_cases(exercise: Exercise) -> list[IOCase]:
    return [IOCase.model_validate(c) for c in exercise.io_tests or []]


async def sync_bank(session: AsyncSession, *, curriculum: Curriculum) -> int:
    """Stage the packaged bank into the exercises table (new and changed ones); return how many changed."""
    existing = {
        e.id: e for e in (await session.execute(select(Exercise).where(Exercise.author == "curriculum"))).scalars()
    }
    changed = 0
    for ex in curriculum.exercises.values():
        values: dict[str, Any] = {
            "title": ex.title,
            "topic": ex.topic,
            "difficulty": str(ex.difficulty),
            "description": ex.description,
            "starter_code": ex.starter_code,
            "solution": ex.solution,
            "visible_tests": ex.visible_tests,
            "hidden_tests": ex.hidden_tests,
            "io_tests": [c.model_dump() for c in ex.io_tests],
            "hints": list(ex.hints),
            "author": "curriculum",
        }
        row = existing.get(ex.id)
        if row is None:
            session.add(Exercise(id=ex.id, **values))
            changed += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            changed += 1
    return changed


async def get(session: AsyncSession, *, exercise_id: str) -> Exercise:
    """Return one exercise or raise NotFound."""
    exercise = await session.get(Exercise, exercise_id)
    if exercise is None:
        raise NotFound(f"exercise {exercise_id!r} does not exist")
    return exercise


async def list_(session: AsyncSession, *, topic: str | None = None, difficulty: str | None = None) -> list[Exercise]:
    """List exercises, optionally by topic and difficulty."""
    stmt = select(Exercise).order_by(Exercise.topic, Exercise.difficulty, Exercise.id)
    if topic:
        stmt = stmt.where(Exercise.topic == topic)
    if difficulty:
        stmt = stmt.where(Exercise.difficulty == difficulty)
    return list((await session.execute(stmt)).scalars())


@dataclass
class NewExercise:
    title: str
    topic: str
    difficulty: str
    description: str
    starter_code: str
    solution: str
    tests: str
    io_tests: list[IOCase]
    hints: list[str]


async def validate(grader: GradesCode, data: NewExercise) -> GradeReport:
    """Check an exercise: its tests parse, its solution passes all of them and its starter does not."""
    if not data.tests.strip() and not data.io_tests:
        raise Unprocessable("an exercise needs `tests` or `io_tests`", field="tests")
    if data.tests.strip():
        try:
            names = test_names(data.tests)
        except SyntaxError as exc:
            raise Unprocessable(f"`tests` is not valid Python: {exc.msg} (line {exc.lineno})", field="tests") from exc
        if not names:
            raise Unprocessable("`tests` defines no top-level `test_*` function", field="tests")
        if len(names) != len(set(names)):
            raise Unprocessable("`tests` defines the same test name twice", field="tests")
    report = await grader.grade(code=data.solution, tests=data.tests, io_tests=data.io_tests)
    if not report.passed:
        failing = "; ".join(f"{t.name}: {t.message}" for t in report.tests if not t.passed)
        raise Unprocessable(f"the solution does not pass its own tests: {failing}"[:2000], field="solution")
    starter = await grader.grade(code=data.starter_code, tests=data.tests, io_tests=data.io_tests)
    if starter.passed:
        raise Unprocessable(
            "the starter code already passes every test; it must leave work to do", field="starter_code"
        )
    return report


async def weak_spots(
    grader: GradesCode, data: NewExercise, *, runner: CodeRunner | None, limit: int = TEACHER_MUTANTS
) -> list[str]:
    """Warnings (never errors) naming changed versions of a validated solution that pass every test."""
    checked = bankcheck.CheckedExercise("new", data.solution, data.tests, "", tuple(data.io_tests))
    report = await bankcheck.mutation_check(checked, grader, runner=runner, limit=limit)
    return bankcheck.survivor_warnings(report)


async def create(
    session: AsyncSession,
    *,
    grader: GradesCode,
    data: NewExercise,
    exercise_id: str,
    runner: CodeRunner | None = None,
    mutants: int = TEACHER_MUTANTS,
    author_id: str | None = None,
) -> tuple[Exercise, list[str]]:
    """Validate and stage a teacher-authored exercise; return it with warnings about weak tests.

    ``mutants`` caps the mutation check (0 skips it). ``author_id`` is the signed-in author's account:
    their own submissions to the exercise never count towards their progress.
    """
    await validate(grader, data)
    warnings = await weak_spots(grader, data, runner=runner, limit=mutants) if mutants > 0 else []
    exercise = store(session, data=data, exercise_id=exercise_id, author="teacher", author_id=author_id)
    return exercise, warnings


def store(
    session: AsyncSession, *, data: NewExercise, exercise_id: str, author: str, author_id: str | None = None
) -> Exercise:
    """Add an already validated exercise; caller commits."""
    exercise = Exercise(
        id=exercise_id,
        title=data.title,
        topic=data.topic,
        difficulty=data.difficulty,
        description=data.description,
        starter_code=data.starter_code,
        solution=data.solution,
        visible_tests=data.tests,
        hidden_tests="",
        io_tests=[c.model_dump() for c in data.io_tests],
        hints=data.hints,
        author=author,
        author_id=author_id,
    )
    session.add(exercise)
    return exercise


async def choose(
    session: AsyncSession,
    *,
    curriculum: Curriculum,
    student_id: str,
    topic: str | None,
    difficulty: str | None,
) -> tuple[Exercise, bool]:
    """Pick the next exercise: the asked topic (else the first not yet mastered), at the student's level.

    Returns the exercise and whether the student already had it (the fitting bank is used up).
    """
    levels = {
        p.topic: p.level
        for p in (await session.execute(select(Progress).where(Progress.student_id == student_id))).scalars()
    }
    if topic and topic not in curriculum.topics:
        raise Unprocessable(f"unknown topic {topic!r}; topics: {', '.join(curriculum.topics)}", field="topic")
    topics = (
        [topic]
        if topic
        else [t for t in curriculum.topics if levels.get(t, "Beginner") in ("Beginner", "Learning")]
        or list(curriculum.topics)
    )
    assigned = dict(
        (
            await session.execute(
                select(Assignment.exercise_id, func.max(Assignment.assigned_at))
                .where(Assignment.student_id == student_id)
                .group_by(Assignment.exercise_id)
            )
        ).all()
    )
    for candidate_topic in topics:
        wanted = difficulty or _DIFFICULTY_FOR_LEVEL[levels.get(candidate_topic, "Beginner")]
        pool = await list_(session, topic=candidate_topic)
        if not pool:
            continue
        fresh = [e for e in pool if e.id not in assigned]
        if topic is None and not fresh:
            continue  # that topic's bank is used up: move on before repeating anything
        ranked = sorted(
            fresh or pool,
            key=lambda e: (e.difficulty != wanted, _order(e.difficulty), str(assigned.get(e.id, "")), e.id),
        )
        if difficulty and not any(e.difficulty == difficulty for e in pool):
            raise NotFound(f"no {difficulty} exercise for topic {candidate_topic!r}")
        return ranked[0], ranked[0].id in assigned
    raise NotFound("no exercise matches" + (f" topic {topic!r}" if topic else ""))


def _order(difficulty: str) -> int:
    return {"beginner": 0, "intermediate": 1, "advanced": 2}.get(difficulty, 3)


async def assign(session: AsyncSession, *, student_id: str, exercise: Exercise) -> Assignment:
    """Record that ``exercise`` was handed to the student; caller commits."""
    assignment = Assignment(student_id=student_id, exercise_id=exercise.id)
    session.add(assignment)
    await session.flush()
    return assignment


@dataclass
class Graded:
    submission: Submission
    progress: Progress


async def grade_submission(
    session: AsyncSession,
    *,
    grader: GradesCode,
    exercise: Exercise,
    submission_id: str,
    student_id: str,
    code: str,
) -> Graded:
    """Grade, stage the submission and recompute progress (idempotent per submission id); caller commits.

    The student is created after grading, so no write (on SQLite, the one writer's lock) waits on the sandbox.
    """
    existing = await session.get(Submission, submission_id)
    if existing is None:
        # Linting needs no sandbox and overlaps grading, so it adds no latency to a submission.
        report, lint = await asyncio.gather(
            grader.grade(
                code=code,
                tests=exercise.visible_tests or "",
                hidden_tests=exercise.hidden_tests or "",
                io_tests=io_cases(exercise),
            ),
            quality.analyse(code),
        )
        existing = Submission(
            id=submission_id,
            exercise_id=exercise.id,
            student_id=student_id,
            code=code,
            passed=report.passed,
            score=report.score,
            results=[t.model_dump() for t in report.tests],
            feedback=report.feedback,
            quality=lint.score if lint else None,
            quality_findings=[f.as_dict() for f in lint.findings] if lint else [],
        )
        await queries.ensure_student(session, student_id=student_id)
        session.add(existing)
        await session.flush()
    progress = await progress_service.recompute(session, student_id=student_id, topic=exercise.topic)
    return Graded(submission=existing, progress=progress)


@dataclass(frozen=True)
class Stuck:
    alert_id: str
    student_id: str
    exercise: Exercise
    minutes: int
    failed: int


async def find_stuck(
    session: AsyncSession,
    *,
    now: datetime,
    stuck_after: timedelta,
    lookback: timedelta,
    student_id: str | None = None,
    exercise_id: str | None = None,
) -> list[Stuck]:
    """Assignments open for over ``stuck_after`` (and under ``lookback``) with failed submissions, no pass and
    no alert yet.

    Only the latest assignment of an exercise to a student counts, and only one alert is raised per
    assignment (its id is derived from the assignment's).
    """
    since_assigned = and_(
        Submission.student_id == Assignment.student_id,
        Submission.exercise_id == Assignment.exercise_id,
        Submission.created_at >= Assignment.assigned_at,
    )
    # The database narrows the sweep to open assignments with a failed submission and no pass.
    stmt = select(Assignment).where(
        Assignment.assigned_at <= now - stuck_after,
        Assignment.assigned_at >= now - lookback,
        exists().where(since_assigned, Submission.passed.is_(False)),
        ~exists().where(since_assigned, Submission.passed.is_(True)),
    )
    if student_id is not None:
        stmt = stmt.where(Assignment.student_id == student_id)
    if exercise_id is not None:
        stmt = stmt.where(Assignment.exercise_id == exercise_id)
    latest: dict[tuple[str, str], Assignment] = {}
    for a in (await session.execute(stmt.order_by(Assignment.assigned_at, Assignment.id))).scalars():
        latest[(a.student_id, a.exercise_id)] = a
    found = []
    for (student, exercise_key), assignment in latest.items():
        alert_id = f"stuck-{assignment.id}"
        if await session.get(StruggleAlert, alert_id) is not None:
            continue
        failed = await session.scalar(
            select(func.count())
            .select_from(Submission)
            .where(
                Submission.student_id == student,
                Submission.exercise_id == exercise_key,
                Submission.created_at >= assignment.assigned_at,
            )
        )
        started = (
            assignment.assigned_at if assignment.assigned_at.tzinfo else assignment.assigned_at.replace(tzinfo=UTC)
        )
        found.append(
            Stuck(
                alert_id=alert_id,
                student_id=student,
                exercise=await get(session, exercise_id=exercise_key),
                minutes=int((now - started).total_seconds() // 60),
                failed=int(failed or 0),
            )
        )
    return found


MAX_LLM_ATTEMPTS = 2


async def propose_with_llm(
    ai: AIProvider,
    *,
    grader: GradesCode,
    curriculum: Curriculum,
    topic: str,
    difficulty: str,
    used_titles: list[str],
) -> NewExercise | None:
    """Ask the LLM for a new exercise and return it only once the sandbox has validated it.

    Validation is the same as for teachers' exercises: the tests parse, the solution passes all of
    them and the starter fails. A rejected proposal is retried once with the reason; None when the LLM
    is unavailable or both proposals fail.
    """
    info = curriculum.topics[topic]
    sample = next(iter(curriculum.exercises_for(topic=topic, difficulty=difficulty)), None)
    user = (
        f"Topic: {info.title} ({topic}); difficulty: {difficulty}.\n"
        f"What the topic teaches (ground the exercise in it): {fence(info.summary + ' ' + ' '.join(info.key_points))}\n"
        f"Titles already used (write something different): {fence('; '.join(used_titles))}\n"
        + (
            f"An example of the expected format: {fence(sample.description)} tests: {fence(sample.visible_tests)}\n"
            if sample and sample.visible_tests
            else ""
        )
    )
    for attempt in range(1, MAX_LLM_ATTEMPTS + 1):
        try:
            proposed = await ai.generate(system=EXERCISE_SYSTEM, user=user, schema=LLMExercise)
        except AIUnavailable as exc:
            log.info("no LLM exercise: %s", exc)
            return None
        data = NewExercise(
            title=proposed.title.strip()[:200] or f"{info.title} practice",
            topic=topic,
            difficulty=difficulty,
            description=proposed.description,
            starter_code=proposed.starter_code,
            solution=proposed.solution,
            tests=proposed.tests,
            io_tests=[],
            hints=[h for h in proposed.hints if h.strip()][:5],
        )
        try:
            await validate(grader, data)
        except Unprocessable as exc:
            log.info("LLM exercise rejected by the sandbox (attempt %d): %s", attempt, exc.message)
            user += f"\nYour previous proposal was rejected when we ran it: {fence(exc.message)}. Fix that."
            continue
        return data
    return None


async def open_assignment(session: AsyncSession, *, student_id: str) -> Exercise | None:
    """The student's latest assigned exercise, unless they have passed it since it was assigned."""
    assignment = (
        await session.execute(
            select(Assignment)
            .where(Assignment.student_id == student_id)
            .order_by(Assignment.assigned_at.desc(), Assignment.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if assignment is None:
        return None
    solved = await session.scalar(
        select(Submission.id)
        .where(
            Submission.student_id == student_id,
            Submission.exercise_id == assignment.exercise_id,
            Submission.passed.is_(True),
            Submission.created_at >= assignment.assigned_at,
        )
        .limit(1)
    )
    return None if solved is not None else await session.get(Exercise, assignment.exercise_id)
