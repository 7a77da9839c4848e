"""The per-student LLM budget: past it, a student's answers come from the offline tutor.

Counted in the database so every replica of every service shares one budget per student.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy import func, select

from learnflow.ai import AIProvider, AIUnavailable
from learnflow.db.models import AIRequest
from learnflow.runtime import Runtime

log = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)
WINDOW = timedelta(hours=1)


class BudgetExhausted:
    """An LLM stand-in that always declines, so the tutors take their offline-fallback path."""

    name = "budget-exhausted"

    def __init__(self, student_id: str, limit: int) -> None:
        self.reason = f"student {student_id!r} used their {limit} LLM answers for this hour"

    @property
    def is_llm(self) -> bool:
        return True

    async def generate(self, *, system: str, user: str, schema: type[T]) -> T:
        raise AIUnavailable(self.reason)


async def ai_for(rt: Runtime, *, student_id: str | None, agent: str) -> AIProvider:
    """The provider to answer ``student_id`` with, counting the request against their hourly budget."""
    if not rt.ai.is_llm or not student_id:
        return rt.ai
    limit = rt.settings.ai.student_requests_per_hour
    async with rt.db.session() as session:
        used = await session.scalar(
            select(func.count())
            .select_from(AIRequest)
            .where(AIRequest.student_id == student_id, AIRequest.created_at >= datetime.now(UTC) - WINDOW)
        )
        if (used or 0) >= limit:
            log.info("LLM budget reached for %s (%d/%d in the last hour)", student_id, used, limit)
            return BudgetExhausted(student_id, limit)
        session.add(AIRequest(student_id=student_id, agent=agent))
        await session.commit()
    return rt.ai
