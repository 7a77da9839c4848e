"""The transactional outbox: a query answered 200 is never lost while the bus is down."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from learnflow.ai import OfflineProvider
from learnflow.bus import MemoryBus
from learnflow.runtime import Runtime
from learnflow.services.app import create_app
from learnflow.services.catalog import CATALOG
from tests.conftest import make_settings


class FlakyBus(MemoryBus):
    """The in-process bus with a switch that makes it refuse every publish, like a broker that is down."""

    def __init__(self) -> None:
        super().__init__(backoff_s=0.01)
        self.down = False
        self.refused = 0

    async def publish_wire(self, topic: str, wire: dict[str, Any]) -> None:
        if self.down:
            self.refused += 1
            raise ConnectionError("broker unreachable")
        await super().publish_wire(topic, wire)


async def test_queries_accepted_while_the_bus_is_down_are_answered_once_it_is_back(tmp_path, database_url):  # type: ignore[no-untyped-def]
    bus = FlakyBus()
    rt = Runtime(CATALOG, settings=make_settings(tmp_path, DATABASE_URL=database_url), bus=bus, ai=OfflineProvider())
    rt.outbox.max_backoff_s = 0.2
    await rt.start()
    try:
        transport = httpx.ASGITransport(app=create_app(runtime=rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=30) as client:
            before = await client.post(
                "/api/triage",
                params={"wait": 5},
                json={"student_id": "o", "session_id": "o1", "query": "What is a list?"},
            )
            assert before.json()["status"] == "answered"
            bus.down = True
            during = []
            for i in range(5):
                resp = await client.post(
                    "/api/triage", json={"student_id": "o", "session_id": "o1", "query": f"What is a tuple? ({i})"}
                )
                assert resp.status_code == 200
                during.append(resp.json()["query_id"])
            await asyncio.sleep(0.5)
            assert bus.refused > 0
            assert await rt.outbox.pending() >= 10  # each query and its acknowledgement wait in the outbox
            for query_id in during:
                assert (await client.get(f"/api/queries/{query_id}")).json()["status"] == "pending"
            bus.down = False
            for query_id in during:
                for _ in range(200):
                    got = (await client.get(f"/api/queries/{query_id}")).json()
                    if got["status"] == "answered":
                        break
                    await asyncio.sleep(0.05)
                assert got["status"] == "answered", got
            await asyncio.sleep(0.3)
            answers = [w for t, w in bus.published if t == "learning.response" and w["data"]["kind"] == "answer"]
            for query_id in during:
                mine = {w["id"] for w in answers if w["data"]["query_id"] == query_id}
                assert len(mine) == 1  # answered once, never twice
            assert await rt.outbox.pending() == 0
    finally:
        await rt.stop()


async def test_events_left_by_a_previous_run_are_sent_at_start(tmp_path, database_url):  # type: ignore[no-untyped-def]
    from learnflow.events import ProgressUpdated, Topic

    settings = make_settings(tmp_path, DATABASE_URL=database_url)
    first_bus = FlakyBus()
    first = Runtime(CATALOG, ("runner",), settings=settings, bus=first_bus, ai=OfflineProvider())
    await first.start()
    first_bus.down = True
    payload = ProgressUpdated(student_id="p", topic="lists", mastery=50, level="Learning", overall=1)
    event = await first.publish(Topic.PROGRESS_UPDATED, payload, subject="p")
    await asyncio.sleep(0.2)
    await first.stop()  # "crashes" with the event still in the outbox

    second_bus = FlakyBus()
    second = Runtime(CATALOG, ("runner",), settings=settings, bus=second_bus, ai=OfflineProvider())
    await second.start()
    try:
        for _ in range(100):
            if any(w["id"] == event.id for _, w in second_bus.published):
                break
            await asyncio.sleep(0.05)
        assert any(w["id"] == event.id for _, w in second_bus.published)
    finally:
        await second.stop()
