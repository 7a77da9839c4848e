"""Transactional outbox: an event is stored in the same transaction as the data it announces, and a
relay sends stored events to the bus, in order, whenever the bus answers.

So an API call that answered 200, or a handler that finished, never loses its event because the
broker was down at that moment; the relay retries until the broker is back. Delivery is at least
once (a crash between sending and deleting resends), which the consumers' dedupe by event id absorbs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from learnflow.bus import EventBus
from learnflow.db import Database
from learnflow.db.models import OutboxEvent
from learnflow.db.session import insert_new

log = logging.getLogger(__name__)

BATCH = 100


class Outbox:
    def __init__(self, db: Database, bus: EventBus, *, poll_s: float = 1.0, max_backoff_s: float = 5.0) -> None:
        self.db = db
        self.bus = bus
        self.poll_s = poll_s
        self.max_backoff_s = max_backoff_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.last_error: str | None = None

    @staticmethod
    async def stage(session: AsyncSession, topic: str, wire: dict[str, Any]) -> bool:
        """Stage an event in ``session`` (sent once it commits); False when its id is staged already."""
        result = await session.execute(
            insert_new(session, OutboxEvent, event_id=str(wire["id"]), topic=topic, event=wire)
        )
        return bool(getattr(result, "rowcount", 1))

    def kick(self) -> None:
        """Tell the relay there is something to send."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        # One last flush so a clean shutdown leaves nothing behind that the bus could take now.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await self.flush()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def pending(self) -> int:
        async with self.db.session() as session:
            return len((await session.execute(select(OutboxEvent.id).limit(10_000))).all())

    async def flush(self) -> int:
        """Send every stored event, oldest first; return how many were sent."""
        sent = 0
        while True:
            async with self.db.session() as session:
                stmt = select(OutboxEvent).order_by(OutboxEvent.id).limit(BATCH)
                if not self.db.is_sqlite:
                    # Several processes relay from one PostgreSQL: each takes rows nobody else holds.
                    stmt = stmt.with_for_update(skip_locked=True)
                rows = list((await session.execute(stmt)).scalars())
                if not rows:
                    await session.commit()
                    return sent
                done: list[int] = []
                try:
                    for row in rows:
                        await self.bus.publish_wire(row.topic, row.event)
                        done.append(row.id)
                finally:
                    if done:
                        await session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(done)))
                    failed = [r.id for r in rows if r.id not in done]
                    if failed:
                        await session.execute(
                            update(OutboxEvent)
                            .where(OutboxEvent.id == failed[0])
                            .values(attempts=OutboxEvent.attempts + 1)
                        )
                    await session.commit()
                sent += len(done)
                if len(rows) < BATCH:
                    return sent

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
            self._wake.clear()
            try:
                await self.flush()
                self.last_error = None
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
                log.warning("outbox relay could not send (%s); retrying in %.1fs", self.last_error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
                self._wake.set()
