"""The Kafka transport against a real Kafka-protocol broker (tansu), each test on its own topics.

tansu's in-memory engine does not implement InitProducerId, so these tests turn producer idempotence
off; production keeps the default (acks=all with idempotence).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from learnflow.ai import OfflineProvider
from learnflow.bus import Outcome, Subscription
from learnflow.bus.kafka import KafkaBus, all_topic_specs, create_topics
from learnflow.events import CloudEvent, ProgressUpdated, Topic, new_event
from learnflow.runtime import Runtime
from tests.conftest import make_settings
from tests.transport_contract import PROBE, Harness, TransportContract

pytestmark = pytest.mark.timeout(180)


def prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}."


def make_bus(bootstrap: str, topic_prefix: str, **kwargs: object) -> KafkaBus:
    return KafkaBus(
        bootstrap,
        topic_prefix=topic_prefix,
        idempotence=False,
        session_timeout_ms=6000,
        backoff_s=0.05,
        **kwargs,  # type: ignore[arg-type]
    )


def progress(student: str = "s1", mastery: float = 10) -> CloudEvent[ProgressUpdated]:
    data = ProgressUpdated(student_id=student, topic="lists", mastery=mastery, level="Beginner", overall=1)
    return new_event(Topic.PROGRESS_UPDATED, data, source="/test", subject=student)


async def eventually(check: Callable[[], bool], limit_s: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + limit_s
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_create_topics_with_partitions(kafka_bootstrap: str):
    p = prefix()
    created = await create_topics(kafka_bootstrap, prefix=p)
    assert len(created) == 18
    assert await create_topics(kafka_bootstrap, prefix=p) == []  # idempotent
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([s.name for s in all_topic_specs(p)])
    finally:
        await admin.close()
    partitions = {d["topic"]: len(d["partitions"]) for d in described}
    assert partitions[p + "learning.query"] == 3 and partitions[p + "learning.query.dlq"] == 3
    assert partitions[p + "code.execution.result"] == 3
    assert partitions[p + "exercise.graded"] == 2 and partitions[p + "progress.updated.dlq"] == 2


class TestKafkaTransport(TransportContract):
    within_s = 60.0  # joining a consumer group on the broker takes seconds

    @pytest.fixture(autouse=True)
    def _broker(self, kafka_bootstrap: str) -> None:
        self.bootstrap = kafka_bootstrap

    @asynccontextmanager
    async def harness(self, tmp_path: Path, *, max_attempts: int, backoff_s: float) -> AsyncIterator[Harness]:
        p = prefix()
        await create_topics(self.bootstrap, prefix=p)
        bus = KafkaBus(
            self.bootstrap,
            topic_prefix=p,
            idempotence=False,
            session_timeout_ms=6000,
            max_attempts=max_attempts,
            backoff_s=backoff_s,
        )
        rt = Runtime(PROBE, settings=make_settings(tmp_path), bus=bus, ai=OfflineProvider())
        try:
            yield Harness(rt, rt.start)
        finally:
            if rt.started:
                await rt.stop()


async def test_offsets_are_committed_only_after_success(kafka_bootstrap: str):
    """A consumer that stops mid-event leaves it uncommitted: the next member of the group gets it."""
    p = prefix()
    await create_topics(kafka_bootstrap, prefix=p)
    topic = str(Topic.PROGRESS_UPDATED)
    started = asyncio.Event()

    async def hangs(event: CloudEvent[ProgressUpdated]) -> Outcome:
        started.set()
        await asyncio.sleep(3600)
        return Outcome.DONE

    first = make_bus(kafka_bootstrap, p)
    first.subscribe(Subscription(topic, "worker", hangs, ProgressUpdated))
    await first.start()
    event = progress("s9")
    await first.publish(topic, event)
    await asyncio.wait_for(started.wait(), 60)
    await first.stop()  # "crash" while handling: nothing was committed

    redelivered: list[str] = []

    async def works(e: CloudEvent[ProgressUpdated]) -> Outcome:
        redelivered.append(e.id)
        return Outcome.DONE

    second = make_bus(kafka_bootstrap, p)
    second.subscribe(Subscription(topic, "worker", works, ProgressUpdated))
    await second.start()
    try:
        await eventually(lambda: event.id in redelivered)
    finally:
        await second.stop()


async def test_ping_reports_the_broker(kafka_bootstrap: str):
    bus = make_bus(kafka_bootstrap, prefix())
    assert await bus.ping() == "event bus not started"
    await bus.start()
    try:
        assert await bus.ping() is None
    finally:
        await bus.stop()


async def test_the_services_answer_over_kafka(kafka_bootstrap: str, tmp_path):  # type: ignore[no-untyped-def]
    """The same service code, all services in one process, with events on the broker."""
    import httpx

    from learnflow.services.app import create_app
    from learnflow.services.catalog import CATALOG

    p = prefix()
    await create_topics(kafka_bootstrap, prefix=p)
    rt = Runtime(CATALOG, settings=make_settings(tmp_path), bus=make_bus(kafka_bootstrap, p), ai=OfflineProvider())
    await rt.start()
    try:
        transport = httpx.ASGITransport(app=create_app(runtime=rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://kafka.test", timeout=60) as client:
            assert (await client.get("/ready")).status_code == 200
            cases = [
                ({"query": "Can you explain how Python loops work?"}, "concepts"),
                ({"query": "", "code": "print(x)", "error_message": "NameError: name 'x' is not defined"}, "debug"),
                ({"query": "Give me a Python exercise on loops"}, "exercise"),
            ]
            for fields, route in cases:
                body = {"student_id": "k1", "session_id": "ks", **fields}
                resp = (await client.post("/api/triage", params={"wait": 30}, json=body)).json()
                assert resp["routed_to"] == route and resp["status"] == "answered", resp
                assert resp["response"]["agent"] == route
    finally:
        await rt.stop()
