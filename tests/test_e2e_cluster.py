"""End to end across processes: four `learnflow serve <service>` processes, Kafka (tansu), PostgreSQL.

An independent Kafka consumer (plain aiokafka, not LearnFlow code) reads what the services publish.
Faults: the broker paused (SIGSTOP/SIGCONT, since tansu keeps messages only in memory), a specialist
killed and restarted, and an LLM that does not answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from learnflow.auth import accounts
from learnflow.auth.identity import Role
from learnflow.auth.service import RUNNER_TOKEN_HEADER
from learnflow.bus.kafka import create_topics
from learnflow.db import Database
from tests.accounts import PASSWORD
from tests.cluster import RUNNER, SERVICES, Cluster, free_port
from tests.conftest import fresh_postgres_database

pytestmark = pytest.mark.timeout(300)

SEED = [
    ({"query": "Can you explain how Python loops work?"}, "concepts"),
    ({"query": "", "code": "print(x)", "error_message": "NameError: name 'x' is not defined"}, "debug"),
    ({"query": "Give me a Python exercise on loops"}, "exercise"),
]


@pytest.fixture(scope="module")
def cluster(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with fresh_postgres_database("e2e") as database_url:
        prefix = f"e2e{uuid.uuid4().hex[:6]}."
        asyncio.run(create_topics(kafka_bootstrap, prefix=prefix))
        dead_llm = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens: every LLM call fails at once
        cluster = Cluster(
            bootstrap=kafka_bootstrap,
            database_url=database_url,
            workdir=Path(tmp_path_factory.mktemp("cluster")),
            topic_prefix=prefix,
            with_runner=True,
            extra_env={
                "concepts": {
                    "AI_PROVIDER": "openai", "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": dead_llm,
                    "OPENAI_MAX_RETRIES": "0", "OPENAI_TIMEOUT_S": "2",
                }
            },
        )  # fmt: skip
        try:
            cluster.start_all()
            yield cluster
        finally:
            cluster.stop()


@pytest.fixture(scope="module")
def student(cluster: Cluster) -> dict[str, str]:
    """The student the scenarios run as: an account in the cluster's database, signed in at triage.

    Its id is the student id of the requests; every request sends its bearer token.
    """

    async def create() -> None:
        database = Database(cluster.database_url)
        try:
            async with database.session() as session:
                await accounts.create(
                    session, username="e2e-student", password=PASSWORD, role=Role.student, user_id="e2e-student"
                )
                await session.commit()
        finally:
            await database.dispose()

    asyncio.run(create())
    resp = httpx.post(
        cluster.url("triage") + "/api/auth/login", json={"username": "e2e-student", "password": PASSWORD}, timeout=30
    )
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


class Observer:
    """An independent consumer of the cluster's topics (its own group, from the beginning)."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.prefix = prefix
        self.seen: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.consumer = AIOKafkaConsumer(
            *(prefix + t for t in ("learning.response", "exercise.graded", "progress.updated", "learning.query")),
            bootstrap_servers=bootstrap,
            group_id=f"observer-{uuid.uuid4().hex[:6]}",
            auto_offset_reset="earliest",
            session_timeout_ms=6000,
        )
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.consumer:
            self.seen[message.topic.removeprefix(self.prefix)].append(json.loads(message.value))

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self.consumer.stop()

    def responses(self, query_id: str, kind: str) -> list[dict[str, Any]]:
        return [
            w for w in self.seen["learning.response"]
            if w["data"]["query_id"] == query_id and w["data"]["kind"] == kind
        ]  # fmt: skip

    async def wait(self, check, limit_s: float) -> float:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        while not check():
            if time.perf_counter() - started > limit_s:
                raise AssertionError("not observed in time")
            await asyncio.sleep(0.02)
        return time.perf_counter() - started


@pytest.fixture
async def observer(cluster: Cluster) -> AsyncIterator[Observer]:
    obs = Observer(cluster.bootstrap, cluster.topic_prefix)
    await obs.start()
    yield obs
    await obs.stop()


