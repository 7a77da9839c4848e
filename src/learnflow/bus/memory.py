"""In-process event bus with the delivery semantics of the real transports.

Each subscription gets its own workers (like a Kafka consumer group), each with its own queue; an
event goes to the worker its subject (the student) hashes to, as a keyed record goes to one partition,
so one student's events are handled one at a time and in order while other students' run beside
them. A handler that
raises or answers RETRY is retried with exponential backoff, and after the last attempt (or on DROP)
the event is published to ``<topic>.dlq`` with the reason, so nothing is silently lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections import defaultdict, deque
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from fastapi import APIRouter

from learnflow import observability
from learnflow.bus.base import Outcome, Subscription, deliver
from learnflow.events.envelope import CloudEvent
from learnflow.events.topics import DLQ_SUFFIX, dlq

log = logging.getLogger(__name__)


class _Settlement:
    """The deliveries of one event still to finish; ``settled`` runs when none is left."""

    def __init__(self, settled: Callable[[], None]) -> None:
        self.remaining = 0
        self.settled = settled

    def finished(self) -> None:
        self.remaining -= 1
        if self.remaining == 0:
            self.settled()


Queue = asyncio.Queue[tuple[dict[str, Any], _Settlement | None]]
# The settlement of the delivery a worker is running: its dead-letter copies count towards it.
_delivering: ContextVar[_Settlement | None] = ContextVar("learnflow_memory_bus_delivering", default=None)


def _partition(wire: dict[str, Any], partitions: int) -> int:
    key = str(wire.get("subject") or wire.get("id") or "")
    return zlib.crc32(key.encode()) % partitions


class MemoryBus:
    name = "memory"

    def __init__(self, *, max_attempts: int = 4, backoff_s: float = 0.2, workers: int = 8) -> None:
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self._workers = workers
        self._subs: dict[str, list[tuple[Subscription, list[Queue]]]] = defaultdict(list)
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        # The last events, for inspection (tests, debugging); bounded so it never grows with traffic.
        self.published: deque[tuple[str, dict[str, Any]]] = deque(maxlen=1000)
        # What to call when an event about to be published has been finished with (``Settling``).
        self._on_settled: dict[str, Callable[[], None]] = {}

    def on_settled(self, event_id: str, settled: Callable[[], None]) -> None:
        self._on_settled[event_id] = settled

    def forget(self, event_id: str) -> None:
        self._on_settled.pop(event_id, None)

    def subscribe(self, subscription: Subscription) -> None:
        queues: list[Queue] = [asyncio.Queue() for _ in range(self._workers)]
        self._subs[subscription.topic].append((subscription, queues))
        if self._started:
            self._spawn(subscription, queues)

    async def publish(self, topic: str, event: CloudEvent[Any]) -> None:
        # Serialise at the boundary exactly as a network transport would, so handlers never share
        # mutable objects with the publisher and the same code paths run for every backend.
        await self.publish_wire(topic, event.model_dump(mode="json", exclude_none=True))

    async def publish_wire(self, topic: str, wire: dict[str, Any]) -> None:
        # Subscribers only read the dict (each validates it into its own model), so it is shared.
        self.published.append((topic, wire))
        settled = self._on_settled.pop(str(wire.get("id")), None)
        settlement = _Settlement(settled) if settled is not None else None
        self._enqueue(topic, wire, settlement)
        if settlement is not None and settlement.remaining == 0:
            settlement.settled()  # nobody subscribes to it here: nothing left to do

    def _enqueue(self, topic: str, wire: dict[str, Any], settlement: _Settlement | None) -> None:
        data = wire.get("data", {})
        for sub, queues in self._subs.get(topic, []):
            if not sub.matches(data):
                continue
            if sub.skips(data):  # done for this subscription: not even queued
                observability.record_skipped(topic=sub.topic, service=sub.group)
                continue
            if settlement is not None:
                settlement.remaining += 1
            queues[_partition(wire, len(queues))].put_nowait((wire, settlement))

    async def start(self) -> None:
        self._started = True
        for subs in self._subs.values():
            for sub, queues in subs:
                self._spawn(sub, queues)

    def _spawn(self, sub: Subscription, queues: list[Queue]) -> None:
        for queue in queues:
            self._tasks.append(asyncio.create_task(self._work(sub, queue), name=f"bus:{sub.group}:{sub.topic}"))

    async def stop(self) -> None:
        # Let in-flight deliveries finish briefly so a clean shutdown loses nothing it accepted.
        queues = [q for subs in self._subs.values() for _, qs in subs for q in qs]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(q.join() for q in queues)), timeout=5)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._started = False

    async def ping(self) -> str | None:
        return None if self._started else "event bus not started"

    def routes(self) -> APIRouter | None:
        return None

    async def _work(self, sub: Subscription, queue: Queue) -> None:
        while True:
            wire, settlement = await queue.get()
            token = _delivering.set(settlement)
            try:
                try:
                    await self.deliver(sub, wire)
                except Exception:  # a bug here must not kill the worker (nor keep the event for ever)
                    log.exception("delivery to %s failed unexpectedly", sub.group)
                # A delivery that ran to its end (done, dead-lettered, or failed as above) finishes the
                # event; one cut short by a shutdown does not, and the outbox sends it again.
                if settlement is not None:
                    settlement.finished()
            finally:
                _delivering.reset(token)
                queue.task_done()

    async def deliver(self, sub: Subscription, wire: dict[str, Any]) -> Outcome:
        """Run the handler with retries; dead-letter the event when it cannot succeed."""
        return await deliver(
            sub, wire, max_attempts=self._max_attempts, backoff_s=self._backoff_s, dead_letter=self._dead_letter
        )

    async def _dead_letter(self, sub: Subscription, wire: dict[str, Any], reason: str) -> None:
        if sub.topic.endswith(DLQ_SUFFIX):
            log.error("dropping event %s from %s: %s", wire.get("id"), sub.topic, reason)
            return
        log.error("dead-lettering event %s from %s for %s: %s", wire.get("id"), sub.topic, sub.group, reason)
        dead = {**wire, "dlqreason": reason[:1000], "dlqgroup": sub.group}
        self.published.append((dlq(sub.topic), dead))
        # The event is finished with once its dead letter has been recorded too.
        self._enqueue(dlq(sub.topic), dead, _delivering.get())
