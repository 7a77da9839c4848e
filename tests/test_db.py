"""Storage: configuration, migrations on SQLite and PostgreSQL, and a database that is down."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from learnflow.config import DatabaseSettings
from learnflow.db import Database
from learnflow.db.models import Base
from learnflow.runtime import Runtime
from learnflow.services.app import create_app
from tests.conftest import RuntimeFactory, free_port

TABLES = {
    "students",
    "sessions",
    "queries",
    "responses",
    "exercises",
    "assignments",
    "submissions",
    "progress",
    "struggle_alerts",
    "processed_events",
    "dead_letters",
    "alembic_version",
    "outbox",
    "code_runs",
    "quiz_attempts",
}


def test_url_from_configmap_variables(tmp_path: Path):
    settings = DatabaseSettings(  # type: ignore[call-arg]
        POSTGRES_HOST="db.internal",
        POSTGRES_PORT=6543,
        POSTGRES_DB="learn flow",
        POSTGRES_USER="lf",
        POSTGRES_PASSWORD="p@ss/word",
    )
    assert settings.url(tmp_path) == "postgresql+asyncpg://lf:p%40ss%2Fword@db.internal:6543/learn%20flow"
    assert "p@ss" not in repr(settings)  # the password is a SecretStr


def test_database_url_wins_and_is_mapped_to_async_drivers(tmp_path: Path):
    explicit = DatabaseSettings(DATABASE_URL="postgres://u@h/d", POSTGRES_HOST="ignored")  # type: ignore[call-arg]
    assert explicit.url(tmp_path) == "postgresql+asyncpg://u@h/d"
    assert DatabaseSettings().url(tmp_path).startswith("sqlite+inloop:///")


async def test_migrations_create_every_table(database_url: str):
    db = Database(database_url)
    try:
        await db.upgrade()
        await db.upgrade()  # idempotent
        async with db.engine.connect() as conn:
            names = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await db.dispose()
    assert names >= TABLES


async def test_migrations_match_the_models(database_url: str):
    """Autogenerate finds nothing to do: every model change has its migration."""
    db = Database(database_url)
    try:
        await db.upgrade()
        async with db.engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": False}), Base.metadata)
            )
    finally:
        await db.dispose()
    assert diff == []


def test_cli_db_upgrade_on_postgresql(postgres_url: str, tmp_path: Path):
    env = {**os.environ, "DATABASE_URL": postgres_url}
    out = subprocess.run(
        [str(Path(sys.executable).parent / "learnflow"), "db", "upgrade"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "up to date" in out.stdout and "postgresql" in out.stdout


async def test_postgresql_down_gives_503_quickly(make_runtime: RuntimeFactory):
    rt: Runtime = make_runtime()
    await rt.start()
    await rt.db.dispose()
    # Nothing listens on this port: every connection is refused at once.
    rt.db = Database(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none", connect_timeout_s=2)
    transport = httpx.ASGITransport(app=create_app(runtime=rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        started = time.perf_counter()
        ready = await client.get("/ready")
        assert ready.status_code == 503 and "database" in ready.json()["reasons"][0]
        resp = await client.post("/api/triage", json={"student_id": "s", "session_id": "t", "query": "What is a list?"})
        assert resp.status_code == 503 and resp.json()["error"]["code"] == "database_unavailable"
        assert (await client.get("/api/exercises")).status_code == 503
        assert time.perf_counter() - started < 10


async def test_core_statements_share_the_sessions_transaction(database_url: str) -> None:
    """``core(session)``: the transaction's own connection, once per transaction, and a new one after it."""
    from sqlalchemy import func, select

    from learnflow.db import Database
    from learnflow.db.models import Student
    from learnflow.db.session import core, insert_ignoring

    db = Database(database_url)
    await db.upgrade()
    try:
        async with db.session() as s:
            first = await core(s)
            assert await core(s) is first  # looked up once per transaction
            await first.execute(insert_ignoring(s, Student), {"id": "rolled-back"})
            # The ORM session sees it: one transaction.
            assert await s.scalar(select(func.count()).where(Student.id == "rolled-back")) == 1
            await s.rollback()
            second = await core(s)
            assert second is not first and first.closed
            await second.execute(insert_ignoring(s, Student), {"id": "kept"})
            await s.commit()
        async with db.session() as s:
            ids = set((await s.scalars(select(Student.id).where(Student.id.in_(["rolled-back", "kept"])))).all())
        assert ids == {"kept"}
    finally:
        await db.dispose()


async def test_a_committed_session_holds_no_connection(database_url: str) -> None:
    """A session that committed holds no connection (why ``Database.session`` need not close it: were that
    ever not so, the skipped close would leak one per unit of work); a read-only session is closed on leaving."""
    from sqlalchemy import text

    from learnflow.db import Database

    db = Database(database_url)
    await db.upgrade()
    pool = db.engine.sync_engine.pool
    try:
        async with db.session() as s:
            await s.execute(text("SELECT 1"))
            await s.commit()
            assert pool.checkedout() == 0  # type: ignore[attr-defined]
        async with db.session() as s:
            await s.execute(text("SELECT 1"))
            assert pool.checkedout() == 1  # type: ignore[attr-defined]
        assert pool.checkedout() == 0  # type: ignore[attr-defined]  # a read-only session is closed on leaving
    finally:
        await db.dispose()
