"""Triage: accepts questions, routes them to a specialist and stores the answers."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from learnflow.events import LearningResponse, Topic
from learnflow.services.declare import Consumer, ServiceDeclaration
from learnflow.services.triage import service
from learnflow.services.triage.routes import router
from learnflow.tutor.router_model import get_model

if TYPE_CHECKING:
    from learnflow.runtime import Runtime


async def prepare(rt: Runtime) -> None:
    """Fit the topic and routing models now rather than on the first student's question."""
    await asyncio.to_thread(lambda: rt.curriculum.topic_model)
    await asyncio.to_thread(get_model)


SERVICE = ServiceDeclaration(
    name="triage",
    title="LearnFlow triage service",
    router=router,
    consumers=(Consumer(Topic.LEARNING_RESPONSE, service.on_response, LearningResponse, skip=service.ACK),),
    prepare=prepare,
)
