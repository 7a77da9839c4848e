"""Shared fixtures: a fresh runtime per test on its own SQLite file, the in-memory bus, offline AI."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from learnflow.ai import AIProvider, OfflineProvider
from learnflow.bus import MemoryBus
from learnflow.config import AISettings, AppSettings, BusSettings, DatabaseSettings, SandboxSettings, Settings
from learnflow.runtime import SERVICES, Runtime
from learnflow.services.app import create_app

# Tests never talk to a real LLM, whatever the developer's shell has set.
for _name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AI_PROVIDER", "DATABASE_URL", "POSTGRES_HOST", "EVENT_BUS"):
    os.environ.pop(_name, None)


def make_settings(tmp_path: Path, **db: str) -> Settings:
    return Settings(
        app=AppSettings(LEARNFLOW_DATA_DIR=str(tmp_path), ENVIRONMENT="test"),  # type: ignore[call-arg]
        db=DatabaseSettings(**db),  # type: ignore[arg-type]
        bus=BusSettings(EVENT_RETRY_BACKOFF_S=0.01),  # type: ignore[call-arg]
        ai=AISettings(AI_PROVIDER="offline"),  # type: ignore[call-arg]
        sandbox=SandboxSettings(),
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


RuntimeFactory = Callable[..., Runtime]


@pytest.fixture
async def make_runtime(tmp_path: Path) -> AsyncIterator[RuntimeFactory]:
    started: list[Runtime] = []

    def factory(services: tuple[str, ...] = SERVICES, *, ai: AIProvider | None = None, **kwargs: object) -> Runtime:
        rt = Runtime(
            services,
            settings=make_settings(tmp_path),
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
