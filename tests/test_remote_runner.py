"""With RUNNER_URL set, the services that hold secrets run no code: the runner service runs it all."""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from learnflow.ai import OfflineProvider
from learnflow.auth.authenticators import LocalAuthenticator, NoCredentials
from learnflow.auth.identity import Role
from learnflow.auth.service import RUNNER_TOKEN_HEADER, MissingRunnerToken, RunnerTokenAuthenticator
from learnflow.bus import MemoryBus
from learnflow.config import AuthSettings, RunnerSettings, Settings
from learnflow.curriculum import get_curriculum
from learnflow.runtime import Runtime
from learnflow.sandbox import Sandbox
from learnflow.sandbox.remote import RemoteRunner
from learnflow.services.app import create_app
from learnflow.services.catalog import CATALOG
from tests.accounts import sign_in
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


# --- with authentication on: the services' token at the runner ---------------------------------------

TOKEN = secrets.token_hex(32)
SECRET_KEY = secrets.token_hex(32)
RUNNER_URL = "http://runner.test"
GRADE_TESTS = "from solution import f\n\n\ndef test_f():\n    assert f() == 1\n"


def auth_settings(
    tmp_path: Path,
    *,
    environment: str = "test",
    token: str | None = TOKEN,
    url: str | None = None,
    secret_key: str | None = None,
) -> Settings:
    """Settings with LEARNFLOW_AUTH=on, whatever conftest set for the other suites."""
    base = make_settings(tmp_path, DATABASE_URL=f"sqlite+inloop:///{tmp_path / 'learnflow.db'}")
    return replace(
        base,
        app=base.app.model_copy(update={"environment": environment}),
        auth=AuthSettings(LEARNFLOW_AUTH="on", AUTH_SECRET_KEY=secret_key),  # type: ignore[call-arg]
        runner=RunnerSettings(RUNNER_URL=url, RUNNER_API_TOKEN=token),  # type: ignore[call-arg]
    )


@dataclass
class Secured:
    services: httpx.AsyncClient
    runner: httpx.AsyncClient
    counted: Counted
    services_rt: Runtime
    runner_rt: Runtime


@contextlib.asynccontextmanager
async def secured_pair(
    tmp_path: Path, *, services_token: str | None = TOKEN, runner_token: str | None = TOKEN
) -> AsyncIterator[Secured]:
    """The runner alone and the four other services in one process, both with authentication on.

    They share the data directory, so the key the services sign tokens with is also the runner's here
    (not in the cluster, where the runner has none).
    """
    settings = auth_settings(tmp_path, token=runner_token)
    runner_rt = Runtime(CATALOG, ("runner",), settings=settings, bus=MemoryBus(), ai=OfflineProvider())
    services_rt = Runtime(
        CATALOG,
        SECRET_HOLDERS,
        settings=auth_settings(tmp_path, token=services_token, url=RUNNER_URL),
        bus=MemoryBus(),
        ai=OfflineProvider(),
    )
    assert isinstance(services_rt.remote, RemoteRunner)
    await runner_rt.start()
    await services_rt.start()
    runner_app = create_app(runtime=runner_rt)
    counted = Counted(runner_app)
    # The real wiring's RemoteRunner (and its token), only its transport is the runner app in this process.
    services_rt.remote._client = httpx.AsyncClient(transport=counted, base_url=RUNNER_URL)
    try:
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_app(runtime=services_rt)),
                base_url="http://services.test",
                timeout=60,
            ) as services,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=runner_app), base_url=RUNNER_URL, timeout=60) as runner,
        ):
            yield Secured(services, runner, counted, services_rt, runner_rt)
    finally:
        await services_rt.stop()
        await runner_rt.stop()


