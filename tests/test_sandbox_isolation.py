"""Hostile programs: each isolation rule of the sandbox, with bubblewrap.

Under CI=true a missing bubblewrap is a failure (`.ci/run` installs it); elsewhere these tests skip.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import learnflow
from learnflow.sandbox import Sandbox

SECRET = "sk-lf-secret-4242"


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    box = Sandbox()
    if box.isolation != "bwrap":
        if os.environ.get("CI") == "true":
            pytest.fail(f"bubblewrap isolation is required in CI: {box.isolation_reason}")
        pytest.skip(f"bubblewrap unavailable: {box.isolation_reason}")
    return box


@pytest.fixture(autouse=True)
def secrets_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("POSTGRES_PASSWORD", SECRET)


async def run(sandbox: Sandbox, code: str, **kwargs: object):  # type: ignore[no-untyped-def]
    return await sandbox.run(code, **kwargs)  # type: ignore[arg-type]


async def test_environment_holds_no_secrets(sandbox: Sandbox):
    result = await run(sandbox, "import os\nprint(dict(os.environ))\n")
    assert SECRET not in result.stdout and "OPENAI" not in result.stdout and "POSTGRES" not in result.stdout


async def test_parent_environ_is_unreachable(sandbox: Sandbox):
    code = f"""
import glob
found = []
for path in glob.glob('/proc/*/environ'):
    try:
        if b'{SECRET}' in open(path, 'rb').read():
            found.append(path)
    except OSError:
        pass
print('found', found)
try:
    print(open('/proc/{os.getpid()}/environ', 'rb').read()[:50])
except OSError as exc:
    print('blocked', type(exc).__name__)
"""
    result = await run(sandbox, code)
    assert "found []" in result.stdout
    assert SECRET not in result.stdout


async def test_service_files_and_database_are_invisible(sandbox: Sandbox, tmp_path: Path):
    db = tmp_path / "learnflow.db"
    db.write_text("secret rows")
    package = Path(learnflow.__file__).parent
    code = f"""
for path in [{str(db)!r}, {str(package / "config.py")!r}, '/etc/passwd', '/root', {os.getcwd()!r}]:
    try:
        open(path).read()
        print('READ', path)
    except OSError as exc:
        print('no', type(exc).__name__)
"""
    result = await run(sandbox, code)
    assert "READ" not in result.stdout, result.stdout


class _Listener:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]


@pytest.fixture
def listener() -> Iterator[_Listener]:
    server = _Listener()
    yield server
    server.sock.close()


async def test_no_network_not_even_loopback(sandbox: Sandbox, listener: _Listener):
    code = f"""
import shutil
import socket
for port in ({listener.port}, 5432, 6379):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=1)
        print('CONNECTED', port)
    except OSError as exc:
        print('blocked', port, type(exc).__name__)
try:
    socket.getaddrinfo('example.com', 80)
    print('RESOLVED')
except OSError:
    print('no dns')
"""
    result = await run(sandbox, code)
    assert "CONNECTED" not in result.stdout and "RESOLVED" not in result.stdout, result.stdout
    assert result.stdout.count("blocked") == 3


async def test_cannot_write_outside_its_directory(sandbox: Sandbox):
    target = Path(tempfile.gettempdir()) / "lf-escape-marker"
    code = f"""
for path in ['/usr/lf-x', '/lf-x', {str(target)!r}, '/proc/lf-x', '/dev/lf-x']:
    try:
        open(path, 'w').write('x')
        print('WROTE', path)
    except OSError as exc:
        print('no', type(exc).__name__)
open('inside.txt', 'w').write('fine')
print(open('inside.txt').read())
"""
    result = await run(sandbox, code)
    assert "fine" in result.stdout
    assert not target.exists()
    assert not Path("/usr/lf-x").exists() and not Path("/lf-x").exists()  # noqa: ASYNC240


def _alive_with(marker: str) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if marker in line and "ps -eo" not in line]


async def test_no_process_outlives_its_run(sandbox: Sandbox):
    code = """
import os, subprocess, sys
subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)  # lf-orphan-marker'], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(300)  # lf-orphan-marker'])
    os._exit(0)
print('spawned')
"""
    result = await run(sandbox, code)
    assert "spawned" in result.stdout
    await asyncio.sleep(0.3)
    assert _alive_with("lf-orphan-marker") == []


async def test_timed_out_program_leaves_nothing_behind(sandbox: Sandbox):
    code = """
import subprocess, sys, time
subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)  # lf-timeout-marker'])
while True:
    time.sleep(0.1)
"""
    result = await run(sandbox, code, timeout_s=1)
    assert result.timed_out
    await asyncio.sleep(0.3)
    assert _alive_with("lf-timeout-marker") == []


async def test_cannot_signal_the_service(sandbox: Sandbox):
    code = f"""
import os, signal
for target in (-1, {os.getpid()}, os.getppid(), 1):
    try:
        os.kill(target, signal.SIGKILL)
    except OSError as exc:
        print('no', target, type(exc).__name__)
print('still here')
"""
    result = await run(sandbox, code)
    # We are the service: still running means it could not kill us.
    assert result.timed_out is False
    follow_up = await run(sandbox, "print('ok')")
    assert follow_up.stdout == "ok\n"


async def test_fork_bomb_is_contained(sandbox: Sandbox):
    code = """
