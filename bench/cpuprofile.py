"""Where a question's CPU time goes: question -> answer in this process under cProfile, summed by package.

Runs the whole app in this process (in-memory bus, offline tutor, a fresh SQLite file) behind an
in-process HTTP client, asks ``--questions`` questions with ``?wait`` at ``--concurrency``, and prints
the CPU time per question and the share of each package in the profiled time (each function's own
time, attributed to the package its file belongs to), then the functions with the most own time.
The profiler roughly doubles the time; the shares are what to compare between two versions.

    python bench/cpuprofile.py [--questions 600] [--concurrency 16] [--top 25]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time
from collections import Counter

import httpx
from load import QUESTIONS, in_process_runtime

# Where a file belongs: the first of these that its path contains, else the standard library.
PACKAGES = (
    ("learnflow", "/learnflow/"),
    ("sqlalchemy", "/sqlalchemy/"),
    ("aiosqlite", "/aiosqlite/"),
    ("pydantic", "/pydantic"),
    ("fastapi", "/fastapi/"),
    ("starlette", "/starlette/"),
    ("opentelemetry", "/opentelemetry/"),
    ("httpx/httpcore (the client)", "/httpx/"),
    ("httpx/httpcore (the client)", "/httpcore/"),
    ("greenlet", "greenlet"),
)


def package_of(filename: str, function: str) -> str:
    for name, marker in PACKAGES:
        if marker in filename or marker in function:
            return name
    if filename == "~":  # a built-in: sqlite3's calls, json's encoder, dict methods
        return "built-in (sqlite3, json, ...)" if "sqlite3" in function or "json" in function else "built-in (other)"
    return "standard library"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--top", type=int, default=25)
    opts = parser.parse_args()
    rt = in_process_runtime("lf-profile-")
    from learnflow.services.app import create_app

    await rt.start()
    # Process CPU time, not wall time: waiting in epoll is not work. (A driver thread's CPU time is
    # counted against whatever the event loop's thread is in at that moment.)
    profiler = cProfile.Profile(time.process_time)
    try:
        transport = httpx.ASGITransport(app=create_app(runtime=rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as client:

            async def ask(i: int) -> None:
                body = {"student_id": f"s{i % 50}", "session_id": f"p{i}", "query": QUESTIONS[i % len(QUESTIONS)]}
                r = await client.post("/api/triage", params={"wait": 30}, json=body)
                if r.json().get("status") != "answered":
                    raise RuntimeError(f"not answered: {r.text[:200]}")

            for i in range(-20, 0):  # warm-up, not counted
                await ask(i)
            await rt.outbox.flush()
            numbers = iter(range(opts.questions))

            async def worker() -> None:
                for i in numbers:
                    await ask(i)

            cpu = time.process_time()
            profiler.enable()
            await asyncio.gather(*(worker() for _ in range(opts.concurrency)))
            await rt.outbox.flush()
            profiler.disable()
            cpu = time.process_time() - cpu
    finally:
        await rt.stop()

    stats = pstats.Stats(profiler)
    own: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    for (filename, line, function), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        own[package_of(filename, function)] += tottime
        short = filename.rsplit("site-packages/", 1)[-1].rsplit("/src/", 1)[-1]
        functions[f"{short}:{line}({function})"] += tottime
    total = sum(own.values()) or 1.0
    print(
        f"{opts.questions} questions, concurrency {opts.concurrency}, in one process: "
        f"CPU {cpu / opts.questions * 1000:.1f} ms per question under the profiler (client included)"
    )
    print("own time by package:")
    for name, seconds in own.most_common():
        print(f"  {seconds / total:6.1%}  {name}")
    print(f"the {opts.top} functions with the most own time:")
    for name, seconds in functions.most_common(opts.top):
        print(f"  {seconds / total:6.1%}  {name}")


if __name__ == "__main__":
    asyncio.run(main())