async def test_with_auth_on_the_services_reach_the_runner_with_their_token(tmp_path: Path) -> None:
    async with secured_pair(tmp_path) as s:
        student = await sign_in(s.services, s.services_rt)
        # Without credentials the services refuse the student before any code runs.
        assert (await s.services.post("/api/debug/analyze", json={"code": "print(x)\n"})).status_code == 401
        resp = await s.services.post(
            "/api/debug/analyze", json={"code": "total = 0\nprint(totl)\n"}, headers=student.headers
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["error_type"] == "NameError"
        exercise = next(e for e in get_curriculum().exercises.values() if e.hidden_tests.strip())
        submitted = await s.services.post(
            f"/api/exercises/{exercise.id}/submissions",
            json={"student_id": student.id, "code": exercise.solution},
            headers=student.headers,
        )
        assert submitted.status_code == 200 and submitted.json()["passed"] is True, submitted.text
        assert "/api/execute" in s.counted.paths and "/api/grade" in s.counted.paths


async def test_the_runner_refuses_a_call_without_or_with_a_wrong_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = secrets.token_hex(32)
    async with secured_pair(tmp_path) as s:
        program = {"code": "print(6 * 7)"}
        assert (await s.runner.post("/api/execute", json=program)).status_code == 401
        assert (await s.runner.post("/api/grade", json=program)).status_code == 401
        refused = await s.runner.post("/api/execute", json=program, headers={RUNNER_TOKEN_HEADER: wrong})
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
        # A wrong service token is decided by that header alone, even beside a valid user token.
        student = await sign_in(s.services, s.services_rt)
        both = await s.runner.post(
            "/api/execute", json=program, headers={RUNNER_TOKEN_HEADER: wrong, **student.headers}
        )
        assert both.status_code == 401
        ok = await s.runner.post("/api/execute", json=program, headers={RUNNER_TOKEN_HEADER: TOKEN})
        assert ok.status_code == 200 and ok.json()["stdout"] == "42\n", ok.text
        graded = await s.runner.post(
            "/api/grade",
            json={"code": "def f():\n    return 1\n", "tests": GRADE_TESTS},
            headers={RUNNER_TOKEN_HEADER: TOKEN},
        )
        assert graded.status_code == 200 and graded.json()["passed"] is True, graded.text
    logged = caplog.text
    assert "wrong runner token" in logged
    assert TOKEN not in logged and wrong not in logged, "a runner token reached the log"


async def test_a_service_with_the_wrong_token_gets_a_clear_503(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with secured_pair(tmp_path, services_token=secrets.token_hex(32)) as s:
        student = await sign_in(s.services, s.services_rt)
        resp = await s.services.post("/api/debug/analyze", json={"code": "print(x)\n"}, headers=student.headers)
        assert resp.status_code == 503 and resp.json()["error"]["code"] == "runner_unavailable", resp.text
    assert "RUNNER_API_TOKEN must be the same" in caplog.text


async def test_a_students_own_token_at_the_runner_follows_the_policy(tmp_path: Path) -> None:
    """policy.py lets every signed-in role call /api/execute: a runner that can verify the token accepts it.

    Only for the student's own queue (queue_as another student is 403), and never with the service's
    powers. The cluster's runner has no signing key: there a user's token is refused (see below).
    """
    async with secured_pair(tmp_path) as s:
        student = await sign_in(s.services, s.services_rt)
        own = await s.runner.post("/api/execute", json={"code": "print(1)"}, headers=student.headers)
        assert own.status_code == 200 and own.json()["stdout"] == "1\n", own.text
        other = await s.runner.post(
            "/api/execute", json={"code": "print(1)", "queue_as": "someone-else"}, headers=student.headers
        )
        assert other.status_code == 403
        service = await s.runner.post(
            "/api/execute", json={"code": "print(1)", "queue_as": "someone-else"}, headers={RUNNER_TOKEN_HEADER: TOKEN}
        )
        assert service.status_code == 200, service.text


async def test_in_production_the_runner_accepts_the_services_token_and_no_users(tmp_path: Path) -> None:
    services = Runtime(
        CATALOG,
        SECRET_HOLDERS,
        settings=auth_settings(tmp_path, environment="production", url=RUNNER_URL, secret_key=SECRET_KEY),
        bus=MemoryBus(),
        ai=OfflineProvider(),
    )
    runner = Runtime(CATALOG, ("runner",), settings=auth_settings(tmp_path, environment="production"), bus=MemoryBus())
    assert isinstance(runner.authenticator, RunnerTokenAuthenticator)
    assert isinstance(runner.authenticator.inner, NoCredentials)
    await runner.start()
    try:
        signer = services.auth.signer
        user_token = signer.issue_access(user_id="s-1", username="s-1", role=Role.student).token
        transport = httpx.ASGITransport(app=create_app(runtime=runner))
        async with httpx.AsyncClient(transport=transport, base_url=RUNNER_URL) as client:
            as_user = await client.post(
                "/api/execute", json={"code": "print(1)"}, headers={"Authorization": f"Bearer {user_token}"}
            )
            assert as_user.status_code == 401
            service = {RUNNER_TOKEN_HEADER: TOKEN}
            as_service = await client.post("/api/execute", json={"code": "print(1)"}, headers=service)
            assert as_service.status_code == 200, as_service.text
    finally:
        await runner.stop()


def test_only_a_runner_alone_accepts_the_token(tmp_path: Path) -> None:
    every = Runtime(CATALOG, settings=auth_settings(tmp_path), bus=MemoryBus(), ai=OfflineProvider())
    assert isinstance(every.authenticator, LocalAuthenticator), "the all-in-one process ignores X-Runner-Token"
    debug = Runtime(CATALOG, ("debug",), settings=auth_settings(tmp_path), bus=MemoryBus(), ai=OfflineProvider())
    assert not isinstance(debug.authenticator, RunnerTokenAuthenticator)


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_shared_deployments_refuse_to_start_without_the_runner_token(tmp_path: Path, environment: str) -> None:
    with pytest.raises(MissingRunnerToken, match="RUNNER_API_TOKEN is not set"):
        Runtime(CATALOG, ("runner",), settings=auth_settings(tmp_path, environment=environment, token=None))
    settings = auth_settings(tmp_path, environment=environment, token=None, url=RUNNER_URL, secret_key=SECRET_KEY)
    with pytest.raises(MissingRunnerToken, match="RUNNER_API_TOKEN is not set"):
        Runtime(CATALOG, ("debug", "exercise"), settings=settings, ai=OfflineProvider())
    # Triage sends no code anywhere: it needs no token.
    Runtime(CATALOG, ("triage",), settings=settings, ai=OfflineProvider())
    with pytest.raises(MissingRunnerToken, match="at least 32 characters"):
        Runtime(CATALOG, ("runner",), settings=auth_settings(tmp_path, environment=environment, token="short"))


def test_development_without_the_runner_token_starts_and_says_why_code_will_not_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runner = Runtime(CATALOG, ("runner",), settings=auth_settings(tmp_path, environment="development", token=None))
    assert isinstance(runner.authenticator, RunnerTokenAuthenticator)
    assert "the services cannot run code in this runner" in caplog.text
    settings = auth_settings(tmp_path, environment="development", token=None, url=RUNNER_URL)
    Runtime(CATALOG, ("debug",), settings=settings, ai=OfflineProvider())
    assert "this service cannot run code in the runner" in caplog.text
    # With authentication off nothing needs the token.
    caplog.clear()
    off = replace(settings, auth=AuthSettings(LEARNFLOW_AUTH="off"))  # type: ignore[call-arg]
    Runtime(CATALOG, ("runner",), settings=off)
    assert "RUNNER_API_TOKEN" not in caplog.text


async def test_a_runner_without_a_token_refuses_every_service_token(tmp_path: Path) -> None:
    async with secured_pair(tmp_path, runner_token=None) as s:
        resp = await s.runner.post("/api/execute", json={"code": "print(1)"}, headers={RUNNER_TOKEN_HEADER: TOKEN})
        assert resp.status_code == 401


async def test_a_service_forwards_a_callers_runs_and_grading_to_the_runner(
    services: tuple[httpx.AsyncClient, Counted],
) -> None:
    # The runner accepts only the services' token: a browser's run reaches it through a service.
    client, counted = services
    resp = await client.post("/api/execute", json={"code": "print(6 * 7)\n", "student_id": "r-fw"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["stdout"] == "42\n"
    assert counted.paths.count("/api/execute") == 1
    graded = await client.post(
        "/api/grade",
        json={
            "code": "def f():\n    return 1\n",
            "tests": "from solution import f\n\ndef test_f():\n    assert f() == 1\n",
        },
    )
    assert graded.status_code == 200, graded.text
    assert "/api/grade" in counted.paths
