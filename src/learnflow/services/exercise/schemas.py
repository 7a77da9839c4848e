"""Exercise API models."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema, model_validator

from learnflow.events.payloads import TestOutcome
from learnflow.sandbox.grading import IOCase
from learnflow.services.limits import ID_PATTERN, MAX_CODE_CHARS, MAX_ID_CHARS
from learnflow.services.timestamps import UtcDateTime

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
    author: Literal["curriculum", "teacher", "llm"] = Field(
        default="curriculum", description="Who wrote it; LLM exercises were checked in the sandbox first."
    )


class ExerciseCreated(ExerciseRead):
    """A teacher's exercise as stored, with warnings about its tests."""

    warnings: list[str] = Field(
        default_factory=list,
        description="Changed versions of the solution that pass every test: cases the tests do not check yet.",
    )


class ExerciseCreate(BaseModel):
    """A teacher's exercise: it needs `tests` (non-blank pytest code) or `io_tests` (at least one case)."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["tests"], "properties": {"tests": {"type": "string", "pattern": r"\S"}}},
                {"required": ["io_tests"], "properties": {"io_tests": {"type": "array", "minItems": 1}}},
            ],
            "examples": [
                {
                    "title": "Sum of a list",
                    "topic": "return-values",
                    "difficulty": "beginner",
                    "description": "Write total(numbers) that returns the sum of the numbers.",
                    "starter_code": "def total(numbers):\n    pass\n",
                    "solution": "def total(numbers):\n    result = 0\n    for n in numbers:\n        result += n\n"
                    "    return result\n",
                    "tests": "def test_total():\n    assert total([1, 2, 3]) == 6\n    assert total([]) == 0\n",
                    "hints": ["Start from 0 and add each number."],
                }
            ],
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"student_id": "student-42", "topic": "for-loops", "difficulty": "beginner"}]}
    )

    student_id: str = Field(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)
    topic: str | None = Field(default=None, max_length=64)
    difficulty: Difficulty | None = None


class SubmissionCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"student_id": "student-42", "code": "def total(numbers):\n    return sum(numbers)\n"}]
        }
    )

    student_id: str = Field(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)
    code: str = Field(min_length=1, max_length=MAX_CODE_CHARS, pattern=r"\S")


class QualityFinding(BaseModel):
    code: str = Field(description="The ruff rule, e.g. F841.")
    line: int
    message: str


class CodeQuality(BaseModel):
    """ruff's analysis of the submission: 1.0 minus 0.1 per finding."""

    score: float = Field(ge=0, le=1)
    findings: list[QualityFinding]


class SubmissionRead(BaseModel):
    submission_id: str
    exercise_id: str
    passed: bool
    score: float
    tests: list[TestOutcome]
    feedback: str
    quality: CodeQuality | None = Field(description="None when the code does not parse.")


class TopicProgress(BaseModel):
    topic: str
    mastery: float
    level: Literal["Beginner", "Learning", "Proficient", "Mastered"]
    completion: float = Field(description="Share of the completion target (3 passed exercises), 0-1; weight 40%.")
    quiz: float = Field(description="Best quiz score, 0-1; weight 30%.")
    quality: float = Field(description="Mean ruff quality of passed solutions, 0-1; weight 20%.")
    consistency: float = Field(description="Current run of successes, up to 3, as 0-1; weight 10%.")


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
    created_at: UtcDateTime


class QuizQuestionRead(BaseModel):
    """A question as the student sees it: never the answer."""

    question_id: str
    kind: Literal["choice", "output"] = Field(
        description="'choice': answer with the choice's index or text; 'output': answer with what the program prints."
    )
    prompt: str
    code: str
    choices: list[str]


class QuizInfo(BaseModel):
    topic: str
    title: str
    pool_size: int = Field(description="Questions in the topic's pool.")
    questions_per_attempt: int


class QuizRead(BaseModel):
    """An open attempt: the questions drawn for it, to answer once."""

    attempt_id: str
    topic: str
    title: str
    questions: list[QuizQuestionRead]


class QuizStart(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"student_id": "student-42"}]})

    student_id: str = Field(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)


def _quiz_answer(value: object) -> int | str:
    # Strict, and one error per answer: JSON `true` is not choice 1, and "1" is an answer's text, not an index.
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("an answer is a choice index (integer) or text")
    if isinstance(value, str) and len(value) > MAX_ANSWER_CHARS:
        raise ValueError(f"an answer may be at most {MAX_ANSWER_CHARS} characters")
    return value


MAX_ANSWER_CHARS = 10_000
QuizAnswer = Annotated[
    int | str,
    PlainValidator(_quiz_answer),
    WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": MAX_ANSWER_CHARS}]}),
]


class QuizAnswers(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"answers": {"lists-q1": 2, "lists-q2": "[1, 2, 3]"}}]})

    answers: dict[str, QuizAnswer] = Field(
        max_length=50,
        description="Question id -> choice index (or the choice's text), or the predicted output.",
        examples=[{"variables-q1": 1, "variables-q2": "7 5"}],
    )


class QuizResult(BaseModel):
    question_id: str
    answered: bool
    given: int | str | None = None
    correct: bool
    expected: str
    explanation: str


class QuizAttemptRead(BaseModel):
    attempt_id: str
    topic: str
    score: float = Field(ge=0, le=1)
    correct: int
    total: int
    results: list[QuizResult]
    mastery: float
    level: Literal["Beginner", "Learning", "Proficient", "Mastered"]
    struggle_detected: bool = Field(description="True when the score was under 50% and teachers were alerted.")
