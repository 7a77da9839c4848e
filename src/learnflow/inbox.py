"""Inbox: events a consumer has taken over from its transport and not yet finished.

daprd hands a subscriber one message per partition at a time and waits for the answer without a
timeout, so one slow handler (an LLM answer) holds up every event behind it. The Dapr transport
therefore answers SUCCESS for a delivery that outlives its deadline only after storing the event here;
the handler goes on in the background and deletes the row when it has finished (or dead-lettered the
event). A row whose lease ran out (its process died) is taken up again by any replica. Nothing is
lost (the row is committed before daprd forgets the event) and nothing is done twice (the consumers'
processed-event ids make a second run a no-op).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from learnflow.db import Database
from learnflow.db.models import InboxEvent


class Inbox:
    def __init__(self, db: Database, *, lease_s: float = 300.0) -> None:
        self.db = db
        self.lease = timedelta(seconds=lease_s)

    async def park(self, *, topic: str, consumer: str, wire: dict[str, Any]) -> bool:
        """Store an event ``consumer`` is still handling; False when it is stored already."""
        async with self.db.session() as session:
            session.add(
                InboxEvent(
                    consumer=consumer,
                    event_id=str(wire["id"]),
                    topic=topic,
                    event=wire,
                    attempts=1,
                    claimed_until=datetime.now(UTC) + self.lease,
                )
            )
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                return False
        return True

    async def release(self, *, consumer: str, event_id: str) -> None:
        """Forget an event ``consumer`` has finished."""
        async with self.db.session() as session:
            await session.execute(
                delete(InboxEvent).where(InboxEvent.consumer == consumer, InboxEvent.event_id == event_id)
            )
            await session.commit()

    async def unclaim(self, *, consumer: str, event_id: str) -> None:
        """Give an unfinished event back at once (a clean shutdown), rather than when its lease ends."""
        async with self.db.session() as session:
            await session.execute(
                update(InboxEvent)
                .where(InboxEvent.consumer == consumer, InboxEvent.event_id == event_id)
                .values(claimed_until=datetime.now(UTC))
            )
            await session.commit()

    async def claim_expired(
        self, *, consumers: Collection[str], limit: int = 20
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """Take over ``consumers``' events whose lease ran out: (topic, consumer, event) for each."""
        now = datetime.now(UTC)
        async with self.db.session() as session:
            stmt = (
                select(InboxEvent)
                .where(InboxEvent.claimed_until <= now, InboxEvent.consumer.in_(list(consumers)))
                .order_by(InboxEvent.id)
                .limit(limit)
            )
            if not self.db.is_sqlite:
                stmt = stmt.with_for_update(skip_locked=True)
            rows = list((await session.execute(stmt)).scalars())
            for row in rows:
                row.claimed_until = now + self.lease
                row.attempts += 1
            claimed = [(row.topic, row.consumer, dict(row.event)) for row in rows]
            await session.commit()
        return claimed

    async def pending(self) -> int:
        async with self.db.session() as session:
            return len((await session.execute(select(InboxEvent.id).limit(10_000))).all())
