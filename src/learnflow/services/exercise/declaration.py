"""Exercise: hands out exercises and quizzes, grades them, tracks progress and struggle."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from fastapi import APIRouter

from learnflow.events import ExerciseSubmitted, StruggleDetected, Topic
from learnflow.services import answers
from learnflow.services.declare import Consumer, Periodic, ServiceDeclaration
from learnflow.services.exercise import service
from learnflow.services.exercise.classes import router as classes_router
from learnflow.services.exercise.routes import router as exercise_router
from learnflow.specialists import Specialist
from learnflow.tutor import exercises

if TYPE_CHECKING:
    from learnflow.runtime import Runtime

# Classes live beside progress and alerts, the data they scope a teacher to.
router = APIRouter()
router.include_router(exercise_router)
router.include_router(classes_router)

# How often to look for students stuck between submissions.
STUCK_SWEEP_S = 60.0


async def prepare(rt: Runtime) -> None:
    """Fit the topic model and store the curriculum's exercises before the first request."""
    await asyncio.to_thread(lambda: rt.curriculum.topic_model)
    async with rt.unit_of_work() as work:
        await exercises.sync_bank(work.session, curriculum=rt.curriculum)


SERVICE = ServiceDeclaration(
    name="exercise",
    title="LearnFlow exercise service",
    router=router,
    runs_code=True,
    specialist=Specialist.EXERCISE,
    acknowledgement="Practice time! The exercise tutor is picking an exercise for you.",
    answer=answers.refusal_is_final(service.on_query),
    on_unanswered=answers.unanswered,
    consumers=(
        Consumer(Topic.EXERCISE_SUBMITTED, service.on_submitted, ExerciseSubmitted),
        Consumer(Topic.STRUGGLE_DETECTED, service.on_struggle, StruggleDetected),
    ),
    periodic=(Periodic("stuck-exercises", STUCK_SWEEP_S, service.flag_stuck),),
    prepare=prepare,
)
