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

A bus that only queues an event in this process (the in-memory bus, ``bus.base.Settling``) has not
made it safe when it accepts it: a crash before its handlers ran would lose it. For such a bus the
relay claims the rows instead of deleting them (``claimed_until``, a lease renewed while the
handlers run, which the sweeps of this and any other process respect), and deletes each row once the
bus says every subscriber is done with its event. A process that dies leaves its rows claimed until
the lease runs out; then any relay sends them again, and the consumers' dedupe makes that harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from learnflow.bus import EventBus
from learnflow.bus.base import Settling
from learnflow.db import Database
from learnflow.db.models import OutboxEvent
from learnflow.db.session import insert_ignoring, table_of
from learnflow.uow import StagedEvent

log = logging.getLogger(__name__)

BATCH = 100
# Events handed over and not yet sent, at most: beyond it (the bus has been down a long time) the
# hand-over stops keeping them and the sweeps, which read them from the table, take over.
MAX_HANDED = 10_000
# The relay's statements, built once (see ``db.session``), on rows named by event id.
_table = table_of(OutboxEvent)
_outbox = _table.c
_ids: BindParameter[Any] = bindparam("event_ids", expanding=True)
_DONE = delete(_table).where(_outbox.event_id.in_(_ids))
_TAKE = _DONE.returning(_outbox.event_id)  # the hand-over to a broker: deleting takes the rows


