"""Which consumers and routers each service brings."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from learnflow.events import (
    CloudEvent,
    CodeExecutionRequest,
    ExerciseSubmitted,
    LearningQuery,
    LearningResponse,
    StruggleDetected,
    Topic,
)
from learnflow.runtime import Runtime

# How often the exercise service looks for students stuck between submissions.
STUCK_SWEEP_S = 60.0


async def setup(service: str, rt: Runtime) -> None:
    """Register ``service``'s event consumers (and seed its data)."""
    if service in ("triage", "concepts", "exercise"):
        # They name topics: fit the topic model now rather than on the first student's question.
        await asyncio.to_thread(lambda: rt.curriculum.topic_model)
    if service == "triage":
        from learnflow.services.triage import service as triage

        rt.consume(Topic.LEARNING_RESPONSE, "triage", partial(triage.on_response, rt), payload=LearningResponse)
        # Train the router now rather than on the first student's question.
        from learnflow.tutor.router_model import get_model

        await asyncio.to_thread(get_model)
    elif service == "concepts":
        from learnflow.services.concepts import service as concepts

        rt.consume(
            Topic.LEARNING_QUERY,
            "concepts",
            partial(concepts.on_query, rt),
            payload=LearningQuery,
            match={"routed_to": "concepts"},
        )
    elif service == "debug":
        from learnflow.services.debug import service as debug

        rt.consume(
            Topic.LEARNING_QUERY,
            "debug",
            partial(debug.on_query, rt),
            payload=LearningQuery,
            match={"routed_to": "debug"},
        )
    elif service == "exercise":
        from learnflow.services.exercise import service as exercise
        from learnflow.tutor import exercises

        async with rt.unit_of_work() as work:
            await exercises.sync_bank(work.session, curriculum=rt.curriculum)
        rt.consume(
            Topic.LEARNING_QUERY,
            "exercise",
            partial(exercise.on_query, rt),
            payload=LearningQuery,
            match={"routed_to": "exercise"},
        )
        rt.consume(
            Topic.EXERCISE_SUBMITTED,
            "exercise",
            partial(exercise.on_submitted, rt),
            payload=ExerciseSubmitted,
        )
        rt.consume(Topic.STRUGGLE_DETECTED, "exercise", partial(exercise.on_struggle, rt), payload=StruggleDetected)
        rt.every(STUCK_SWEEP_S, "stuck-exercises", partial(exercise.flag_stuck, rt))
    elif service == "runner":
        from learnflow.services.runner import routes as runner

        rt.consume(
            Topic.CODE_EXECUTION_REQUEST,
            "runner",
            partial(runner.on_request, rt),
            payload=CodeExecutionRequest,
        )


def routers(service: str) -> list[APIRouter]:
    """The HTTP routers ``service`` exposes."""
    if service == "triage":
        from learnflow.services.triage.routes import router
    elif service == "concepts":
        from learnflow.services.concepts.routes import router
    elif service == "debug":
        from learnflow.services.debug.routes import router
    elif service == "exercise":
        from learnflow.services.exercise.routes import router
    else:
        from learnflow.services.runner.routes import router
    return [router]


async def on_dead_letter(rt: Runtime, topic: str, event: CloudEvent[Any], *, session: AsyncSession) -> None:
    """React to an event a consumer in this process gave up on, staging what it publishes in ``session``."""
    if topic == Topic.LEARNING_QUERY:
        from learnflow.services.triage import service as triage

        await triage.on_query_dead(rt, event, session=session)
