"""The in-process bus passes the transport contract; dead letters are kept and reacted to by the runtime."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import select

from learnflow.ai import OfflineProvider
from learnflow.bus import MemoryBus, Outcome
from learnflow.bus.base import RawPayload
from learnflow.db.models import DeadLetter
from learnflow.events import CloudEvent, ProgressUpdated, Topic, new_event
from learnflow.runtime import Runtime
from tests.conftest import RuntimeFactory, make_settings
from tests.transport_contract import PROBE, Harness, TransportContract


def progress_event() -> CloudEvent[ProgressUpdated]:
    payload = ProgressUpdated(student_id="s", topic="lists", mastery=50, level="Learning", overall=2)
    return new_event(Topic.PROGRESS_UPDATED, payload, source="/test", subject="s")


async def wait_until(predicate, limit_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + limit_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


class TestMemoryTransport(TransportContract):
    within_s = 5.0

    @asynccontextmanager
    async def harness(self, tmp_path: Path, *, max_attempts: int, backoff_s: float) -> AsyncIterator[Harness]:
        bus = MemoryBus(max_attempts=max_attempts, backoff_s=backoff_s)
        rt = Runtime(PROBE, settings=make_settings(tmp_path), bus=bus, ai=OfflineProvider())
        try:
            yield Harness(rt, rt.start)
        finally:
            if rt.started:
                await rt.stop()


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
