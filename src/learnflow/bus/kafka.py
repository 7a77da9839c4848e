"""Kafka transport (aiokafka).

* Producer: ``acks=all`` with idempotence; the key is the event's subject (the student id), so one
  student's events stay in order within a partition.
* One consumer group per subscription group (``learnflow.<group>``): every service that consumes
  ``learning.query`` sees every query and filters the ones routed to it.
* Offsets are committed only after the handler succeeded (or the event was dead-lettered), so a
  crash between receiving and finishing means redelivery, which the consumers' dedupe absorbs.
* Retries with backoff, then ``<topic>.dlq``, by the same policy as every transport.
* aiokafka reconnects by itself when the broker comes back; a consumer loop that fails anyway is
  restarted with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from fastapi import APIRouter

from learnflow.bus.base import Outcome, Subscription, deliver
from learnflow.events.envelope import CloudEvent
from learnflow.events.topics import DLQ_SUFFIX, Topic, dlq

log = logging.getLogger(__name__)

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    retention_days: int


# Partitions and retention per topic; each DLQ gets the same as its topic.
TOPIC_SPECS = [
    TopicSpec(Topic.LEARNING_QUERY, 3, 7),
    TopicSpec(Topic.LEARNING_RESPONSE, 3, 7),
    TopicSpec(Topic.CODE_EXECUTION_REQUEST, 3, 3),
    TopicSpec(Topic.CODE_EXECUTION_RESULT, 3, 3),
    TopicSpec(Topic.EXERCISE_ASSIGNED, 2, 30),
    TopicSpec(Topic.EXERCISE_SUBMITTED, 2, 30),
    TopicSpec(Topic.EXERCISE_GRADED, 2, 30),
    TopicSpec(Topic.STRUGGLE_DETECTED, 2, 7),
    TopicSpec(Topic.PROGRESS_UPDATED, 2, 30),
]


def all_topic_specs(prefix: str = "") -> list[TopicSpec]:
    """Every topic and its DLQ, optionally namespaced with ``prefix``."""
    specs = []
    for spec in TOPIC_SPECS:
        for name in (str(spec.name), dlq(spec.name)):
            specs.append(TopicSpec(prefix + name, spec.partitions, spec.retention_days))
    return specs


async def create_topics(bootstrap: str, *, replication_factor: int = 1, prefix: str = "") -> list[str]:
    """Create the nine topics and their DLQs (existing ones are left as they are); return the new names."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    created = []
    try:
        existing = set(await admin.list_topics())
        new = [
            NewTopic(
                name=spec.name,
                num_partitions=spec.partitions,
                replication_factor=replication_factor,
                topic_configs={"retention.ms": str(spec.retention_days * DAY_MS), "cleanup.policy": "delete"},
            )
            for spec in all_topic_specs(prefix)
            if spec.name not in existing
        ]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
            created = [t.name for t in new]
    finally:
        await admin.close()
    return created


