"""SQLite for the asyncio engine without a driver thread: each statement runs on the event loop.

aiosqlite runs every call of a connection on a thread of its own and hands the result back to the
event loop; per statement that is three to four handovers across threads, each a GIL hand-off, and on
a loaded loop it was most of the cost of a query (bench/load.py). SQLite works on a local file and a
statement here takes microseconds, so it runs in place instead: SQLAlchemy's greenlet bridge calls
the standard library's ``sqlite3`` directly and never has to wait.

It behaves as aiosqlite does in every other respect: both drive the same ``sqlite3`` module with the
same transaction handling. What makes running on the loop safe: this process's writers queue on an
asyncio lock before their first write (the dialect's ``before_first_write``, set by ``Database``), so
a statement never meets a lock held by this process, and in WAL mode readers never wait for writers.
Only another process writing the same file (a CLI command beside ``learnflow serve``) can make a
statement wait, and with it the whole process, for up to ``session.SQLITE_BUSY_TIMEOUT_S``; it then
fails like any locked database. ``DATABASE_URL=sqlite+aiosqlite:///...`` still selects the threaded driver.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.engine.interfaces import (
    DBAPICursor,
    ExecutionContext,
    _DBAPIMultiExecuteParams,
    _DBAPISingleExecuteParams,
)
from sqlalchemy.util import await_

# Statements that make their connection the writer (SQLite's has one at a time).
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class SQLiteDialect_inloop(SQLiteDialect_pysqlite):
    driver = "inloop"
    supports_statement_cache = True
    # The asyncio engine accepts only dialects that say so; this one's statements never wait (see above).
    is_async = True
    # Called (inside SQLAlchemy's greenlet, so it may await) before a connection's first write of a
    # transaction; the owner releases the connection's turn once it is back in the pool (``writing``).
    # Here rather than in a ``before_cursor_execute`` listener: any statement listener on the engine sends
    # every execution through SQLAlchemy's event dispatch, 7 % of the CPU time of a question.
    before_first_write: Callable[[], None] | None = None

    def _admit(self, cursor: DBAPICursor, statement: str) -> None:
        gate = self.before_first_write
        if gate is None:
            return
        connection = cursor.connection
        if not connection.writing and statement.lstrip()[:7].upper().startswith(WRITES):
            gate()
            connection.writing = True

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        # A full pool must make the task wait, not block the thread the whole loop runs on.
        return pool.AsyncAdaptedQueuePool if cls._is_url_file_db(url) else pool.StaticPool

    def create_connect_args(self, url: URL) -> tuple[Sequence[str], MutableMapping[str, Any]]:
        args, kwargs = super().create_connect_args(url)
        # Connections stay on the loop's thread; closing one at interpreter exit may happen elsewhere.
        kwargs["check_same_thread"] = False
        kwargs["factory"] = _Connection
        return args, kwargs

    # SQLAlchemy's asyncio layer insists that a statement awaited something (else it suspects a
    # blocking driver by mistake). This one blocks on purpose, so each statement awaits a coroutine
    # that is already finished: a greenlet switch, without giving the loop to other tasks mid-statement.
    def do_execute(
        self,
        cursor: DBAPICursor,
        statement: str,
        parameters: _DBAPISingleExecuteParams | None,
        context: ExecutionContext | None = None,
    ) -> None:
        self._admit(cursor, statement)
        cursor.execute(statement, parameters)
        await_(_finished())

    def do_executemany(
        self,
        cursor: DBAPICursor,
        statement: str,
        parameters: _DBAPIMultiExecuteParams,
        context: ExecutionContext | None = None,
    ) -> None:
        self._admit(cursor, statement)
        cursor.executemany(statement, parameters)
        await_(_finished())

    def do_execute_no_params(
        self, cursor: DBAPICursor, statement: str, context: ExecutionContext | None = None
    ) -> None:
        self._admit(cursor, statement)
        cursor.execute(statement)
        await_(_finished())


async def _finished() -> None:
    return None


class _Cursor(sqlite3.Cursor):
    """A ``sqlite3`` cursor as SQLAlchemy's asyncio layer expects a cursor of an async driver to be."""

    async def _async_soft_close(self) -> None:
        # Async drivers fetch every row before the result leaves the greenlet, then close the cursor.
        # This one's rows are read on the loop when asked for, so the cursor stays open until then.
        return None


class _Connection(sqlite3.Connection):
    # This connection holds its Database's writer turn (see SQLiteDialect_inloop.before_first_write).
    writing = False

    def cursor(self, factory: Any = _Cursor) -> Any:
        return super().cursor(factory)


registry.register("sqlite.inloop", __name__, "SQLiteDialect_inloop")
