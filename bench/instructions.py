"""Instructions per question -> answer, counted by valgrind: a measure that a busy machine does not move.

The load benchmark's rates and CPU times move by a quarter between runs on a shared machine. Counted
instructions do not (the same count to within about 2 % run after run, whatever else the machine does),
so this is the number to compare two versions by. It runs, in this process and under valgrind's
callgrind, first a bare FastAPI endpoint (as bench/load.py's) and then the whole app (in-memory bus,
offline tutor, a fresh SQLite file), each behind an in-process HTTP client, counts the instructions of
``--requests`` requests of each (after a warm-up, start-up excluded) and prints both per request and
their ratio. Client included on both sides; kernel time (system calls, page faults) is not counted.

    python bench/instructions.py [--requests 40] [--concurrency 8]

Needs valgrind (``apt-get install valgrind``); about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from load import BARE_APP, QUESTIONS, in_process_runtime

PHASES = ("bare", "question")


def wait_for(path: Path, proc: subprocess.Popen[bytes] | None = None, limit_s: float = 900) -> None:
    deadline = time.monotonic() + limit_s
    while not path.exists():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the measured process ended early (exit {proc.returncode})")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {path.name}")
        time.sleep(0.1)


async def in_parallel(call: Callable[[int], Awaitable[None]], requests: int, concurrency: int) -> None:
    numbers = iter(range(requests))

    async def worker() -> None:
        for i in numbers:
            await call(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def inner(work: Path, requests: int, concurrency: int) -> None:
    """Run under valgrind: each phase waits for the go-ahead, runs its requests, then says it is done."""
    namespace: dict[str, object] = {}
    exec(BARE_APP, namespace)  # the same bare endpoint as bench/load.py
    bare_app = namespace["app"]
    rt = in_process_runtime("lf-instructions-")
    from learnflow.services.app import create_app

    await rt.start()
    try:
        apps = {"bare": bare_app, "question": create_app(runtime=rt)}
        for phase in PHASES:
            transport = httpx.ASGITransport(app=apps[phase])  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as client:

                async def bare(i: int) -> None:
                    body = {"student_id": f"s{i}", "session_id": f"t{i}", "query": "hi"}
                    (await client.post("/echo", json=body)).raise_for_status()

                async def question(i: int) -> None:
                    body = {"student_id": f"s{i % 50}", "session_id": f"i{i}", "query": QUESTIONS[i % len(QUESTIONS)]}
                    r = await client.post("/api/triage", params={"wait": 30}, json=body)
                    if r.json().get("status") != "answered":
                        raise RuntimeError(f"not answered: {r.text[:200]}")

                call: Callable[[int], Awaitable[None]] = bare if phase == "bare" else question
                for i in range(-20, 0):  # warm-up, not counted
                    await call(i)
                await rt.outbox.flush()
                await asyncio.sleep(0.2)
                (work / f"{phase}.ready").touch()
                await asyncio.to_thread(wait_for, work / f"{phase}.go")
                await in_parallel(call, requests, concurrency)
                await rt.outbox.flush()  # the relay's share of the last questions
                (work / f"{phase}.done").touch()
                await asyncio.to_thread(wait_for, work / f"{phase}.counted")
    finally:
        await rt.stop()


def total_instructions(path: Path) -> int:
    """The instruction count in a callgrind dump."""
    for line in path.read_text().splitlines():
        if line.startswith("totals:"):  # ("summary:" is 0 when instrumentation starts off)
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {path}")


def outer(requests: int, concurrency: int) -> None:
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    work = Path(tempfile.mkdtemp(prefix="lf-instr-"))
    dumps = work / "callgrind.out"
    cmd = [
        "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={dumps}",
        sys.executable, __file__, "--inner", str(work), "--requests", str(requests), "--concurrency", str(concurrency),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    counts: dict[str, int] = {}
    try:
        for phase in PHASES:
            wait_for(work / f"{phase}.ready", proc)
            subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True)
            subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], check=True, capture_output=True)
            (work / f"{phase}.go").touch()
            wait_for(work / f"{phase}.done", proc)
            subprocess.run(["callgrind_control", "-i", "off", str(proc.pid)], check=True, capture_output=True)
            before = set(work.glob("callgrind.out*"))
            subprocess.run(["callgrind_control", "-d", phase, str(proc.pid)], check=True, capture_output=True)
            (dump,) = set(work.glob("callgrind.out*")) - before
            counts[phase] = total_instructions(dump)
            (work / f"{phase}.counted").touch()
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    bare, question = counts["bare"] / requests, counts["question"] / requests
    print(f"{requests} requests each, concurrency {concurrency}, in one process under callgrind (client included)")
    print(f"bare FastAPI POST /echo        {bare / 1e6:8.2f} M instructions per request")
    print(f"question -> answer (?wait)     {question / 1e6:8.2f} M instructions per question")
    print(f"ratio bare / question -> answer: {bare / question:.3f} (the share of a bare request's work in a question)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--inner", type=Path, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.inner is not None:
        asyncio.run(inner(opts.inner, opts.requests, opts.concurrency))
    else:
        outer(opts.requests, opts.concurrency)


if __name__ == "__main__":
    main()