# How long a row sent to a settling bus stays claimed without news from this relay, which renews the
# claim of what is still in flight every third of it: a dead process's events wait at most this long.
LEASE_S = 60.0
_CLAIM = (
    update(_table)
    .where(_outbox.event_id.in_(_ids), or_(_outbox.claimed_until.is_(None), _outbox.claimed_until < bindparam("now")))
    .values(claimed_until=bindparam("until"))
    .returning(_outbox.event_id)
)
_RENEW = update(_table).where(_outbox.event_id.in_(_ids)).values(claimed_until=bindparam("until"))
_UNCLAIM = update(_table).where(_outbox.event_id.in_(_ids)).values(claimed_until=None)
_ATTEMPTED = update(_table).where(_outbox.event_id == bindparam("failed_id")).values(attempts=_outbox.attempts + 1)


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
        # A bus that says when it is done with an event: rows are claimed, then deleted once settled.
        self._settling = bus if isinstance(bus, Settling) else None
        self._in_flight: dict[str, float] = {}  # event id -> when its claim was last renewed (monotonic)
        self._settled: list[str] = []

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

    def committed(self, events: Iterable[StagedEvent]) -> None:
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
        sent += await self.send_handed()
        await self._finish_settled()
        return sent

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
                if self._settling is not None:
                    taken = await self._claim(chunk)
                    await self._send([(event_id, *handed[event_id]) for event_id in chunk if event_id in taken])
                    sent += len(taken)
                    continue
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

    async def _claim(self, event_ids: list[str]) -> set[str]:
        """Claim the rows of ``event_ids`` that nobody holds (a settling bus); return the ids taken."""
        now = datetime.now(UTC)
        # The rows of events settled since the last round go in the same transaction: under load
        # there are nearly always some, and each round then costs the relay one commit, not two.
        done, self._settled = self._settled[:BATCH], self._settled[BATCH:]
        try:
            async with self.db.session() as session:
                if done:
                    await session.execute(_DONE, {"event_ids": done})
                params = {"event_ids": event_ids, "now": now, "until": now + timedelta(seconds=LEASE_S)}
                taken = set((await session.scalars(_CLAIM, params)).all())
                await session.commit()
        except BaseException:
            self._settled = done + self._settled
            raise
        return taken

    async def _send(self, events: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Publish claimed events (id, topic, event) to a settling bus; give back those not published."""
        assert self._settling is not None
        unsent = [event_id for event_id, _, _ in events]
        failed: str | None = None
        try:
            for event_id, topic, wire in events:
                self._in_flight[event_id] = time.monotonic()
                self._settling.on_settled(event_id, functools.partial(self._settle, event_id))
                try:
                    await self.bus.publish_wire(topic, wire)
                except BaseException:
                    self._settling.forget(event_id)
                    self._in_flight.pop(event_id, None)
                    failed = event_id
                    raise
                unsent.remove(event_id)
        finally:
            if unsent:
                # Not published: free them for the next sweep now rather than when the claim runs out.
                try:
                    async with self.db.session() as session:
                        await session.execute(_UNCLAIM, {"event_ids": unsent})
                        if failed is not None:
                            await session.execute(_ATTEMPTED, {"failed_id": failed})
                        await session.commit()
                except Exception as exc:  # the claims run out instead; the error being raised matters more
                    log.warning("outbox: could not give back %d unsent events (%r)", len(unsent), exc)

    def _settle(self, event_id: str) -> None:
        self._in_flight.pop(event_id, None)
        self._settled.append(event_id)
        self._wake.set()

    async def _finish_settled(self) -> None:
        """Delete the rows of settled events; renew the claims of those still in flight."""
        if self._settled:
            done, self._settled = self._settled, []
            try:
                async with self.db.session() as session:
                    for start in range(0, len(done), BATCH):
                        await session.execute(_DONE, {"event_ids": done[start : start + BATCH]})
                    await session.commit()
            except BaseException:
                self._settled = done + self._settled  # deleted next time (or, lost, sent again: deduped)
                raise
        renew_after = time.monotonic() - LEASE_S / 3
        stale = [event_id for event_id, renewed in self._in_flight.items() if renewed < renew_after]
        if stale:
            async with self.db.session() as session:
                until = datetime.now(UTC) + timedelta(seconds=LEASE_S)
                for start in range(0, len(stale), BATCH):
                    await session.execute(_RENEW, {"event_ids": stale[start : start + BATCH], "until": until})
                await session.commit()
            renewed = time.monotonic()
            for event_id in stale:
                if event_id in self._in_flight:
                    self._in_flight[event_id] = renewed

    async def release(self) -> None:
        """After the bus has stopped: delete what it finished, give back what it did not (not wait for leases)."""
        try:
            async with asyncio.timeout(5):
                await self._finish_settled()
                if self._in_flight:
                    unfinished, self._in_flight = list(self._in_flight), {}
                    async with self.db.session() as session:
                        for start in range(0, len(unfinished), BATCH):
                            await session.execute(_UNCLAIM, {"event_ids": unfinished[start : start + BATCH]})
                        await session.commit()
        except Exception as exc:  # their claims run out instead: sent again within LEASE_S
            log.warning("outbox: could not settle up at shutdown (%r)", exc)

    async def _sweep_table(self) -> int:
        self._sweep = False
        self._swept_at = time.monotonic()
        try:
            return await self._sweep_rows()
        except BaseException:
            self._sweep = True
            raise

    async def _sweep_rows(self) -> int:
        if self._settling is not None:
            return await self._sweep_unclaimed()
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

    async def _sweep_unclaimed(self) -> int:
        """A settling bus's sweep: the rows nobody holds, oldest first, claimed as the hand-over claims them."""
        sent = 0
        while True:
            async with self.db.session() as session:
                # Rows sent to this or another process's bus and not finished with stay theirs.
                now = datetime.now(UTC)
                unclaimed = or_(OutboxEvent.claimed_until.is_(None), OutboxEvent.claimed_until < now)
                stmt = select(OutboxEvent).where(unclaimed).order_by(OutboxEvent.id).limit(BATCH)
                rows = list((await session.execute(stmt)).scalars())
            if not rows:
                return sent
            # The claim, not this read, decides: another relay that read the same rows claims none of
            # those this one took (its conditional UPDATE finds them claimed), so none is sent twice.
            taken = await self._claim([row.event_id for row in rows])
            events = [(row.event_id, row.topic, row.event) for row in rows if row.event_id in taken]
            for event_id, _, _ in events:
                self._handed.pop(event_id, None)  # sent here; its hand-over would find it claimed
            await self._send(events)
            sent += len(events)
            if len(rows) < BATCH:
                return sent

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            # A timeout scope, not wait_for: on Python 3.11, wait_for can lose the cancellation that
            # stop() sends (see Database._acquire_writer).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_s):
                    await self._wake.wait()
            self._wake.clear()
            try:
                if self._sweep or time.monotonic() - self._swept_at >= self.poll_s:
                    await self.flush()
                else:
                    await self.send_handed()
                    await self._finish_settled()
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