async def ask(client: httpx.AsyncClient, cluster: Cluster, **fields: str) -> dict[str, Any]:
    body = {"student_id": "e2e-student", "session_id": "e2e-session", **fields}
    resp = await client.post(cluster.url("triage") + "/api/triage", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


async def stored_status(client: httpx.AsyncClient, cluster: Cluster, query_id: str) -> str:
    """Triage's own record of the query, once its consumer has caught up (it may trail the observer)."""
    status = "missing"
    for _ in range(100):
        status = (await client.get(cluster.url("triage") + f"/api/queries/{query_id}")).json()["status"]
        if status != "pending":
            break
        await asyncio.sleep(0.05)
    return status


async def warm_up(client: httpx.AsyncClient, cluster: Cluster, observer: Observer) -> None:
    """Consumer groups form when the services start; wait until every route answers once."""
    for fields, _ in SEED:
        sent = await ask(client, cluster, **fields)
        await observer.wait(lambda s=sent: observer.responses(s["query_id"], "answer"), 90)


async def test_the_token_triage_issued_is_accepted_by_every_service(cluster: Cluster, student: dict[str, str]):
    async with httpx.AsyncClient(timeout=30, headers=student) as client:
        for service in SERVICES:
            me = await client.get(cluster.url(service) + "/api/auth/me")
            assert me.status_code == 200, (service, me.text)
            assert me.json()["id"] == "e2e-student" and me.json()["role"] == "student"
    async with httpx.AsyncClient(timeout=30) as anonymous:
        assert (await anonymous.get(cluster.url("debug") + "/api/auth/me")).status_code == 401
        # Authentication is really on in these processes: without the token a question is refused.
        question = {"student_id": "e2e-student", "session_id": "e2e-anonymous", "query": "Explain Python variables"}
        assert (await anonymous.post(cluster.url("triage") + "/api/triage", json=question)).status_code == 401


async def test_the_services_run_code_in_the_runner_process_with_its_token(cluster: Cluster, student: dict[str, str]):
    runner = cluster.url(RUNNER) + "/api/execute"
    async with httpx.AsyncClient(timeout=60) as client:
        program = {"code": "print(6 * 7)"}
        assert (await client.post(runner, json=program)).status_code == 401
        # The runner holds no signing key: a student's token means nothing there.
        assert (await client.post(runner, json=program, headers=student)).status_code == 401
        ok = await client.post(runner, json=program, headers={RUNNER_TOKEN_HEADER: cluster.runner_token})
        assert ok.status_code == 200 and ok.json()["stdout"] == "42\n", ok.text
        # debug reproduces the student's error in the runner, signed in there with the shared token.
        analyzed = await client.post(
            cluster.url("debug") + "/api/debug/analyze", json={"code": "total = 0\nprint(totl)\n"}, headers=student
        )
        assert analyzed.status_code == 200, analyzed.text
        assert analyzed.json()["error_type"] == "NameError"
    assert "wrong runner token" not in cluster.log(RUNNER)


async def test_seed_scenarios_across_processes(cluster: Cluster, observer: Observer, student: dict[str, str]):
    async with httpx.AsyncClient(timeout=30, headers=student) as client:
        await warm_up(client, cluster, observer)
        for fields, route in SEED:
            sent = await ask(client, cluster, **fields)
            assert sent["routed_to"] == route
            took = await observer.wait(lambda s=sent: observer.responses(s["query_id"], "answer"), 5)
            assert took < 5
            acks = observer.responses(sent["query_id"], "ack")
            answers = observer.responses(sent["query_id"], "answer")
            assert len(acks) == 1 and len(answers) == 1
            answer = answers[0]["data"]
            assert answer["agent"] == route
            if route == "debug":
                assert answer["data"]["error_type"] == "NameError" and answer["data"]["line"] == 1
            if route == "concepts":
                # The concepts process has an LLM configured that does not answer: fallback, marked.
                assert answer["source"] == "offline-fallback"
            assert await stored_status(client, cluster, sent["query_id"]) == "answered"
        print(f"\nseed scenarios answered over Kafka across processes: {len(SEED)} of {len(SEED)}")


async def test_submission_flows_through_the_events(cluster: Cluster, observer: Observer, student: dict[str, str]):
    async with httpx.AsyncClient(timeout=30, headers=student) as client:
        exercises = (await client.get(cluster.url("exercise") + "/api/exercises?topic=for-loops")).json()
    exercise = next(e for e in exercises if e["difficulty"] == "beginner")
    submission_id = str(uuid.uuid4())
    event = {
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": "/e2e", "type": "com.learnflow.exercise.submitted",
        "datacontenttype": "application/json", "subject": "e2e-sub", "time": "2026-01-01T00:00:00Z",
        "data": {"submission_id": submission_id, "exercise_id": exercise["exercise_id"], "student_id": "e2e-sub",
                 "code": exercise["starter_code"]},
    }  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            cluster.topic_prefix + "exercise.submitted", json.dumps(event).encode(), key=b"e2e-sub"
        )
    finally:
        await producer.stop()

    def graded() -> list[dict[str, Any]]:
        return [w for w in observer.seen["exercise.graded"] if w["data"]["submission_id"] == submission_id]

    await observer.wait(lambda: graded(), 60)
    await observer.wait(
        lambda: [w for w in observer.seen["progress.updated"] if w["data"]["student_id"] == "e2e-sub"], 30
    )
    assert graded()[0]["data"]["passed"] is False  # the starter code fails its tests


