"""Debug logic shared by the HTTP route and the event handler."""

from __future__ import annotations

from learnflow.bus import Outcome
from learnflow.events import CloudEvent, LearningQuery
from learnflow.runtime import Runtime
from learnflow.services.answers import reply
from learnflow.tutor import debug, render
from learnflow.tutor.schemas import DebugAnswer


async def analyze(
    rt: Runtime, *, code: str | None, error_message: str | None, question: str, stdin: str
) -> DebugAnswer:
    return await debug.analyze(
        code=code,
        error_message=error_message,
        question=question,
        stdin=stdin,
        curriculum=rt.curriculum,
        sandbox=rt.sandbox,
        ai=rt.ai,
    )


async def on_query(rt: Runtime, event: CloudEvent[LearningQuery]) -> Outcome:
    q = event.data
    answer = await analyze(rt, code=q.code, error_message=q.error_message, question=q.query, stdin="")
    return await reply(
        rt,
        event,
        agent="debug",
        content=render.debug(answer),
        data=answer.model_dump(mode="json"),
        source=answer.source,
    )
