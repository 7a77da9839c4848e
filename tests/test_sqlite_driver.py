"""SQLite on the event loop (``sqlite+inloop``): no driver threads, writers queue, a foreign lock times out."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.exc import OperationalError

from learnflow.config import DatabaseSettings
from learnflow.db import Database, session
from learnflow.db.models import Student


async def _database(url: str) -> Database:
    db = Database(url)
    await db.upgrade()
    return db


async def _count_students(db: Database) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(Student)) or 0)


def test_sqlite_urls_get_the_in_loop_driver(tmp_path: Path) -> None:
    assert DatabaseSettings().url(tmp_path).startswith("sqlite+inloop:///")
    pasted = DatabaseSettings(DATABASE_URL="sqlite:///x.db")  # type: ignore[call-arg]
    assert pasted.url(tmp_path) == "sqlite+inloop:///x.db"
    chosen = DatabaseSettings(DATABASE_URL="sqlite+aiosqlite:///x.db")  # type: ignore[call-arg]
    assert chosen.url(tmp_path) == "sqlite+aiosqlite:///x.db"  # an explicit driver is kept


@pytest.mark.parametrize(("driver", "threads"), [("inloop", False), ("aiosqlite", True)])
async def test_statements_start_no_threads_on_the_in_loop_driver(tmp_path: Path, driver: str, threads: bool) -> None:
    # aiosqlite is measured too, so that this check is seen to tell the two apart.
    db = await _database(f"sqlite+{driver}:///{tmp_path / 'learnflow.db'}")
    try:
        await db.engine.dispose()  # the migration's connection is gone; count from here
        before = {t.ident for t in threading.enumerate()}
        for i in range(20):
            async with db.session() as s, s.begin():
                await s.execute(insert(Student).values(id=f"s{i}"))
        started = {t.ident for t in threading.enumerate()} - before
        assert bool(started) is threads, started
        assert await _count_students(db) == 20
    finally:
        await db.dispose()


async def test_concurrent_writers_all_commit(tmp_path: Path) -> None:
    """Many interleaved write transactions: each waits its turn on the loop, none meets a locked file."""
    db = await _database(f"sqlite+inloop:///{tmp_path / 'learnflow.db'}")

    async def write(i: int) -> None:
        async with db.session() as s, s.begin():
            await s.scalar(select(func.count()).select_from(Student))  # a read first, then a write
            await asyncio.sleep(0)  # hand the loop to the other writers mid-transaction
            await s.execute(insert(Student).values(id=f"a{i}"))
            await asyncio.sleep(0)
            await s.execute(insert(Student).values(id=f"b{i}"))

    try:
        await asyncio.gather(*(write(i) for i in range(60)))
        assert await _count_students(db) == 120
    finally:
        await db.dispose()


async def test_an_invalidated_writer_gives_its_turn_back(tmp_path: Path) -> None:
    """A writer's connection invalidated mid-transaction (a driver error) is checked in as None: its turn
    is given back when it is closed, or every later write would wait for the lock's timeout."""
    db = await _database(f"sqlite+inloop:///{tmp_path / 'learnflow.db'}")
    try:
        async with db.session() as s:
            await s.execute(insert(Student).values(id="lost"))
            await (await s.connection()).invalidate()
        async with asyncio.timeout(2), db.session() as s, s.begin():
            await s.execute(insert(Student).values(id="next"))
        assert await _count_students(db) == 1
    finally:
        await db.dispose()


async def test_another_process_lock_fails_after_the_busy_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write lock held outside this process makes a write fail after the busy timeout, then work again."""
    monkeypatch.setattr(session, "SQLITE_BUSY_TIMEOUT_S", 0.3)
    path = tmp_path / "learnflow.db"
    db = await _database(f"sqlite+inloop:///{path}")
    await db.engine.dispose()  # new connections take the patched timeout
    other = sqlite3.connect(path, isolation_level=None)  # stands for another process: its own connection
    try:
        other.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        with pytest.raises(OperationalError, match="locked"):
            async with db.session() as s, s.begin():
                await s.execute(insert(Student).values(id="blocked"))
        waited = time.monotonic() - started
        assert 0.25 <= waited < 3, waited
        other.execute("ROLLBACK")
        async with db.session() as s, s.begin():
            await s.execute(insert(Student).values(id="after"))
        assert await _count_students(db) == 1
    finally:
        other.close()
        await db.dispose()


async def test_results_are_read_after_the_statement_returns(tmp_path: Path) -> None:
    """A result handed out of SQLAlchemy's greenlet (rows read later, on the loop) works as with aiosqlite."""
    db = await _database(f"sqlite+inloop:///{tmp_path / 'learnflow.db'}")
    try:
        async with db.engine.begin() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
            await conn.execute(insert(Student), [{"id": "a"}, {"id": "b"}])
            taken = await conn.execute(delete(Student).where(Student.id == "a").returning(Student.id))
            assert taken.scalars().all() == ["a"]
        async with db.session() as s:
            assert (await s.execute(select(Student.id))).scalars().all() == ["b"]
        assert await db.ping() is None
    finally:
        await db.dispose()


async def test_a_writer_cancelled_as_it_gets_the_lock_stays_cancelled(tmp_path: Path) -> None:
    """Python 3.11's wait_for lost a cancellation that came as the lock was granted (shutdown then hung)."""
    db = await _database(f"sqlite+inloop:///{tmp_path / 'learnflow.db'}")

    async def write() -> None:
        async with db.session() as s, s.begin():
            await s.execute(insert(Student).values(id="second"))  # queues behind the first writer
            await asyncio.sleep(0)

    try:
        async with db.session() as first:
            await first.execute(insert(Student).values(id="first"))  # holds this process's writer lock
            task = asyncio.create_task(write())
            await asyncio.sleep(0.05)
            await first.commit()  # hands the lock to the queued writer (nothing has yielded since)...
            await asyncio.sleep(0)  # ...which takes it now...
            task.cancel()  # ...and is cancelled in that moment
            await asyncio.gather(task, return_exceptions=True)
        # The write may have happened (the task ran on to its next pause), but the task must end cancelled:
        # with wait_for it finished normally, the cancellation lost, and so shutdown never ended.
        assert task.cancelled()
    finally:
        await db.dispose()
