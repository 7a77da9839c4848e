"""The in-memory bus loses nothing when the process dies: the outbox keeps an event until it is handled.

The in-memory bus only queues an event in the process; the outbox therefore claims its row (a lease)
instead of deleting it when it hands it over, and deletes it once every subscriber has finished.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from learnflow import outbox as outbox_module
from learnflow.ai import OfflineProvider
from learnflow.bus import MemoryBus, Outcome
from learnflow.bus.base import Subscription
from learnflow.db.models import OutboxEvent
from learnflow.events import CloudEvent, ProgressUpdated, Topic, new_event
from learnflow.runtime import Runtime
from learnflow.services.catalog import CATALOG
from tests.conftest import make_settings

PAYLOAD = ProgressUpdated(student_id="c", topic="lists", mastery=50, level="Learning", overall=1)


class Probe:
    """A consumer of progress.updated that records what it got and, when told to, never finishes."""

    def __init__(self, *, hang: bool) -> None:
        self.hang = hang
        self.got: list[str] = []
        self.started = asyncio.Event()

    async def __call__(self, event: CloudEvent[Any]) -> Outcome:
        self.got.append(event.id)
        self.started.set()
        if self.hang:
            await asyncio.Event().wait()  # until the process goes away
        return Outcome.DONE


def runtime(tmp_path: Path, database_url: str, probe: Probe) -> Runtime:
    bus = MemoryBus(backoff_s=0.01)
    bus.subscribe(Subscription(str(Topic.PROGRESS_UPDATED), "probe", probe, ProgressUpdated))
    rt = Runtime(
        CATALOG, ("runner",), settings=make_settings(tmp_path, DATABASE_URL=database_url), bus=bus, ai=OfflineProvider()
    )
    rt.outbox.poll_s = 0.1
    return rt


async def outbox_rows(rt: Runtime) -> list[OutboxEvent]:
    async with rt.db.session() as session:
        return list((await session.scalars(select(OutboxEvent))).all())


async def crash(rt: Runtime) -> None:
    """Stop like a killed process: nothing finishes, nothing is given back."""
    assert rt.outbox._task is not None
    tasks = [rt.outbox._task, *rt.bus._tasks, *rt._tasks]  # type: ignore[attr-defined]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await rt.signal.stop()
    await rt.db.dispose()


async def until(condition: Any, seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.05)):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_an_event_queued_when_the_process_died_is_handled_after_its_claim_runs_out(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox_module, "LEASE_S", 1.0)
    first_probe = Probe(hang=True)
    first = runtime(tmp_path, database_url, first_probe)
    await first.start()
    event = await first.publish(Topic.PROGRESS_UPDATED, PAYLOAD, subject="c")
    await asyncio.wait_for(first_probe.started.wait(), 10)
    await crash(first)  # the handler was running: the event is neither done nor lost

    second_probe = Probe(hang=False)
    second = runtime(tmp_path, database_url, second_probe)
    await second.start()
    try:
        [row] = await outbox_rows(second)
        assert row.event_id == event.id and row.claimed_until is not None  # still the dead process's
        await asyncio.sleep(0.3)
        assert second_probe.got == []  # not before its claim runs out
        await until(lambda: asyncio.sleep(0, bool(second_probe.got)))
        assert second_probe.got == [event.id]
        await until(lambda: _empty(second))  # deleted once handled
        await asyncio.sleep(0.3)
        assert second_probe.got == [event.id]  # and handled once
    finally:
        await second.stop()


async def _empty(rt: Runtime) -> bool:
    return not await outbox_rows(rt)


async def test_a_clean_stop_gives_back_what_was_not_handled(tmp_path: Path, database_url: str) -> None:
    first_probe = Probe(hang=True)
    first = runtime(tmp_path, database_url, first_probe)
    await first.start()
    event = await first.publish(Topic.PROGRESS_UPDATED, PAYLOAD, subject="c")
    await asyncio.wait_for(first_probe.started.wait(), 10)
    await first.stop()  # waits for the handler briefly, then gives the event back

    second_probe = Probe(hang=False)
    second = runtime(tmp_path, database_url, second_probe)
    await second.start()
    try:
        # Sent at once, not after the (default, one minute) claim.
        await until(lambda: asyncio.sleep(0, bool(second_probe.got)), seconds=5)
        assert second_probe.got == [event.id]
        await until(lambda: _empty(second))
    finally:
        await second.stop()


async def test_a_claim_is_renewed_while_the_handler_runs(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow handler keeps its event: the other process's relay, sweeping all along, does not send it again."""
    monkeypatch.setattr(outbox_module, "LEASE_S", 0.6)
    probes = [SlowProbe(), SlowProbe()]
    first, other = (runtime(tmp_path, database_url, probe) for probe in probes)  # two processes, one database
    await first.start()
    await other.start()
    try:
        event = await first.publish(Topic.PROGRESS_UPDATED, PAYLOAD, subject="c")
        await until(lambda: asyncio.sleep(0, any(p.got for p in probes)))
        await until(lambda: _empty(first), seconds=10)  # deleted once the (2 s) handler finished
        assert [p.got for p in probes] in ([[event.id], []], [[], [event.id]])  # by whichever took it, once
    finally:
        await other.stop()
        await first.stop()


class SlowProbe(Probe):
    def __init__(self) -> None:
        super().__init__(hang=False)

    async def __call__(self, event: CloudEvent[Any]) -> Outcome:
        outcome = await super().__call__(event)
        await asyncio.sleep(2.0)  # more than three leases: the claim must be renewed
        return outcome


async def test_two_relays_sweeping_the_same_rows_send_each_once(tmp_path: Path, database_url: str) -> None:
    """Two relays that read the same unclaimed rows: the claim decides, so each event reaches one bus once."""
    from learnflow.db import Database
    from learnflow.outbox import Outbox

    db = Database(database_url)
    await db.upgrade()
    probes = [Probe(hang=False), Probe(hang=False)]
    buses = [MemoryBus(backoff_s=0.01), MemoryBus(backoff_s=0.01)]
    for bus, probe in zip(buses, probes, strict=True):
        bus.subscribe(Subscription(str(Topic.PROGRESS_UPDATED), "probe", probe, ProgressUpdated))
        await bus.start()
    relays = [Outbox(db, bus) for bus in buses]
    try:
        ids = []
        async with db.session() as session:
            for _ in range(30):  # stored by nobody's unit of work: only a sweep finds them
                wire = new_event(Topic.PROGRESS_UPDATED, PAYLOAD, source="/test", subject="c").model_dump(mode="json")
                ids.append(wire["id"])
                await outbox_module.Outbox.stage(session, str(Topic.PROGRESS_UPDATED), wire)
            await session.commit()
        sent = await asyncio.gather(*(relay._sweep_table() for relay in relays))
        await until(lambda: asyncio.sleep(0, sum(len(p.got) for p in probes) >= len(ids)))
        await asyncio.sleep(0.2)  # a second delivery would have arrived by now
        assert sum(sent) == len(ids)
        assert sorted(probes[0].got + probes[1].got) == sorted(ids)
    finally:
        for bus in buses:
            await bus.stop()
        await db.dispose()
