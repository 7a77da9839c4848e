"""The sandbox's refusals and limits: no isolation means no run, fair queueing, 429/413/503 over HTTP,
and a wall clock that counts from the student's program, not from the interpreter's launch."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from learnflow.ai import OfflineProvider
from learnflow.bus import MemoryBus
from learnflow.config import SandboxSettings
from learnflow.runtime import Runtime
from learnflow.sandbox import FairGate, Sandbox, SandboxBusy, SandboxUnavailable, bundled_bwrap, owner_scope
from learnflow.services.app import create_app
from learnflow.services.catalog import CATALOG
from tests.conftest import make_settings, max_overlap

CI = os.environ.get("CI") == "true"


def _settings(**values: object) -> SandboxSettings:
    return SandboxSettings(**values)  # type: ignore[arg-type]


def _rlimits(**values: object) -> Sandbox:
    return Sandbox(_settings(SANDBOX_ISOLATION="rlimits", **values))


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A fresh folder under /tmp that any uid may enter (runs as root use uids of their own)."""
    path = Path(tempfile.mkdtemp(prefix="lf-limits-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _script(folder: Path, name: str, body: str) -> str:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def _real_bwrap() -> str:
    for path in (shutil.which("bwrap"), bundled_bwrap()):
        if path and Sandbox(_settings(SANDBOX_BWRAP=path)).isolation == "bwrap":
            return path
    if CI:
        pytest.fail("a working bubblewrap is required in CI")
    pytest.skip("no working bubblewrap on this machine")


# -- 1. no isolation, no run ------------------------------------------------------------------------


@pytest.fixture
def unavailable() -> Sandbox:
    return Sandbox(_settings(SANDBOX_BWRAP="/nonexistent/bwrap"))


async def test_refuses_to_run_without_isolation(unavailable: Sandbox):
    assert unavailable.isolation == "none" and not unavailable.available
    assert unavailable.bwrap is None
    assert "/nonexistent/bwrap" in unavailable.isolation_reason
    with pytest.raises(SandboxUnavailable) as caught:
        await unavailable.run("print('should never run')")
    message = str(caught.value)
    assert "bubblewrap" in message and "SANDBOX_ISOLATION=rlimits" in message, message
    assert caught.value.status_code == 503 and caught.value.code == "sandbox_unavailable"


@pytest.fixture
async def make_client(tmp_path: Path) -> AsyncIterator[object]:
    runtimes: list[Runtime] = []
    clients: list[httpx.AsyncClient] = []

    async def factory(box: Sandbox, **app: object) -> httpx.AsyncClient:
        settings = make_settings(tmp_path)
        if app:
            settings = dataclasses.replace(settings, app=settings.app.model_copy(update=app))
        rt = Runtime(
            CATALOG, ("runner",), settings=settings, bus=MemoryBus(backoff_s=0.01), ai=OfflineProvider(), sandbox=box
        )
        await rt.start()
        runtimes.append(rt)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(runtime=rt)), base_url="http://learnflow.test", timeout=30
        )
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()
    for rt in runtimes:
        await rt.stop()


async def test_http_answers_503_without_isolation(unavailable: Sandbox, make_client):  # type: ignore[no-untyped-def]
    client = await make_client(unavailable)
    resp = await client.post("/api/execute", json={"code": "print(1)", "student_id": "s-1"})
    assert resp.status_code == 503, resp.text
    error = resp.json()["error"]
    assert error["code"] == "sandbox_unavailable"
    assert "bubblewrap" in error["message"] and "SANDBOX_ISOLATION=rlimits" in error["message"]
    ready = await client.get("/ready")
    assert ready.status_code == 503, ready.text
    body = ready.json()
    assert body["checks"]["sandbox"] == unavailable.isolation_reason
    assert body["checks"]["database"] == "ok"
    assert any(reason.startswith("sandbox:") for reason in body["reasons"]), body


# -- 2. the probe runs what a real run runs ----------------------------------------------------------


def test_probe_through_a_passthrough_wrapper_works(shared_dir: Path):
    """The control for the fakes below: a script that only execs the real bwrap is accepted."""
    real = _real_bwrap()
    fake = _script(shared_dir, "bwrap-ok", f'exec {real} "$@"\n')
    box = Sandbox(_settings(SANDBOX_BWRAP=fake))
    assert box.isolation == "bwrap" and box.bwrap == fake, box.isolation_reason


