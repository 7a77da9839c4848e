"""Unit of work: one transaction per HTTP request and per event delivery.

Whoever starts the work (a route, a consumer, a periodic job) opens the unit; everything it calls
stages rows and outbox events in the unit's session and never commits. The unit commits the state,
the outbox rows of the events it produced and, for a consumer, the processed-event mark together, or
rolls all of them back. A nested ``begin`` joins the open unit, so a service function can be called
from a route or from a handler and commits with whichever owns the transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from learnflow.db import Database
from learnflow.db.models import OutboxEvent
from learnflow.db.session import core, insert_ignoring


class StagedEvent(NamedTuple):
    """An outbox row the unit writes just before it commits (a tuple: no ORM object for a row nobody reads)."""

    event_id: str
    topic: str
    event: dict[str, Any]


class UnitOfWork:
    """The open transaction of one request or delivery, and what to do once it has committed."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.staged_events = 0
        self.discarded = False
        # Outbox rows written in one statement just before the commit: on SQLite every statement
        # after the first write is made holding the single writer's lock.
        self.outbox: list[StagedEvent] = []
        self._after_commit: list[Callable[[], None]] = []

    def discard(self) -> None:
        """Roll the unit back when it ends instead of committing it (a handler that did not succeed)."""
        self.discarded = True

    def stage(self, *, topic: str, wire: dict[str, Any]) -> None:
        """Add an event to the unit's outbox (once per event id)."""
        if all(row.event_id != wire["id"] for row in self.outbox):
            self.outbox.append(StagedEvent(str(wire["id"]), topic, wire))
            self.staged_events += 1

    async def _write_outbox(self) -> None:
        if self.outbox:
            rows = [staged._asdict() for staged in self.outbox]
            # An id staged by an earlier, committed delivery of the same cause is not staged twice.
            await (await core(self.session)).execute(insert_ignoring(self.session, OutboxEvent), rows)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the unit has committed (never when it rolls back)."""
        self._after_commit.append(callback)


# Context-local rather than passed down: the bus hands a handler only its event, and the same service
# functions run under a route and under a handler.
_current: ContextVar[UnitOfWork | None] = ContextVar("learnflow_unit_of_work", default=None)


def current() -> UnitOfWork | None:
    """The unit of work open in this task, if any."""
    return _current.get()


@asynccontextmanager
async def begin(db: Database, *, on_events: Callable[[UnitOfWork], None] | None = None) -> AsyncIterator[UnitOfWork]:
    """Open a unit of work (or join the open one); commit on success, roll back on any exception.

    ``on_events`` runs after a commit that staged outbox events, with the committed unit (the relay's
    hand-over: ``outbox`` holds the rows the unit wrote itself).
    """
    joined = _current.get()
    if joined is not None:
        yield joined
        return
    async with db.session() as session:
        uow = UnitOfWork(session)
        token = _current.set(uow)
        try:
            yield uow
            if not uow.discarded:
                await uow._write_outbox()
                await session.commit()
        finally:
            _current.reset(token)
        # Leaving the session closes it, which rolls back whatever was not committed; SQLAlchemy
        # shields that close from cancellation, which a rollback awaited here would not be.
    if uow.discarded:
        return
    if uow.staged_events and on_events is not None:
        on_events(uow)
    for callback in uow._after_commit:
        callback()
