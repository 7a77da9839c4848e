"""Concepts HTTP API."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from learnflow.auth.access import EVERYONE, CallerDep, acting_student, allow
from learnflow.services.common import ERROR_RESPONSES, RuntimeDep
from learnflow.services.concepts import service
from learnflow.services.limits import ID_PATTERN, MAX_CODE_CHARS, MAX_ID_CHARS, MAX_QUERY_CHARS
from learnflow.tutor.schemas import ConceptAnswer

router = APIRouter(prefix="/api/concepts", tags=["concepts"], responses=ERROR_RESPONSES)


class ExplainRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"question": "What is a for loop?", "student_id": "student-42", "level": "beginner"}]
        }
    )

    question: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, pattern=r"\S", examples=["What is a for loop?"])
    student_id: str | None = Field(default=None, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)
    level: Literal["beginner", "intermediate"] | None = None
    code: str | None = Field(default=None, max_length=MAX_CODE_CHARS, description="Code to explain, if any.")


@router.post("/explain", response_model=ConceptAnswer, dependencies=[allow(*EVERYONE)])
async def explain(body: ExplainRequest, runtime: RuntimeDep, caller: CallerDep) -> ConceptAnswer:
    """Explain a concept (or attached code) at the student's level, with an example that runs."""
    return await service.explain(
        runtime,
        question=body.question,
        student_id=acting_student(caller, body.student_id),
        level=body.level,
        code=body.code,
    )
