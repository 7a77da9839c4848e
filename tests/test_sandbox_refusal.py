"""A sandbox that refuses to run code (no isolation on this server) is a final answer, not a retry.

``SandboxUnavailable`` cannot change between attempts, so a routed query is answered at once, plainly,
and marked done; a busy sandbox (``SandboxBusy``, a full queue) is transient and is still retried.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from learnflow.ai import OfflineProvider
from learnflow.bus import MemoryBus
from learnflow.config import SandboxSettings
from learnflow.runtime import Runtime
from learnflow.sandbox import ExecutionResult, Program, Sandbox, SandboxBusy
from learnflow.services.app import create_app
from learnflow.services.catalog import CATALOG
from tests.conftest import make_settings


class CountingSandbox(Sandbox):
    """A real sandbox whose runs are counted; ``busy`` makes every run find the queue full."""

    def __init__(self, settings: SandboxSettings, *, busy: bool = False) -> None:
        super().__init__(settings)
        self.calls = 0
        self.busy = busy

    async def run_many(self, programs: Sequence[Program], **kwargs: Any) -> list[ExecutionResult]:
        self.calls += 1
        if self.busy:
            raise SandboxBusy("the code runner is busy: try again shortly", retry_after_s=1)
        return await super().run_many(programs, **kwargs)


def refusing() -> CountingSandbox:
    # A bubblewrap that does not exist: SANDBOX_ISOLATION=auto then refuses to run anything.
    box = CountingSandbox(SandboxSettings(SANDBOX_BWRAP="/nonexistent/bwrap"))  # type: ignore[call-arg]
    assert not box.available
    return box


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Any]:
    runtimes: list[Runtime] = []

    async def start(box: Sandbox) -> tuple[Runtime, httpx.AsyncClient]:
        rt = Runtime(
            CATALOG,
            None,
            settings=make_settings(tmp_path),
            bus=MemoryBus(backoff_s=0.01),
            ai=OfflineProvider(),
            sandbox=box,
        )
        await rt.start()
        runtimes.append(rt)
        transport = httpx.ASGITransport(app=create_app(runtime=rt))
        return rt, httpx.AsyncClient(transport=transport, base_url="http://learnflow.test", timeout=30)

    yield start
    for rt in runtimes:
        await rt.stop()


async def _dead_letters(rt: Runtime) -> int:
    from sqlalchemy import func, select

    from learnflow.db.models import DeadLetter

    async with rt.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(DeadLetter)) or 0)


DEBUG = {"query": "why does this crash?", "code": "print(10 / 0)\n"}
# Code for the student's own exercise: the exercise tutor grades it, which needs the sandbox too.
CHECK = {"query": "can you check my solution?", "code": "def add(a, b):\n    return a + b\n"}


@pytest.mark.parametrize(("body", "agent"), [(DEBUG, "debug"), (CHECK, "exercise")])
async def test_a_refusing_sandbox_answers_at_once_and_plainly(serve, body: dict[str, str], agent: str):  # type: ignore[no-untyped-def]
    box = refusing()
    rt, client = await serve(box)
    async with client:
        if agent == "exercise":  # an open assignment, so that the code sent is graded against it
            given = await client.post(
                "/api/triage?wait=10",
                json={"student_id": "s-1", "session_id": "c-1", "query": "give me an exercise on functions"},
            )
            assert given.json()["status"] == "answered", given.text
            body = {**body, "exercise_id": given.json()["response"]["data"]["exercise_id"]}
        resp = await client.post("/api/triage?wait=10", json={"student_id": "s-1", "session_id": "c-1", **body})
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["routed_to"] == agent
    assert got["status"] == "failed", got
    answer = got["response"]
    assert answer["agent"] == agent and answer["kind"] == "error"
    assert answer["content"].startswith("Code can't be run safely on this server right now because "), answer
    # The sandbox's own reason, so whoever reads it knows what to fix.
    assert "bubblewrap" in answer["content"], answer
    assert answer["data"]["reason"] == "sandbox_unavailable"
    # One attempt, no retries, nothing dead-lettered: the refusal was the answer.
    assert box.calls == 1
    assert await _dead_letters(rt) == 0


async def test_a_busy_sandbox_is_retried(serve):  # type: ignore[no-untyped-def]
    box = CountingSandbox(SandboxSettings(SANDBOX_ISOLATION="rlimits"), busy=True)  # type: ignore[call-arg]
    rt, client = await serve(box)
    async with client:
        resp = await client.post("/api/triage?wait=10", json={"student_id": "s-1", "session_id": "c-1", **DEBUG})
    got = resp.json()
    assert got["status"] == "failed" and got["response"]["kind"] == "error", got
    assert "try again" in got["response"]["content"]
    # A full queue can clear: every attempt the bus allows was made before giving up.
    assert box.calls == rt.settings.bus.max_attempts > 1
    assert await _dead_letters(rt) == 1
