"""Mastery per student and topic, and struggle alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import DateTime, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from learnflow.curriculum import Curriculum
from learnflow.db.models import CodeRun, Exercise, Progress, QuizAttempt, StruggleAlert, Submission

LevelName = Literal["Beginner", "Learning", "Proficient", "Mastered"]

# Exercises per topic a student must pass for full completion credit: the bank has three per
# topic (beginner, intermediate, advanced); teacher exercises count towards the same target.
COMPLETION_TARGET = 3
# Successes in a row (passed submissions, quizzes at or above QUIZ_PASS) for full consistency credit.
CONSISTENCY_TARGET = 3
QUIZ_PASS = 0.5
WEIGHTS = {"completion": 0.4, "quiz": 0.3, "quality": 0.2, "consistency": 0.1}


def level_for(mastery: float) -> LevelName:
    """Map 0-100 mastery to a level.

    Published bands are 0-40 Beginner, 41-70 Learning, 71-90 Proficient, 91-100 Mastered. Scores are
    fractional, so each band runs up to and including its upper bound: 40.0 is Beginner, 40.01 is
    Learning, 70.0 Learning, 70.5 Proficient, 90.0 Proficient, 90.01 Mastered.
    """
    if mastery <= 40:
        return "Beginner"
    if mastery <= 70:
        return "Learning"
    if mastery <= 90:
        return "Proficient"
    return "Mastered"


@dataclass(frozen=True)
class MasteryParts:
    """The four parts of mastery, each 0-1."""

    completion: float
    quiz: float
    quality: float
    consistency: float

    @property
    def mastery(self) -> float:
        """40% completion + 30% quiz + 20% code quality + 10% consistency, on 0-100, two decimals."""
        total: float = sum(WEIGHTS[name] * min(max(getattr(self, name), 0.0), 1.0) for name in WEIGHTS)
        return round(100 * total, 2)


@dataclass(frozen=True)
class _Graded:
    """One graded submission (``exercise_id`` set) or quiz (``exercise_id`` None) of a student's topic."""

    topic: str
    at: datetime
    passed: bool
    exercise_id: str | None = None
    quality: float | None = None
    score: float = 0.0


async def _graded(session: AsyncSession, *, student_id: str, topic: str | None) -> list[_Graded]:
    """The student's graded work (of ``topic``, or every topic), newest first."""
    subs = (
        select(Exercise.topic, Submission.exercise_id, Submission.passed, Submission.quality, Submission.created_at)
        .join(Exercise, Exercise.id == Submission.exercise_id)
        .where(
            Submission.student_id == student_id,
            # One's own exercise proves nothing: an author passing it would raise their own mastery.
            or_(Exercise.author_id.is_(None), Exercise.author_id != student_id),
        )
    )
    quizzes = select(QuizAttempt.topic, QuizAttempt.score, _answered_at.label("at")).where(
        QuizAttempt.student_id == student_id, QuizAttempt.status == "graded"
    )
    if topic is not None:
        subs = subs.where(Exercise.topic == topic)
        quizzes = quizzes.where(QuizAttempt.topic == topic)
    found = [
        _Graded(
            topic=r.topic,
            at=_aware(r.created_at),
            passed=bool(r.passed),
            exercise_id=r.exercise_id,
            quality=None if r.quality is None else float(r.quality),
        )
        for r in await session.execute(subs)
    ]
    found += [
        _Graded(topic=q.topic, at=_aware(q.at), passed=q.score >= QUIZ_PASS, score=float(q.score))
        for q in await session.execute(quizzes)
    ]
    return sorted(found, key=lambda g: g.at, reverse=True)