def test_probe_fails_when_proc_cannot_be_mounted(shared_dir: Path):
    real = _real_bwrap()
    fake = _script(
        shared_dir,
        "bwrap-noproc",
        'for a in "$@"; do\n'
        '  if [ "$a" = "--proc" ]; then\n'
        '    echo "bwrap: Can\'t mount proc on /newroot/proc: Operation not permitted" >&2\n'
        "    exit 1\n"
        "  fi\n"
        "done\n"
        f'exec {real} "$@"\n',
    )
    box = Sandbox(_settings(SANDBOX_BWRAP=fake))
    assert box.isolation == "none" and not box.available and box.bwrap is None
    assert "Can't mount proc" in box.isolation_reason, box.isolation_reason


def test_probe_is_not_fooled_by_a_bwrap_that_only_runs_true(shared_dir: Path):
    real = _real_bwrap()
    fake = _script(
        shared_dir,
        "bwrap-trueonly",
        'for last in "$@"; do :; done\n'
        f'if [ "$last" = true ]; then exec {real} "$@"; fi\n'
        'echo "bwrap: setting up uid map: Permission denied" >&2\n'
        "exit 1\n",
    )
    # A naive probe (bwrap ... true) passes with this fake...
    naive = subprocess.run([fake, "--ro-bind", "/", "/", "true"], capture_output=True, timeout=30)
    assert naive.returncode == 0, naive
    # ...the sandbox's probe, which runs a real program, does not.
    box = Sandbox(_settings(SANDBOX_BWRAP=fake))
    assert box.isolation == "none", box.isolation_reason
    assert "setting up uid map" in box.isolation_reason


def test_probe_checks_the_output_not_just_the_exit_code(shared_dir: Path):
    fake = _script(shared_dir, "bwrap-silent", "exit 0\n")
    box = Sandbox(_settings(SANDBOX_BWRAP=fake))
    assert box.isolation == "none" and not box.available, box.isolation_reason


# -- 3. rlimits on request, loudly -------------------------------------------------------------------


async def test_rlimits_mode_runs_and_logs_an_error(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.ERROR, logger="learnflow.sandbox"):
        box = _rlimits()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name == "learnflow.sandbox"]
    assert errors and "without namespace isolation" in errors[0].getMessage().lower(), caplog.records
    assert box.isolation == "rlimits" and box.available and box.bwrap is None
    result = await box.run("import os\nprint(6 * 7, os.getuid())\n")
    assert result.exit_code == 0, result
    answer, uid = result.stdout.split()
    assert answer == "42"
    if os.geteuid() == 0:  # a root service runs each program as a uid of its own
        base = box.settings.uid_base
        assert base <= int(uid) < base + box.settings.uid_count


# -- 4. exact concurrency -----------------------------------------------------------------------------

SLEEPER = "import time\nstart = time.time()\ntime.sleep({s})\nprint(start, time.time())\n"


@pytest.mark.parametrize("owners", ["one owner", "six owners"])
async def test_never_more_runs_at_once_than_the_limit(owners: str):
    box = _rlimits(SANDBOX_MAX_CONCURRENCY=2, SANDBOX_MAX_CONCURRENCY_PER_STUDENT=2)

    async def one(i: int):  # type: ignore[no-untyped-def]
        with owner_scope("student-a" if owners == "one owner" else f"student-{i}"):
            return await box.run(SLEEPER.format(s=0.4), timeout_s=10)

    results = await asyncio.gather(*(one(i) for i in range(6)))
    intervals = []
    for result in results:
        assert result.exit_code == 0, result
        start, end = map(float, result.stdout.split())
        intervals.append((start, end))
    assert max_overlap(intervals) == 2, intervals
    assert box.gate.in_use == 0 and box.gate.queued == 0


# -- 5. fairness ----------------------------------------------------------------------------------


@pytest.mark.parametrize("per_student", [1, 2])
async def test_a_second_student_is_not_stuck_behind_a_batch(per_student: int):
    box = _rlimits(SANDBOX_MAX_CONCURRENCY=2, SANDBOX_MAX_CONCURRENCY_PER_STUDENT=per_student)
    began = time.perf_counter()
    with owner_scope("student-a"):
        batch = [asyncio.ensure_future(box.run(SLEEPER.format(s=0.5), timeout_s=10)) for _ in range(8)]
    await asyncio.sleep(0.1)
    with owner_scope("student-b"):
        submitted = time.perf_counter()
        other = await box.run("print('hi')", timeout_s=10)
        waited = time.perf_counter() - submitted
    assert other.stdout == "hi\n", other
    results = await asyncio.gather(*batch)
    batch_took = time.perf_counter() - began
    assert all(r.exit_code == 0 for r in results), results
    assert batch_took >= 2.0 * (2 / per_student) - 0.1, batch_took  # 8 runs of 0.5 s, per_student at once
    assert waited < 1.5, f"student B waited {waited:.2f}s behind student A's batch of {batch_took:.2f}s"


