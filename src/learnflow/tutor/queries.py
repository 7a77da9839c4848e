"""Queries, sessions and the responses they receive (triage's data)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from learnflow.db.models import LearningSession, Query, Response, Student, utcnow
from learnflow.db.session import core, insert_ignoring, insert_into, row_values, table_of
from learnflow.errors import NotFound, Unprocessable
from learnflow.events import LearningResponse


async def ensure_student(session: AsyncSession, *, student_id: str) -> None:
    """Create the student on first sight (in ``session``; a concurrent creation is fine)."""
    # Not a savepoint: on SQLite the driver opens no transaction before it, so releasing it would commit.
    await (await core(session)).execute(insert_ignoring(session, Student), {"id": student_id})


async def ensure_student_session(session: AsyncSession, *, student_id: str, session_id: str) -> None:
    """Create the student and the session on first sight; a session belongs to one student."""
    connection = await core(session)
    # The read first: on SQLite the first write takes the one writer's lock until the commit.
    owner = await connection.scalar(_SESSION_OWNER, {"session_id": session_id})
    if owner is None:
        await ensure_student(session, student_id=student_id)
        created = await connection.execute(
            insert_ignoring(session, LearningSession), {"id": session_id, "student_id": student_id}
        )
        if getattr(created, "rowcount", -1) == 1:
            return
        owner = await connection.scalar(_SESSION_OWNER, {"session_id": session_id})  # created concurrently
    if owner != student_id:
        raise Unprocessable(f"session {session_id!r} belongs to another student", field="session_id")
    await connection.execute(_SESSION_USED, {"session_id": session_id, "at": datetime.now(UTC)})


# Built once, executed with parameters (see ``db.session``): the statements of every question.
_sessions = table_of(LearningSession).c
_SESSION_OWNER = select(_sessions.student_id).where(_sessions.id == bindparam("session_id"))
_SESSION_USED = (
    update(table_of(LearningSession)).where(_sessions.id == bindparam("session_id")).values(updated_at=bindparam("at"))
)
_queries = table_of(Query).c
_QUERY_SETTLED = (
    update(table_of(Query))
    .where(_queries.id == bindparam("query_id"), _queries.status == "pending")
    .values(status=bindparam("new_status"), answered_at=bindparam("at"))
)


async def add(session: AsyncSession, *, row: Query) -> Query:
    """Stage a new query with one Core INSERT (no ORM flush; ``row`` is not tracked by the session)."""
    row.status = row.status or "pending"
    row.created_at = row.created_at or utcnow()
    await (await core(session)).execute(insert_into(Query), row_values(row))
    return row


async def get(session: AsyncSession, *, query_id: str) -> Query:
    """Return one query or raise NotFound."""
    query = await session.get(Query, query_id)
    if query is None:
        raise NotFound(f"query {query_id!r} does not exist")
    return query


async def history(session: AsyncSession, *, session_id: str, limit: int = 10) -> list[Query]:
    """The session's latest queries, oldest first."""
    rows = (
        (
            await session.execute(
                select(Query).where(Query.session_id == session_id).order_by(Query.created_at.desc()).limit(limit)
            )
        )
        .scalars()
        .all()
    )
    return list(reversed(rows))


async def answer_for(session: AsyncSession, *, query_id: str) -> Response | None:
    """The specialist's answer (or error) to a query, if it has arrived."""
    return (
        await session.execute(
            select(Response)
            .where(Response.query_id == query_id, Response.kind != "ack")
            .order_by(Response.seq.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def store_response(session: AsyncSession, *, event_id: str, payload: LearningResponse) -> Response | None:
    """Stage a response once per event id and update its query's status; None if already stored."""
    row = _response(event_id, payload)
    # One statement rather than a look-up and an insert: the event id is unique.
    seq = await (await core(session)).scalar(insert_ignoring(session, Response, returning="seq"), row_values(row))
    return None if seq is None else await _stored(session, row, seq)


async def add_response(session: AsyncSession, *, event_id: str, payload: LearningResponse) -> Response:
    """Stage a response known to be new (its event is produced in this transaction) and update its query."""
    row = _response(event_id, payload)
    seq = await (await core(session)).scalar(insert_into(Response, returning="seq"), row_values(row))
    if seq is None:  # an INSERT ... RETURNING returns its row
        raise RuntimeError(f"response {event_id!r} was not stored")
    return await _stored(session, row, seq)


def _response(event_id: str, payload: LearningResponse) -> Response:
    return Response(
        event_id=event_id,
        query_id=payload.query_id,
        session_id=payload.session_id,
        student_id=payload.student_id,
        agent=payload.agent,
        kind=payload.kind,
        content=payload.content,
        data=payload.data,
        source=payload.source,
        created_at=utcnow(),
    )


async def _stored(session: AsyncSession, row: Response, seq: int) -> Response:
    """``row`` (inserted as ``seq`` by a Core statement, not tracked by the session) after its query is updated."""
    row.seq = seq  # numbers the stream's events
    if row.kind != "ack":
        status = "answered" if row.kind == "answer" else "failed"
        settled = {"query_id": row.query_id, "new_status": status, "at": datetime.now(UTC)}
        await (await core(session)).execute(_QUERY_SETTLED, settled)
    return row


async def responses_after(
    session: AsyncSession, *, session_id: str, after_seq: int = 0, student_id: str | None = None
) -> list[Response]:
    """A session's responses in arrival order, after ``after_seq`` (only ``student_id``'s when given)."""
    stmt = select(Response).where(Response.session_id == session_id, Response.seq > after_seq)
    if student_id is not None:
        stmt = stmt.where(Response.student_id == student_id)
    return list((await session.execute(stmt.order_by(Response.seq))).scalars())