import os
children = 0
try:
    while True:
        if os.fork() == 0:
            import time
            time.sleep(30)
            os._exit(0)
        children += 1
except OSError as exc:
    print('limited after', children, type(exc).__name__)
"""
    result = await run(sandbox, code, timeout_s=5)
    assert "limited after" in result.stdout
    assert int(result.stdout.split()[2]) <= sandbox.settings.max_processes
    assert (await run(sandbox, "print('healthy')")).stdout == "healthy\n"


async def test_thread_storm_is_contained(sandbox: Sandbox):
    code = """
import threading, time
threads = []
try:
    for _ in range(10000):
        t = threading.Thread(target=time.sleep, args=(5,), daemon=True)
        t.start()
        threads.append(t)
except RuntimeError as exc:
    print('limited after', len(threads))
"""
    result = await run(sandbox, code, timeout_s=5)
    assert "limited after" in result.stdout, result


@pytest.mark.parametrize(
    ("code", "check"),
    [
        ("x = 'a' * (10**10)\n", "memory"),
        ("x = [0] * (10**9)\n", "memory"),
        ("int('9' * 100000)\n", "ValueError"),
        ("print(str(10 ** 100000))\n", "ValueError"),
        ("while True:\n    print('flood' * 1000)\n", "truncated"),
        ("import sys\nwhile True:\n    sys.stderr.write('e' * 10000)\n", "truncated"),
    ],
)
async def test_resource_bombs_come_back_as_clear_results(sandbox: Sandbox, code: str, check: str):
    result = await run(sandbox, code, timeout_s=5)
    if check == "memory":
        assert result.memory_exceeded and "MemoryError" in result.stderr
    elif check == "truncated":
        assert result.output_truncated and not result.timed_out
    else:
        assert check in result.stderr


async def test_disk_fill_is_capped(sandbox: Sandbox):
    code = """
import os
written = 0
try:
    for i in range(1000):
        with open(f'fill{i}.bin', 'wb') as f:
            f.write(b'x' * (4 * 1024 * 1024))
        written += 4
except OSError as exc:
    print('stopped at', written, 'MB', exc.errno)
"""
    result = await run(sandbox, code, timeout_s=10)
    assert "stopped at" in result.stdout
    assert int(result.stdout.split()[2]) <= sandbox.settings.max_disk_bytes // 2**20


async def test_single_file_size_is_capped(sandbox: Sandbox):
    result = await run(sandbox, "open('big', 'wb').write(b'x' * (20 * 1024 * 1024))\n")
    assert result.exit_code != 0


async def test_symlink_tricks_reach_nothing(sandbox: Sandbox, tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    code = f"""
import os
os.symlink({str(secret)!r}, 'link')
os.symlink('/proc/1/root/etc/shadow', 'shadow')
for name in ('link', 'shadow'):
    try:
        print('READ', open(name).read())
    except OSError as exc:
        print('no', type(exc).__name__)
"""
    result = await run(sandbox, code)
    assert "top secret" not in result.stdout and "READ" not in result.stdout
    assert secret.read_text() == "top secret"


async def test_only_the_standard_library(sandbox: Sandbox):
    venv_site = [p for p in __import__("sys").path if "site-packages" in p]
    code = f"""
import sys
sys.path[:0] = {venv_site!r} + ['/usr/lib/python3/dist-packages', '/usr/local/lib/python3.11/dist-packages']
for name in ('pydantic', 'yaml', 'fastapi', 'learnflow', 'pip', 'requests'):
    try:
        __import__(name)
        print('IMPORTED', name)
    except ImportError:
        print('no', name)
import json, csv, collections, dataclasses
print('stdlib ok')
"""
    result = await run(sandbox, code)
    assert "IMPORTED" not in result.stdout, result.stdout
    assert "stdlib ok" in result.stdout


async def test_cpu_time_and_wall_clock_are_limited(sandbox: Sandbox):
    code = (
        "import threading\ndef spin():\n    while True:\n        pass\n"
        "for _ in range(4):\n    threading.Thread(target=spin).start()\n"
    )
    result = await run(sandbox, code, timeout_s=1)
    assert result.timed_out or result.exit_code != 0
    assert result.duration_ms < 4000


async def test_stdin_is_supported(sandbox: Sandbox):
    result = await run(sandbox, "print(sum(int(x) for x in input().split()))", stdin="1 2 3\n")
    assert result.stdout == "6\n"


async def test_breach_over_http_is_a_clear_result_not_a_500(client):  # type: ignore[no-untyped-def]
    resp = await client.post("/api/execute", json={"code": "import os\nwhile True:\n    os.fork()", "timeout_s": 2})
    assert resp.status_code == 200
    body = resp.json()
    assert body["timed_out"] or body["exit_code"] != 0
    assert (await client.get("/ready")).status_code == 200


def test_the_chosen_bwrap_is_the_one_asked_for(sandbox: Sandbox):
    from learnflow.sandbox import bundled_bwrap

    if os.environ.get("SANDBOX_BWRAP") == "bundled":
        assert sandbox.bwrap == bundled_bwrap() and sandbox.bwrap is not None
    elif os.environ.get("SANDBOX_BWRAP", "auto") == "auto" and shutil.which("bwrap"):
        assert sandbox.bwrap == shutil.which("bwrap")
    assert "namespaces through" in sandbox.isolation_reason
