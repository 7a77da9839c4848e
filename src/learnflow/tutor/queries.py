"""Queries, sessions and the responses they receive (triage's data)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from learnflow.db.models import LearningSession, Query, Response, Student, utcnow
from learnflow.db.session import insert_new, row_values
from learnflow.errors import NotFound, Unprocessable
from learnflow.events import LearningResponse


async def ensure_student(session: AsyncSession, *, student_id: str) -> None:
    """Create the student on first sight (in ``session``; a concurrent creation is fine)."""
    # Not a savepoint: on SQLite the driver opens no transaction before it, so releasing it would commit.
    await session.execute(insert_new(session, Student, id=student_id))


async def ensure_student_session(session: AsyncSession, *, student_id: str, session_id: str) -> None:
    """Create the student and the session on first sight; a session belongs to one student."""
    # The read first: on SQLite the first write takes the one writer's lock until the commit.
    existing = await session.get(LearningSession, session_id)
    if existing is None:
        await ensure_student(session, student_id=student_id)
        created = await session.execute(insert_new(session, LearningSession, id=session_id, student_id=student_id))
        if getattr(created, "rowcount", -1) == 1:
            return
        existing = await session.get(LearningSession, session_id)  # another request created it first
    if existing is None or existing.student_id != student_id:
        raise Unprocessable(f"session {session_id!r} belongs to another student", field="session_id")
    existing.updated_at = datetime.now(UTC)


async def add(session: AsyncSession, *, row: Query) -> Query:
    """Stage a new query with one Core INSERT (no ORM flush; ``row`` is not tracked by the session)."""
    row.status = row.status or "pending"
    row.created_at = row.created_at or utcnow()
    await session.execute(insert(Query).values(**row_values(row)))
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
    seq = await session.scalar(insert_new(session, Response, **row_values(row)).returning(Response.seq))
    return None if seq is None else await _stored(session, row, seq)


async def add_response(session: AsyncSession, *, event_id: str, payload: LearningResponse) -> Response:
    """Stage a response known to be new (its event is produced in this transaction) and update its query."""
    row = _response(event_id, payload)
    seq = await session.scalar(insert(Response).values(**row_values(row)).returning(Response.seq))
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
        await session.execute(
            update(Query)
            .where(Query.id == row.query_id, Query.status == "pending")
            .values(status="answered" if row.kind == "answer" else "failed", answered_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )
    return row


async def responses_after(
    session: AsyncSession, *, session_id: str, after_seq: int = 0, student_id: str | None = None
) -> list[Response]:
    """A session's responses in arrival order, after ``after_seq`` (only ``student_id``'s when given)."""
    stmt = select(Response).where(Response.session_id == session_id, Response.seq > after_seq)
    if student_id is not None:
        stmt = stmt.where(Response.student_id == student_id)
    return list((await session.execute(stmt.order_by(Response.seq))).scalars())
