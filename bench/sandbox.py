"""Sandbox benchmark: isolation cost against a bare `python -c` subprocess, measured in one run.

For `print(1)` and for grading a three-test exercise (plus the ruff code-quality analysis each
submission also gets), reports median and p95 latency and runs per
second with both cores busy (concurrency = cores), for the sandbox (bubblewrap + limits, grading
through the two-process tester/agent RPC) and for the bare baseline (a plain subprocess; for grading,
one plain `python -c` that imports the solution and runs the tests in-process, as a naive grader
would).

    python bench/sandbox.py [--runs 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from learnflow.sandbox import Sandbox
from learnflow.sandbox.grading import Grader
from learnflow.tutor import quality

SOLUTION = "def add(a, b):\n    return a + b\n"
TESTS = (
    "from solution import add\n\n"
    "def test_small():\n    assert add(2, 3) == 5\n\n"
    "def test_negative():\n    assert add(-1, -1) == -2\n\n"
    "def test_zero():\n    assert add(0, 0) == 0\n"
)
BARE_GRADER = (
    "import sys\nsys.path.insert(0, {dir!r})\n"
    "ns = {{}}\nexec(open({tests!r}).read(), ns)\n"
    "for name, fn in list(ns.items()):\n"
    "    if name.startswith('test_'):\n        fn()\n        print(name, 'passed')\n"
)


async def bare(args: list[str]) -> None:
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(err.decode())


async def measure(name: str, runs: int, concurrency: int, call: Callable[[], Awaitable[None]]) -> dict[str, float]:
    for _ in range(3):  # warm-up
        await call()
    latencies: list[float] = []

    async def timed() -> None:
        t0 = time.perf_counter()
        await call()
        latencies.append((time.perf_counter() - t0) * 1000)

    # Sequential runs for latency...
    for _ in range(runs):
        await timed()
    seq = sorted(latencies)
    # ...and concurrent runs for throughput with every core busy.
    started = time.perf_counter()
    pending = iter(range(runs))

    async def worker() -> None:
        for _ in pending:
            await call()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    rps = runs / (time.perf_counter() - started)
    row = {"p50": statistics.median(seq), "p95": seq[int(0.95 * (len(seq) - 1))], "rps": rps}
    print(f"{name:<34} p50 {row['p50']:7.1f} ms   p95 {row['p95']:7.1f} ms   {rps:7.1f} runs/s", flush=True)
    return row


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=60)
    opts = parser.parse_args()
    cores = os.cpu_count() or 1
    sandbox = Sandbox()
    grader = Grader(sandbox)
    work = Path(tempfile.mkdtemp(prefix="lf-bench-"))
    (work / "solution.py").write_text(SOLUTION)
    (work / "tests.py").write_text(TESTS)
    bare_grade = BARE_GRADER.format(dir=str(work), tests=str(work / "tests.py"))
    python = sandbox.python
    print(f"isolation: {sandbox.isolation}; interpreter {python}; {cores} cores; {opts.runs} runs each")

    async def sandbox_print() -> None:
        result = await sandbox.run("print(1)")
        assert result.stdout == "1\n", result

    async def sandbox_grade() -> None:
        report = await grader.grade(code=SOLUTION, tests=TESTS)
        assert report.passed, report

    async def lint_solution() -> None:
        report = await quality.analyse(SOLUTION)
        assert report is not None and report.score == 1.0

    base_print = await measure("bare `python -c print(1)`", opts.runs, cores, lambda: bare([python, "-c", "print(1)"]))
    box_print = await measure("sandbox print(1)", opts.runs, cores, sandbox_print)
    base_grade = await measure(
        "bare grading (3 tests, 1 process)", opts.runs, cores, lambda: bare([python, "-c", bare_grade])
    )
    box_grade = await measure("sandbox grading (3 tests, RPC)", opts.runs, cores, sandbox_grade)
    lint = await measure("ruff quality analysis (added to grading)", opts.runs, cores, lint_solution)
    print(
        f"ratios: print(1) p50 x{box_print['p50'] / base_print['p50']:.2f}, throughput "
        f"x{box_print['rps'] / base_print['rps']:.2f}; grading p50 x{box_grade['p50'] / base_grade['p50']:.2f}, "
        f"throughput x{box_grade['rps'] / base_grade['rps']:.2f}; a submission's quality analysis adds "
        f"x{lint['p50'] / box_grade['p50']:.2f} of grading's p50"
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
