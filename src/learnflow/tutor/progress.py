"""Mastery per student and topic, and struggle alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from learnflow.curriculum import Curriculum
from learnflow.db.models import CodeRun, Exercise, Progress, StruggleAlert, Submission

LevelName = Literal["Beginner", "Learning", "Proficient", "Mastered"]

# Exercises per topic a student must pass for full completion credit: the bank has three per
# topic (beginner, intermediate, advanced); teacher exercises count towards the same target.
COMPLETION_TARGET = 3


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


async def recompute(session: AsyncSession, *, student_id: str, topic: str) -> Progress:
    """Recompute a student's mastery of ``topic`` from their submissions; caller commits."""
    rows = (
        await session.execute(
            select(Submission.exercise_id, func.max(Submission.score), func.count())
            .join(Exercise, Exercise.id == Submission.exercise_id)
            .where(Submission.student_id == student_id, Exercise.topic == topic)
            .group_by(Submission.exercise_id)
        )
    ).all()
    best = [float(r[1] or 0) for r in rows]
    attempts = sum(int(r[2]) for r in rows)
    passed = sum(1 for b in best if b >= 1.0)
    completion = min(passed / COMPLETION_TARGET, 1.0)
    quality = sum(best) / len(best) if best else 0.0
    # Completion dominates; partial credit for best scores rewards progress on hard exercises.
    mastery = round(100 * (0.7 * completion + 0.3 * quality), 2)
    recent = (
        (
            await session.execute(
                select(Submission.passed)
                .join(Exercise, Exercise.id == Submission.exercise_id)
                .where(Submission.student_id == student_id, Exercise.topic == topic)
                .order_by(Submission.created_at.desc())
                .limit(20)
            )
        )
        .scalars()
        .all()
    )
    streak = 0
    for ok in recent:
        if ok:
            break
        streak += 1
    progress = await session.get(Progress, (student_id, topic))
    if progress is None:
        progress = Progress(student_id=student_id, topic=topic)
        session.add(progress)
    progress.mastery = mastery
    progress.level = level_for(mastery)
    progress.attempts = attempts
    progress.passed_exercises = passed
    progress.failed_streak = streak
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


REPEATED_ERROR_RUNS = 3
FAILED_RUNS_IN_A_ROW = 5


async def record_run(
    session: AsyncSession, *, student_id: str, ok: bool, error_type: str | None
) -> tuple[str, str] | None:
    """Store a run and say whether it starts a struggle: (reason, details), or None; caller commits.

    An alert is raised when a streak *reaches* its threshold (the third same error type in a row,
    the fifth failed run in a row), not again on every further run of the same streak.
    """
    session.add(CodeRun(student_id=student_id, ok=ok, error_type=error_type))
    await session.flush()
    recent = (
        await session.execute(
            select(CodeRun.ok, CodeRun.error_type)
            .where(CodeRun.student_id == student_id)
            .order_by(CodeRun.id.desc())
            .limit(FAILED_RUNS_IN_A_ROW + 1)
        )
    ).all()
    failed = 0
    for run_ok, _ in recent:
        if run_ok:
            break
        failed += 1
    if failed == FAILED_RUNS_IN_A_ROW:
        return "failed_runs", f"{failed} failed runs in a row; the last ended with {error_type or 'no exception'}."
    if error_type:
        same = 0
        for _, kind in recent:
            if kind != error_type:
                break
            same += 1
        if same == REPEATED_ERROR_RUNS:
            return "repeated_error", f"{error_type} {same} times in a row."
    return None
