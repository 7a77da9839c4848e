"""The Dapr transport against a sidecar emulator implementing Dapr's documented pub/sub HTTP contract."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

from learnflow.ai import OfflineProvider
from learnflow.bus import Outcome
from learnflow.bus.dapr import DaprBus
from learnflow.db.models import DeadLetter
from learnflow.events import CloudEvent, ProgressUpdated, Topic
from learnflow.runtime import Runtime
from learnflow.services.app import create_app
from tests.conftest import free_port, make_settings
from tests.dapr_emulator import DaprEmulator


async def serve(app: FastAPI) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to await
        await asyncio.sleep(0.02)
    return server, task, f"http://127.0.0.1:{port}"


@pytest.fixture
async def dapr_world(tmp_path, database_url: str) -> AsyncIterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    emulator = DaprEmulator()
    side_server, side_task, side_url = await serve(emulator.app)
    sidecar_port = int(side_url.rsplit(":", 1)[1])
    bus = DaprBus(http_port=sidecar_port)
    rt = Runtime(settings=make_settings(tmp_path, DATABASE_URL=database_url), bus=bus, ai=OfflineProvider())
    flaky = {"fails_left": 0, "calls": 0}

    async def sometimes_fails(event: CloudEvent[ProgressUpdated]) -> Outcome:
        flaky["calls"] += 1
        if flaky["fails_left"] > 0:
            flaky["fails_left"] -= 1
            return Outcome.RETRY
        return Outcome.DONE

    rt.consume(Topic.PROGRESS_UPDATED, "progress-watcher", sometimes_fails, payload=ProgressUpdated)
    await rt.start()
    app_server, app_task, app_url = await serve(create_app(runtime=rt))
    await emulator.connect(app_url)
    yield {"emulator": emulator, "runtime": rt, "app_url": app_url, "flaky": flaky}
    for server in (app_server, side_server):
        server.should_exit = True
    await asyncio.gather(app_task, side_task, return_exceptions=True)
    await rt.stop()


async def test_subscriptions_route_queries_to_their_specialist(dapr_world: dict[str, Any]):
    async with httpx.AsyncClient() as client:
        subs = (await client.get(dapr_world["app_url"] + "/dapr/subscribe")).json()
    query = next(s for s in subs if s["topic"] == "learning.query")
    assert query["pubsubname"] == "kafka-pubsub" and query["deadLetterTopic"] == "learning.query.dlq"
    rules = {r["match"]: r["path"] for r in query["routes"]["rules"]}
    assert rules == {
        'event.data.routed_to == "concepts"': "/dapr/events/concepts/learning.query",
        'event.data.routed_to == "debug"': "/dapr/events/debug/learning.query",
        'event.data.routed_to == "exercise"': "/dapr/events/exercise/learning.query",
    }
    assert "deadLetterTopic" not in next(s for s in subs if s["topic"] == "learning.query.dlq")


async def test_questions_are_answered_through_the_sidecar(dapr_world: dict[str, Any]):
    emulator: DaprEmulator = dapr_world["emulator"]
    async with httpx.AsyncClient(timeout=30) as client:
        for query, route in [("How do for loops work?", "concepts"), ("Give me an exercise on sets", "exercise")]:
            resp = await client.post(dapr_world["app_url"] + "/api/triage", params={"wait": 10},
                                     json={"student_id": "d1", "session_id": "ds", "query": query})  # fmt: skip
            body = resp.json()
            assert body["routed_to"] == route and body["status"] == "answered", body
    published = [t for t, _ in emulator.published]
    assert "learning.query" in published and "learning.response" in published
    sent = next(e for t, e in emulator.published if t == "learning.query")
    assert sent["specversion"] == "1.0" and sent["subject"] == "d1"  # our envelope, passed through


async def test_retry_is_redelivered_by_the_sidecar(dapr_world: dict[str, Any]):
    rt: Runtime = dapr_world["runtime"]
    dapr_world["flaky"]["fails_left"] = 2
    payload = ProgressUpdated(student_id="r", topic="lists", mastery=10, level="Beginner", overall=1)
    event = await rt.publish(Topic.PROGRESS_UPDATED, payload, subject="r")
    emulator: DaprEmulator = dapr_world["emulator"]
    for _ in range(200):
        statuses = [s for t, i, s in emulator.deliveries if i == event.id]
        if "SUCCESS" in statuses:
            break
        await asyncio.sleep(0.02)
    assert statuses == ["RETRY", "RETRY", "SUCCESS"]


async def test_retries_exhausted_and_drops_go_to_the_dead_letter_topic(dapr_world: dict[str, Any]):
    rt: Runtime = dapr_world["runtime"]
    emulator: DaprEmulator = dapr_world["emulator"]
    dapr_world["flaky"]["fails_left"] = 99
    payload = ProgressUpdated(student_id="x", topic="lists", mastery=10, level="Beginner", overall=1)
    failing = await rt.publish(Topic.PROGRESS_UPDATED, payload, subject="x")
    # An event whose payload breaks the contract is answered DROP.
    async with httpx.AsyncClient() as client:
        await client.post(
            f"{rt.bus.base_url}/v1.0/publish/kafka-pubsub/progress.updated",  # type: ignore[attr-defined]
            json={
                "specversion": "1.0",
                "id": "bad-1",
                "source": "/t",
                "type": "com.learnflow.progress.updated",
                "data": {"student_id": "x", "mastery": 500},
            },
            headers={"content-type": "application/cloudevents+json"},
        )

    async def dead_letters() -> list[DeadLetter]:
        async with rt.db.session() as session:
            return list((await session.execute(select(DeadLetter))).scalars())

    for _ in range(200):
        rows = await dead_letters()
        if {r.event_id for r in rows} >= {failing.id}:
            break
        await asyncio.sleep(0.05)
    on_topic = [(i, s) for t, i, s in emulator.deliveries if t == "progress.updated"]
    assert [s for i, s in on_topic if i == failing.id] == ["RETRY"] * 3
    assert [s for i, s in on_topic if i == "bad-1"] == ["DROP"]
    assert "progress.updated.dlq" in [t for t, _ in emulator.published]
    assert failing.id in {r.event_id for r in rows}


async def test_ready_waits_for_the_sidecar(dapr_world: dict[str, Any]):
    emulator: DaprEmulator = dapr_world["emulator"]
    async with httpx.AsyncClient() as client:
        assert (await client.get(dapr_world["app_url"] + "/ready")).status_code == 200
        emulator.healthy = False
        resp = await client.get(dapr_world["app_url"] + "/ready")
        assert resp.status_code == 503 and "dapr sidecar" in resp.json()["reasons"][0]
