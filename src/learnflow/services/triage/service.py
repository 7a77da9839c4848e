"""Triage's logic: accept a query, route it, publish it; store responses as they arrive."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import replace

from sqlalchemy import select

from learnflow import observability
from learnflow.bus import Outcome
from learnflow.db.models import Query, Response
from learnflow.events import CloudEvent, LearningQuery, LearningResponse, Topic
from learnflow.runtime import Runtime, derived_id
from learnflow.services import budget, struggle
from learnflow.services.triage.schemas import ResponseRead, TriageCreate
from learnflow.specialists import Specialist
from learnflow.tutor import intent, queries
from learnflow.tutor.triage import LLM_BELOW, classify, is_follow_up, refine


def read(row: Response) -> ResponseRead:
    return ResponseRead(
        agent=row.agent,
        # kind is a str column: pydantic checks it against the Literal.
        kind=row.kind,  # type: ignore[arg-type]
        content=row.content,
        data=row.data or {},
        source=row.source,
        query_id=row.query_id,
        created_at=row.created_at,
    )


async def _last_query(rt: Runtime, *, session_id: str, student_id: str) -> Query | None:
    async with rt.db.session() as session:
        return (
            await session.execute(
                select(Query)
                .where(Query.session_id == session_id, Query.student_id == student_id)
                .order_by(Query.created_at.desc())
                .limit(1)
            )
        ).scalar_one_or_none()


async def _last_topic(rt: Runtime, *, session_id: str, student_id: str) -> str | None:
    """The topic of the session's latest query that had one."""
    async with rt.db.session() as session:
        return (
            await session.execute(
                select(Query.topic)
                .where(Query.session_id == session_id, Query.student_id == student_id, Query.topic.is_not(None))
                .order_by(Query.created_at.desc())
                .limit(1)
            )
        ).scalar_one_or_none()


async def create(rt: Runtime, *, body: TriageCreate, query_id: str | None = None) -> Query:
    """Store, route and publish a query; publish an acknowledgement and any struggle signal."""
    decision = classify(body.query, code=body.code, error_message=body.error_message)
    kind = intent.read(body.query, code=body.code, error_message=body.error_message, curriculum=rt.curriculum)
    topic: str | None = None
    if kind != "question":
        # Concepts answers both without a lesson: it redirects what is not Python and, for a feeling with
        # no subject, asks what the student works on (or continues the session's topic). Neither gets a
        # topic guessed from its words: "I don't understand anything" is not about encapsulation.
        decision = replace(decision, routed_to=Specialist.CONCEPTS)
        if kind == "feelings":
            topic = await _last_topic(rt, session_id=body.session_id, student_id=body.student_id)
            decision = replace(decision, decided_by="history") if topic else decision
    elif decision.confidence < LLM_BELOW and rt.ai.is_llm:
        ai = await budget.ai_for(rt, student_id=body.student_id, agent="triage")
        decision = await refine(decision, body.query, code=body.code, error_message=body.error_message, ai=ai)
    if kind == "question":
        topic_found = rt.curriculum.best_topic(body.query) if body.query.strip() else None
        topic = topic_found.id if topic_found else None
    if kind == "question" and is_follow_up(body.query) and not (body.code or "").strip():
        # "harder please", "another one", "explain that more simply": the session's last query says
        # which specialist and which topic the student means.
        previous = await _last_query(rt, session_id=body.session_id, student_id=body.student_id)
        if previous is not None:
            # routed_to is a str column, written only from a Decision's Route.
            decision = replace(decision, routed_to=previous.routed_to, decided_by="history")  # type: ignore[arg-type]
            topic = topic or previous.topic
    query_id = query_id or str(uuid.uuid4())
    observability.bind(query_id=query_id)  # the rest of this request's log lines name the query
    event = LearningQuery(
        query_id=query_id, student_id=body.student_id, session_id=body.session_id, query=body.query,
        code=body.code, error_message=body.error_message, routed_to=decision.routed_to,
        confidence=decision.confidence, topic=topic, stdin=body.stdin,
        expected_output=body.expected_output, exercise_id=body.exercise_id,
    )  # fmt: skip
    ack = LearningResponse(
        query_id=query_id, student_id=body.student_id, session_id=body.session_id, agent="triage", kind="ack",
        content=rt.catalog.specialist(decision.routed_to).acknowledgement,
        data={"routed_to": decision.routed_to, "confidence": decision.confidence, "topic": event.topic,
              "decided_by": decision.decided_by, "intent": kind},
    )  # fmt: skip
    async with rt.unit_of_work() as work:
        session = work.session
        await queries.ensure_student_session(session, student_id=body.student_id, session_id=body.session_id)
        row = Query(
            id=query_id, student_id=body.student_id, session_id=body.session_id, query=body.query,
            code=body.code, error_message=body.error_message, routed_to=decision.routed_to,
            confidence=decision.confidence, topic=event.topic, status="pending",
        )  # fmt: skip
        await queries.add(session, row=row)
        # The query and its events are committed together: a 200 means they will be delivered.
        await rt.publish(Topic.LEARNING_QUERY, event, subject=body.student_id, event_id=query_id, session=session)
        # The acknowledgement is stored here rather than by this service's own consumer, a bus round
        # trip and a transaction later; its event still goes out for anyone else who follows responses.
        ack_id = derived_id(query_id, "ack")
        await rt.publish(Topic.LEARNING_RESPONSE, ack, subject=body.student_id, event_id=ack_id, session=session)
        stored = await queries.add_response(session, event_id=ack_id, payload=ack)
        await rt.signal.announce(work, stored)
        seen = struggle.QueryAsked(query_id, body.student_id, body.query, event.topic)
        await struggle.check(rt, seen, session=session)
    return row


