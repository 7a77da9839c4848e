"""Exercise API models."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from learnflow.events.payloads import TestOutcome
from learnflow.sandbox.grading import IOCase
from learnflow.services.limits import ID_PATTERN, MAX_CODE_CHARS, MAX_ID_CHARS

Difficulty = Literal["beginner", "intermediate", "advanced"]


class ExerciseRead(BaseModel):
    """An exercise as students see it: never the solution or the hidden tests."""

    exercise_id: str
    title: str
    topic: str
    difficulty: Difficulty
    description: str
    starter_code: str
    visible_tests: str
    hints: list[str]


class ExerciseCreate(BaseModel):
    title: str = Field(min_length=3, max_length=200)
    topic: str = Field(min_length=1, max_length=64, examples=["for-loops"])
    difficulty: Difficulty
    description: str = Field(min_length=10, max_length=20_000)
    starter_code: str = Field(max_length=MAX_CODE_CHARS)
    solution: str = Field(min_length=1, max_length=MAX_CODE_CHARS)
    tests: str | None = Field(default=None, max_length=MAX_CODE_CHARS, description="pytest-style test_* functions.")
    io_tests: list[IOCase] | None = Field(default=None, max_length=50)
    hints: list[str] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _has_tests(self) -> ExerciseCreate:
        if not (self.tests or "").strip() and not self.io_tests:
            raise ValueError("give `tests` or `io_tests`")
        return self


class GenerateRequest(BaseModel):
    student_id: str = Field(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)
    topic: str | None = Field(default=None, max_length=64)
    difficulty: Difficulty | None = None


class SubmissionCreate(BaseModel):
    student_id: str = Field(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)
    code: str = Field(min_length=1, max_length=MAX_CODE_CHARS, pattern=r"\S")


class SubmissionRead(BaseModel):
    submission_id: str
    exercise_id: str
    passed: bool
    score: float
    tests: list[TestOutcome]
    feedback: str


class TopicProgress(BaseModel):
    topic: str
    mastery: float
    level: Literal["Beginner", "Learning", "Proficient", "Mastered"]


class ProgressRead(BaseModel):
    student_id: str
    overall: float
    topics: list[TopicProgress]


class AlertRead(BaseModel):
    alert_id: str
    student_id: str
    topic: str | None
    reason: str
    details: str
    resolved: bool
    created_at: datetime