def _gate(**kw: int) -> FairGate:
    values = {"slots": 1, "per_owner": 1, "max_waiting": 10, "max_waiting_per_owner": 10, **kw}
    return FairGate(**values)


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_gate_serves_owners_round_robin():
    gate = _gate()
    order: list[str] = []

    async def run(owner: str, name: str) -> None:
        async with gate.slot(owner, retry_after_s=1):
            order.append(name)
            await asyncio.sleep(0)

    async with gate.slot("x", retry_after_s=1):
        tasks = []
        for owner, name in [("a", "a1"), ("a", "a2"), ("a", "a3"), ("b", "b1"), ("c", "c1"), ("b", "b2")]:
            tasks.append(asyncio.ensure_future(run(owner, name)))
            await _settle()  # queued in this order
        assert gate.queued == 6 and order == []
    await asyncio.gather(*tasks)
    assert order == ["a1", "b1", "c1", "a2", "b2", "a3"]
    assert gate.in_use == 0 and gate.queued == 0 and gate.running == {}


def _holding(gate: FairGate, entered: list[str], release: asyncio.Event) -> Callable[[str], Awaitable[None]]:
    """A run that takes a slot, says so, and holds it until ``release``."""

    async def run(owner: str) -> None:
        async with gate.slot(owner, retry_after_s=1):
            entered.append(owner)
            await release.wait()

    return run


async def test_gate_caps_each_owner_even_with_free_slots():
    gate = _gate(slots=3, per_owner=2)
    release = asyncio.Event()
    entered: list[str] = []

    run = _holding(gate, entered, release)

    tasks = [asyncio.ensure_future(run("a")) for _ in range(3)]
    await _settle()
    assert entered == ["a", "a"] and gate.in_use == 2 and gate.queued == 1
    release.set()
    await asyncio.gather(*tasks)
    assert entered == ["a", "a", "a"] and gate.in_use == 0


async def test_gate_gives_a_free_slot_to_another_owner_at_once():
    """Student B does not wait behind student A's queue while a slot is free and B holds none."""
    gate = _gate(slots=3, per_owner=2)
    release = asyncio.Event()
    entered: list[str] = []

    run = _holding(gate, entered, release)

    tasks = [asyncio.ensure_future(run("a")) for _ in range(3)]
    await _settle()
    tasks.append(asyncio.ensure_future(run("b")))
    await _settle()
    try:
        assert entered == ["a", "a", "b"], entered
    finally:
        release.set()
        await asyncio.gather(*tasks)


async def test_gate_bounds_its_queues_with_retry_after():
    gate = _gate(max_waiting=2, max_waiting_per_owner=1)
    async with gate.slot("x", retry_after_s=1):
        a1 = asyncio.ensure_future(gate.slot("a", retry_after_s=7).__aenter__())
        await _settle()
        with pytest.raises(SandboxBusy) as mine:
            async with gate.slot("a", retry_after_s=7):
                pass
        assert mine.value.status_code == 429 and mine.value.code == "too_many_runs"
        assert mine.value.headers == {"Retry-After": "7"}
        b1 = asyncio.ensure_future(gate.slot("b", retry_after_s=3).__aenter__())
        await _settle()
        with pytest.raises(SandboxBusy) as everyone:
            async with gate.slot("c", retry_after_s=3):
                pass
        assert everyone.value.headers["Retry-After"] == "3"
        assert gate.queued == 2
        a1.cancel()
        b1.cancel()
        await asyncio.gather(a1, b1, return_exceptions=True)
    assert gate.in_use == 0 and gate.queued == 0


async def test_gate_cancelled_waiter_frees_its_place():
    gate = _gate(max_waiting_per_owner=1)
    order: list[str] = []

    async def run(name: str) -> None:
        async with gate.slot("a", retry_after_s=1):
            order.append(name)

    async with gate.slot("x", retry_after_s=1):
        first = asyncio.ensure_future(run("first"))
        await _settle()
        first.cancel()
        await _settle()
        assert gate.queued == 0 and gate.waiting == {}
        second = asyncio.ensure_future(run("second"))  # its place is free again: no SandboxBusy
        await _settle()
        assert gate.queued == 1
    await second
    assert first.cancelled() and order == ["second"]
    assert gate.in_use == 0 and gate.running == {}


