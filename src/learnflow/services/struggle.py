"""Struggle detection in one place: the reasons, their thresholds, one detector per reason, and the alert.

A service reports what it saw (an :class:`Observation`: a question asked, a run, a graded submission or
quiz, a sweep) to :func:`check`; every detector registered for that kind of observation decides, with
the thresholds of ``StruggleSettings``, whether it shows a struggle; each finding is published as
``struggle.detected`` under an id derived from its cause, so a repeat is never sent twice. A new
reason is a member of :class:`Reason` and one function here decorated with :func:`detector`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from learnflow import uow
from learnflow.config import StruggleSettings
from learnflow.db.models import CodeRun, Submission
from learnflow.events import StruggleDetected, Topic
from learnflow.events.ids import derived_id
from learnflow.events.payloads import StruggleReason as Reason
from learnflow.tutor import exercises, progress, queries
from learnflow.tutor.triage import asks_for_help

if TYPE_CHECKING:
    from learnflow.runtime import Runtime

__all__ = ["Reason", "check", "detector", "detectors", "record_run"]


# -- what a detector looks at ---------------------------------------------------------------------
@dataclass(frozen=True)
class QueryAsked:
    query_id: str
    student_id: str
    text: str
    topic: str | None


@dataclass(frozen=True)
class RunFinished:
    run_id: int
    student_id: str
    ok: bool
    error_type: str | None


@dataclass(frozen=True)
class SubmissionGraded:
    submission_id: str
    student_id: str
    exercise_id: str
    topic: str
    passed: bool
    now: datetime


@dataclass(frozen=True)
class QuizGraded:
    attempt_id: str
    student_id: str
    topic: str
    correct: int
    total: int
    score: float


@dataclass(frozen=True)
class Sweep:
    """A periodic look for students stuck between submissions."""

    now: datetime


Observation = QueryAsked | RunFinished | SubmissionGraded | QuizGraded | Sweep


@dataclass(frozen=True)
class Finding:
    reason: Reason
    alert_id: str
    student_id: str
    topic: str | None
    details: str
    # Stored with the alert, for a detector whose next check must see it at once (the exercise
    # service's own consumer would otherwise store it a moment later).
    store: bool = False


Detect = Callable[[AsyncSession, Any, StruggleSettings], Awaitable[list[Finding]]]


@dataclass(frozen=True)
class Detector:
    reason: Reason
    observes: tuple[type[Any], ...]
    detect: Detect


_DETECTORS: dict[Reason, Detector] = {}


def detector(reason: Reason, *, observes: tuple[type[Any], ...]) -> Callable[[Detect], Detect]:
    """Register the function as the detector of ``reason``, run on each observation of the ``observes`` kinds."""

    def register(detect: Detect) -> Detect:
        if reason in _DETECTORS:
            raise ValueError(f"{reason} already has a detector")
        _DETECTORS[reason] = Detector(reason, observes, detect)
        return detect

    return register


def detectors() -> dict[Reason, Detector]:
    return dict(_DETECTORS)


# -- the detectors, one per reason ----------------------------------------------------------------
@detector(Reason.ASKED_FOR_HELP, observes=(QueryAsked,))
async def _asked_for_help(session: AsyncSession, seen: QueryAsked, limits: StruggleSettings) -> list[Finding]:
    if not asks_for_help(seen.text):
        return []
    details = f"The student wrote: {seen.text[:300]!r}"
    return [Finding(Reason.ASKED_FOR_HELP, derived_id(seen.query_id, "struggle"), seen.student_id, seen.topic, details)]


async def _recent_runs(session: AsyncSession, student_id: str, limit: int) -> list[tuple[bool, str | None]]:
    rows = await session.execute(
        select(CodeRun.ok, CodeRun.error_type)
        .where(CodeRun.student_id == student_id)
        .order_by(CodeRun.id.desc())
        .limit(limit)
    )
    return [(bool(ok), kind) for ok, kind in rows.all()]


def _streak(values: list[Any], same_as: Any) -> int:
    count = 0
    for value in values:
        if value != same_as:
            break
        count += 1
    return count


def _run_alert(seen: RunFinished, reason: Reason, details: str) -> Finding:
    return Finding(reason, derived_id(f"run:{seen.run_id}", str(reason)), seen.student_id, None, details)


# An alert is raised when a streak *reaches* its threshold, not again on every further run of it.
@detector(Reason.FAILED_RUNS, observes=(RunFinished,))
async def _failed_runs(session: AsyncSession, seen: RunFinished, limits: StruggleSettings) -> list[Finding]:
    if seen.ok:
        return []
    recent = await _recent_runs(session, seen.student_id, limits.failed_runs + 1)
    failed = _streak([ok for ok, _ in recent], False)
    if failed != limits.failed_runs:
        return []
    last = seen.error_type or "no exception"
    return [_run_alert(seen, Reason.FAILED_RUNS, f"{failed} failed runs in a row; the last ended with {last}.")]


@detector(Reason.REPEATED_ERROR, observes=(RunFinished,))
async def _repeated_error(session: AsyncSession, seen: RunFinished, limits: StruggleSettings) -> list[Finding]:
    if seen.ok or not seen.error_type:
        return []
    recent = await _recent_runs(session, seen.student_id, limits.repeated_error_runs + 1)
    same = _streak([kind for _, kind in recent], seen.error_type)
    if same != limits.repeated_error_runs:
        return []
    return [_run_alert(seen, Reason.REPEATED_ERROR, f"{seen.error_type} {same} times in a row.")]


@detector(Reason.FAILED_SUBMISSIONS, observes=(SubmissionGraded,))
async def _failed_submissions(session: AsyncSession, seen: SubmissionGraded, limits: StruggleSettings) -> list[Finding]:
    if seen.passed:
        return []
    recent = await session.execute(
        select(Submission.passed)
        .where(Submission.student_id == seen.student_id, Submission.exercise_id == seen.exercise_id)
        .order_by(Submission.created_at.desc())
        .limit(limits.failed_submissions + 1)
    )
    failed = _streak([bool(p) for p in recent.scalars().all()], False)
    if failed != limits.failed_submissions:
        return []
    details = f"{failed} failed submissions in a row on exercise {seen.exercise_id!r}."
    alert_id = derived_id(seen.submission_id, "struggle")
    return [Finding(Reason.FAILED_SUBMISSIONS, alert_id, seen.student_id, seen.topic, details)]


@detector(Reason.STUCK_ON_EXERCISE, observes=(SubmissionGraded, Sweep))
async def _stuck(session: AsyncSession, seen: SubmissionGraded | Sweep, limits: StruggleSettings) -> list[Finding]:
    if isinstance(seen, SubmissionGraded) and seen.passed:
        return []
    narrow = (
        {"student_id": seen.student_id, "exercise_id": seen.exercise_id} if isinstance(seen, SubmissionGraded) else {}
    )
    found = await exercises.find_stuck(
        session,
        now=seen.now,
        stuck_after=timedelta(minutes=limits.stuck_after_min),
        lookback=timedelta(hours=limits.stuck_lookback_h),
        **narrow,
    )
    return [
        Finding(
            Reason.STUCK_ON_EXERCISE,
            stuck.alert_id,
            stuck.student_id,
            stuck.exercise.topic,
            f"Still failing exercise {stuck.exercise.id!r} ({stuck.exercise.title}) {stuck.minutes} minutes "
            f"after it was assigned; {stuck.failed} failed submission(s).",
            store=True,
        )
        for stuck in found
    ]


@detector(Reason.LOW_QUIZ, observes=(QuizGraded,))
async def _low_quiz(session: AsyncSession, seen: QuizGraded, limits: StruggleSettings) -> list[Finding]:
    if seen.score >= limits.low_quiz_score:
        return []
    details = (
        f"Quiz on {seen.topic!r}: {seen.correct}/{seen.total} correct "
        f"({round(seen.score * 100)}%, under {round(limits.low_quiz_score * 100)}%)."
    )
    return [Finding(Reason.LOW_QUIZ, derived_id(seen.attempt_id, "struggle"), seen.student_id, seen.topic, details)]


# -- checking and publishing ----------------------------------------------------------------------
async def detect(session: AsyncSession, seen: Observation, limits: StruggleSettings) -> list[Finding]:
    """What every detector of ``seen``'s kind finds in it."""
    found: list[Finding] = []
    for registered in _DETECTORS.values():
        if isinstance(seen, registered.observes):
            found += await registered.detect(session, seen, limits)
    return found


