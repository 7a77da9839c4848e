"""Code execution HTTP API and event handler."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from learnflow.auth.access import EVERYONE, CallerDep, acting_student, allow, check_own
from learnflow.bus import Outcome
from learnflow.curriculum.models import IOTest
from learnflow.errors import Unprocessable
from learnflow.events import CloudEvent, CodeExecutionRequest, CodeExecutionResult, Topic
from learnflow.runtime import Runtime, derived_id
from learnflow.sandbox import MAIN, ExecutionResult, SandboxUnavailable, owner_scope
from learnflow.sandbox.grading import GradeReport
from learnflow.services.common import ERROR_RESPONSES, RuntimeDep
from learnflow.services.limits import ID_PATTERN, MAX_CODE_CHARS, MAX_ID_CHARS, MAX_STDIN_CHARS, MAX_TESTS_CHARS
from learnflow.services.struggle import record_run
from learnflow.tutor.debug import parse_traceback

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["execution"], responses=ERROR_RESPONSES)
FILE_NAME = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$"
MAX_FILES = 8
FileName = Annotated[str, StringConstraints(pattern=FILE_NAME)]
FileText = Annotated[str, Field(max_length=MAX_CODE_CHARS)]


class ExecuteRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"code": 'name = input()\nprint(f"Hello, {name}!")\n', "stdin": "Ada\n", "timeout_s": 5}]
        }
    )

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
    files: dict[FileName, FileText] = Field(
        default_factory=dict, max_length=MAX_FILES, description="Files beside main.py, by name."
    )
    queue_as: str | None = Field(
        default=None,
        max_length=MAX_ID_CHARS,
        pattern=ID_PATTERN,
        description="Whose queue the run joins (the student a service runs code for); no struggle counting.",
    )


class GradeRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "def double(n):\n    return 2 * n\n",
                    "tests": "from solution import double\n\n\ndef test_double():\n    assert double(3) == 6\n",
                }
            ]
        }
    )

    code: str = Field(max_length=MAX_CODE_CHARS)
    tests: str = Field(default="", max_length=MAX_TESTS_CHARS)
    hidden_tests: str = Field(default="", max_length=MAX_TESTS_CHARS)
    io_tests: list[IOTest] = Field(default_factory=list, max_length=100)
    queue_as: str | None = Field(default=None, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)


def _owner(request: Request, *ids: str | None) -> str | None:
    # Without a student id, runs queue by the client's address: one client cannot crowd out others.
    return next((i for i in ids if i), None) or (f"client:{request.client.host}" if request.client else None)


@router.post("/execute", response_model=ExecutionResult, dependencies=[allow(*EVERYONE)])
async def execute(body: ExecuteRequest, runtime: RuntimeDep, request: Request, caller: CallerDep) -> ExecutionResult:
    """Run a program in the sandbox and return what it printed and how it ended."""
    if MAIN in body.files:
        raise Unprocessable("files: main.py is the program itself", details=[{"field": "files", "message": MAIN}])
    # A student's runs count as theirs and queue as theirs: they cannot name, or crowd, another's queue.
    student_id = acting_student(caller, body.student_id)
    check_own(caller, body.queue_as or caller.id)
    with owner_scope(_owner(request, body.queue_as, student_id)):
        result = await runtime.sandbox.run(
            body.code, stdin=body.stdin, timeout_s=body.timeout_s, memory_mb=body.memory_mb, files=body.files
        )
    if student_id:
        await record(runtime, student_id, result)
    return result


@router.post("/grade", response_model=GradeReport, dependencies=[allow(*EVERYONE)])
async def grade(body: GradeRequest, runtime: RuntimeDep, request: Request, caller: CallerDep) -> GradeReport:
    """Grade a submission against tests (for the services that must not run code themselves)."""
    check_own(caller, body.queue_as or caller.id)
    with owner_scope(_owner(request, body.queue_as or (caller.id if caller.authenticated else None))):
        return await runtime.grader.grade(
            code=body.code, tests=body.tests, hidden_tests=body.hidden_tests, io_tests=body.io_tests
        )


async def record(rt: Runtime, student_id: str, result: ExecutionResult) -> None:
    """Count a student's run towards struggle detection (failed runs, the same error again and again)."""
    parsed = parse_traceback(result.stderr) if result.exit_code not in (0, None) else None
    await record_run(rt, student_id=student_id, ok=result.ok, error_type=parsed.error_type if parsed else None)


async def on_request(rt: Runtime, event: CloudEvent[CodeExecutionRequest]) -> Outcome:
    req = event.data
    with owner_scope(req.student_id):
        try:
            result = await rt.sandbox.run(req.code, stdin=req.stdin, timeout_s=req.timeout_s, memory_mb=req.memory_mb)
        except SandboxUnavailable as exc:
            # Final, unlike a full queue: no isolation here now means none on the next attempt either.
            log.warning("execution request %s refused: %s", req.request_id, exc.message)
            return Outcome.DROP
    if req.student_id:
        await record(rt, req.student_id, result)
    payload = CodeExecutionResult(request_id=req.request_id, student_id=req.student_id, **result.model_dump())
    await rt.publish(
        Topic.CODE_EXECUTION_RESULT, payload, subject=req.student_id, event_id=derived_id(event.id, "result")
    )
    return Outcome.DONE
