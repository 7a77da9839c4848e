"""One pydantic model per event payload. These types are the contract; docs are generated from them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from learnflow.events.topics import Topic
from learnflow.specialists import Specialist

Agent = Specialist
Source = Literal["offline", "llm", "offline-fallback"]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LearningQuery(_Payload):
    """A student's question, routed by triage to one specialist."""

    query_id: str = Field(description="Unique id of the query.", examples=["3f2c…"])
    student_id: str = Field(description="Who asked.", examples=["student-42"])
    session_id: str = Field(description="Conversation the query belongs to.", examples=["session-1"])
    query: str = Field(description="The student's words (may be empty when code is given).")
    code: str | None = Field(default=None, description="Code the student attached.")
    error_message: str | None = Field(default=None, description="Error text the student attached.")
    routed_to: Agent = Field(description="Specialist that must answer.", examples=["concepts"])
    confidence: float = Field(ge=0, le=1, description="Triage's confidence in the route.", examples=[0.9])
    topic: str | None = Field(default=None, description="Curriculum topic triage recognised, if any.")
    stdin: str | None = Field(default=None, description="Input to feed the attached code when it is run.")
    expected_output: str | None = Field(
        default=None, description="What the student expected the code to print; debug compares it with the real run."
    )
    exercise_id: str | None = Field(default=None, description="The exercise the question is about, if any.")


class LearningResponse(_Payload):
    """An acknowledgement or an answer to a query, for the student's session."""

    query_id: str = Field(description="The query this answers.")
    student_id: str
    session_id: str
    agent: Specialist | Literal["triage"] = Field(description="Who wrote it.")
    kind: Literal["ack", "answer", "error"] = Field(
        description="`ack`: triage received and routed the query; `answer`: the specialist's answer; "
        "`error`: the specialist could not answer."
    )
    content: str = Field(description="Markdown for a person.")
    data: dict[str, Any] = Field(default_factory=dict, description="The agent's structured answer.")
    source: Source = Field(
        default="offline", description="offline engine, an LLM, or the offline engine after an LLM failed."
    )


class CodeExecutionRequest(_Payload):
    """Run a program in the sandbox."""

    request_id: str = Field(description="Correlates the result with the request.")
    student_id: str | None = None
    code: str = Field(min_length=1)
    stdin: str = ""
    timeout_s: float | None = Field(default=None, gt=0, description="Wall-clock limit; server maxima apply.")
    memory_mb: int | None = Field(default=None, ge=16, description="Memory for the program; server maxima apply.")


class CodeExecutionResult(_Payload):
    """What a sandboxed run produced."""

    request_id: str
    student_id: str | None = None
    stdout: str
    stderr: str
    exit_code: int | None
    timed_out: bool
    memory_exceeded: bool
    output_truncated: bool
    duration_ms: float


class ExerciseAssigned(_Payload):
    """An exercise was handed to a student."""

    exercise_id: str
    student_id: str
    topic: str
    difficulty: Literal["beginner", "intermediate", "advanced"]
    assigned_at: datetime


class ExerciseSubmitted(_Payload):
    """A student submitted code for an exercise."""

    submission_id: str
    exercise_id: str
    student_id: str
    code: str = Field(min_length=1)


class TestOutcome(_Payload):
    __test__ = False  # not a pytest test class

    name: str
    passed: bool
    message: str = ""


class ExerciseGraded(_Payload):
    """The result of grading a submission."""

    submission_id: str
    exercise_id: str
    student_id: str
    topic: str
    passed: bool
    score: float = Field(ge=0, le=1, description="Share of tests passed.")
    tests: list[TestOutcome]
    feedback: str
    quality: float | None = Field(
        default=None, ge=0, le=1, description="Code quality from ruff (1.0 minus 0.1 per finding); None if unparsable."
    )


class StruggleReason(StrEnum):
    """Why a student seems stuck: each has one detector in ``learnflow.services.struggle``."""

    ASKED_FOR_HELP = "asked_for_help"
    REPEATED_ERROR = "repeated_error"
    FAILED_RUNS = "failed_runs"
    FAILED_SUBMISSIONS = "failed_submissions"
    STUCK_ON_EXERCISE = "stuck_on_exercise"
    LOW_QUIZ = "low_quiz"


class StruggleDetected(_Payload):
    """A student seems stuck; teachers are alerted."""

    alert_id: str
    student_id: str
    topic: str | None = Field(
        default=None,
        description="The curriculum topic the student struggles with, only when it is known (named in the "
        "message or the session's last topic); null otherwise, never guessed.",
        examples=["for-loops", None],
    )
    reason: StruggleReason = Field(examples=["asked_for_help"])
    details: str = Field(description="What was seen, for the teacher.")


class ProgressUpdated(_Payload):
    """A student's mastery of a topic changed."""

    student_id: str
    topic: str
    mastery: float = Field(ge=0, le=100)
    level: Literal["Beginner", "Learning", "Proficient", "Mastered"]
    overall: float = Field(ge=0, le=100)


PAYLOADS: dict[Topic, type[BaseModel]] = {
    Topic.LEARNING_QUERY: LearningQuery,
    Topic.LEARNING_RESPONSE: LearningResponse,
    Topic.CODE_EXECUTION_REQUEST: CodeExecutionRequest,
    Topic.CODE_EXECUTION_RESULT: CodeExecutionResult,
    Topic.EXERCISE_ASSIGNED: ExerciseAssigned,
    Topic.EXERCISE_SUBMITTED: ExerciseSubmitted,
    Topic.EXERCISE_GRADED: ExerciseGraded,
    Topic.STRUGGLE_DETECTED: StruggleDetected,
    Topic.PROGRESS_UPDATED: ProgressUpdated,
}