async def test_gate_cancelled_granted_run_hands_its_slot_on():
    gate = _gate()
    order: list[str] = []

    async def run(owner: str) -> None:
        async with gate.slot(owner, retry_after_s=1):
            order.append(owner)

    async with gate.slot("x", retry_after_s=1):
        a = asyncio.ensure_future(run("a"))
        b = asyncio.ensure_future(run("b"))
        await _settle()
    # x's release granted a's slot; a is cancelled before it could run
    a.cancel()
    await asyncio.gather(a, b, return_exceptions=True)
    assert a.cancelled() and order == ["b"]
    assert gate.in_use == 0 and gate.running == {} and gate.queued == 0


async def test_gate_release_beside_a_just_cancelled_waiter():
    gate = _gate()
    order: list[str] = []

    async def run(owner: str) -> None:
        async with gate.slot(owner, retry_after_s=1):
            order.append(owner)

    a = asyncio.ensure_future(run("a"))
    b = asyncio.ensure_future(run("b"))
    try:
        async with gate.slot("x", retry_after_s=1):
            await _settle()
            a.cancel()  # a's future is cancelled now; a leaves the queue only when its task next runs
        await asyncio.wait_for(asyncio.gather(a, b, return_exceptions=True), timeout=2)
        assert order == ["b"] and gate.in_use == 0 and gate.running == {}
    finally:
        for task in (a, b):
            task.cancel()


# -- 6. 429 over HTTP ---------------------------------------------------------------------------------


