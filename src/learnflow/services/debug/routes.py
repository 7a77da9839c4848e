"""Debug HTTP API."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from learnflow.auth.access import EVERYONE, CallerDep, acting_student, allow
from learnflow.services.common import ERROR_RESPONSES, RuntimeDep
from learnflow.services.debug import service
from learnflow.services.limits import (
    ID_PATTERN,
    MAX_CODE_CHARS,
    MAX_ERROR_CHARS,
    MAX_ID_CHARS,
    MAX_QUERY_CHARS,
    MAX_STDIN_CHARS,
)
from learnflow.tutor.schemas import DebugAnswer

router = APIRouter(prefix="/api/debug", tags=["debug"], responses=ERROR_RESPONSES)


class AnalyzeRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "items = [1, 2, 3]\nprint(items[3])\n",
                    "student_id": "student-42",
                    "question": "Why does this crash?",
                }
            ]
        }
    )

    code: str = Field(min_length=1, max_length=MAX_CODE_CHARS, pattern=r"\S", examples=["print(x)"])
    error_message: str | None = Field(default=None, max_length=MAX_ERROR_CHARS)
    question: str = Field(default="", max_length=MAX_QUERY_CHARS)
    stdin: str = Field(default="", max_length=MAX_STDIN_CHARS)
    student_id: str | None = Field(default=None, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)
    expected_output: str | None = Field(
        default=None, max_length=MAX_STDIN_CHARS, description="What the program should print; compared with the run."
    )
    exercise_id: str | None = Field(
        default=None,
        max_length=MAX_ID_CHARS,
        pattern=ID_PATTERN,
        description="The exercise this code is for: its visible tests are run, and its solution is never given.",
    )


@router.post("/analyze", response_model=DebugAnswer, dependencies=[allow(*EVERYONE)])
async def analyze(body: AnalyzeRequest, runtime: RuntimeDep, caller: CallerDep) -> DebugAnswer:
    """Run the code, report the real error and line, explain it, hint, and offer a fix (verified or suggested)."""
    return await service.analyze(
        runtime,
        code=body.code,
        error_message=body.error_message,
        question=body.question,
        stdin=body.stdin,
        student_id=acting_student(caller, body.student_id),
        expected_output=body.expected_output,
        exercise_id=body.exercise_id,
    )
