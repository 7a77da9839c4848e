"""What every event transport must do, as one suite: a transport proves itself by passing it.

Subclass :class:`TransportContract` in the transport's test module and implement :meth:`harness` (the
transport's bus inside a runtime, started by ``Harness.start`` once the test has subscribed). The
tests cover delivery to every group with filters, skipped events, retries with exponential backoff, dead-lettering
(after the last attempt, on DROP, and for an invalid payload), redelivery without duplicate effects,
and per-student ordering.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter

from learnflow.bus import EventBus, Outcome, Subscription
from learnflow.bus.base import RawPayload
from learnflow.events import CloudEvent, ProgressUpdated, Topic, dlq, new_event
from learnflow.runtime import Runtime
from learnflow.services.declare import Catalog, ServiceDeclaration

TOPIC = str(Topic.PROGRESS_UPDATED)
# A service with nothing of its own: the runtime around the transport (outbox, idempotent consumers).
PROBE = Catalog([ServiceDeclaration(name="probe", title="transport contract probe", router=APIRouter())])


@dataclass
class Harness:
    runtime: Runtime
    start: Callable[[], Awaitable[None]]

    @property
    def bus(self) -> EventBus:
        return self.runtime.bus

    async def publish(self, event: CloudEvent[Any], topic: str = TOPIC) -> None:
        await self.bus.publish(topic, event)


def progress(student: str = "s1", mastery: float = 10) -> CloudEvent[ProgressUpdated]:
    data = ProgressUpdated(student_id=student, topic="lists", mastery=mastery, level="Beginner", overall=1)
    return new_event(Topic.PROGRESS_UPDATED, data, source="/contract", subject=student)


def recording(seen: list[str], outcome: Outcome = Outcome.DONE) -> Callable[[CloudEvent[Any]], Awaitable[Outcome]]:
    """A handler that notes each event id it is given in ``seen`` and answers ``outcome``."""

    async def handler(event: CloudEvent[Any]) -> Outcome:
        seen.append(event.id)
        return outcome

    return handler


async def eventually(check: Callable[[], bool], limit_s: float) -> None:
    deadline = asyncio.get_running_loop().time() + limit_s
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


class TransportContract:
    """The behaviour; subclasses say how to build the transport."""

    within_s = 15.0  # how long a transport may take to deliver
    dead_letters_say_why = True  # the dead letter carries ``dlqreason`` and ``dlqgroup``

    def harness(self, tmp_path: Path, *, max_attempts: int, backoff_s: float) -> AbstractAsyncContextManager[Harness]:
        raise NotImplementedError

    async def test_every_group_gets_every_event_and_filters_select(self, tmp_path: Path) -> None:
        seen: dict[str, list[str]] = {"a": [], "b": [], "only-s2": []}
        async with self.harness(tmp_path, max_attempts=3, backoff_s=0.01) as h:
            h.bus.subscribe(Subscription(TOPIC, "a", recording(seen["a"]), ProgressUpdated))
            h.bus.subscribe(Subscription(TOPIC, "b", recording(seen["b"]), ProgressUpdated))
            h.bus.subscribe(Subscription(TOPIC, "c", recording(seen["only-s2"]), ProgressUpdated, {"student_id": "s2"}))
            await h.start()
            events = [progress("s1"), progress("s2"), progress("s3")]
            for event in events:
                await h.publish(event)
            await eventually(lambda: sum(map(len, seen.values())) >= 7, self.within_s)
            await asyncio.sleep(0.2)  # anything extra would have arrived by now
        assert sorted(seen["a"]) == sorted(seen["b"]) == sorted(e.id for e in events)
        assert seen["only-s2"] == [events[1].id]

    async def test_a_failure_is_retried_with_growing_backoff_then_succeeds(self, tmp_path: Path) -> None:
        attempts: list[float] = []
        dead: list[str] = []

        async def fails_twice(event: CloudEvent[Any]) -> Outcome:
            attempts.append(asyncio.get_running_loop().time())
            if len(attempts) <= 2:
                raise RuntimeError("transient")
            return Outcome.DONE

        backoff_s = 0.1
        async with self.harness(tmp_path, max_attempts=4, backoff_s=backoff_s) as h:
            h.bus.subscribe(Subscription(TOPIC, "flaky", fails_twice, ProgressUpdated))
            h.bus.subscribe(Subscription(dlq(TOPIC), "dlq-reader", recording(dead), RawPayload))
            await h.start()
            await h.publish(progress())
            await eventually(lambda: len(attempts) >= 3, self.within_s)
            await asyncio.sleep(0.3)
        assert len(attempts) == 3 and not dead
        first, second = attempts[1] - attempts[0], attempts[2] - attempts[1]
        assert first >= backoff_s * 0.9, first
        assert second > first * 1.4, (first, second)  # exponential, not constant

    async def test_what_keeps_failing_is_dead_lettered_after_the_last_attempt(self, tmp_path: Path) -> None:
        attempts: list[str] = []
        dead: list[CloudEvent[Any]] = []

        async def broken(event: CloudEvent[Any]) -> Outcome:
            attempts.append(event.id)
            raise RuntimeError("always fails")

        async def on_dead(event: CloudEvent[Any]) -> Outcome:
            dead.append(event)
            return Outcome.DONE

        async with self.harness(tmp_path, max_attempts=3, backoff_s=0.01) as h:
            h.bus.subscribe(Subscription(TOPIC, "broken", broken, ProgressUpdated))
            h.bus.subscribe(Subscription(dlq(TOPIC), "dlq-reader", on_dead, RawPayload))
            await h.start()
            event = progress()
            await h.publish(event)
            await eventually(lambda: bool(dead), self.within_s)
            await asyncio.sleep(0.2)
        assert attempts == [event.id] * 3
        assert [d.id for d in dead] == [event.id]
        if self.dead_letters_say_why:
            extra = dead[0].model_extra or {}
            assert "always fails" in extra["dlqreason"] and extra["dlqgroup"] == "broken"

    async def test_drop_and_an_invalid_payload_are_dead_lettered_without_retry(self, tmp_path: Path) -> None:
        calls: list[str] = []
        dead: list[str] = []
        async with self.harness(tmp_path, max_attempts=4, backoff_s=0.01) as h:
            h.bus.subscribe(Subscription(TOPIC, "picky", recording(calls, Outcome.DROP), ProgressUpdated))
            h.bus.subscribe(Subscription(dlq(TOPIC), "dlq-reader", recording(dead), RawPayload))
            await h.start()
            dropped = progress("s1")
            invalid = progress("s2").model_dump(mode="json")
            invalid["data"]["mastery"] = 500  # outside 0-100: no handler may see it
            await h.publish(dropped)
            await h.publish(CloudEvent[RawPayload].model_validate(invalid))
            await eventually(lambda: len(dead) >= 2, self.within_s)
            await asyncio.sleep(0.2)
        assert calls == [dropped.id]
        assert sorted(dead) == sorted([dropped.id, invalid["id"]])

    async def test_skipped_events_are_acknowledged_unopened(self, tmp_path: Path) -> None:
        calls: list[str] = []
        dead: list[str] = []
        skips_s2 = Subscription(TOPIC, "skips-s2", recording(calls), ProgressUpdated, skip={"student_id": "s2"})
        async with self.harness(tmp_path, max_attempts=3, backoff_s=0.01) as h:
            h.bus.subscribe(skips_s2)
            h.bus.subscribe(Subscription(dlq(TOPIC), "dlq-reader", recording(dead), RawPayload))
            await h.start()
            skipped = progress("s2")
            # Skipped before validation: a payload the handler could not take is not dead-lettered either.
            unread = progress("s2").model_dump(mode="json")
            unread["data"]["mastery"] = 500
            handled = progress("s1")
            await h.publish(skipped)
            await h.publish(CloudEvent[RawPayload].model_validate(unread))
            await h.publish(handled)
            await eventually(lambda: bool(calls), self.within_s)
            await asyncio.sleep(0.3)  # a skipped event's delivery or dead letter would have arrived by now
        assert calls == [handled.id]
        assert dead == []

    async def test_a_redelivered_event_has_its_effect_once(self, tmp_path: Path) -> None:
        effects: list[str] = []

        async def handler(event: CloudEvent[ProgressUpdated]) -> Outcome:
            effects.append(event.id)
            return Outcome.DONE

        async with self.harness(tmp_path, max_attempts=3, backoff_s=0.01) as h:
            h.runtime.consume(Topic.PROGRESS_UPDATED, "counter", handler, payload=ProgressUpdated)
            await h.start()
            event, other = progress("s1"), progress("s1")
            for _ in range(3):  # the same event three times, as a producer's retry or a crash would send it
                await h.publish(event)
            await h.publish(other)
            await eventually(lambda: other.id in effects, self.within_s)
            await asyncio.sleep(0.3)
        assert effects == [event.id, other.id]

    async def test_one_students_events_are_handled_in_order(self, tmp_path: Path) -> None:
        handled: dict[str, list[float]] = {"s1": [], "s2": []}
        rng = random.Random(7)

        async def slow_at_random(event: CloudEvent[ProgressUpdated]) -> Outcome:
            # Uneven handling times: a transport that hands one student's events to parallel workers
            # finishes them out of order.
            await asyncio.sleep(rng.uniform(0, 0.02))
            handled[event.data.student_id].append(event.data.mastery)
            return Outcome.DONE

        async with self.harness(tmp_path, max_attempts=3, backoff_s=0.01) as h:
            h.bus.subscribe(Subscription(TOPIC, "ordered", slow_at_random, ProgressUpdated))
            await h.start()
            for i in range(16):
                await h.publish(progress("s1" if i % 4 else "s2", mastery=i))
            await eventually(lambda: sum(map(len, handled.values())) == 16, self.within_s)
        assert handled["s1"] == sorted(handled["s1"]) and handled["s2"] == sorted(handled["s2"]), handled
