"""How a specialist answers a routed query: one answer event per query, the same on redelivery."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from learnflow import observability
from learnflow.bus import Outcome
from learnflow.events import CloudEvent, LearningQuery, LearningResponse, Topic
from learnflow.events.payloads import Source
from learnflow.runtime import Runtime, derived_id


async def reply(
    rt: Runtime,
    event: CloudEvent[LearningQuery],
    *,
    agent: str,
    content: str,
    data: dict[str, Any],
    source: Source = "offline",
) -> Outcome:
    """Publish ``agent``'s answer to the query in ``event`` on learning.response."""
    query = event.data
    response = LearningResponse(
        query_id=query.query_id,
        student_id=query.student_id,
        session_id=query.session_id,
        # agent is a str: pydantic checks it against the Literal.
        agent=agent,  # type: ignore[arg-type]
        kind="answer",
        content=content,
        data=data,
        source=source,
    )
    # The id derives from the query event's: a redelivered query re-publishes the same answer event.
    await rt.publish(Topic.LEARNING_RESPONSE, response, subject=query.student_id, event_id=derived_id(event.id, agent))
    observability.record_answer(agent=agent, source=source)
    return Outcome.DONE


async def unanswered(rt: Runtime, event: CloudEvent[LearningQuery], session: AsyncSession) -> None:
    """A query its specialist gave up on: tell the student instead of leaving it pending (staged in ``session``)."""
    data = event.data
    failure = LearningResponse(
        query_id=data.query_id,
        student_id=data.student_id,
        session_id=data.session_id,
        agent=data.routed_to,
        kind="error",
        content="Sorry, the tutor could not answer this question right now. Please try again.",
        data={"reason": str((event.model_extra or {}).get("dlqreason", ""))[:500]},
    )
    dead_id = derived_id(event.id, "dead")
    await rt.publish(Topic.LEARNING_RESPONSE, failure, subject=data.student_id, event_id=dead_id, session=session)
