"""Fault injection: every step of grading, assignment, answering and struggle detection fails once.

Each scenario is one request or one delivery. A clean run counts its steps (every SQL statement and
every commit) and records its effects (rows and outbox rows). Then, for each step in turn, a fresh
student's run fails at exactly that step: what it leaves must be all of the effects or none of them,
and the redelivery (or the retried request) must then produce each effect exactly once.
Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from learnflow import uow
from learnflow.ai import OfflineProvider
from learnflow.bus import MemoryBus, Outcome, Subscription
from learnflow.db.models import (
    Assignment,
    CodeRun,
    LearningSession,
    OutboxEvent,
    ProcessedEvent,
    Progress,
    Query,
    QuizAttempt,
    Response,
    StruggleAlert,
    Student,
    Submission,
)
from learnflow.events import (
    CloudEvent,
    ExerciseSubmitted,
    LearningQuery,
    LearningResponse,
    StruggleDetected,
    Topic,
    new_event,
)
from learnflow.runtime import Runtime
from learnflow.services.app import create_app
from learnflow.services.catalog import CATALOG
from learnflow.tutor import quizzes
from tests.conftest import make_settings

EXERCISE = "variables-1-rectangle-area"
TABLES = (
    Student,
    LearningSession,
    Query,
    Response,
    Assignment,
    Submission,
    QuizAttempt,
    Progress,
    StruggleAlert,
    CodeRun,
    ProcessedEvent,
)


class InjectedFault(Exception):
    """The failure a test injects; nothing in LearnFlow catches it on purpose."""


class Faults:
    """Counts the steps (statements and commits) on an engine and fails the one it is armed for."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.fail_at: int | None = None
        self.fired = False
        event.listen(engine, "before_cursor_execute", self._step)
        event.listen(engine, "commit", self._step)

    def _step(self, *_: Any) -> None:
        self.count += 1
        if self.fail_at == self.count:
            self.fail_at = None
            self.fired = True
            raise InjectedFault(f"step {self.count}")

    def arm(self, step: int | None) -> None:
        self.count, self.fail_at, self.fired = 0, step, False


class RecordingBus(MemoryBus):
    """The in-memory bus, never started: tests deliver to the recorded subscriptions themselves."""

    def __init__(self) -> None:
        super().__init__(backoff_s=0.01)
        self.subscriptions: dict[tuple[str, str], Subscription] = {}

    def subscribe(self, subscription: Subscription) -> None:
        self.subscriptions[(subscription.topic, subscription.group)] = subscription
        super().subscribe(subscription)


@dataclass
class Rig:
    rt: Runtime
    bus: RecordingBus
    faults: Faults
    client: httpx.AsyncClient

    async def deliver(self, topic: Topic, group: str, payload: Any, *, event_id: str) -> None:
        """Hand one event to ``group``'s consumer as a transport would; raise unless it succeeded."""
        sub = self.bus.subscriptions[(str(topic), group)]
        wire = new_event(topic, payload, source="/test", subject=getattr(payload, "student_id", None))
        wire.id = event_id
        typed = CloudEvent[sub.payload].model_validate(wire.model_dump(mode="json"))  # type: ignore[name-defined]
        outcome = await sub.handler(typed)
        if outcome is not Outcome.DONE:
            raise AssertionError(f"{group} answered {outcome}")

    async def effects(self) -> dict[str, int]:
        """Row counts per table and outbox rows per topic."""
        found: dict[str, int] = {}
        async with self.rt.db.session() as session:
            for model in TABLES:
                found[model.__tablename__] = int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for (topic,) in (await session.execute(select(OutboxEvent.topic))).all():
                found[f"outbox:{topic}"] = found.get(f"outbox:{topic}", 0) + 1
        return found


@pytest.fixture
async def rig(tmp_path: Path, database_url: str) -> AsyncIterator[Rig]:
    bus = RecordingBus()
    rt = Runtime(
        CATALOG,
        ("triage", "concepts", "debug", "exercise"),
        settings=make_settings(tmp_path, DATABASE_URL=database_url),
        bus=bus,
        ai=OfflineProvider(),
    )
    # Migrations and consumers, but neither the bus nor the outbox relay: outbox rows stay to be counted.
    await rt.db.upgrade()
    for declaration in rt.declarations:
        await rt._serve(declaration)
    faults = Faults(rt.db.engine.sync_engine)
    app = create_app(runtime=rt)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://learnflow.test", timeout=60) as client:
        yield Rig(rt, bus, faults, client)
    await rt.db.dispose()


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {
        k: after.get(k, 0) - before.get(k, 0)
        for k in after.keys() | before.keys()
        if after.get(k, 0) != before.get(k, 0)
    }


