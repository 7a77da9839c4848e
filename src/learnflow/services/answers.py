"""How a specialist answers a routed query: one answer event per query, the same on redelivery."""

from __future__ import annotations

from typing import Any

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
