"""Concepts: explains Python ideas with examples that run."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from learnflow.services import answers
from learnflow.services.concepts import service
from learnflow.services.concepts.routes import router
from learnflow.services.declare import ServiceDeclaration
from learnflow.specialists import Specialist

if TYPE_CHECKING:
    from learnflow.runtime import Runtime


async def prepare(rt: Runtime) -> None:
    """Fit the topic model now rather than on the first student's question."""
    await asyncio.to_thread(lambda: rt.curriculum.topic_model)


SERVICE = ServiceDeclaration(
    name="concepts",
    title="LearnFlow concepts service",
    router=router,
    runs_code=True,
    specialist=Specialist.CONCEPTS,
    acknowledgement="Good question! The concepts tutor is preparing an explanation.",
    answer=answers.refusal_is_final(service.on_query),
    on_unanswered=answers.unanswered,
    prepare=prepare,
)