class KafkaBus:
    name = "kafka"

    def __init__(
        self,
        bootstrap: str,
        *,
        max_attempts: int = 4,
        backoff_s: float = 0.2,
        client_id: str = "learnflow",
        topic_prefix: str = "",
        idempotence: bool = True,
        session_timeout_ms: int = 10000,
        fetch_max_wait_ms: int = 50,
    ) -> None:
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._idempotence = idempotence
        self._session_timeout_ms = session_timeout_ms
        self.bootstrap = bootstrap
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self._client_id = client_id
        self._prefix = topic_prefix  # lets tests share one broker without sharing topics
        self._subs: dict[str, list[Subscription]] = defaultdict(list)  # group -> subscriptions
        self._producer: AIOKafkaProducer | None = None
        self._consumers: dict[str, AIOKafkaConsumer] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def subscribe(self, subscription: Subscription) -> None:
        if self._producer is not None:
            raise RuntimeError("subscribe before start(): consumer groups are formed at start-up")
        self._subs[subscription.group].append(subscription)

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            client_id=self._client_id,
            acks="all",
            enable_idempotence=self._idempotence,
            request_timeout_ms=10000,
        )
        await self._producer.start()
        for group in self._subs:
            self._tasks.append(asyncio.create_task(self._run_group(group), name=f"kafka:{group}"))

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for consumer in self._consumers.values():
            with contextlib.suppress(Exception):
                await consumer.stop()
        self._consumers.clear()
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()
            self._producer = None

    async def ping(self) -> str | None:
        if self._producer is None:
            return "event bus not started"
        try:
            async with asyncio.timeout(3):
                await self._producer.client.fetch_all_metadata()
        except (KafkaError, TimeoutError, OSError) as exc:
            return f"kafka unavailable at {self.bootstrap}: {type(exc).__name__}"
        return None

    def routes(self) -> APIRouter | None:
        return None

    async def publish(self, topic: str, event: CloudEvent[Any]) -> None:
        await self._send(topic, event.model_dump(mode="json", exclude_none=True))

    async def publish_wire(self, topic: str, wire: dict[str, Any]) -> None:
        await self._send(topic, wire)

    async def _send(self, topic: str, wire: dict[str, Any]) -> None:
        if self._producer is None:
            raise RuntimeError("the Kafka bus is not started")
        key = str(wire.get("subject") or wire.get("id") or "")
        await self._producer.send_and_wait(
            self._prefix + topic, json.dumps(wire).encode(), key=key.encode() if key else None
        )

    async def _run_group(self, group: str) -> None:
        subs = self._subs[group]
        topics = sorted({self._prefix + s.topic for s in subs})
        delay = 0.5
        while not self._stopping:
            consumer = AIOKafkaConsumer(
                *topics,
                bootstrap_servers=self.bootstrap,
                group_id=f"learnflow.{group}",
                client_id=f"{self._client_id}.{group}",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                session_timeout_ms=self._session_timeout_ms,
                # A student waits for the answer: don't let an idle fetch sit on the broker for long.
                fetch_max_wait_ms=self._fetch_max_wait_ms,
                heartbeat_interval_ms=max(self._session_timeout_ms // 5, 300),
            )
            self._consumers[group] = consumer
            try:
                await consumer.start()
                delay = 0.5
                async for message in consumer:
                    await self._handle(group, subs, message.topic, message.value)
                    # Only now is the event done (handled, or dead-lettered): commit past it.
                    tp = TopicPartition(message.topic, message.partition)
                    await consumer.commit({tp: message.offset + 1})
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("kafka consumer %s failed (%r); restarting in %.1fs", group, exc, delay)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)

    async def _handle(self, group: str, subs: list[Subscription], topic: str, value: bytes | None) -> None:
        name = topic.removeprefix(self._prefix)
        try:
            wire = json.loads(value or b"")
        except (json.JSONDecodeError, UnicodeDecodeError):
            log.error("kafka %s: undecodable message on %s dropped", group, topic)
            return
        if not isinstance(wire, dict):
            return
        for sub in subs:
            if sub.topic == name and sub.matches(wire.get("data", {})):
                outcome = await deliver(
                    sub, wire, max_attempts=self._max_attempts, backoff_s=self._backoff_s, dead_letter=self._dead_letter
                )
                if outcome is not Outcome.DONE:
                    log.info("kafka %s: event %s on %s ended as %s", group, wire.get("id"), name, outcome)

    async def _dead_letter(self, sub: Subscription, wire: dict[str, Any], reason: str) -> None:
        if sub.topic.endswith(DLQ_SUFFIX):
            log.error("dropping event %s from %s: %s", wire.get("id"), sub.topic, reason)
            return
        log.error("dead-lettering event %s from %s for %s: %s", wire.get("id"), sub.topic, sub.group, reason)
        await self._send(dlq(sub.topic), {**wire, "dlqreason": reason[:1000], "dlqgroup": sub.group})
