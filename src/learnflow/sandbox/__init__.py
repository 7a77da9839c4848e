"""Running untrusted student code.

Everything that executes student or generated code goes through :class:`Sandbox.run`, so the
isolation mechanism can change in this one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, Field

from learnflow.config import SandboxSettings

MAIN = "main.py"


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


class Sandbox:
    """Runs Python programs in a fresh private directory under resource limits."""

    # The interpreter overhead (code pages, stdlib) counts against RLIMIT_AS, so the student's
    # budget is added to a measured baseline rather than used as the whole address space.
    _BASELINE_AS_MB = 40

    def __init__(self, settings: SandboxSettings | None = None, *, python: str | None = None) -> None:
        self.settings = settings or SandboxSettings()
        self.python = python or sys.executable
        self._slots = asyncio.Semaphore(self.settings.max_concurrency)

    @property
    def isolation(self) -> str:
        return "rlimits"

    def clamp_timeout(self, timeout_s: float | None) -> float:
        """Apply the default and the server-side maximum to a requested timeout."""
        if timeout_s is None:
            return self.settings.default_timeout_s
        return max(0.1, min(float(timeout_s), self.settings.max_timeout_s))

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
        limit_s = self.clamp_timeout(timeout_s)
        memory = min(memory_mb or self.settings.memory_mb, self.settings.memory_mb * 4)
        async with self._slots:
            workdir = Path(tempfile.mkdtemp(prefix="lf-run-"))
            try:
                for name, content in {**(files or {}), MAIN: code}.items():
                    (workdir / name).write_text(content, encoding="utf-8")
                return await self._execute(workdir, stdin, limit_s, memory)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)

    async def _execute(self, workdir: Path, stdin: str, limit_s: float, memory_mb: int) -> ExecutionResult:
        cap = self.settings.max_output_bytes
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(workdir),
            "LANG": "C.UTF-8",
            "PYTHONIOENCODING": "utf-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
        }
        limits = _Limits(as_bytes=(memory_mb + self._BASELINE_AS_MB) * 2**20, cpu_s=int(limit_s) + 1)
        start = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            self.python,
            "-I",
            "-S",
            "-X",
            "utf8",
            MAIN,
            cwd=workdir,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group, so we can kill everything it spawned
            preexec_fn=limits.apply,
        )
        out = _Capture(cap)
        err = _Capture(cap)
        flood = asyncio.Event()

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
                    flood.set()
                    return

        timed_out = False
        tasks = [
            asyncio.create_task(feed()),
            asyncio.create_task(pump(proc.stdout, out)),
            asyncio.create_task(pump(proc.stderr, err)),
        ]
        waiter = asyncio.create_task(proc.wait())
        flood_wait = asyncio.create_task(flood.wait())
        done, _ = await asyncio.wait({waiter, flood_wait}, timeout=limit_s, return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            timed_out = not flood.is_set()
            _kill_group(proc.pid)
        else:
            # The main process ended; anything it left behind in its group goes too.
            _kill_group(proc.pid)
        flood_wait.cancel()
        await proc.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=2)
        for task in tasks:
            task.cancel()
        duration_ms = (time.perf_counter() - start) * 1000
        stderr = err.text().replace(str(workdir) + "/", "")
        memory_exceeded = bool(re.search(r"^MemoryError\b", stderr, re.M)) or (
            proc.returncode == -signal.SIGKILL and not timed_out and not flood.is_set()
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


class _Limits:
    def __init__(self, *, as_bytes: int, cpu_s: int) -> None:
        self.as_bytes = as_bytes
        self.cpu_s = cpu_s

    def apply(self) -> None:
        # Runs in the child between fork and exec: only async-signal-safe work here.
        resource.setrlimit(resource.RLIMIT_AS, (self.as_bytes, self.as_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_s, self.cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (10 * 2**20, 10 * 2**20))
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
