"""Triage HTTP API."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from sse_starlette.sse import EventSourceResponse

from learnflow.auth import classes
from learnflow.auth.access import EVERYONE, CallerDep, allow, check_acting_as
from learnflow.auth.identity import Role
from learnflow.db.models import LearningSession
from learnflow.errors import NotFound
from learnflow.services.common import ERROR_RESPONSES, RuntimeDep, SessionDep
from learnflow.services.limits import MAX_WAIT_S
from learnflow.services.triage import service
from learnflow.services.triage.schemas import (
    CONCEPT_RESPONSE_EXAMPLE,
    QueryRead,
    StudentQueryRead,
    TriageCreate,
    TriageRead,
)
from learnflow.tutor import queries, studentwork

router = APIRouter(prefix="/api", tags=["triage"], responses=ERROR_RESPONSES)


@router.post("/triage", response_model=TriageRead, response_model_exclude_none=True, dependencies=[allow(Role.student)])
async def triage(
    body: TriageCreate,
    runtime: RuntimeDep,
    caller: CallerDep,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT_S, description="Seconds to wait for the answer.")] = 0,
) -> TriageRead:
    """Route a question to the right tutor; with `wait`, include the answer once it arrives."""
    # The query, its session and every event it publishes carry this id: checked here, at the edge.
    check_acting_as(caller, body.student_id)
    response = None
    if wait > 0:
        row, answer = await service.ask(runtime, body=body, timeout_s=wait)
    else:
        row, answer = await service.create(runtime, body=body), None
    status = row.status
    if answer is not None:
        response = service.read(answer)
        status = "answered" if answer.kind == "answer" else "failed"
    return TriageRead(
        query_id=row.id,
        student_id=row.student_id,
        session_id=row.session_id,
        # routed_to is a str column: pydantic checks it against the Literal.
        routed_to=row.routed_to,  # type: ignore[arg-type]
        confidence=row.confidence,
        # status is a str column: pydantic checks it against the Literal.
        status=status,  # type: ignore[arg-type]
        timestamp=row.created_at,
        topic=row.topic,
        response=response,
    )


@router.get("/students/{student_id}/queries", response_model=list[StudentQueryRead], dependencies=[allow(*EVERYONE)])
async def student_queries(
    student_id: str,
    session: SessionDep,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[StudentQueryRead]:
    """The student's latest questions, newest first, with who answered: the student, their teachers, admins."""
    await classes.check_known_student(session, caller, student_id)
    return [
        StudentQueryRead(
            query_id=a.query.id,
            query=a.query.query,
            # routed_to, status and kind are str columns: pydantic checks them against their Literals.
            routed_to=a.query.routed_to,  # type: ignore[arg-type]
            topic=a.query.topic,
            status=a.query.status,  # type: ignore[arg-type]
            created_at=a.query.created_at,
            answer_agent=a.answer.agent if a.answer else None,
            answer_kind=a.answer.kind if a.answer else None,  # type: ignore[arg-type]
        )
        for a in await studentwork.recent_queries(session, student_id=student_id, limit=limit)
    ]


@router.get(
    "/queries/{query_id}", response_model=QueryRead, response_model_exclude_none=True, dependencies=[allow(*EVERYONE)]
)
async def get_query(query_id: str, session: SessionDep, caller: CallerDep) -> QueryRead:
    """A query's status and, once answered, the answer (to its student, their teachers and admins)."""
    row = await queries.get(session, query_id=query_id)
    await classes.check_student_data(session, caller, row.student_id)
    answer = await queries.answer_for(session, query_id=query_id)
    return QueryRead(
        query_id=row.id,
        # routed_to is a str column: pydantic checks it against the Literal.
        routed_to=row.routed_to,  # type: ignore[arg-type]
        # status is a str column: pydantic checks it against the Literal.
        status=row.status,  # type: ignore[arg-type]
        response=service.read(answer) if answer else None,
    )


@router.get(
    "/sessions/{session_id}/stream",
    response_class=EventSourceResponse,
    dependencies=[allow(*EVERYONE)],
    responses={
        200: {
            "description": "An endless `text/event-stream`: one `learning.response` event per answer, its `id` the "
            "answer's sequence number (send it back as `Last-Event-ID` to resume) and its `data` a `ResponseRead` "
            "as JSON; a comment line every 15 s keeps the connection open.",
            "content": {
                "text/event-stream": {
                    "schema": {"type": "string"},
                    "example": f"id: 7\r\nevent: learning.response\r\ndata: {json.dumps(CONCEPT_RESPONSE_EXAMPLE)}"
                    "\r\n\r\n: ping - 2026-01-31 09:15:17.884120+00:00\r\n\r\n",
                }
            },
        }
    },
)
async def stream(
    session_id: str,
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> EventSourceResponse:
    """Server-Sent Events: every response for the session, stored ones first, then live ones.

    A student may open the stream of a session they have not started yet (it becomes theirs when they
    ask in it); they are only ever sent their own responses, whoever starts the session.
    """
    only_student: str | None = None
    if caller.authenticated:
        async with runtime.db.session() as session:
            found = await session.get(LearningSession, session_id)
            if found is not None:
                await classes.check_student_data(session, caller, found.student_id)
            elif caller.is_staff:
                raise NotFound(f"session {session_id!r} does not exist")
        if caller.role is Role.student:
            only_student = caller.id
    try:
        after = int(last_event_id) if last_event_id else 0
    except ValueError:
        after = 0

    async def events() -> AsyncIterator[dict[str, str]]:
        nonlocal after
        # Listen before replaying, so nothing that arrives in between is missed.
        queue = runtime.hub.listen(session_id)
        try:
            while True:
                async with runtime.db.session() as session:
                    rows = await queries.responses_after(
                        session, session_id=session_id, after_seq=after, student_id=only_student
                    )
                for row in rows:
                    after = row.seq
                    yield {
                        "id": str(row.seq),
                        "event": "learning.response",
                        "data": json.dumps(service.read(row).model_dump(mode="json")),
                    }
                if await request.is_disconnected():
                    return
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(15):
                        await queue.get()
                while not queue.empty():
                    queue.get_nowait()
        finally:
            runtime.hub.unlisten(session_id, queue)

    return EventSourceResponse(events(), ping=15)