async def test_http_answers_429_when_a_students_queue_is_full(make_client):  # type: ignore[no-untyped-def]
    box = _rlimits(SANDBOX_MAX_CONCURRENCY=1, SANDBOX_MAX_QUEUE_PER_STUDENT=1)
    client = await make_client(box)
    body = {"code": "import time\ntime.sleep(1)\nprint('done')", "student_id": "s-busy", "timeout_s": 5}
    responses = await asyncio.gather(*(client.post("/api/execute", json=body) for _ in range(4)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 429, 429], [(r.status_code, r.text) for r in responses]
    for resp in responses:
        if resp.status_code == 429:
            assert int(resp.headers["Retry-After"]) >= 1
            error = resp.json()["error"]
            assert error["code"] == "too_many_runs" and error["message"]
            assert error["details"][0]["retry_after_s"] == int(resp.headers["Retry-After"])
        else:
            assert resp.json()["stdout"] == "done\n"
    # Another student is not refused meanwhile... and once the queue drains the student may run again.
    again = await client.post("/api/execute", json={**body, "code": "print('again')"})
    assert again.status_code == 200 and again.json()["stdout"] == "again\n"


# -- 7. request body limit ----------------------------------------------------------------------------


async def test_http_refuses_oversized_bodies(make_client):  # type: ignore[no-untyped-def]
    box = _rlimits()
    client = await make_client(box)
    limit = 1_048_576
    big = b'{"code": "' + b"x" * (2 * 10**6) + b'"}'
    resp = await client.post("/api/execute", content=big, headers={"content-type": "application/json"})
    assert resp.status_code == 413, resp.text
    error = resp.json()["error"]
    assert error["code"] == "payload_too_large" and error["details"][0]["limit"] == limit

    async def stream() -> AsyncIterator[bytes]:
        yield b'{"code": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    chunked = await client.post("/api/execute", content=stream(), headers={"content-type": "application/json"})
    assert chunked.request.headers.get("content-length") is None
    assert chunked.status_code == 413, chunked.text
    assert chunked.json()["error"]["code"] == "payload_too_large"

    async def small_stream() -> AsyncIterator[bytes]:
        yield b'{"code": "print(1'
        yield b' + 1)"}'

    fine = await client.post("/api/execute", content=small_stream(), headers={"content-type": "application/json"})
    assert fine.status_code == 200 and fine.json()["stdout"] == "2\n", fine.text
    invalid = await client.post("/api/execute", json={"code": ""})
    assert invalid.status_code == 422, invalid.text
    # A body just under the limit is read (then rejected by validation: the code is too long), not a 413.
    near = await client.post("/api/execute", json={"code": "x" * (limit - 100)})
    assert near.status_code == 422, near.text


async def test_body_limit_follows_the_setting(make_client):  # type: ignore[no-untyped-def]
    client = await make_client(_rlimits(), max_request_bytes=2048)
    resp = await client.post("/api/execute", json={"code": "print(1)  # " + "y" * 3000})
    assert resp.status_code == 413 and resp.json()["error"]["details"][0]["limit"] == 2048
    ok = await client.post("/api/execute", json={"code": "print(1)"})
    assert ok.status_code == 200 and ok.json()["stdout"] == "1\n"


# -- 8. the wall clock counts from the program's start ---------------------------------------------------


@pytest.fixture
def slow_python(shared_dir: Path) -> str:
    if not Path("/usr/bin/python3").exists():
        pytest.skip("no /usr/bin/python3")
    wrapper = _script(shared_dir, "slow-python", 'sleep 1.5\nexec /usr/bin/python3 "$@"\n')
    mode = os.stat(wrapper).st_mode
    assert mode & stat.S_IROTH and mode & stat.S_IXOTH
    return wrapper


async def test_slow_interpreter_start_does_not_count_against_the_program(slow_python: str):
    box = _rlimits(SANDBOX_PYTHON=slow_python)
    result = await box.run("print('hi')", timeout_s=0.5)
    assert result.stdout == "hi\n" and result.exit_code == 0 and not result.timed_out, result
    assert result.duration_ms < 1000, result
    broken = await box.run("def f(:\n    pass\n", timeout_s=0.5)
    assert not broken.timed_out and broken.exit_code == 1, broken
    assert "SyntaxError" in broken.stderr, broken
    # ...while the program's own time still counts.
    slow = await box.run("import time\ntime.sleep(3)\nprint('late')\n", timeout_s=0.5)
    assert slow.timed_out and slow.exit_code is None and slow.stdout == "", slow


async def test_startup_timeout_bounds_the_interpreter_start(slow_python: str):
    box = _rlimits(SANDBOX_PYTHON=slow_python, SANDBOX_STARTUP_TIMEOUT_S=0.5)
    began = time.perf_counter()
    result = await box.run("print('hi')", timeout_s=5)
    assert result.timed_out and result.exit_code is None and result.stdout == "", result
    assert time.perf_counter() - began < 1.4


# -- runs stopped by uid (rlimits) never touch another instance's runs ------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="per-run uids are given only when the service runs as root")
async def test_rlimits_stop_by_uid_spares_another_instances_runs(tmp_path: Path):
    settings = {
        "SANDBOX_MAX_CONCURRENCY": 4,
        "SANDBOX_MAX_CONCURRENCY_PER_STUDENT": 4,
        "SANDBOX_MAX_QUEUE_PER_STUDENT": 64,
        "SANDBOX_UID_BASE": 320_000,
        "SANDBOX_UID_COUNT": 16,  # small, so that a shared uid would show
        "SANDBOX_UID_LOCK_DIR": str(tmp_path / "locks"),
    }
    killer, victim = _rlimits(**settings), _rlimits(**settings)
    stop = asyncio.Event()
    # The timed-out program leaves its process group too: only its uid finds that child.
    hog = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\nwhile True:\n    pass\n"

    async def time_outs() -> int:
        count = 0
        while not stop.is_set():
            result = await killer.run(hog, timeout_s=0.5)
            assert result.timed_out and result.exit_code is None, result
            count += 1
        return count

    async def ordinary() -> list[object]:
        try:
            return await asyncio.gather(
                *(victim.run("import time\ntime.sleep(0.05)\nprint('ok')\n", timeout_s=5) for _ in range(40)),
                return_exceptions=True,
            )
        finally:
            stop.set()

    spinners = [asyncio.ensure_future(time_outs()) for _ in range(2)]
    results = await ordinary()
    assert sum(await asyncio.gather(*spinners)) >= 2
    for result in results:
        assert not isinstance(result, BaseException), result
        assert result.stdout == "ok\n" and result.exit_code == 0, result  # type: ignore[attr-defined]
        assert not result.memory_exceeded and not result.timed_out, result  # type: ignore[attr-defined]
    # The killed processes (orphans reaped by the host's init) disappear shortly after.
    deadline = time.monotonic() + 5
    while True:
        leftovers = [_state(e.path) for e in os.scandir("/proc") if e.name.isdigit() and _uid_of(e.path) >= 320_000]
        leftovers = [state for state in leftovers if state]
        if not leftovers or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert leftovers == [], "processes of finished runs are still alive"


def _uid_of(path: str) -> int:
    try:
        return os.stat(path).st_uid
    except OSError:
        return -1


def _state(path: str) -> str:
    """``pid state cmdline`` of a process of this test's uid range, or "" if it is gone or not ours."""
    try:
        if not 320_000 <= os.stat(path).st_uid < 320_016:
            return ""
        with open(f"{path}/stat") as f:
            fields = f.read().split()
        return f"{fields[0]} {fields[2]} {fields[1]}"
    except OSError:
        return ""
