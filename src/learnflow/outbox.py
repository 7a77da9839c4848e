"""Transactional outbox: an event is stored in the same transaction as the data it announces, and a
relay sends stored events to the bus, in order, whenever the bus answers.

So an API call that answered 200, or a handler that finished, never loses its event because the
broker was down at that moment; the relay retries until the broker is back. Delivery is at least
once (a crash between sending and deleting resends), which the consumers' dedupe by event id absorbs.

The events a unit of work of this process commits are handed to the relay with the commit, so the
relay sends them without reading them back: one ``DELETE ... RETURNING`` per batch takes the rows
nobody else has sent (another replica's relay, or this one's sweep) and they are published before
that deletion commits. The relay still sweeps the table, oldest first, at start, at least every
``poll_s`` and after any failure, for the rows nobody handed to it (a previous run's, a replica's
that died, a session outside a unit of work); until a sweep has emptied it after a failure, the
hand-over waits, so that a broker that comes back gets the events in the order they were stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from learnflow.bus import EventBus
from learnflow.db import Database
from learnflow.db.models import OutboxEvent
from learnflow.db.session import insert_ignoring, table_of

log = logging.getLogger(__name__)

BATCH = 100
# Events handed over and not yet sent, at most: beyond it (the bus has been down a long time) the
# hand-over stops keeping them and the sweeps, which read them from the table, take over.
MAX_HANDED = 10_000
# The hand-over's statement, built once (see ``db.session``): the rows of this process's own commits.
_outbox = table_of(OutboxEvent).c
_TAKE = (
    delete(table_of(OutboxEvent))
    .where(_outbox.event_id.in_(bindparam("event_ids", expanding=True)))
    .returning(_outbox.event_id)
)


class Outbox:
    def __init__(self, db: Database, bus: EventBus, *, poll_s: float = 1.0, max_backoff_s: float = 5.0) -> None:
        self.db = db
        self.bus = bus
        self.poll_s = poll_s
        self.max_backoff_s = max_backoff_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.last_error: str | None = None
        # Committed by this process and not yet sent, by event id, in commit order: (topic, event).
        self._handed: dict[str, tuple[str, dict[str, Any]]] = {}
        # A sweep of the table is due (at start, after a failure, for an event nobody handed over).
        self._sweep = True
        self._swept_at = 0.0

    @staticmethod
    async def stage(session: AsyncSession, topic: str, wire: dict[str, Any]) -> bool:
        """Stage an event in ``session`` (sent once it commits); False when its id is staged already."""
        result = await session.execute(
            insert_ignoring(session, OutboxEvent), {"event_id": str(wire["id"]), "topic": topic, "event": wire}
        )
        return bool(getattr(result, "rowcount", 1))

    def kick(self) -> None:
        """Tell the relay there is something in the table to send (it sweeps the table)."""
        self._sweep = True
        self._wake.set()

    def committed(self, events: Iterable[OutboxEvent]) -> None:
        """Hand over events that a unit of work of this process has just committed to the outbox."""
        for row in events:
            if len(self._handed) >= MAX_HANDED:
                self._sweep = True  # the rest are read from the table
                break
            self._handed[row.event_id] = (row.topic, row.event)
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
        """Send every stored event, oldest first, then those handed over since; return how many were sent."""
        sent = await self._sweep_table()
        return sent + await self.send_handed()

    async def send_handed(self) -> int:
        """Send the events handed over by :meth:`committed` that nobody else has sent; return how many."""
        if not self._handed:
            return 0
        handed, self._handed = self._handed, {}
        sent = 0
        ids = list(handed)
        try:
            for start in range(0, len(ids), BATCH):
                chunk = ids[start : start + BATCH]
                async with self.db.session() as session:
                    # Deleting first takes the rows from any other relay (a replica's sweep, which
                    # skips locked rows, or holds them until it has sent them and then they are gone).
                    taken = set((await session.scalars(_TAKE, {"event_ids": chunk})).all())
                    for event_id in chunk:
                        if event_id in taken:
                            await self.bus.publish_wire(*handed[event_id])
                    # Committed only once all were published: a failure leaves every row in the table.
                    await session.commit()
                sent += len(taken)
        except BaseException:
            # What was not sent is still in the table (in order); a sweep sends it.
            self._sweep = True
            raise
        return sent

    async def _sweep_table(self) -> int:
        self._sweep = False
        self._swept_at = time.monotonic()
        try:
            return await self._sweep_rows()
        except BaseException:
            self._sweep = True
            raise

    async def _sweep_rows(self) -> int:
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
                        self._handed.pop(row.event_id, None)  # sent; its hand-over would find no row
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
            # A timeout scope, not wait_for: on Python 3.11, cancelling a task inside wait_for just as
            # its inner task was created could leave stop() waiting for ever (seen once statements
            # stopped yielding to the loop: sqlite_inloop).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_s):
                    await self._wake.wait()
            self._wake.clear()
            try:
                if self._sweep or time.monotonic() - self._swept_at >= self.poll_s:
                    await self.flush()
                else:
                    await self.send_handed()
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
