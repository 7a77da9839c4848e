"""With RUNNER_URL set, the services that hold secrets run no code: the runner service runs it all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from learnflow.config import RunnerSettings
from learnflow.curriculum import get_curriculum
from learnflow.runtime import Runtime
from learnflow.sandbox import Sandbox
from learnflow.sandbox.remote import RemoteRunner
from learnflow.services.app import create_app
from learnflow.services.catalog import CATALOG
from tests.conftest import RuntimeFactory, make_settings

SECRET_HOLDERS = ("triage", "concepts", "debug", "exercise")


class Counted(httpx.AsyncBaseTransport):
    """Sends the services' requests to the runner app in this process, counting them by path."""

    def __init__(self, app: object) -> None:
        self.inner = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self.inner.handle_async_request(request)


class Down(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)


@pytest.fixture
async def runner(make_runtime: RuntimeFactory) -> Runtime:
    rt = make_runtime(("runner",))
    await rt.start()
    return rt


def remote_runtime(make_runtime: RuntimeFactory, transport: httpx.AsyncBaseTransport) -> Runtime:
    rt = make_runtime(SECRET_HOLDERS, sandbox=None)
    remote = RemoteRunner(
        "http://runner.test", timeout_s=30, client=httpx.AsyncClient(transport=transport, base_url="http://runner.test")
    )
    rt.sandbox = rt.grader = rt.remote = remote
    return rt


@pytest.fixture
async def services(make_runtime: RuntimeFactory, runner: Runtime) -> AsyncIterator[tuple[httpx.AsyncClient, Counted]]:
    counted = Counted(create_app(runtime=runner))
    rt = remote_runtime(make_runtime, counted)
    await rt.start()
    transport = httpx.ASGITransport(app=create_app(runtime=rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://services.test", timeout=60) as client:
        yield client, counted


def test_the_wiring_sends_code_to_the_runner_unless_this_is_the_runner(tmp_path: Path) -> None:
    settings = replace(make_settings(tmp_path), runner=RunnerSettings(RUNNER_URL="http://localhost:3500/x"))
    debug = Runtime(CATALOG, ("debug", "exercise"), settings=settings)
    assert isinstance(debug.sandbox, RemoteRunner) and debug.grader is debug.sandbox
    runner = Runtime(CATALOG, ("runner",), settings=settings)
    assert isinstance(runner.sandbox, Sandbox)
    local = Runtime(CATALOG, ("debug",), settings=make_settings(tmp_path))
    assert isinstance(local.sandbox, Sandbox)


async def test_debug_reproduces_the_error_in_the_runner(services: tuple[httpx.AsyncClient, Counted]) -> None:
    client, counted = services
    resp = await client.post("/api/debug/analyze", json={"code": "total = 0\nprint(totl)\n", "student_id": "r-1"})
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer["error_type"] == "NameError"
    assert "/api/execute" in counted.paths


async def test_grading_runs_in_the_runner_and_keeps_hidden_tests_hidden(
    services: tuple[httpx.AsyncClient, Counted],
) -> None:
    client, counted = services
    exercise = next(e for e in get_curriculum().exercises.values() if e.hidden_tests.strip())
    url = f"/api/exercises/{exercise.id}/submissions"
    right = (await client.post(url, json={"student_id": "r-2", "code": exercise.solution})).json()
    assert right["passed"] is True, right
    wrong = (await client.post(url, json={"student_id": "r-2", "code": exercise.starter_code})).json()
    assert wrong["passed"] is False
    assert counted.paths.count("/api/grade") == 2


async def test_a_runner_that_is_down_is_a_clear_503(make_runtime: RuntimeFactory) -> None:
    rt = remote_runtime(make_runtime, Down())
    await rt.start()
    transport = httpx.ASGITransport(app=create_app(runtime=rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://services.test", timeout=60) as client:
        resp = await client.post("/api/debug/analyze", json={"code": "print(x)\n"})
        assert resp.status_code == 503, resp.text
        assert resp.json()["error"]["code"] == "runner_unavailable"
        ready = await client.get("/ready")
        assert ready.status_code == 503 and "runner" in ready.json()["checks"]["sandbox"]


async def test_the_runner_is_ready_only_after_a_real_sandboxed_run(runner: Runtime) -> None:
    checks = await runner.ready()
    assert checks["sandbox"] == "ok"
    assert runner.sandbox.available


async def test_the_runner_refuses_files_named_like_the_program(runner: Runtime) -> None:
    transport = httpx.ASGITransport(app=create_app(runtime=runner))
    async with httpx.AsyncClient(transport=transport, base_url="http://runner.test") as client:
        bad = await client.post("/api/execute", json={"code": "print(1)", "files": {"main.py": "x"}})
        assert bad.status_code == 422
        odd = await client.post("/api/execute", json={"code": "print(1)", "files": {"../etc/passwd": "x"}})
        assert odd.status_code == 422
        ok = await client.post(
            "/api/execute", json={"code": "print(open('data.txt').read())", "files": {"data.txt": "hello"}}
        )
        assert ok.json()["stdout"] == "hello\n"


async def test_triage_alone_runs_no_code_and_is_ready_without_a_sandbox(make_runtime: RuntimeFactory) -> None:
    from learnflow.sandbox import NoCode, SandboxUnavailable

    rt = make_runtime(("triage",))
    assert isinstance(rt.sandbox, NoCode)
    await rt.start()
    assert (await rt.ready())["sandbox"] == "ok"
    with pytest.raises(SandboxUnavailable):
        await rt.sandbox.run("print(1)")
