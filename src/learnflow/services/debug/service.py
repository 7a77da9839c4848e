"""Debug logic shared by the HTTP route and the event handler."""

from __future__ import annotations

from learnflow.bus import Outcome
from learnflow.events import CloudEvent, LearningQuery
from learnflow.runtime import Runtime
from learnflow.services.answers import reply
from learnflow.services.struggle import record_run
from learnflow.tutor import debug, render
from learnflow.tutor.schemas import DebugAnswer


async def analyze(
    rt: Runtime,
    *,
    code: str | None,
    error_message: str | None,
    question: str,
    stdin: str,
    student_id: str | None = None,
) -> DebugAnswer:
    """Analyse the code; a student's run counts towards struggle detection."""
    answer = await debug.analyze(
        code=code,
        error_message=error_message,
        question=question,
        stdin=stdin,
        curriculum=rt.curriculum,
        sandbox=rt.sandbox,
        ai=rt.ai,
    )
    if student_id and answer.run_status != "not_run":
        await record_run(rt, student_id=student_id, ok=answer.run_status == "passed", error_type=answer.error_type)
    return answer


async def on_query(rt: Runtime, event: CloudEvent[LearningQuery]) -> Outcome:
    q = event.data
    answer = await analyze(
        rt, code=q.code, error_message=q.error_message, question=q.query, stdin="", student_id=q.student_id
    )
    return await reply(
        rt,
        event,
        agent="debug",
        content=render.debug(answer),
        data=answer.model_dump(mode="json"),
        source=answer.source,
    )
