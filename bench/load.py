"""Load benchmark: POST /api/triage and question->answer, beside a bare FastAPI endpoint, in one run.

Starts each server as its own process on a free loopback port (fresh data directory), sends a fixed
number of requests with a fixed concurrency, and prints requests/s and latency percentiles. Speeds are
stated as a ratio to the bare endpoint measured in the same run, since the machine is shared.

    python bench/load.py [--requests 400] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from learnflow.runtime import Runtime

BARE_APP = """
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Body(BaseModel):
    student_id: str
    session_id: str
    query: str


@app.post("/echo")
async def echo(body: Body) -> dict[str, str]:
    return {"student_id": body.student_id, "status": "ok"}
"""

# Targets of issue 13 on a 2-core machine, as ratios to the bare endpoint measured in the same run.
TARGET_TRIAGE = 0.5
TARGET_ANSWER = 0.3
TARGET_P99_MS = 250.0

QUESTIONS = [
    "Can you explain how Python loops work?",
    "What is a dictionary?",
    "How do I define a function?",
    "What is the difference between a list and a tuple?",
]


def in_process_runtime(prefix: str) -> Runtime:
    """The whole app's runtime in this process: a fresh SQLite file, the in-memory bus, the offline tutor,
    no sign-in (for bench/statements.py and bench/cpuprofile.py)."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    for name in ("OPENAI_API_KEY", "DATABASE_URL", "POSTGRES_HOST", "EVENT_BUS"):
        os.environ.pop(name, None)
    os.environ.update(
        {"LEARNFLOW_DATA_DIR": str(work), "LOG_LEVEL": "WARNING", "AI_PROVIDER": "offline", "LEARNFLOW_AUTH": "off"}
    )
    from learnflow.runtime import Runtime
    from learnflow.services.catalog import CATALOG

    return Runtime(CATALOG)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def wait_up(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                await client.get(url, timeout=1)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def cpu_seconds(pid: int | None) -> float | None:
    """CPU time (all threads) used so far by process ``pid``, where /proc tells it."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_cores() -> tuple[float, float] | None:
    """Seconds of CPU time the whole machine has used and could have used so far (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK"), sum(fields) / os.sysconf("SC_CLK_TCK")


async def measure(
    name: str,
    requests: int,
    concurrency: int,
    call: Callable[[httpx.AsyncClient, int], Awaitable[None]],
    *,
    server: int | None = None,
) -> dict[str, float]:
    """Requests/s and latency percentiles; with a ``server`` pid, also its CPU time per request.

    The CPU time does not depend on what else the (shared) machine runs, unlike the rates.
    """
    latencies: list[float] = []
    counter = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        for i in range(min(10, requests)):  # warm-up, not counted
            await call(client, -1 - i)

        async def worker() -> None:
            for i in counter:
                t0 = time.perf_counter()
                await call(client, i)
                latencies.append((time.perf_counter() - t0) * 1000)

        cpu_before, machine_before = cpu_seconds(server), busy_cores()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        cpu_after, machine_after = cpu_seconds(server), busy_cores()
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]

    row = {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p95": pct(95),
        "p99": pct(99),
    }
    cpu = ""
    if machine_before is not None and machine_after is not None:
        # How much of the machine was in use (servers, client, database, anything else): a rate cannot
        # grow by more than the idle share, whatever the servers do.
        row["busy"] = (machine_after[0] - machine_before[0]) / (machine_after[1] - machine_before[1])
        cpu = f"   machine busy {row['busy']:>4.0%}"
    if cpu_before is not None and cpu_after is not None:
        # Polled while the requests run, so it also counts work a request leaves behind (the relay).
        row["cpu_ms"] = (cpu_after - cpu_before) * 1000 / len(latencies)
        cpu += f"   server CPU {row['cpu_ms']:>5.1f} ms/req"
    print(
        f"{name:<28} {row['rps']:>8.1f} req/s   p50 {row['p50']:>7.1f} ms   p95 {row['p95']:>7.1f} ms"
        f"   p99 {row['p99']:>7.1f} ms{cpu}",
        flush=True,
    )
    return row


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    opts = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="lf-bench-"))
    (work / "bare_app.py").write_text(BARE_APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "DATABASE_URL", "POSTGRES_"))}
    env.update(
        {
            "LEARNFLOW_DATA_DIR": str(work / "data"),
            "LOG_LEVEL": "WARNING",
            "AI_PROVIDER": "offline",
            "LEARNFLOW_AUTH": "off",
        }
    )
    bare_port, lf_port = free_port(), free_port()
    learnflow = str(Path(sys.executable).parent / "learnflow")
    procs = [
        start(
            [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(bare_port), "--log-level", "warning"],
            work,
            env,
        ),
        start([learnflow, "serve", "--port", str(lf_port)], work, env),
    ]
    try:
        bare = f"http://127.0.0.1:{bare_port}"
        lf = f"http://127.0.0.1:{lf_port}"
        await wait_up(bare + "/docs")
        await wait_up(lf + "/health")
        print(
            f"{opts.requests} requests, concurrency {opts.concurrency}, {os.cpu_count()} cores; servers: 1 process each"
        )

        async def bare_call(client: httpx.AsyncClient, i: int) -> None:
            r = await client.post(bare + "/echo", json={"student_id": f"s{i}", "session_id": f"t{i}", "query": "hi"})
            r.raise_for_status()

        async def triage_call(client: httpx.AsyncClient, i: int) -> None:
            body = {"student_id": f"s{i % 50}", "session_id": f"b{i}", "query": QUESTIONS[i % len(QUESTIONS)]}
            r = await client.post(lf + "/api/triage", json=body)
            r.raise_for_status()

        async def answer_call(client: httpx.AsyncClient, i: int) -> None:
            body = {"student_id": f"s{i % 50}", "session_id": f"a{i}", "query": QUESTIONS[i % len(QUESTIONS)]}
            r = await client.post(lf + "/api/triage", params={"wait": 30}, json=body)
            r.raise_for_status()
            if r.json().get("status") != "answered":
                raise RuntimeError(f"not answered: {r.text[:200]}")

        bare_pid, lf_pid = procs[0].pid, procs[1].pid
        base = await measure("bare FastAPI POST /echo", opts.requests, opts.concurrency, bare_call, server=bare_pid)
        triage = await measure("POST /api/triage", opts.requests, opts.concurrency, triage_call, server=lf_pid)
        answer = await measure(
            "question -> answer (?wait)", opts.requests, opts.concurrency, answer_call, server=lf_pid
        )
        print(
            f"ratios to bare endpoint: triage p50 x{triage['p50'] / base['p50']:.1f}, "
            f"throughput {triage['rps'] / base['rps']:.2f}; question->answer p50 x{answer['p50'] / base['p50']:.1f}, "
            f"throughput {answer['rps'] / base['rps']:.2f}"
        )
        if "cpu_ms" in base and "cpu_ms" in triage and "cpu_ms" in answer:
            # What the rates would be were the servers alone on the machine: bare CPU / CPU per request.
            print(
                f"ratios of server CPU per request (bare / this): triage {base['cpu_ms'] / triage['cpu_ms']:.2f}, "
                f"question->answer {base['cpu_ms'] / answer['cpu_ms']:.2f}"
            )
        # The targets, reported (never asserted: the machine is shared and the numbers noisy).
        for label, value, target, higher in (
            ("triage throughput / bare", triage["rps"] / base["rps"], TARGET_TRIAGE, True),
            ("question->answer throughput / bare", answer["rps"] / base["rps"], TARGET_ANSWER, True),
            (f"question->answer p99 ms at concurrency {opts.concurrency}", answer["p99"], TARGET_P99_MS, False),
        ):
            met = value >= target if higher else value <= target
            sign = ">=" if higher else "<="
            print(f"target {label:<44} {value:>8.2f}  ({sign} {target}: {'met' if met else 'NOT met'})")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
