"""Recording students' runs and announcing the struggles they reveal."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from learnflow.events import StruggleDetected, Topic
from learnflow.runtime import Runtime
from learnflow.tutor import progress, queries


async def announce(
    rt: Runtime,
    *,
    alert_id: str,
    student_id: str,
    topic: str | None,
    reason: str,
    details: str,
    session: AsyncSession | None = None,
    store: bool = False,
) -> None:
    """Stage struggle.detected under the alert's own id (a repeat is not sent twice) in the unit of work
    (or ``session``), so the alert goes out if and only if what caused it is stored.

    ``store`` also records the alert there, for a caller whose next check must see it at once (the
    exercise service's own consumer would otherwise store it a moment later).
    """
    async with rt.unit_of_work() as work:
        target = session if session is not None else work.session
        if store:
            await progress.record_alert(
                target, alert_id=alert_id, student_id=student_id, topic=topic, reason=reason, details=details
            )
        alert = StruggleDetected(alert_id=alert_id, student_id=student_id, topic=topic, reason=reason, details=details)  # type: ignore[arg-type]
        await rt.publish(Topic.STRUGGLE_DETECTED, alert, subject=student_id, event_id=alert_id, session=target)


async def record_run(rt: Runtime, *, student_id: str, ok: bool, error_type: str | None) -> str | None:
    """Stage the run; when it completes a struggle streak, stage struggle.detected. Return the reason."""
    async with rt.unit_of_work() as work:
        session = work.session
        await queries.ensure_student(session, student_id=student_id)
        found = await progress.record_run(session, student_id=student_id, ok=ok, error_type=error_type)
        if found is not None:
            reason, details = found
            await announce(
                rt,
                alert_id=str(uuid.uuid4()),
                student_id=student_id,
                topic=None,
                reason=reason,
                details=details,
                session=session,
            )
    return found[0] if found else None
