"""Struggle detection: one detector per reason, thresholds from settings, alerts published once per cause."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from learnflow.ai import OfflineProvider
from learnflow.bus import MemoryBus
from learnflow.config import StruggleSettings
from learnflow.runtime import Runtime
from learnflow.services import struggle
from learnflow.services.struggle import QueryAsked, QuizGraded, Reason
from tests.conftest import make_settings
from tests.transport_contract import PROBE

RuntimeWith = Callable[..., Runtime]


@pytest.fixture
async def runtime_with(tmp_path: Path) -> AsyncIterator[RuntimeWith]:
    started: list[Runtime] = []

    def build(**thresholds: float) -> Runtime:
        settings = dataclasses.replace(
            make_settings(tmp_path / str(len(started))), struggle=StruggleSettings(**thresholds)
        )
        rt = Runtime(PROBE, settings=settings, bus=MemoryBus(backoff_s=0.01), ai=OfflineProvider())
        started.append(rt)
        return rt

    yield build
    for rt in started:
        if rt.started:
            await rt.stop()


def alerts_sent(rt: Runtime) -> list[dict[str, object]]:
    assert isinstance(rt.bus, MemoryBus)
    return [wire["data"] for topic, wire in rt.bus.published if topic == "struggle.detected"]


def test_every_reason_has_exactly_one_detector():
    found = struggle.detectors()
    assert set(found) == set(Reason)
    assert all(d.observes for d in found.values())


def test_a_second_detector_for_a_reason_is_refused():
    with pytest.raises(ValueError, match="already has a detector"):
        struggle.detector(Reason.LOW_QUIZ, observes=(QuizGraded,))(struggle.detectors()[Reason.LOW_QUIZ].detect)


async def test_run_streaks_alert_at_the_thresholds_the_settings_give(runtime_with: RuntimeWith):
    rt = runtime_with(STRUGGLE_FAILED_RUNS=4, STRUGGLE_REPEATED_ERROR_RUNS=2)
    await rt.start()
    reasons = [
        await struggle.record_run(rt, student_id="r", ok=False, error_type=kind)
        for kind in ("ValueError", "ValueError", "ValueError", "KeyError", "KeyError")
    ]
    assert reasons == [[], [Reason.REPEATED_ERROR], [], [Reason.FAILED_RUNS], [Reason.REPEATED_ERROR]]
    assert await struggle.record_run(rt, student_id="r", ok=True, error_type=None) == []
    default = runtime_with()
    await default.start()
    kinds = ("ValueError", "ValueError", "ValueError", "KeyError", "KeyError")
    found = [await struggle.record_run(default, student_id="r", ok=False, error_type=k) for k in kinds]
    assert found == [[], [], [Reason.REPEATED_ERROR], [], [Reason.FAILED_RUNS]]


async def test_a_quiz_is_low_under_the_configured_score(runtime_with: RuntimeWith):
    strict = runtime_with(STRUGGLE_LOW_QUIZ_SCORE=0.7)
    await strict.start()
    quiz = QuizGraded("attempt-1", "q", "lists", correct=3, total=5, score=0.6)
    [finding] = await struggle.check(strict, quiz)
    assert finding.reason is Reason.LOW_QUIZ and "under 70%" in finding.details
    lenient = runtime_with()
    await lenient.start()
    assert await struggle.check(lenient, quiz) == []


async def test_a_repeated_cause_repeats_the_same_alert_id(runtime_with: RuntimeWith):
    """Checked again (a redelivered request), the alert keeps its id: consumers dedupe it by event id."""
    rt = runtime_with()
    await rt.start()
    seen = QueryAsked("query-1", "h", "I'm stuck, I don't understand loops", "loops")
    first = await struggle.check(rt, seen)
    again = await struggle.check(rt, seen)
    assert [f.reason for f in first] == [Reason.ASKED_FOR_HELP]
    assert [f.alert_id for f in again] == [f.alert_id for f in first]
    assert await struggle.check(rt, QueryAsked("query-2", "h", "What is a tuple?", None)) == []
    for _ in range(100):
        if len(alerts_sent(rt)) >= 2:
            break
        await asyncio.sleep(0.02)
    assert {a["alert_id"] for a in alerts_sent(rt)} == {first[0].alert_id}