async def ask(rt: Runtime, *, body: TriageCreate, timeout_s: float) -> tuple[Query, Response | None]:
    """Create the query (as :func:`create`) and wait up to ``timeout_s`` for its answer."""
    query_id = str(uuid.uuid4())
    # Waiting before the query exists: nothing can answer it unnoticed, so there is nothing to look
    # up first (a wake-up without the row, from another replica or a timeout, is looked up after).
    fut = rt.hub.waiter(query_id)
    try:
        row = await create(rt, body=body, query_id=query_id)
        found = None
        with contextlib.suppress(TimeoutError):
            # Stored by this process, the row comes with the wake-up; by another, it is read.
            found = await asyncio.wait_for(asyncio.shield(fut), timeout=timeout_s)
        if found is None:
            async with rt.db.session() as session:
                found = await queries.answer_for(session, query_id=query_id)
        return row, found
    finally:
        rt.hub.discard(query_id, fut)


async def wait_for_answer(rt: Runtime, *, query_id: str, timeout_s: float) -> Response | None:
    """Wait up to ``timeout_s`` for the specialist's answer to arrive."""
    fut = rt.hub.waiter(query_id)
    try:
        async with rt.db.session() as session:
            found = await queries.answer_for(session, query_id=query_id)
        if found is None:
            with contextlib.suppress(TimeoutError):
                # Stored by this process, the row comes with the wake-up; by another, it is read.
                found = await asyncio.wait_for(asyncio.shield(fut), timeout=timeout_s)
            if found is None:
                async with rt.db.session() as session:
                    found = await queries.answer_for(session, query_id=query_id)
        return found
    finally:
        rt.hub.discard(query_id, fut)


# Acknowledgements are stored with their query by :func:`create`: the consumer has nothing to do for them.
ACK = {"kind": "ack"}


async def on_response(rt: Runtime, event: CloudEvent[LearningResponse]) -> Outcome:
    """Store a response and, once it is committed, wake whoever waits for it (in any replica)."""
    async with rt.unit_of_work() as work:
        row = await queries.store_response(work.session, event_id=event.id, payload=event.data)
        if row is not None:
            await rt.signal.announce(work, row)
    return Outcome.DONE
