"""Code execution HTTP API and event handler."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from learnflow.bus import Outcome
from learnflow.events import CloudEvent, CodeExecutionRequest, CodeExecutionResult, Topic
from learnflow.runtime import Runtime, derived_id
from learnflow.sandbox import ExecutionResult, owner_scope
from learnflow.services.common import ERROR_RESPONSES, RuntimeDep
from learnflow.services.limits import ID_PATTERN, MAX_CODE_CHARS, MAX_ID_CHARS, MAX_STDIN_CHARS
from learnflow.services.struggle import record_run
from learnflow.tutor.debug import parse_traceback

router = APIRouter(prefix="/api", tags=["execution"], responses=ERROR_RESPONSES)


class ExecuteRequest(BaseModel):
    code: str = Field(min_length=1, max_length=MAX_CODE_CHARS, pattern=r"\S", examples=["print(1 + 1)"])
    stdin: str = Field(default="", max_length=MAX_STDIN_CHARS)
    timeout_s: float | None = Field(
        default=None,
        gt=0,
        le=60,
        description="Wall-clock limit in seconds; the server caps it at its maximum.",
    )
    student_id: str | None = Field(
        default=None, max_length=MAX_ID_CHARS, pattern=ID_PATTERN, description="Counts towards struggle detection."
    )
    memory_mb: int | None = Field(
        default=None, ge=16, le=4096, description="Memory for the program in MB; the server caps it at its maximum."
    )


@router.post("/execute", response_model=ExecutionResult)
async def execute(body: ExecuteRequest, runtime: RuntimeDep, request: Request) -> ExecutionResult:
    """Run a program in the sandbox and return what it printed and how it ended."""
    # Without a student id, runs queue by the client's address: one client cannot crowd out others.
    owner = body.student_id or (f"client:{request.client.host}" if request.client else None)
    with owner_scope(owner):
        result = await runtime.sandbox.run(
            body.code, stdin=body.stdin, timeout_s=body.timeout_s, memory_mb=body.memory_mb
        )
    if body.student_id:
        await record(runtime, body.student_id, result)
    return result


async def record(rt: Runtime, student_id: str, result: ExecutionResult) -> None:
    """Count a student's run towards struggle detection (failed runs, the same error again and again)."""
    parsed = parse_traceback(result.stderr) if result.exit_code not in (0, None) else None
    await record_run(rt, student_id=student_id, ok=result.ok, error_type=parsed.error_type if parsed else None)


async def on_request(rt: Runtime, event: CloudEvent[CodeExecutionRequest]) -> Outcome:
    req = event.data
    with owner_scope(req.student_id):
        result = await rt.sandbox.run(req.code, stdin=req.stdin, timeout_s=req.timeout_s, memory_mb=req.memory_mb)
    if req.student_id:
        await record(rt, req.student_id, result)
    payload = CodeExecutionResult(request_id=req.request_id, student_id=req.student_id, **result.model_dump())
    await rt.publish(
        Topic.CODE_EXECUTION_RESULT, payload, subject=req.student_id, event_id=derived_id(event.id, "result")
    )
    return Outcome.DONE