Operation = Callable[[], Awaitable[None]]


async def _add(rig: Rig, *rows: Any) -> None:
    async with rig.rt.db.session() as session:
        session.add_all(rows)
        await session.commit()


async def grading(rig: Rig, student: str) -> Operation:
    """The third failed submission in a row: the grade, the progress and a struggle alert."""
    await _add(rig, Student(id=student))
    await _add(
        rig,
        *(
            Submission(id=str(uuid.uuid4()), exercise_id=EXERCISE, student_id=student, code="x = 0", passed=False)
            for _ in range(2)
        ),
    )
    submitted = ExerciseSubmitted(
        submission_id=str(uuid.uuid4()),
        exercise_id=EXERCISE,
        student_id=student,
        code="def area(w, h):\n    return 0\n",
    )
    event_id = str(uuid.uuid4())
    return lambda: rig.deliver(Topic.EXERCISE_SUBMITTED, "exercise", submitted, event_id=event_id)


def _query(student: str, text: str, routed_to: str, **extra: Any) -> LearningQuery:
    return LearningQuery(
        query_id=str(uuid.uuid4()),
        student_id=student,
        session_id=f"{student}-session",
        query=text,
        routed_to=routed_to,  # type: ignore[arg-type]
        confidence=0.9,
        **extra,
    )


async def assignment(rig: Rig, student: str) -> Operation:
    """An exercise request: the assignment, exercise.assigned and the answer."""
    query = _query(student, "give me an exercise on variables", "exercise", topic="variables")
    return lambda: rig.deliver(Topic.LEARNING_QUERY, "exercise", query, event_id=query.query_id)


async def answering(rig: Rig, student: str) -> Operation:
    """A concept question: the answer event."""
    query = _query(student, "What is a dictionary?", "concepts")
    return lambda: rig.deliver(Topic.LEARNING_QUERY, "concepts", query, event_id=query.query_id)


async def answer_stored(rig: Rig, student: str) -> Operation:
    """Triage storing a specialist's answer: the response row and the query's status."""
    query_id = str(uuid.uuid4())
    await _add(rig, Student(id=student))
    await _add(rig, LearningSession(id=f"{student}-session", student_id=student))
    await _add(
        rig,
        Query(
            id=query_id,
            student_id=student,
            session_id=f"{student}-session",
            query="What is a dictionary?",
            routed_to="concepts",
            confidence=0.9,
            status="pending",
        ),
    )
    answer = LearningResponse(
        query_id=query_id,
        student_id=student,
        session_id=f"{student}-session",
        agent="concepts",
        kind="answer",
        content="A dictionary maps keys to values.",
    )
    event_id = str(uuid.uuid4())
    return lambda: rig.deliver(Topic.LEARNING_RESPONSE, "triage", answer, event_id=event_id)


async def failed_runs(rig: Rig, student: str) -> Operation:
    """The fifth failed run in a row (debug): the run, a struggle alert and the answer."""
    await _add(rig, Student(id=student))
    await _add(
        rig, *(CodeRun(student_id=student, ok=False, error_type=kind) for kind in ("NameError", "TypeError") * 2)
    )
    query = _query(student, "why does this crash?", "debug", code="print(1 / 0)\n")
    return lambda: rig.deliver(Topic.LEARNING_QUERY, "debug", query, event_id=query.query_id)


async def struggle_recorded(rig: Rig, student: str) -> Operation:
    """The exercise service recording a struggle alert for teachers."""
    alert = StruggleDetected(
        alert_id=str(uuid.uuid4()), student_id=student, topic="variables", reason="asked_for_help", details="help"
    )
    return lambda: rig.deliver(Topic.STRUGGLE_DETECTED, "exercise", alert, event_id=alert.alert_id)


async def low_quiz(rig: Rig, student: str) -> Operation:
    """Answering a quiz all wrong over HTTP: the grade, progress.updated and a low_quiz alert."""
    started = await rig.client.post("/api/quizzes/variables/attempts", json={"student_id": student})
    assert started.status_code == 201, started.text
    attempt = started.json()
    by_id = {q.id: q for q in quizzes.quiz_for(rig.rt.curriculum, "variables").questions}
    # A wrong choice, or an output nobody's program prints.
    wrong: dict[str, int | str] = {
        q: next(i for i in range(len(by_id[q].choices)) if i != by_id[q].answer)
        if by_id[q].choices
        else "surely not the answer"
        for q in (question["question_id"] for question in attempt["questions"])
    }

    async def answer() -> None:
        response = await rig.client.post(
            f"/api/quizzes/attempts/{attempt['attempt_id']}/answers", json={"answers": wrong}
        )
        if response.status_code != 200:
            raise InjectedFault(response.text)

    return answer


