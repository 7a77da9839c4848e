"""Question -> answer on PostgreSQL: one `learnflow serve` process against two on the same database.

Each round starts the servers on a fresh database (created and dropped here), sends the same load as
bench/load.py, spread over the processes in turn, and prints requests/s and latency; the ratio of the
two rounds, measured in one run, is issue 13's scaling target (>= 1.6).

    python bench/replicas.py [--requests 400] [--concurrency 16] [--admin-url postgresql://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import uuid
from pathlib import Path

import asyncpg
import httpx
from load import QUESTIONS, free_port, measure, start, wait_up

TARGET_SCALING = 1.6


async def admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def round_with(processes: int, opts: argparse.Namespace) -> dict[str, float]:
    name = f"lf_bench_{uuid.uuid4().hex[:10]}"
    await admin(opts.admin_url, f'CREATE DATABASE "{name}"')
    database = opts.admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + name
    work = Path(tempfile.mkdtemp(prefix="lf-replicas-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "DATABASE_URL", "POSTGRES_"))}
    env.update({"DATABASE_URL": database, "LOG_LEVEL": "WARNING", "AI_PROVIDER": "offline", "LEARNFLOW_AUTH": "off"})
    learnflow = str(Path(sys.executable).parent / "learnflow")
    ports = [free_port() for _ in range(processes)]
    procs = []
    for i, port in enumerate(ports):
        env_i = {**env, "LEARNFLOW_DATA_DIR": str(work / f"data{i}")}
        procs.append(start([learnflow, "serve", "--port", str(port)], work, env_i))
        # One at a time: the first applies the migrations.
        await wait_up(f"http://127.0.0.1:{port}/health")
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:

        async def answer_call(client: httpx.AsyncClient, i: int) -> None:
            body = {"student_id": f"s{i % 50}", "session_id": f"r{i}", "query": QUESTIONS[i % len(QUESTIONS)]}
            r = await client.post(urls[i % len(urls)] + "/api/triage", params={"wait": 30}, json=body)
            r.raise_for_status()
            if r.json().get("status") != "answered":
                raise RuntimeError(f"not answered: {r.text[:200]}")

        label = f"question -> answer, {processes} proc"
        return await measure(label, opts.requests, opts.concurrency, answer_call)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)
        await admin(opts.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--admin-url", default=os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    opts = parser.parse_args()
    print(f"{opts.requests} requests, concurrency {opts.concurrency}, {os.cpu_count()} cores, PostgreSQL")
    one = await round_with(1, opts)
    two = await round_with(2, opts)
    scaling = two["rps"] / one["rps"]
    met = "met" if scaling >= TARGET_SCALING else "NOT met"
    print(f"target two processes / one, question->answer throughput {scaling:>6.2f}  (>= {TARGET_SCALING}: {met})")
    if "busy" in one:
        # With everything on one machine, a second process can use only what the first left idle.
        ceiling = 1 / one["busy"]
        print(f"ceiling on this machine (all cores / what the one-process round kept busy)  {ceiling:>6.2f}")


if __name__ == "__main__":
    asyncio.run(main())
