"""Work per question -> answer: statements, commits, connection checkouts and CPU time, on SQLite.

Runs the whole app in this process (in-memory bus, offline tutor, a fresh SQLite file), asks the same
questions as bench/load.py one at a time with ``?wait``, and counts what each one cost the database.
Unlike the load benchmark these counts do not depend on how busy the machine is.

    python bench/statements.py [--questions 40]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from typing import Any

import httpx
from load import QUESTIONS, in_process_runtime
from sqlalchemy import event


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=40)
    opts = parser.parse_args()
    rt = in_process_runtime("lf-statements-")
    from learnflow.services.app import create_app

    counts: Counter[str] = Counter()

    def statement(*args: Any) -> None:
        verb = str(args[2]).lstrip().split(None, 1)[0].upper()
        counts["statements"] += 1
        counts[verb] += 1

    engine = rt.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", lambda *_: counts.update(["commits"]))
    event.listen(engine.pool, "checkout", lambda *_: counts.update(["checkouts"]))
    await rt.start()
    try:
        transport = httpx.ASGITransport(app=create_app(runtime=rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as client:
            for i in range(-3, opts.questions):  # three to warm up, not counted
                if i == 0:
                    await rt.outbox.flush()
                    counts.clear()
                    cpu = time.process_time()
                body = {"student_id": f"s{i % 50}", "session_id": f"a{i}", "query": QUESTIONS[i % len(QUESTIONS)]}
                r = await client.post("/api/triage", params={"wait": 30}, json=body)
                if r.json().get("status") != "answered":
                    raise RuntimeError(f"not answered: {r.text[:200]}")
                await rt.outbox.send_handed()  # the relay's share of this question, before the next one
                await asyncio.sleep(0.05)  # the acknowledgement's consumer, which nobody waits for
        cpu = time.process_time() - cpu
    finally:
        await rt.stop()
    per = {k: v / opts.questions for k, v in counts.items()}
    print(f"per question -> answer ({opts.questions} questions, SQLite, one at a time):")
    print(
        f"  statements {per['statements']:.1f}   commits {per.get('commits', 0):.1f}   "
        f"connection checkouts {per.get('checkouts', 0):.1f}   CPU {cpu / opts.questions * 1000:.1f} ms (all threads)"
    )
    verbs = ", ".join(f"{k} {v:.1f}" for k, v in sorted(per.items()) if k.isupper())
    print(f"  by kind: {verbs}")


if __name__ == "__main__":
    asyncio.run(main())
