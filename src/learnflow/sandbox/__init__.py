"""Running untrusted student code.

Everything that executes student or generated code goes through :class:`Sandbox`, so the isolation
mechanism changes in this one place. Two layers:

* **bwrap** (bubblewrap, when available): fresh user, PID, network, IPC, UTS and mount namespaces;
  only ``/usr`` (read-only, with every site-packages folder hidden) and a size-limited private
  tmpfs as the working directory; no environment but a fixed minimal one; the process tree dies with
  the run.
* **rlimits** (always): address space, CPU time, processes/threads, open files, file size; a
  wall-clock timeout that kills the whole process group; capped stdout/stderr. When the service runs
  as root, each run also gets its own unprivileged uid, so the process limit is per run and the
  program cannot signal anything of the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from learnflow.config import SandboxSettings

log = logging.getLogger(__name__)

MAIN = "main.py"
WORKDIR = "/work"
# Unprivileged uids handed to concurrent runs when the service is root (one per running program).
UID_BASE = 61000


_UTIL_LINUX = bool(shutil.which("prlimit") and shutil.which("setpriv"))


class SandboxUnavailable(RuntimeError):
    """The configured isolation cannot be provided on this machine."""


class ExecutionResult(BaseModel):
    stdout: str = Field(description="Standard output, capped.")
    stderr: str = Field(description="Standard error, capped; file paths shown relative to the run.")
    exit_code: int | None = Field(description="Process exit code; negative for a signal; null if killed.")
    timed_out: bool = False
    memory_exceeded: bool = False
    output_truncated: bool = False
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.memory_exceeded


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
    cleanup: list[str] = field(default_factory=list)
    memfds: list[int] = field(default_factory=list)
    started: float = 0.0


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


class Sandbox:
    """Runs Python programs under the strongest isolation the machine offers."""

    def __init__(self, settings: SandboxSettings | None = None) -> None:
        self.settings = settings or SandboxSettings()
        self.python = _find_python(self.settings)
        self._as_root = os.geteuid() == 0
        self._uids: asyncio.Queue[int | None] | None = None
        self._uid_lock: asyncio.Lock | None = None
        self.isolation, self.isolation_reason = self._choose_isolation()
        self._hidden: list[str] = []
        self._prefix = "/usr"
        if self.isolation == "bwrap":
            self._prefix, self._hidden = _interpreter_info(self.python)
        if self.isolation != "bwrap":
            log.warning(
                "sandbox: bubblewrap isolation unavailable (%s); running with rlimits only", self.isolation_reason
            )

    def _choose_isolation(self) -> tuple[str, str]:
        wanted = self.settings.isolation
        if wanted == "rlimits":
            return "rlimits", "SANDBOX_ISOLATION=rlimits"
        bwrap = shutil.which("bwrap")
        reason = ""
        if bwrap is None:
            reason = "bwrap is not installed (Debian package bubblewrap)"
        else:
            probe = subprocess.run(
                [bwrap, "--unshare-all", "--as-pid-1", "--die-with-parent", "--ro-bind", "/", "/", "true"],
                capture_output=True, text=True, timeout=30, preexec_fn=self._drop_privileges_probe,
            )  # fmt: skip
            if probe.returncode != 0:
                reason = f"bwrap cannot create namespaces here: {probe.stderr.strip()[:200]}"
        if reason:
            if wanted == "bwrap":
                raise SandboxUnavailable(reason)
            return "rlimits", reason
        return "bwrap", "namespaces available"

    def _drop_privileges_probe(self) -> None:
        if self._as_root:
            os.setgroups([])
            os.setgid(UID_BASE)
            os.setuid(UID_BASE)

    def clamp_timeout(self, timeout_s: float | None) -> float:
        """Apply the default and the server-side maximum to a requested timeout."""
        if timeout_s is None:
            return self.settings.default_timeout_s
        return max(0.1, min(float(timeout_s), self.settings.max_timeout_s))

    def clamp_memory(self, memory_mb: int | None) -> int:
        if memory_mb is None:
            return self.settings.memory_mb
        return max(16, min(int(memory_mb), self.settings.max_memory_mb))

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
        """Run programs side by side (each isolated from the others) under one deadline.

        ``close_after_start`` are the parent's copies of descriptors handed to the programs; closing
        them once every program holds its own lets a reader see end-of-file when its peer dies.
        """
        limit_s = self.clamp_timeout(timeout_s)
        memory = self.clamp_memory(memory_mb)
        uids = await self._take_uids(len(programs))
        running: list[_Running] = []
        try:
            for program, uid in zip(programs, uids, strict=True):
                running.append(await self._start(program, uid, limit_s, memory))
        except BaseException:
            for fd in close_after_start:
                with contextlib.suppress(OSError):
                    os.close(fd)
            for r in running:
                _kill(r, everything=True)
            self._give_uids(uids)
            raise
        for fd in close_after_start:
            with contextlib.suppress(OSError):
                os.close(fd)
        try:
            return list(await asyncio.gather(*(self._collect(r, limit_s) for r in running)))
        finally:
            for r in running:
                _kill(r)
                for path in r.cleanup:
                    shutil.rmtree(path, ignore_errors=True)
                for fd in r.memfds:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._give_uids(uids)

    async def _take_uids(self, n: int) -> list[int | None]:
        """Reserve a slot per program: at most SANDBOX_MAX_CONCURRENCY runs (of up to two programs) at once.

        As root a slot is also the run's own unprivileged uid.
        """
        if self._uids is None or self._uid_lock is None:
            self._uids = asyncio.Queue()
            for i in range(self.settings.max_concurrency * 2):  # two programs per grading run
                self._uids.put_nowait(UID_BASE + 1 + i if self._as_root else None)
            self._uid_lock = asyncio.Lock()
        async with self._uid_lock:  # all of a run's uids at once, so two runs never deadlock
            return [await self._uids.get() for _ in range(n)]

    def _give_uids(self, uids: list[int | None]) -> None:
        for uid in uids:
            if self._uids is not None:
                self._uids.put_nowait(uid)

    async def _start(self, program: Program, uid: int | None, limit_s: float, memory_mb: int) -> _Running:
        env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PYTHONIOENCODING": "utf-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
        }
        pyargs = ["-I", "-S", "-B", "-X", "utf8"]
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
        if self.isolation == "bwrap":
            argv = self._bwrap_argv(env)
            for name, content in program.files.items():
                fd = os.memfd_create(f"lf-{name}", 0)
                os.write(fd, content.encode("utf-8") if isinstance(content, str) else content)
                os.lseek(fd, 0, os.SEEK_SET)
                memfds.append(fd)
                argv += ["--file", str(fd), f"{WORKDIR}/{name}"]
            argv += ["--", self.python, *pyargs, f"{WORKDIR}/{program.main}", *program.argv]
            cwd = "/"
            child_env: dict[str, str] = {}
        else:
            workdir = _make_workdir(program.files, uid)
            cleanup.append(workdir)
            argv = [self.python, *pyargs, program.main, *program.argv]
            cwd = workdir
            child_env = {**env, "HOME": workdir}
        # prlimit and setpriv (util-linux) apply the limits and the uid by exec: a preexec_fn would make
        # Python fork the whole service instead of vfork-ing, ten times slower for a large process.
        wrapped = limits.command(argv) if _UTIL_LINUX else argv
        proc = await asyncio.create_subprocess_exec(
            *wrapped,
            cwd=cwd,
            env=child_env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group, so the whole tree can be killed
            pass_fds=(*memfds, *program.pass_fds),
            preexec_fn=None if _UTIL_LINUX else limits.apply,
        )
        for fd in memfds:  # the child holds its own copies now
            os.close(fd)
        return _Running(program=program, proc=proc, uid=uid, cleanup=cleanup, started=time.perf_counter())

    def _bwrap_argv(self, env: Mapping[str, str]) -> list[str]:
        # As root, --as-pid-1 makes the program the namespace's init: when it ends the kernel ends all
        # it started, and no bwrap reaper is orphaned to a host init that may not collect zombies.
        # A program that must be stopped early is then killed through its private uid (see _kill).
        argv = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv"]
        if self._as_root:
            argv.append("--as-pid-1")
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
            if Path(hidden).is_dir():
                argv += ["--tmpfs", hidden]  # third-party packages stay invisible
        argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
        argv += ["--size", str(self.settings.max_disk_bytes), "--tmpfs", WORKDIR, "--chdir", WORKDIR]
        return argv

    async def _collect(self, running: _Running, limit_s: float) -> ExecutionResult:
        proc = running.proc
        cap = running.program.output_cap or self.settings.max_output_bytes
        out, err = _Capture(cap), _Capture(cap)
        flood = asyncio.Event()
        stdin = running.program.stdin

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

        tasks = [
            asyncio.create_task(feed()),
            asyncio.create_task(pump(proc.stdout, out)),
            asyncio.create_task(pump(proc.stderr, err)),
        ]
        waiter = asyncio.create_task(proc.wait())
        flood_wait = asyncio.create_task(flood.wait())
        remaining = max(0.05, limit_s - (time.perf_counter() - running.started))
        done, _ = await asyncio.wait({waiter, flood_wait}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        timed_out = waiter not in done and not flood.is_set()
        _kill(running, everything=waiter not in done)  # whatever it left behind goes too
        flood_wait.cancel()
        await proc.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=2)
        for task in tasks:
            task.cancel()
        duration_ms = (time.perf_counter() - running.started) * 1000
        stderr = err.text()
        for prefix in (f"{WORKDIR}/", *(f"{c}/" for c in running.cleanup)):
            stderr = stderr.replace(prefix, "")
        memory_exceeded = bool(re.search(r"^MemoryError\b", stderr, re.M)) or (
            proc.returncode == -signal.SIGKILL and not timed_out and not flood.is_set() and waiter in done
        )
        return ExecutionResult(
            stdout=out.text(),
            stderr=stderr,
            exit_code=None if timed_out else proc.returncode,
            timed_out=timed_out,
            memory_exceeded=memory_exceeded,
            output_truncated=out.truncated or err.truncated,
            duration_ms=round(duration_ms, 1),
        )


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


def _kill(running: _Running, *, everything: bool = False) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(running.proc.pid, signal.SIGKILL)
    if running.uid is not None and (everything or running.cleanup):
        # A program can leave its process group (setsid) and, without namespaces, outlive its run;
        # the uid is the run's own, so every process with it goes.
        _kill_uid(running.uid)


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
