"""How a specialist answers a routed query: one answer event per query, the same on redelivery."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from learnflow import observability
from learnflow.bus import Outcome
from learnflow.events import CloudEvent, LearningQuery, LearningResponse, Topic
from learnflow.events.payloads import Source
from learnflow.runtime import Runtime, derived_id
from learnflow.sandbox import SandboxUnavailable

log = logging.getLogger(__name__)

QueryHandler = Callable[[Runtime, CloudEvent[LearningQuery]], Awaitable[Outcome]]


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


def refusal_is_final(handler: QueryHandler) -> QueryHandler:
    """Answer a query whose code the sandbox refuses to run at once, instead of retrying it.

    ``SandboxUnavailable`` means this server has no isolation it accepts: that does not change between
    attempts, so retries would only delay the student's answer by the whole backoff and end in the
    dead-letter queue. A busy queue (``SandboxBusy``) or a runner that does not answer is transient and
    still raises, so the bus retries it.
    """

    @functools.wraps(handler)
    async def answering(rt: Runtime, event: CloudEvent[LearningQuery]) -> Outcome:
        try:
            return await handler(rt, event)
        except SandboxUnavailable as exc:
            return await refused(rt, event, exc)

    return answering


async def refused(rt: Runtime, event: CloudEvent[LearningQuery], exc: SandboxUnavailable) -> Outcome:
    """Tell the student plainly that code cannot be run here, and why; the query is then done."""
    query = event.data
    log.warning("%s: query %s answered without running code: %s", query.routed_to, query.query_id, exc.message)
    response = LearningResponse(
        query_id=query.query_id,
        student_id=query.student_id,
        session_id=query.session_id,
        agent=query.routed_to,
        kind="error",
        content=(
            f"Code can't be run safely on this server right now because {_reason(exc.message)}. "
            "Your question was received; ask your teacher or the site's administrator, "
            "or try again once code running is back."
        ),
        data={"reason": exc.code, "message": exc.message},
    )
    # The same id as a normal answer's: a redelivered query never gets both.
    event_id = derived_id(event.id, str(query.routed_to))
    await rt.publish(Topic.LEARNING_RESPONSE, response, subject=query.student_id, event_id=event_id)
    return Outcome.DONE


def _reason(message: str) -> str:
    """The sandbox's reason without its "code cannot be run here:" lead-in (the sentence already says it)."""
    _, found, reason = message.partition(": ")
    return (reason if found else message).rstrip(".")