async def _publish(rt: Runtime, finding: Finding, session: AsyncSession) -> None:
    if finding.store:
        await progress.record_alert(
            session,
            alert_id=finding.alert_id,
            student_id=finding.student_id,
            topic=finding.topic,
            reason=finding.reason,
            details=finding.details,
        )
    alert = StruggleDetected(
        alert_id=finding.alert_id,
        student_id=finding.student_id,
        topic=finding.topic,
        reason=finding.reason,
        details=finding.details,
    )
    await rt.publish(
        Topic.STRUGGLE_DETECTED, alert, subject=finding.student_id, event_id=finding.alert_id, session=session
    )


async def check(rt: Runtime, seen: Observation, *, session: AsyncSession | None = None) -> list[Finding]:
    """Run the detectors on ``seen`` and stage what they find; return the alerts staged.

    In ``session`` when given, else in the open unit of work (the alerts go out if and only if what
    caused them commits). With no unit open (a periodic sweep), each alert in a unit of its own, so one
    that a concurrent check raised first (its id is taken) does not hold back the others.
    """
    limits = rt.settings.struggle
    if session is not None or uow.current() is not None:
        async with rt.unit_of_work() as work:
            target = session if session is not None else work.session
            found = await detect(target, seen, limits)
            for finding in found:
                await _publish(rt, finding, target)
        return found
    async with rt.reading() as reading:
        found = await detect(reading, seen, limits)
    published = []
    for finding in found:
        try:
            async with rt.unit_of_work() as work:
                await _publish(rt, finding, work.session)
        except IntegrityError:
            continue
        published.append(finding)
    return published


async def record_run(rt: Runtime, *, student_id: str, ok: bool, error_type: str | None) -> list[Reason]:
    """Store a student's run and stage the struggles it completes, in one unit; return their reasons."""
    async with rt.unit_of_work() as work:
        session = work.session
        await queries.ensure_student(session, student_id=student_id)
        run = await progress.record_run(session, student_id=student_id, ok=ok, error_type=error_type)
        found = await check(rt, RunFinished(run.id, student_id, ok, error_type), session=session)
    return [f.reason for f in found]
