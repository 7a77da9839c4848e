"""The Dapr transport against a sidecar emulator that behaves as daprd 1.18 does (see tests/dapr_emulator.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Response
from pydantic import BaseModel
from sqlalchemy import func, select

from learnflow.ai import AIUnavailable, OfflineProvider
from learnflow.ai.base import AIProvider
from learnflow.bus import Outcome
from learnflow.bus.dapr import DaprBus, cel
from learnflow.db.models import DeadLetter, InboxEvent
from learnflow.events import CloudEvent, LearningQuery, ProgressUpdated, Topic, dlq, new_event
from learnflow.runtime import Runtime, derived_id
from learnflow.services.app import create_app
from learnflow.services.catalog import CATALOG
from tests.conftest import free_port, make_settings
from tests.dapr_emulator import CelError, DaprEmulator, Resiliency, cel_eval
from tests.transport_contract import PROBE, Harness, TransportContract

T = TypeVar("T", bound=BaseModel)


async def serve(app: FastAPI) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to await
        await asyncio.sleep(0.02)
    return server, task, f"http://127.0.0.1:{port}"


async def until(check: Callable[[], Awaitable[bool]] | Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


class World:
    def __init__(self, emulator: DaprEmulator, rt: Runtime, app_url: str, flaky: dict[str, Any]) -> None:
        self.emulator, self.rt, self.app_url, self.flaky = emulator, rt, app_url, flaky

    @property
    def bus(self) -> DaprBus:
        assert isinstance(self.rt.bus, DaprBus)
        return self.rt.bus

    async def dead_letters(self) -> list[DeadLetter]:
        async with self.rt.db.session() as session:
            return list((await session.execute(select(DeadLetter))).scalars())

    async def publish_raw(self, topic: str, event: dict[str, Any], key: str | None = None) -> None:
        """Publish as a foreign producer would, straight to the sidecar."""
        async with httpx.AsyncClient() as client:
            resp = await client.post(
                f"{self.bus.base_url}/v1.0/publish/kafka-pubsub/{topic}",
                json=event,
                params={"metadata.partitionKey": key} if key else {},
                headers={"content-type": "application/cloudevents+json"},
            )
            assert resp.status_code == 204

    def statuses(self, event_id: str, topic: str | None = None) -> list[str]:
        return [s for t, i, s in self.emulator.statuses if i == event_id and (topic is None or t == topic)]


@asynccontextmanager
async def dapr_world(
    tmp_path: Path,
    database_url: str,
    *,
    ai: AIProvider | None = None,
    connect: bool = True,
    handler_deadline_s: float = 5.0,
    **emulator_options: Any,
) -> AsyncIterator[World]:
    emulator = DaprEmulator(**emulator_options)
    side_server, side_task, side_url = await serve(emulator.app)
    bus = DaprBus(http_port=int(side_url.rsplit(":", 1)[1]), handler_deadline_s=handler_deadline_s, backoff_s=0.01)
    rt = Runtime(
        CATALOG, settings=make_settings(tmp_path, DATABASE_URL=database_url), bus=bus, ai=ai or OfflineProvider()
    )
    flaky: dict[str, Any] = {"fails_left": 0, "calls": 0, "gate": None}

    async def sometimes_fails(event: CloudEvent[ProgressUpdated]) -> Outcome:
        flaky["calls"] += 1
        if flaky["gate"] is not None:
            await flaky["gate"].wait()
        if flaky["fails_left"] > 0:
            flaky["fails_left"] -= 1
            return Outcome.RETRY
        return Outcome.DONE

    rt.consume(Topic.PROGRESS_UPDATED, "progress-watcher", sometimes_fails, payload=ProgressUpdated)
    await rt.start()
    app_server, app_task, app_url = await serve(create_app(runtime=rt))
    if connect:
        await emulator.connect(app_url)
    try:
        yield World(emulator, rt, app_url, flaky)
    finally:
        await emulator.disconnect()
        for server in (app_server, side_server):
            server.should_exit = True
        await asyncio.gather(app_task, side_task, return_exceptions=True)
        await rt.stop()


def progress(student: str) -> ProgressUpdated:
    return ProgressUpdated(student_id=student, topic="lists", mastery=10, level="Beginner", overall=1)


class TestDaprTransport(TransportContract):
    """Through the sidecar emulator, with an inbound Resiliency policy: daprd owns the retries."""

    dead_letters_say_why = False  # daprd dead-letters the bytes it received, without a reason

    @asynccontextmanager
    async def harness(self, tmp_path: Path, *, max_attempts: int, backoff_s: float) -> AsyncIterator[Harness]:
        policy = Resiliency(max_retries=max_attempts - 1, duration_s=backoff_s, max_interval_s=60)
        emulator = DaprEmulator(resiliency=policy)
        side_server, side_task, side_url = await serve(emulator.app)
        port = int(side_url.rsplit(":", 1)[1])
        bus = DaprBus(http_port=port, max_attempts=max_attempts, backoff_s=backoff_s)
        rt = Runtime(PROBE, settings=make_settings(tmp_path), bus=bus, ai=OfflineProvider())
        servers = [(side_server, side_task)]

        async def start() -> None:
            await rt.start()
            app_server, app_task, app_url = await serve(create_app(runtime=rt))
            servers.append((app_server, app_task))
            await emulator.connect(app_url)

        try:
            yield Harness(rt, start)
        finally:
            await emulator.disconnect()
            for server, _ in servers:
                server.should_exit = True
            await asyncio.gather(*(task for _, task in servers), return_exceptions=True)
            if rt.started:
                await rt.stop()


# -- subscriptions and routing rules --------------------------------------------------------------
async def test_subscriptions_route_queries_to_their_specialist(tmp_path: Path, database_url: str):
    async with dapr_world(tmp_path, database_url) as world, httpx.AsyncClient() as client:
        subs = (await client.get(world.app_url + "/dapr/subscribe")).json()
    query = next(s for s in subs if s["topic"] == "learning.query")
    assert query["pubsubname"] == "kafka-pubsub" and query["deadLetterTopic"] == "learning.query.dlq"
    rules = {r["match"]: r["path"] for r in query["routes"]["rules"]}
    guard = "has(event.data) && type(event.data) == map && has(event.data.routed_to)"
    assert rules == {
        f'{guard} && event.data.routed_to == "{name}"': f"/dapr/events/{name}/learning.query"
        for name in ("concepts", "debug", "exercise")
    }
    assert "deadLetterTopic" not in next(s for s in subs if s["topic"] == "learning.query.dlq")


@pytest.mark.parametrize(
    "event",
    [{"data": {}}, {}, {"data": "plain text"}, {"data": None}, {"data": {"routed_to": 3}}],
    ids=["no-field", "no-data", "string-data", "null-data", "number"],
)
def test_every_declared_rule_evaluates_without_error_on_any_event(event: dict[str, Any]):
    rule = cel({"routed_to": "debug"})
    assert cel_eval(rule, event) is False
    assert cel_eval(rule, {"data": {"routed_to": "debug"}}) is True


def test_an_unguarded_rule_fails_as_cel_does():
    with pytest.raises(CelError):
        cel_eval('event.data.routed_to == "debug"', {"data": {}})
    with pytest.raises(CelError):
        cel_eval('has(event.data.routed_to) && event.data.routed_to == "debug"', {"data": "text"})
    assert cel_eval('event.data.x == "a" || true', {"data": {}}) is True  # || absorbs the error


async def test_an_event_no_rule_matches_is_neither_dead_lettered_nor_retried(tmp_path: Path, database_url: str):
    async with dapr_world(tmp_path, database_url) as world:
        base = {"specversion": "1.0", "source": "/foreign", "type": "com.learnflow.learning.query"}
        for event_id, data in [("no-route", {"query": "hi"}), ("text", "hi"), ("none", None)]:
            await world.publish_raw("learning.query", {**base, "id": event_id, "data": data})
            await world.publish_raw("learning.query.dlq", {**base, "id": f"dlq-{event_id}", "data": data})
        await until(lambda: len(world.emulator.deliveries) >= 6)
        await asyncio.sleep(0.3)
        assert {d.status for d in world.emulator.deliveries} == {"SUCCESS"}  # to the default route, no error
        assert all(d.path and "/_none/" in d.path for d in world.emulator.deliveries)
        assert world.emulator.component_retries == []
        assert [t for t, _ in world.emulator.published].count("learning.query.dlq") == 3  # only ours


async def test_the_emulator_dead_letters_a_rule_error_and_retries_it_forever_without_a_topic(
    tmp_path: Path, database_url: str
):
    async with dapr_world(tmp_path, database_url) as world:
        for sub in world.emulator.subscriptions:  # what the app declared before its rules were guarded
            for rule in sub["routes"]["rules"]:
                rule["match"] = 'event.data.routed_to == "concepts"'
        await world.emulator.join()
        base = {"specversion": "1.0", "source": "/foreign", "type": "t", "data": {"query": "hi"}}
        await world.publish_raw("learning.query", {**base, "id": "q"})
        await until(lambda: len(world.emulator.component_retries) >= 3)
        assert world.statuses("q", "learning.query") == ["ROUTE-ERROR"]
        # The dead letter fails the same rule on the DLQ topic, which has no dead-letter topic: stuck.
        assert {i for _, i in world.emulator.component_retries} == {"q"}


# -- resiliency ----------------------------------------------------------------------------------
async def test_with_a_resiliency_policy_a_transient_failure_is_retried_and_succeeds(tmp_path: Path, database_url: str):
    async with dapr_world(tmp_path, database_url, resiliency=Resiliency(max_retries=3, duration_s=0.02)) as world:
        world.flaky["fails_left"] = 2
        event = await world.rt.publish(Topic.PROGRESS_UPDATED, progress("r"), subject="r")
        await until(lambda: "SUCCESS" in world.statuses(event.id))
        assert world.statuses(event.id) == ["RETRY", "RETRY", "SUCCESS"]
        await asyncio.sleep(0.2)
        assert "progress.updated.dlq" not in [t for t, _ in world.emulator.published]
        assert event.id not in {r.event_id for r in await world.dead_letters()}


async def test_without_a_resiliency_policy_the_first_retry_is_dead_lettered(tmp_path: Path, database_url: str):
    async with dapr_world(tmp_path, database_url) as world:
        world.flaky["fails_left"] = 1  # one transient failure would have passed on a second try
        event = await world.rt.publish(Topic.PROGRESS_UPDATED, progress("x"), subject="x")

        async def recorded() -> bool:
            return event.id in {r.event_id for r in await world.dead_letters()}

        await until(recorded)
        assert world.statuses(event.id, "progress.updated") == ["RETRY"]
        assert world.flaky["calls"] == 1
        row = next(r for r in await world.dead_letters() if r.event_id == event.id)
        assert row.consumer == "progress-watcher" and row.reason == "dead-lettered by the transport"
        # daprd dead-letters the bytes it received: the envelope still names the original topic.
        assert row.event["topic"] == "progress.updated" and row.event["traceparent"].startswith("00-")


async def test_an_invalid_payload_is_dropped_to_the_dead_letter_topic(tmp_path: Path, database_url: str):
    async with dapr_world(tmp_path, database_url, resiliency=Resiliency()) as world:
        await world.publish_raw(
            "progress.updated",
            {"specversion": "1.0", "id": "bad-1", "source": "/t", "type": "com.learnflow.progress.updated",
             "data": {"student_id": "x", "mastery": 500}},
        )  # fmt: skip

        async def recorded() -> bool:
            return "bad-1" in {r.event_id for r in await world.dead_letters()}

        await until(recorded)
        assert world.statuses("bad-1", "progress.updated") == ["DROP"]  # not retried, even with a policy


# -- what daprd makes of the app's answers --------------------------------------------------------
async def test_the_emulator_reads_answers_as_daprd_does():
    answers: dict[str, Response] = {
        "empty": Response(status_code=200),
        "blank-status": Response(status_code=200, content=b'{"status": ""}'),
        "not-found": Response(status_code=404),
        "unknown": Response(status_code=200, content=b'{"status": "MAYBE"}', media_type="application/json"),
        "error": Response(status_code=500),
    }
    app = FastAPI()
    topics = list(answers)
    app.get("/dapr/subscribe")(lambda: [
        {"pubsubname": "kafka-pubsub", "topic": t, "routes": {"default": f"/{t}"}, "deadLetterTopic": f"{t}.dlq"}
        for t in topics
    ])  # fmt: skip
    for name, answer in answers.items():
        app.post(f"/{name}")(lambda answer=answer: answer)
    emulator = DaprEmulator(resiliency=Resiliency(max_retries=1, duration_s=0.01))
    app_server, app_task, app_url = await serve(app)
    side_server, side_task, side_url = await serve(emulator.app)
    try:
        await emulator.connect(app_url)
        async with httpx.AsyncClient() as client:
            for t in topics:
                await client.post(f"{side_url}/v1.0/publish/kafka-pubsub/{t}", json={"id": t, "source": "s",
                                  "type": "t", "specversion": "1.0", "data": {}},
                                  headers={"content-type": "application/cloudevents+json"})  # fmt: skip
        await until(lambda: len({t for t, _ in emulator.published if t.endswith(".dlq")}) >= 3)
        await asyncio.sleep(0.1)
    finally:
        await emulator.disconnect()
        for server in (app_server, side_server):
            server.should_exit = True
        await asyncio.gather(app_task, side_task, return_exceptions=True)
    by_topic = {t: [s for tt, _, s in emulator.statuses if tt == t] for t in topics}
    assert by_topic == {
        "empty": ["SUCCESS"],
        "blank-status": ["SUCCESS"],
        "not-found": ["DROP"],
        "unknown": ["ERROR", "ERROR"],  # retried by the policy, then dead-lettered
        "error": ["ERROR", "ERROR"],
    }
    dead = sorted(t for t, _ in emulator.published if t.endswith(".dlq"))
    assert dead == ["error.dlq", "not-found.dlq", "unknown.dlq"]


async def test_the_app_always_answers_a_status_daprd_knows(tmp_path: Path, database_url: str):
    async with dapr_world(tmp_path, database_url) as world, httpx.AsyncClient() as client:
        event = new_event(Topic.PROGRESS_UPDATED, progress("a"), source="/t").model_dump(mode="json")
        event.update(traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01", tracestate="k=v", traceid="x",
                     topic="progress.updated", pubsubname="kafka-pubsub")  # fmt: skip
        cases = [
            ("/dapr/events/progress-watcher/progress.updated", event, "SUCCESS"),
            ("/dapr/events/progress-watcher/progress.updated", event, "SUCCESS"),  # a redelivery
            ("/dapr/events/progress-watcher/progress.updated", {**event, "id": "b", "data": {}}, "DROP"),
            ("/dapr/events/progress-watcher/progress.updated", ["not", "an", "event"], "DROP"),
            ("/dapr/events/nobody/progress.updated", {**event, "id": "c"}, "DROP"),
            ("/dapr/events/_none/learning.query", {**event, "id": "d"}, "SUCCESS"),
        ]
        for path, body, expected in cases:
            resp = await client.post(world.app_url + path, json=body)
            assert resp.status_code == 200 and resp.json() == {"status": expected}, (path, resp.text)
        assert world.flaky["calls"] == 1


# -- initialOffset --------------------------------------------------------------------------------
@pytest.mark.parametrize(("initial_offset", "delivered"), [("newest", False), ("oldest", True)])
async def test_initial_offset_decides_whether_a_new_subscriber_sees_earlier_events(
    tmp_path: Path, database_url: str, initial_offset: str, delivered: bool
):
    async with dapr_world(tmp_path, database_url, connect=False, initial_offset=initial_offset) as world:
        event = await world.rt.publish(Topic.PROGRESS_UPDATED, progress("early"), subject="early")
        await until(lambda: event.id in {e["id"] for _, e in world.emulator.published})
        await world.emulator.connect(world.app_url)
        later = await world.rt.publish(Topic.PROGRESS_UPDATED, progress("late"), subject="late")
        await until(lambda: world.statuses(later.id) == ["SUCCESS"])
        await asyncio.sleep(0.2)
        assert (world.statuses(event.id) == ["SUCCESS"]) is delivered


# -- one slow answer and its partition ------------------------------------------------------------
class SlowLLM:
    """An LLM that takes ``delay_s`` to fail for questions asking for it ("slowly"), at once for others."""

    name = "slow-fake"

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.calls = 0

    @property
    def is_llm(self) -> bool:
        return True

    async def generate(self, *, system: str, user: str, schema: type[T]) -> T:
        self.calls += 1
        if "slowly" in user and schema.__name__ == "LLMConceptText":  # the concepts answer, not triage
            await asyncio.sleep(self.delay_s)
        raise AIUnavailable("the fake LLM never answers")


async def hold_up(tmp_path: Path, database_url: str, *, deadline_s: float, slow_s: float) -> tuple[float, World]:
    """Seconds from asking a fast question to its answer, right after a slow one by the same student.

    The student is the partition key, so both queries are on one partition of ``learning.query``.
    """
    async with dapr_world(tmp_path, database_url, ai=SlowLLM(slow_s), handler_deadline_s=deadline_s) as world:
        async with httpx.AsyncClient(timeout=30) as client:
            ids = []
            for query in ("Explain python for loops slowly please", "Explain python for loops"):
                started = time.monotonic()
                resp = await client.post(world.app_url + "/api/triage",
                                         json={"student_id": "s", "session_id": "s1", "query": query})  # fmt: skip
                assert resp.json()["routed_to"] == "concepts", resp.text
                ids.append(resp.json()["query_id"])

            async def answered(query_id: str) -> bool:
                got = (await client.get(f"{world.app_url}/api/queries/{query_id}")).json()
                return bool(got["status"] == "answered")

            await until(lambda: answered(ids[1]), within=30)
            waited = time.monotonic() - started
            await until(lambda: answered(ids[0]), within=30)
        await until(lambda: world.rt.bus._background == {})  # type: ignore[attr-defined]
        async with world.rt.db.session() as session:
            assert await session.scalar(select(func.count()).select_from(InboxEvent)) == 0
        answers = [e for t, e in world.emulator.published if t == "learning.response"]
        assert sorted(e["data"]["query_id"] for e in answers if e["data"]["kind"] == "answer") == sorted(ids)
        return waited, world


async def test_a_slow_llm_answer_holds_up_its_partition_only_for_the_deadline(tmp_path: Path, database_url: str):
    slow_s = 2.0
    unbounded, _ = await hold_up(tmp_path / "a", database_url, deadline_s=60, slow_s=slow_s)
    bounded, world = await hold_up(tmp_path / "b", database_url, deadline_s=0.3, slow_s=slow_s)
    print(f"\nfast question behind a {slow_s}s LLM call: {unbounded:.2f}s without a deadline, {bounded:.2f}s with 0.3s")
    assert unbounded >= slow_s
    assert bounded < 1.2
    # Both deliveries were answered SUCCESS at once: daprd saw no failure, nothing was dead-lettered.
    assert "learning.query.dlq" not in [t for t, _ in world.emulator.published]


async def test_a_parked_event_left_by_a_dead_process_is_finished_once(tmp_path: Path, database_url: str):
    async with dapr_world(tmp_path, database_url) as world:
        event = new_event(Topic.PROGRESS_UPDATED, progress("p"), source="/t", subject="p").model_dump(mode="json")
        async with world.rt.db.session() as session:  # as a process that died mid-handler left it
            expired = datetime.now(UTC) - timedelta(seconds=1)
            session.add(InboxEvent(consumer="progress-watcher", event_id=event["id"], topic="progress.updated",
                                   event=event, attempts=1, claimed_until=expired))  # fmt: skip
            await session.commit()
        assert await world.bus.resume() == 1
        await until(lambda: world.flaky["calls"] == 1)
        await until(lambda: world.bus._background == {})
        assert await world.bus.resume() == 0
        async with world.rt.db.session() as session:
            assert await session.scalar(select(func.count()).select_from(InboxEvent)) == 0
        # daprd redelivering it now (say its SUCCESS was lost) finds it processed.
        async with httpx.AsyncClient() as client:
            resp = await client.post(world.app_url + "/dapr/events/progress-watcher/progress.updated", json=event)
        assert resp.json() == {"status": "SUCCESS"} and world.flaky["calls"] == 1


async def test_a_parked_event_that_keeps_failing_is_dead_lettered_by_the_app(tmp_path: Path, database_url: str):
    async with dapr_world(tmp_path, database_url, handler_deadline_s=0.05) as world:
        release = asyncio.Event()
        world.flaky.update(gate=release, fails_left=99)
        event = await world.rt.publish(Topic.PROGRESS_UPDATED, progress("f"), subject="f")
        await until(lambda: world.statuses(event.id) == ["SUCCESS"])  # parked: daprd moves on
        release.set()

        async def recorded() -> bool:
            return event.id in {r.event_id for r in await world.dead_letters()}

        await until(recorded)
        row = next(r for r in await world.dead_letters() if r.event_id == event.id)
        assert row.reason.startswith("gave up after 4 attempts")


# -- dead letters are recorded and reacted to once ------------------------------------------------
async def test_a_redelivered_dead_letter_is_recorded_and_reacted_to_once(tmp_path: Path, database_url: str):
    async with dapr_world(tmp_path, database_url) as world:
        query = LearningQuery(
            query_id="q-dead", student_id="d", session_id="ds", query="loops?", routed_to="concepts", confidence=0.9
        )
        wire = new_event(Topic.LEARNING_QUERY, query, source="/t", subject="d").model_dump(mode="json")
        for _ in range(2):  # daprd delivers at least once: the same dead letter twice
            await world.publish_raw(dlq(Topic.LEARNING_QUERY), wire, key="d")
        await until(lambda: world.statuses(wire["id"]).count("SUCCESS") == 2)
        dead_id = derived_id(wire["id"], "dead")
        await until(lambda: any(e["id"] == dead_id for _, e in world.emulator.published))
        await asyncio.sleep(0.3)
        rows = [r for r in await world.dead_letters() if r.event_id == wire["id"]]
        assert [r.consumer for r in rows] == ["concepts"]
        assert [e["id"] for t, e in world.emulator.published if t == "learning.response"].count(dead_id) == 1


async def test_ready_waits_for_the_sidecar(tmp_path: Path, database_url: str):
    async with dapr_world(tmp_path, database_url) as world, httpx.AsyncClient() as client:
        assert (await client.get(world.app_url + "/ready")).status_code == 200
        world.emulator.healthy = False
        resp = await client.get(world.app_url + "/ready")
        assert resp.status_code == 503 and "dapr sidecar" in resp.json()["reasons"][0]


async def test_questions_are_answered_through_the_sidecar(tmp_path: Path, database_url: str):
    async with dapr_world(tmp_path, database_url) as world, httpx.AsyncClient(timeout=30) as client:
        for query, route in [("How do for loops work?", "concepts"), ("Give me an exercise on sets", "exercise")]:
            resp = await client.post(world.app_url + "/api/triage", params={"wait": 10},
                                     json={"student_id": "d1", "session_id": "ds", "query": query})  # fmt: skip
            body = resp.json()
            assert body["routed_to"] == route and body["status"] == "answered", body
        published = [t for t, _ in world.emulator.published]
        assert "learning.query" in published and "learning.response" in published
        sent = next(e for t, e in world.emulator.published if t == "learning.query")
        assert sent["specversion"] == "1.0" and sent["subject"] == "d1"  # our envelope, passed through
        assert sent["traceparent"] and "tracestate" in sent and sent["topic"] == "learning.query"


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_a_shared_deployment_on_dapr_refuses_to_start_without_the_app_token(
    tmp_path: Path, environment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from learnflow.auth.service import MissingAppToken, dapr_app_token
    from learnflow.config import AppSettings, BusSettings
    from tests.conftest import make_settings

    monkeypatch.delenv("APP_API_TOKEN", raising=False)
    monkeypatch.setenv("LEARNFLOW_AUTH", "on")  # production refuses it off (conftest turns it off)
    settings = make_settings(tmp_path)
    on_dapr = replace(settings, bus=BusSettings(EVENT_BUS="dapr"), app=AppSettings(ENVIRONMENT=environment))
    with pytest.raises(MissingAppToken, match="APP_API_TOKEN is not set"):
        dapr_app_token(on_dapr)
    short = replace(on_dapr, bus=BusSettings(EVENT_BUS="dapr", APP_API_TOKEN="x" * 23))
    with pytest.raises(MissingAppToken, match="at least 24"):
        dapr_app_token(short)
    dapr_app_token(replace(on_dapr, bus=BusSettings(EVENT_BUS="dapr", APP_API_TOKEN="x" * 24)))
    # Another transport has no delivery routes to protect.
    dapr_app_token(replace(on_dapr, bus=BusSettings(EVENT_BUS="kafka")))


def test_development_on_dapr_without_the_app_token_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from learnflow.auth.service import dapr_app_token
    from learnflow.config import AppSettings, BusSettings
    from tests.conftest import make_settings

    monkeypatch.delenv("APP_API_TOKEN", raising=False)
    settings = replace(
        make_settings(tmp_path), bus=BusSettings(EVENT_BUS="dapr"), app=AppSettings(ENVIRONMENT="development")
    )
    dapr_app_token(settings)
    assert "APP_API_TOKEN is not set" in caplog.text
