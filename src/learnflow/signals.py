"""Tell `?wait=` callers and SSE streams that a response was stored, in whichever process waits for it.

A response is stored by the triage replica whose consumer took its event; the caller may be waiting
in another replica on the same database. In one process (SQLite) the hub is told after the commit. On
PostgreSQL the storing transaction also sends a NOTIFY, which the server delivers to every replica's
listening connection once (and only if) that transaction commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from learnflow.db import Database
from learnflow.db.models import Response
from learnflow.uow import UnitOfWork

log = logging.getLogger(__name__)

CHANNEL = "learnflow_responses"
# NOTIFY payloads are ours, but the channel is open to any client of the database: bound what we parse.
MAX_NOTE_BYTES = 1024


@dataclass(frozen=True)
class Note:
    """A stored response, as much as a waiter needs to know to look it up."""

    query_id: str
    session_id: str
    final: bool


class ResponseHub:
    """In-process fan-out of stored responses to `?wait=` callers and SSE streams.

    A waiter's future carries the response row when it was stored in this process, else None (read it).
    """

    def __init__(self) -> None:
        self._waiters: dict[str, list[asyncio.Future[Response | None]]] = defaultdict(list)
        self._listeners: dict[str, set[asyncio.Queue[int]]] = defaultdict(set)

    def notify(self, note: Note, row: Response | None = None) -> None:
        if note.final:
            for fut in self._waiters.pop(note.query_id, []):
                if not fut.done():
                    fut.set_result(row)
        for queue in self._listeners.get(note.session_id, ()):
            queue.put_nowait(row.seq if row is not None else 0)

    def wake_all(self) -> None:
        """Wake every waiter and stream to look for itself (notes may have been missed)."""
        for query_id in list(self._waiters):
            self.notify(Note(query_id=query_id, session_id="", final=True))
        for queues in self._listeners.values():
            for queue in queues:
                queue.put_nowait(0)

    def waiter(self, query_id: str) -> asyncio.Future[Response | None]:
        fut: asyncio.Future[Response | None] = asyncio.get_running_loop().create_future()
        self._waiters[query_id].append(fut)
        return fut

    def discard(self, query_id: str, fut: asyncio.Future[Response | None]) -> None:
        waiters = self._waiters.get(query_id)
        if waiters and fut in waiters:
            waiters.remove(fut)
            if not waiters:
                del self._waiters[query_id]

    def listen(self, session_id: str) -> asyncio.Queue[int]:
        queue: asyncio.Queue[int] = asyncio.Queue()
        self._listeners[session_id].add(queue)
        return queue

    def unlisten(self, session_id: str, queue: asyncio.Queue[int]) -> None:
        self._listeners[session_id].discard(queue)
        if not self._listeners[session_id]:
            del self._listeners[session_id]


class LocalSignal:
    """One process: the hub is told once the storing unit of work has committed."""

    def __init__(self, db: Database, hub: ResponseHub) -> None:
        self.db = db
        self.hub = hub

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def announce(self, work: UnitOfWork, row: Response) -> None:
        """Tell waiters about ``row`` (stored in ``work``) when, and only when, ``work`` commits."""
        note = Note(query_id=row.query_id, session_id=row.session_id, final=row.kind != "ack")
        work.after_commit(lambda: self.hub.notify(note, row))


def parse_note(payload: str) -> Note | None:
    """A NOTIFY payload as a Note, or None when it is not one of ours."""
    if len(payload.encode()) > MAX_NOTE_BYTES:
        return None
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    query_id, session_id, final = data.get("q"), data.get("s"), data.get("f")
    if not isinstance(query_id, str) or not isinstance(session_id, str) or not isinstance(final, bool):
        return None
    return Note(query_id=query_id, session_id=session_id, final=final)


class PostgresSignal(LocalSignal):
    """Replicas on one PostgreSQL: the storing transaction NOTIFYs, every replica LISTENs."""

    # How often an idle listening connection is checked: a connection lost without a word is noticed.
    PING_S = 10.0

    def __init__(self, db: Database, hub: ResponseHub, *, connect_timeout_s: float = 5.0) -> None:
        super().__init__(db, hub)
        url = make_url(db.url).set(drivername="postgresql")
        self.dsn = url.render_as_string(hide_password=False)
        self.connect_timeout_s = connect_timeout_s
        self.listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="response-listener")
        # Serve once listening, so a waiter on this replica cannot miss an answer stored elsewhere;
        # a database that does not answer yet does not hold the start (the listener keeps trying).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.listening.wait(), self.connect_timeout_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def announce(self, work: UnitOfWork, row: Response) -> None:
        # This replica's own waiters are told at commit with the row itself (no read); the NOTIFY,
        # sent by PostgreSQL only if the transaction commits, tells the other replicas.
        await super().announce(work, row)
        payload = json.dumps({"q": row.query_id, "s": row.session_id, "f": row.kind != "ack"})
        await work.session.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload}
        )

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        note = parse_note(payload)
        if note is None:
            log.warning("ignored a notification on %s that is not a response note", CHANNEL)
            return
        self.hub.notify(note)

    async def _listen(self) -> None:
        import asyncpg

        backoff = 0.1
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn, timeout=self.connect_timeout_s)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._on_notify)
                self.listening.set()
                # Whatever was stored while nobody listened: let every waiter look for itself.
                self.hub.wake_all()
                backoff = 0.1
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.PING_S):
                            await lost.wait()
                    if not lost.is_set():
                        await conn.execute("SELECT 1", timeout=self.connect_timeout_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("response listener lost PostgreSQL (%s: %s); reconnecting", type(exc).__name__, exc)
            finally:
                self.listening.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.shield(conn.close(timeout=2))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)


# By the database's dialect: how a stored response reaches the processes that wait for it.
SIGNALS: dict[str, Callable[[Database, ResponseHub], LocalSignal]] = {
    "sqlite": LocalSignal,
    "postgresql": PostgresSignal,
}


def create_signal(db: Database, hub: ResponseHub) -> LocalSignal:
    return SIGNALS[db.engine.dialect.name](db, hub)
