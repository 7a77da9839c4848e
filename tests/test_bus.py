"""In-process bus semantics: retries with backoff, dead letters, and exactly-once processing per consumer."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from learnflow.bus import MemoryBus, Outcome, Subscription
from learnflow.bus.base import RawPayload
from learnflow.db.models import DeadLetter
from learnflow.events import CloudEvent, ProgressUpdated, Topic, dlq, new_event
from learnflow.runtime import Runtime
from tests.conftest import RuntimeFactory


def progress_event() -> CloudEvent[ProgressUpdated]:
    payload = ProgressUpdated(student_id="s", topic="lists", mastery=50, level="Learning", overall=2)
    return new_event(Topic.PROGRESS_UPDATED, payload, source="/test", subject="s")


async def wait_until(predicate, limit_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + limit_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_failing_handler_is_retried_then_dead_lettered():
    bus = MemoryBus(max_attempts=3, backoff_s=0.01)
    attempts: list[float] = []
    dead: list[CloudEvent[ProgressUpdated]] = []

    async def flaky(event: CloudEvent[ProgressUpdated]) -> Outcome:
        attempts.append(asyncio.get_running_loop().time())
        raise RuntimeError("boom")

    async def on_dead(event: CloudEvent[ProgressUpdated]) -> Outcome:
        dead.append(event)
        return Outcome.DONE

    bus.subscribe(Subscription(str(Topic.PROGRESS_UPDATED), "g", flaky, ProgressUpdated))
    bus.subscribe(Subscription(dlq(Topic.PROGRESS_UPDATED), "dlq", on_dead, ProgressUpdated))
    await bus.start()
    event = progress_event()
    await bus.publish(str(Topic.PROGRESS_UPDATED), event)
    await wait_until(lambda: dead)
    await bus.stop()
    assert len(attempts) == 3
    # Exponential backoff: the second gap is about twice the first.
    assert attempts[2] - attempts[1] > attempts[1] - attempts[0]
    assert dead[0].id == event.id
    assert "RuntimeError: boom" in dead[0].model_extra["dlqreason"]


async def test_retry_then_success_is_not_dead_lettered():
    bus = MemoryBus(max_attempts=4, backoff_s=0.01)
    calls = 0

    async def second_time_lucky(event: CloudEvent[ProgressUpdated]) -> Outcome:
        nonlocal calls
        calls += 1
        return Outcome.RETRY if calls == 1 else Outcome.DONE

    bus.subscribe(Subscription(str(Topic.PROGRESS_UPDATED), "g", second_time_lucky, ProgressUpdated))
    await bus.start()
    await bus.publish(str(Topic.PROGRESS_UPDATED), progress_event())
    await wait_until(lambda: calls == 2)
    await bus.stop()
    assert not [t for t, _ in bus.published if t.endswith(".dlq")]


async def test_drop_goes_to_dlq_without_retry():
    bus = MemoryBus(max_attempts=4, backoff_s=0.01)
    calls = 0

    async def reject(event: CloudEvent[ProgressUpdated]) -> Outcome:
        nonlocal calls
        calls += 1
        return Outcome.DROP

    bus.subscribe(Subscription(str(Topic.PROGRESS_UPDATED), "g", reject, ProgressUpdated))
    await bus.start()
    await bus.publish(str(Topic.PROGRESS_UPDATED), progress_event())
    await wait_until(lambda: any(t.endswith(".dlq") for t, _ in bus.published))
    await bus.stop()
    assert calls == 1


async def test_invalid_payload_is_dead_lettered():
    bus = MemoryBus(max_attempts=2, backoff_s=0.01)
    handled: list[object] = []

    async def handler(event: CloudEvent[ProgressUpdated]) -> Outcome:
        handled.append(event)
        return Outcome.DONE

    bus.subscribe(Subscription(str(Topic.PROGRESS_UPDATED), "g", handler, ProgressUpdated))
    await bus.start()
    event = progress_event()
    event.data.mastery = 500  # violates the contract once serialised
    await bus.publish(str(Topic.PROGRESS_UPDATED), event)
    await wait_until(lambda: any(t.endswith(".dlq") for t, _ in bus.published))
    await bus.stop()
    assert not handled


async def test_redelivered_event_is_processed_once(make_runtime: RuntimeFactory):
    rt: Runtime = make_runtime(("runner",))
    seen: list[str] = []

    async def handler(event: CloudEvent[ProgressUpdated]) -> Outcome:
        seen.append(event.id)
        return Outcome.DONE

    rt.consume(Topic.PROGRESS_UPDATED, "counter", handler, payload=ProgressUpdated)
    await rt.start()
    event = progress_event()
    for _ in range(3):  # the same event delivered three times, as a transport may after a crash
        await rt.bus.publish(str(Topic.PROGRESS_UPDATED), event)
        await asyncio.sleep(0.1)
    await rt.bus.publish(str(Topic.PROGRESS_UPDATED), progress_event())
    await wait_until(lambda: len(seen) >= 2)
    await asyncio.sleep(0.2)
    assert seen.count(event.id) == 1
    assert len(seen) == 2


async def stored_dead_letters(rt: Runtime, *, want: int) -> list[DeadLetter]:
    """The dead_letters rows, once there are ``want`` of them (or after 4 s)."""
    rows: list[DeadLetter] = []
    for _ in range(200):
        async with rt.db.session() as session:
            rows = list((await session.execute(select(DeadLetter))).scalars())
        if len(rows) >= want:
            break
        await asyncio.sleep(0.02)
    return rows


async def test_dead_letters_are_kept_in_the_database(make_runtime: RuntimeFactory):
    rt: Runtime = make_runtime(("runner",))

    async def broken(event: CloudEvent[ProgressUpdated]) -> Outcome:
        raise ValueError("cannot")

    rt.consume(Topic.PROGRESS_UPDATED, "broken", broken, payload=ProgressUpdated)
    await rt.start()
    event = progress_event()
    await rt.publish(Topic.PROGRESS_UPDATED, event.data, subject="s")

    rows = await stored_dead_letters(rt, want=1)
    assert len(rows) == 1
    assert rows[0].topic == "progress.updated" and rows[0].consumer == "broken"
    assert "ValueError: cannot" in rows[0].reason


async def test_an_invalid_event_is_kept_in_the_dead_letters_too(make_runtime: RuntimeFactory):
    rt: Runtime = make_runtime(("runner",))
    handled: list[str] = []

    async def handler(event: CloudEvent[ProgressUpdated]) -> Outcome:
        handled.append(event.id)
        return Outcome.DONE

    rt.consume(Topic.PROGRESS_UPDATED, "strict", handler, payload=ProgressUpdated)
    await rt.start()
    bad = progress_event().model_dump(mode="json")
    bad["data"]["mastery"] = 500  # outside 0-100: no consumer may process it
    await rt.bus.publish(str(Topic.PROGRESS_UPDATED), CloudEvent[RawPayload].model_validate(bad))
    garbage = {**progress_event().model_dump(mode="json"), "data": "not even an object"}
    await rt.bus.publish(str(Topic.PROGRESS_UPDATED), CloudEvent[RawPayload].model_validate(garbage))

    rows = await stored_dead_letters(rt, want=2)
    assert not handled
    assert sorted(r.event_id for r in rows) == sorted([bad["id"], garbage["id"]])
    assert all(r.consumer == "strict" and "invalid payload" in r.reason for r in rows)
    assert {str(r.event["data"]) for r in rows} >= {"not even an object"}


async def test_failed_specialist_turns_query_into_failed_status(make_runtime: RuntimeFactory):
    """A query whose specialist keeps failing is dead-lettered and the student is told."""
    from learnflow.services.triage import service
    from learnflow.services.triage.schemas import TriageCreate

    rt: Runtime = make_runtime()
    await rt.start()

    async def fail(*args: object, **kwargs: object) -> object:
        raise RuntimeError("model exploded")

    import learnflow.tutor.concepts as concepts

    original = concepts.explain
    concepts.explain = fail  # type: ignore[assignment]
    try:
        row = await service.create(rt, body=TriageCreate(student_id="s", session_id="t", query="What is a list?"))
        answer = await service.wait_for_answer(rt, query_id=row.id, timeout_s=5)
    finally:
        concepts.explain = original  # type: ignore[assignment]
    assert answer is not None and answer.kind == "error"
    async with rt.db.session() as session:
        from learnflow.tutor import queries

        assert (await queries.get(session, query_id=row.id)).status == "failed"
