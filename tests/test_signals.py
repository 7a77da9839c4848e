"""Stored responses reach their waiters in whichever process waits, and acknowledgements are stored at once."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select

from learnflow.db.models import OutboxEvent, ProcessedEvent, Response
from learnflow.events import LearningResponse, Topic
from learnflow.runtime import Runtime, derived_id
from learnflow.services.app import create_app
from learnflow.services.triage import service
from learnflow.signals import parse_note
from tests.conftest import RuntimeFactory

QUESTION = {"student_id": "rep-1", "session_id": "rep-s1", "query": "What is a dictionary?"}


async def accept(rt: Runtime) -> str:
    transport = httpx.ASGITransport(app=create_app(runtime=rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://replica.test", timeout=30) as client:
        resp = await client.post("/api/triage", json=QUESTION)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["query_id"])


async def answer(rt: Runtime, query_id: str) -> None:
    response = LearningResponse(
        query_id=query_id, student_id=QUESTION["student_id"], session_id=QUESTION["session_id"], agent="concepts",
        kind="answer", content="A mapping from keys to values.", data={},
    )  # fmt: skip
    await rt.publish(Topic.LEARNING_RESPONSE, response, subject=QUESTION["student_id"], event_id=f"{query_id}-answer")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_an_answer_stored_by_one_replica_wakes_a_waiter_on_another(make_runtime: RuntimeFactory):
    # Two triage replicas on one PostgreSQL, each with its own bus: only the database joins them.
    storing, waiting = make_runtime(("triage",)), make_runtime(("triage",))
    await storing.start()
    await waiting.start()
    query_id = await accept(storing)
    woken = waiting.hub.waiter(query_id)  # what a `?wait` request on the other replica waits on
    await answer(storing, query_id)
    # Without a cross-process wake-up nothing would ever resolve it, and this would time out.
    assert await asyncio.wait_for(woken, 20) is None  # stored elsewhere: the waiter reads it itself
    found = await service.wait_for_answer(waiting, query_id=query_id, timeout_s=1)
    assert found is not None and found.kind == "answer" and found.content == "A mapping from keys to values."


async def test_the_acknowledgement_is_stored_with_its_query_and_still_published(make_runtime: RuntimeFactory):
    rt = make_runtime(("triage",))
    await rt.start()
    await rt.outbox.stop()  # nothing is relayed: whatever is stored now, the request stored itself
    query_id = await accept(rt)
    async with rt.db.session() as session:
        kinds = list((await session.scalars(select(Response.kind).where(Response.query_id == query_id))).all())
        staged = set((await session.scalars(select(OutboxEvent.event_id))).all())
    assert kinds == ["ack"]
    assert {query_id, derived_id(query_id, "ack")} <= staged
    # Relayed, the acknowledgement's event is acknowledged by triage's consumer without a second row or mark.
    rt.outbox.start()
    await rt.outbox.flush()
    await asyncio.sleep(0.2)
    async with rt.db.session() as session:
        kinds = list((await session.scalars(select(Response.kind).where(Response.query_id == query_id))).all())
        marks = (await session.scalars(select(ProcessedEvent.event_id))).all()
    assert kinds == ["ack"] and derived_id(query_id, "ack") not in marks


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "not json",
        "[1, 2]",
        '{"q": "x", "s": "y"}',
        '{"q": 1, "s": "y", "f": true}',
        '{"q": "x", "s": "y", "f": "yes"}',
        '{"q": "' + "x" * 2000 + '", "s": "y", "f": true}',
    ],
)
def test_a_notification_that_is_not_a_response_note_is_ignored(payload: str):
    assert parse_note(payload) is None


def test_a_response_note_is_parsed():
    note = parse_note('{"q": "q1", "s": "s1", "f": false}')
    assert note is not None and (note.query_id, note.session_id, note.final) == ("q1", "s1", False)