async def test_broker_paused_mid_flow_loses_nothing_and_duplicates_nothing(
    cluster: Cluster, observer: Observer, kafka_broker_pid: int, student: dict[str, str]
):
    async with httpx.AsyncClient(timeout=30, headers=student) as client:
        await warm_up(client, cluster, observer)
        before = [await ask(client, cluster, query=f"What is a list? (before {i})") for i in range(3)]
        os.kill(kafka_broker_pid, signal.SIGSTOP)
        try:
            during = [await ask(client, cluster, query=f"What is a set? (during {i})") for i in range(5)]
            await asyncio.sleep(2)
        finally:
            os.kill(kafka_broker_pid, signal.SIGCONT)
        sent = before + during
        await observer.wait(lambda: all(observer.responses(s["query_id"], "answer") for s in sent), 150)
        await asyncio.sleep(3)  # let any duplicate surface before counting
        answered = sum(1 for s in sent if observer.responses(s["query_id"], "answer"))
        duplicated = sum(1 for s in sent if len({w["id"] for w in observer.responses(s["query_id"], "answer")}) > 1)
        print(f"\nbroker pause: sent {len(sent)}, answered {answered}, duplicated {duplicated}")
        assert answered == len(sent) and duplicated == 0
        for s in sent:
            assert await stored_status(client, cluster, s["query_id"]) == "answered"


async def test_killed_specialist_answers_its_pending_queries_after_restart(
    cluster: Cluster, observer: Observer, student: dict[str, str]
):
    async with httpx.AsyncClient(timeout=30, headers=student) as client:
        await warm_up(client, cluster, observer)
        await asyncio.to_thread(cluster.kill, "debug")
        pending = [await ask(client, cluster, query="", code=f"print(undefined_{i})") for i in range(3)]
        await asyncio.sleep(1)
        assert not any(observer.responses(s["query_id"], "answer") for s in pending)
        await asyncio.to_thread(cluster.start, "debug")
        await asyncio.to_thread(cluster.wait_ready, "debug")
        await observer.wait(lambda: all(observer.responses(s["query_id"], "answer") for s in pending), 120)
        answered = sum(1 for s in pending if observer.responses(s["query_id"], "answer"))
        duplicated = sum(1 for s in pending if len({w["id"] for w in observer.responses(s["query_id"], "answer")}) > 1)
        print(f"\nspecialist restart: sent {len(pending)}, answered {answered}, duplicated {duplicated}")
        assert answered == len(pending) and duplicated == 0