async def asked_for_help(rig: Rig, student: str) -> Operation:
    """A question over HTTP that asks for help: the query, its event, the acknowledgement (stored and
    published) and an alert."""

    async def ask() -> None:
        body = {"student_id": student, "session_id": f"{student}-s", "query": "I'm stuck and need help with loops"}
        response = await rig.client.post("/api/triage", json=body)
        if response.status_code != 200:
            raise InjectedFault(response.text)

    return ask


@dataclass(frozen=True)
class Scenario:
    setup: Callable[[Rig, str], Awaitable[Operation]]
    expected: dict[str, int]
    # A consumer's redelivery repeats the same event; a retried POST /api/triage is a new question.
    repeatable: bool = True


SCENARIOS = {
    "grading": Scenario(
        grading,
        {
            "submissions": 1,
            "progress": 1,
            "processed_events": 1,
            "outbox:exercise.graded": 1,
            "outbox:progress.updated": 1,
            "outbox:struggle.detected": 1,
        },
    ),
    "assignment": Scenario(
        assignment,
        {
            "students": 1,
            "assignments": 1,
            "processed_events": 1,
            "outbox:exercise.assigned": 1,
            "outbox:learning.response": 1,
        },
    ),
    "answering": Scenario(answering, {"processed_events": 1, "outbox:learning.response": 1}),
    "answer-stored": Scenario(answer_stored, {"responses": 1, "processed_events": 1}),
    "failed-runs": Scenario(
        failed_runs,
        {"code_runs": 1, "processed_events": 1, "outbox:struggle.detected": 1, "outbox:learning.response": 1},
    ),
    "struggle-recorded": Scenario(struggle_recorded, {"students": 1, "struggle_alerts": 1, "processed_events": 1}),
    "low-quiz": Scenario(
        low_quiz,
        {"progress": 1, "outbox:progress.updated": 1, "outbox:struggle.detected": 1},
    ),
    "asked-for-help": Scenario(
        asked_for_help,
        {
            "students": 1,
            "sessions": 1,
            "queries": 1,
            "responses": 1,
            "outbox:learning.query": 1,
            "outbox:learning.response": 1,
            "outbox:struggle.detected": 1,
        },
        repeatable=False,
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_a_failure_at_any_step_leaves_all_or_nothing_and_redelivery_does_it_once(rig: Rig, name: str) -> None:
    scenario = SCENARIOS[name]

    # A clean run: its effects, and how many steps it takes.
    operation = await scenario.setup(rig, f"clean-{uuid.uuid4().hex[:8]}")
    before = await rig.effects()
    rig.faults.arm(None)
    await operation()
    steps = rig.faults.count
    assert delta(before, await rig.effects()) == scenario.expected
    assert steps >= 3

    outcomes: dict[str, int] = {"none": 0, "all": 0}
    for step in range(1, steps + 1):
        operation = await scenario.setup(rig, f"s{step}-{uuid.uuid4().hex[:8]}")
        before = await rig.effects()
        rig.faults.arm(step)
        with pytest.raises(Exception):  # noqa: B017 - the injected fault, however the layers wrap it
            await operation()
        assert rig.faults.fired, f"step {step} of {steps} was never reached"
        rig.faults.arm(None)
        left = delta(before, await rig.effects())
        assert left in ({}, scenario.expected), f"a failure at step {step}/{steps} left {left}"
        outcomes["none" if not left else "all"] += 1
        if left and not scenario.repeatable:
            continue
        await operation()  # the redelivery (or the client's retry)
        assert delta(before, await rig.effects()) == scenario.expected, f"after a failure at step {step}/{steps}"
        if scenario.repeatable:
            await operation()  # once more: nothing new
            assert delta(before, await rig.effects()) == scenario.expected
    assert sum(outcomes.values()) == steps
    assert uow.current() is None  # no unit of work leaks out of a request or a delivery


async def test_two_deliveries_of_one_event_at_once_produce_its_effects_once(rig: Rig) -> None:
    operations = [await answering(rig, f"twice-{i}") for i in range(5)]
    before = await rig.effects()
    # Each event delivered twice concurrently (a rebalance, a redelivery racing the first delivery).
    await asyncio.gather(*(operation() for operation in operations for _ in range(2)))
    assert delta(before, await rig.effects()) == {"processed_events": 5, "outbox:learning.response": 5}
