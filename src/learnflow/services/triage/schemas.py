"""Triage API models."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from learnflow.services.limits import (
    ID_PATTERN,
    MAX_CODE_CHARS,
    MAX_ERROR_CHARS,
    MAX_ID_CHARS,
    MAX_QUERY_CHARS,
    MAX_STDIN_CHARS,
)
from learnflow.services.timestamps import UtcDateTime
from learnflow.specialists import Specialist


class TriageCreate(BaseModel):
    """A question for the tutor: at least one of `query`, `code` and `error_message` must hold non-blank text."""

    # The cross-field rule, stated in the schema too, so generated clients and property tests know it.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": [name], "properties": {name: {"type": "string", "pattern": r"\S"}}}
                for name in ("query", "code", "error_message")
            ],
            "examples": [
                {"student_id": "student-42", "session_id": "session-1", "query": "How do for loops work?"},
                {
                    "student_id": "student-42",
                    "session_id": "session-1",
                    "code": "total = 0\nfor n in range(3):\n    total += n\nprint(totl)",
                    "error_message": "NameError: name 'totl' is not defined",
                },
            ],
        }
    )

    student_id: str = Field(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN, examples=["student-42"])
    session_id: str = Field(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN, examples=["session-1"])
    query: str = Field(default="", max_length=MAX_QUERY_CHARS, examples=["Can you explain how Python loops work?"])
    code: str | None = Field(default=None, max_length=MAX_CODE_CHARS, examples=["print(x)"])
    error_message: str | None = Field(
        default=None, max_length=MAX_ERROR_CHARS, examples=["NameError: name 'x' is not defined"]
    )
    stdin: str | None = Field(default=None, max_length=MAX_STDIN_CHARS, description="Input for the attached code.")
    expected_output: str | None = Field(
        default=None, max_length=MAX_STDIN_CHARS, description="What the code should print; debug compares."
    )
    exercise_id: str | None = Field(
        default=None, max_length=MAX_ID_CHARS, pattern=ID_PATTERN, description="The exercise this is about."
    )

    @model_validator(mode="after")
    def _something_to_answer(self) -> TriageCreate:
        if not self.query.strip() and not (self.code or "").strip() and not (self.error_message or "").strip():
            raise ValueError("query must not be empty unless code or error_message is given")
        return self


# One real answer, reused by every model and route that carries it, so the examples agree with each other.
CONCEPT_RESPONSE_EXAMPLE: dict[str, Any] = {
    "agent": "concepts",
    "kind": "answer",
    "content": "## For Loops\n\nA **for loop** repeats some code once for every item in a collection. Each time "
    'round, the loop variable holds the next item.\n\n```python\nfor fruit in ["apple", "banana"]:\n'
    '    print("I like", fruit)\n```\n\nOutput:\n\n```\nI like apple\nI like banana\n```',
    "data": {
        "topic": "for-loops",
        "title": "For Loops",
        "code_example": 'for fruit in ["apple", "banana"]:\n    print("I like", fruit)\n',
        "example_output": "I like apple\nI like banana\n",
        "key_points": ["`for item in collection:` runs the body once per item."],
        "answer_kind": "topic",
        "source": "offline",
    },
    "source": "offline",
    "query_id": "f0d9c705-eeb0-4d95-9134-674927903cbb",
    "created_at": "2026-01-31T09:15:02.883546Z",
}


class ResponseRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CONCEPT_RESPONSE_EXAMPLE]})

    agent: str = Field(examples=["concepts"])
    kind: Literal["ack", "answer", "error"]
    content: str = Field(description="Markdown for a person.")
    data: dict[str, Any] = Field(description="The agent's structured answer.")
    source: str = Field(description="`offline`, `llm` or `offline-fallback`.")
    query_id: str
    created_at: UtcDateTime


class TriageRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {  # with `wait`: routed to the concepts tutor, answered within the wait
                    "query_id": "f0d9c705-eeb0-4d95-9134-674927903cbb",
                    "student_id": "student-42",
                    "session_id": "session-1",
                    "routed_to": "concepts",
                    "confidence": 0.999,
                    "status": "answered",
                    "timestamp": "2026-01-31T09:15:02.123456Z",
                    "topic": "for-loops",
                    "response": CONCEPT_RESPONSE_EXAMPLE,
                },
                {  # without `wait`: routed, the answer follows on the session's stream
                    "query_id": "0fca55d8-410e-41c6-b252-2fe7fd7a24e2",
                    "student_id": "student-42",
                    "session_id": "session-1",
                    "routed_to": "exercise",
                    "confidence": 1.0,
                    "status": "pending",
                    "timestamp": "2026-01-31T09:16:40.501223Z",
                    "topic": "lists",
                },
            ]
        }
    )

    query_id: str
    student_id: str
    session_id: str
    routed_to: Specialist
    confidence: float
    status: Literal["pending", "answered", "failed"]
    timestamp: UtcDateTime
    topic: str | None = None
    response: ResponseRead | None = Field(
        default=None, description="Present when `wait` was given and the answer came."
    )


class QueryRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "query_id": "f0d9c705-eeb0-4d95-9134-674927903cbb",
                    "routed_to": "concepts",
                    "status": "answered",
                    "response": CONCEPT_RESPONSE_EXAMPLE,
                },
                {"query_id": "0fca55d8-410e-41c6-b252-2fe7fd7a24e2", "routed_to": "exercise", "status": "pending"},
            ]
        }
    )

    query_id: str
    routed_to: Specialist
    status: Literal["pending", "answered", "failed"]
    response: ResponseRead | None = None


class StudentQueryRead(BaseModel):
    """A question the student asked, as their teachers read it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "query_id": "f0d9c705-eeb0-4d95-9134-674927903cbb",
                    "query": "What is the difference between a list and a tuple?",
                    "routed_to": "concepts",
                    "topic": "lists",
                    "status": "answered",
                    "created_at": "2026-01-31T09:10:02.511032Z",
                    "answer_agent": "concepts",
                    "answer_kind": "answer",
                }
            ]
        }
    )

    query_id: str
    query: str
    routed_to: Specialist
    topic: str | None
    status: Literal["pending", "answered", "failed"]
    created_at: UtcDateTime
    answer_agent: str | None = Field(default=None, description="The agent that answered; null until answered.")
    answer_kind: Literal["answer", "error"] | None = Field(default=None, description="Null until answered.")
