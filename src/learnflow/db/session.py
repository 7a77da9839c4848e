"""Engine, sessions, readiness and migrations for one database URL."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Insert, Table, event, insert, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_only

from learnflow.db.sqlite_inloop import WRITES, SQLiteDialect_inloop

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
# How long a write waits for this process's other writers, like SQLite's own busy timeout.
WRITER_WAIT_S = 30.0
# How long a SQLite statement waits for another process's write lock (a CLI command beside the server).
# The in-loop driver waits on the event loop's thread, so the whole process waits with it: keep it short.
SQLITE_BUSY_TIMEOUT_S = 5.0
# Connections kept open on SQLite: enough for the requests and consumers of one busy process, so the
# pool does not open and close a connection (and set its pragmas) for every burst above its size.
SQLITE_POOL_SIZE = 32


def row_values(row: DeclarativeBase) -> dict[str, Any]:
    """The columns set on a transient ORM object, for a Core INSERT that neither flushes nor tracks it.

    Unset columns take their defaults in the database row only: set any the caller reads back.
    """
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key in row.__dict__}


def insert_ignoring(session: AsyncSession, model: type[DeclarativeBase], *, returning: str | None = None) -> Insert:
    """An INSERT that skips rows whose unique key exists already; execute it with the row(s) as parameters.

    One statement, no race to lose. With ``returning``, the new row's column (None when it existed).
    """
    return _insert_ignoring(session.get_bind().dialect.name, table_of(model), returning)


def insert_into(model: type[DeclarativeBase], *, returning: str | None = None) -> Insert:
    """A plain INSERT into the model's table; execute it with the row(s) as parameters."""
    return _insert(table_of(model), returning)


def table_of(model: type[DeclarativeBase]) -> Table:
    """The model's table, for Core statements."""
    table = model.__table__
    assert isinstance(table, Table)  # every model maps one table
    return table


# The hot statements are Core statements on the tables, built once and executed with parameters:
# building one per call (``insert(Model).values(**row)``) coerced every value and computed its cache
# key each time, and the ORM's bulk path then mapped each row again; that was a quarter of the CPU
# time of a question (bench/load.py). Rows go as parameters, never as ``.values(rows)``: a multi-row
# VALUES clause has no cache key and would be compiled again on every call.
@functools.cache
def _insert_ignoring(dialect: str, table: Table, returning: str | None) -> Insert:
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    stmt = insert(table).on_conflict_do_nothing()
    return stmt.returning(table.c[returning]) if returning else stmt


@functools.cache
def _insert(table: Table, returning: str | None) -> Insert:
    stmt = insert(table)
    return stmt.returning(table.c[returning]) if returning else stmt


_CORE = "learnflow.core"


async def core(session: AsyncSession) -> AsyncConnection:
    """The connection of ``session``'s transaction, to run a Core statement on without the ORM's layers.

    A Core statement gains nothing from ``session.execute`` (no entities to map, no flush wanted before
    it) but pays for the ORM's execution layers, about a third of what the statement costs. The
    connection is looked up once per transaction (``session.connection()`` is a trip through the
    greenlet bridge of its own). What the session has pending is not flushed before such a statement.
    """
    connection: AsyncConnection | None = session.info.get(_CORE)
    if connection is None or connection.closed:
        connection = session.info[_CORE] = await session.connection()
    return connection


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class Database:
    """One async engine and its session factory."""

    def __init__(self, url: str, *, connect_timeout_s: float = 5.0) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # A local file has no connection to lose: pinging it would only add a round trip per checkout.
        kwargs: dict[str, Any] = {"pool_pre_ping": not self.is_sqlite}
        if self.is_sqlite:
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                kwargs["pool_size"] = kwargs["max_overflow"] = SQLITE_POOL_SIZE
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
        else:
            # A down database must produce a quick, clear 503 rather than a hung request.
            kwargs["connect_args"] = {"timeout": connect_timeout_s, "command_timeout": 30}
            kwargs["pool_timeout"] = connect_timeout_s
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            self._writer = asyncio.Lock()
            dialect = self.engine.sync_engine.dialect
            if isinstance(dialect, SQLiteDialect_inloop):
                dialect.before_first_write = self._wait_for_writer
            else:  # aiosqlite: its statements reach the dialect in its thread, too late to queue
                event.listen(self.engine.sync_engine, "before_cursor_execute", self._before_statement)
            event.listen(self.engine.sync_engine.pool, "checkin", self._checkin)
            # An invalidated connection is closed before it is checked in, and checked in as None.
            event.listen(self.engine.sync_engine.pool, "close", self._closing)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        session = self.sessionmaker()
        try:
            yield session
        finally:
            # A session whose transaction has ended (a unit of work that committed) holds no connection
            # and has nothing to roll back; closing it anyway cost a task, a shield and a greenlet on
            # every commit. Any other is closed as ``async with`` closes it, shielded from cancellation.
            if session.sync_session.in_transaction():
                await session.__aexit__(None, None, None)

    def _before_statement(self, conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        # SQLite has one writer; the others poll for its lock, sleeping up to 100 ms a time, which
        # under load is most of a request's latency. This process's writers queue here instead, from
        # their first write until their connection goes back to the pool (after commit or rollback).
        if conn.info.get("writer") or not statement.lstrip()[:7].upper().startswith(WRITES):
            return
        self._wait_for_writer()
        conn.info["writer"] = True

    def _wait_for_writer(self) -> None:
        await_only(self._acquire_writer())

    async def _acquire_writer(self) -> None:
        # A timeout scope, not asyncio.wait_for: on Python 3.11, wait_for returns normally when the lock
        # is granted in the same moment the task is cancelled, and the cancellation is lost. The outbox
        # relay, cancelled at shutdown while it queued here, then ran on and Runtime.stop() never ended.
        async with asyncio.timeout(WRITER_WAIT_S):
            await self._writer.acquire()

    def _checkin(self, dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        if record.info.pop("writer", False):  # aiosqlite's connection
            self._writer.release()
        else:
            self._closing(dbapi_connection, record)

    def _closing(self, dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        if getattr(dbapi_connection, "writing", False):  # the in-loop driver's connection
            dbapi_connection.writing = False
            self._writer.release()

    async def ping(self) -> str | None:
        """Return None when the database answers, else the reason it does not."""
        try:
            async with asyncio.timeout(5), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            return f"database unavailable: {type(exc).__name__}: {str(exc)[:200]}"
        return None

    async def upgrade(self) -> None:
        """Apply every pending migration (one process at a time when several share a server)."""
        async with self.engine.begin() as conn:
            if not self.is_sqlite:
                # Services starting together would otherwise race to create the same tables.
                await conn.execute(text("SELECT pg_advisory_xact_lock(734201)"))
            await conn.run_sync(_upgrade, self.url)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _upgrade(connection: Connection, url: str) -> None:
    cfg = alembic_config(url)
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (SSE, GET) proceed while a writer commits; busy_timeout waits instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
