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
    """Publish struggle.detected under the alert's own id (a repeat is not sent twice); in ``session``
    when given, so the alert goes out if and only if what caused it is stored.

    ``store`` also records the alert in that session, for a caller whose next check must see it at
    once (the exercise service's own consumer would otherwise store it a moment later).
    """
    if store:
        if session is None:
            raise ValueError("storing an alert needs the caller's session")
        await progress.record_alert(
            session, alert_id=alert_id, student_id=student_id, topic=topic, reason=reason, details=details
        )
    # reason is a str: pydantic checks it against the Literal.
    alert = StruggleDetected(alert_id=alert_id, student_id=student_id, topic=topic, reason=reason, details=details)  # type: ignore[arg-type]
    await rt.publish(Topic.STRUGGLE_DETECTED, alert, subject=student_id, event_id=alert_id, session=session)


async def record_run(rt: Runtime, *, student_id: str, ok: bool, error_type: str | None) -> str | None:
    """Store the run; when it completes a struggle streak, publish struggle.detected. Return the reason."""
    async with rt.db.session() as session:
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
        await session.commit()
    rt.outbox.kick()
    return found[0] if found else None