def _parts_of(graded: list[_Graded]) -> tuple[MasteryParts, int, int, int]:
    # ``graded``: one topic's work, newest first.
    rows = [g for g in graded if g.exercise_id is not None]
    passed_exercises = {r.exercise_id for r in rows if r.passed}
    completion = min(len(passed_exercises) / COMPLETION_TARGET, 1.0)
    # Quality of each passed exercise's latest passing solution: how the student writes working code.
    latest_quality: dict[str, float] = {}
    for r in rows:
        if r.passed and r.quality is not None and r.exercise_id is not None and r.exercise_id not in latest_quality:
            latest_quality[r.exercise_id] = r.quality
    quality = sum(latest_quality.values()) / len(latest_quality) if latest_quality else 0.0
    quiz = max((g.score for g in graded if g.exercise_id is None), default=0.0)
    # Consistency: the current run of successes, newest first, across submissions and quizzes.
    streak = 0
    for g in graded:
        if not g.passed:
            break
        streak += 1
    failed_streak = 0
    for r in rows:
        if r.passed:
            break
        failed_streak += 1
    result = MasteryParts(
        completion=completion,
        quiz=quiz,
        quality=quality,
        consistency=min(streak / CONSISTENCY_TARGET, 1.0),
    )
    return result, len(rows), len(passed_exercises), failed_streak


async def parts(session: AsyncSession, *, student_id: str, topic: str) -> tuple[MasteryParts, int, int, int]:
    """Mastery parts, plus (attempts, passed exercises, failed submissions in a row) for ``topic``."""
    return _parts_of(await _graded(session, student_id=student_id, topic=topic))


@dataclass(frozen=True)
class HistoryPoint:
    at: datetime
    topic: str
    mastery: float


async def history(session: AsyncSession, *, student_id: str, limit: int) -> list[HistoryPoint]:
    """The topic's mastery right after each of the student's latest ``limit`` graded submissions and quizzes.

    Recomputed from the stored submissions and quizzes as they stood at that moment (the same rows and
    formula ``recompute`` uses), oldest first: no snapshot table is needed, and a point is exactly what
    ``recompute`` would have stored then.
    """
    graded = await _graded(session, student_id=student_id, topic=None)
    points = []
    for i, g in enumerate(graded[:limit]):
        # Ties (same timestamp) count as done together: the later rows in the list are older.
        before = [o for o in graded[i:] if o.topic == g.topic]
        points.append(HistoryPoint(at=g.at, topic=g.topic, mastery=_parts_of(before)[0].mastery))
    return list(reversed(points))


# When a quiz attempt was graded (older rows, from before attempts were drawn, only know when created).
_answered_at = func.coalesce(QuizAttempt.graded_at, QuizAttempt.created_at, type_=DateTime(timezone=True))


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def recompute(session: AsyncSession, *, student_id: str, topic: str) -> Progress:
    """Recompute a student's mastery of ``topic`` from submissions and quizzes; caller commits."""
    found, attempts, passed, failed_streak = await parts(session, student_id=student_id, topic=topic)
    progress = await session.get(Progress, (student_id, topic))
    if progress is None:
        progress = Progress(student_id=student_id, topic=topic)
        session.add(progress)
    progress.mastery = found.mastery
    progress.level = level_for(found.mastery)
    progress.attempts = attempts
    progress.passed_exercises = passed
    progress.failed_streak = failed_streak
    progress.completion = round(found.completion, 4)
    progress.quiz = round(found.quiz, 4)
    progress.quality = round(found.quality, 4)
    progress.consistency = round(found.consistency, 4)
    progress.updated_at = datetime.now(UTC)
    return progress


async def overview(session: AsyncSession, *, student_id: str, curriculum: Curriculum) -> tuple[float, list[Progress]]:
    """Overall mastery (mean over every curriculum topic, unseen ones counting 0) and per-topic rows."""
    rows = list(
        (await session.execute(select(Progress).where(Progress.student_id == student_id).order_by(Progress.topic)))
        .scalars()
        .all()
    )
    total = sum(r.mastery for r in rows if r.topic in curriculum.topics)
    overall = round(total / max(len(curriculum.topics), 1), 2)
    return overall, rows


async def record_alert(
    session: AsyncSession,
    *,
    alert_id: str,
    student_id: str,
    topic: str | None,
    reason: str,
    details: str,
) -> bool:
    """Store an alert once; return False when it was already stored."""
    if await session.get(StruggleAlert, alert_id) is not None:
        return False
    session.add(StruggleAlert(id=alert_id, student_id=student_id, topic=topic, reason=reason, details=details))
    return True


async def record_run(session: AsyncSession, *, student_id: str, ok: bool, error_type: str | None) -> CodeRun:
    """Store a student's run (struggle detection reads the streaks); caller commits."""
    run = CodeRun(student_id=student_id, ok=ok, error_type=error_type)
    session.add(run)
    await session.flush()
    return run
