"""Schema of the curriculum data files (topics, exercises, error explanations).

Content is data: every YAML file under ``curriculum/data`` is validated against these models when
it is loaded, and the test suite executes every example and every reference solution.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Difficulty(StrEnum):
    beginner = "beginner"
    intermediate = "intermediate"
    advanced = "advanced"


class Level(StrEnum):
    beginner = "beginner"
    intermediate = "intermediate"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Example(_Strict):
    title: str = Field(min_length=3)
    code: str = Field(min_length=1, description="A complete program using only the standard library.")
    stdin: str = Field(default="", description="Standard input fed to the program.")
    output: str = Field(description="Exact standard output of the program when run with `stdin`.")


class Explanations(_Strict):
    beginner: str = Field(min_length=80)
    intermediate: str = Field(min_length=80)


class Topic(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str
    summary: str = Field(min_length=10)
    keywords: list[str] = Field(min_length=3, description="Words and phrases a student might use.")
    explanation: Explanations
    key_points: list[str] = Field(min_length=3)
    common_mistakes: list[str] = Field(min_length=2)
    related_topics: list[str] = Field(min_length=1)
    examples: list[Example] = Field(min_length=2)


class Module(_Strict):
    module: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str
    order: int
    topics: list[Topic] = Field(min_length=1)


class IOTest(_Strict):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_ -]*$")
    stdin: str = ""
    expected_stdout: str


class Exercise(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str
    topic: str
    difficulty: Difficulty
    description: str = Field(min_length=20)
    starter_code: str
    solution: str
    hints: list[str] = Field(min_length=2)
    visible_tests: str = Field(default="", description="pytest-style test_* functions shown to the student.")
    hidden_tests: str = Field(default="", description="pytest-style test_* functions never shown.")
    io_tests: list[IOTest] = Field(default_factory=list)

    @field_validator("io_tests")
    @classmethod
    def _unique_names(cls, value: list[IOTest]) -> list[IOTest]:
        names = [t.name for t in value]
        if len(names) != len(set(names)):
            raise ValueError("io_tests names must be unique")
        return value


class ExerciseFile(_Strict):
    exercises: list[Exercise] = Field(min_length=1)


class ErrorExplanation(_Strict):
    error_type: str = Field(description="Exception class name, e.g. NameError.")
    title: str
    explanation: str = Field(min_length=40, description="Beginner-level explanation of what it means.")
    common_causes: list[str] = Field(min_length=1)
    hints: list[str] = Field(min_length=3, max_length=3, description="Progressive: nudge, pointer, near-fix.")
    example_code: str = Field(description="A short program that raises this error.")
    fixed_code: str = Field(description="The same program corrected; it runs without error.")


class ErrorFile(_Strict):
    errors: list[ErrorExplanation] = Field(min_length=1)


class QuizQuestion(_Strict):
    """One quiz question: pick a choice, or predict what a program prints.

    ``output`` questions are graded on the exact printed text (trailing whitespace ignored) and the
    test suite runs every ``code`` to prove ``output`` is what Python really prints.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    kind: Literal["choice", "output"]
    prompt: str = Field(min_length=10)
    code: str = Field(default="", description="A program shown with the question (required for 'output').")
    choices: list[str] = Field(default_factory=list, description="Options for 'choice' questions.")
    answer: int | None = Field(default=None, description="Index into `choices` of the right option.")
    output: str | None = Field(default=None, description="Exact stdout of `code` for 'output' questions.")
    explanation: str = Field(min_length=20, description="Why the answer is right; shown after answering.")

    @model_validator(mode="after")
    def _consistent(self) -> QuizQuestion:
        if self.kind == "choice":
            if len(self.choices) < 3 or len(set(self.choices)) != len(self.choices):
                raise ValueError(f"{self.id}: a choice question needs at least 3 distinct choices")
            if self.answer is None or not 0 <= self.answer < len(self.choices):
                raise ValueError(f"{self.id}: answer must index one of the choices")
            if self.output is not None:
                raise ValueError(f"{self.id}: a choice question has no output")
        else:
            if not self.code.strip() or self.output is None:
                raise ValueError(f"{self.id}: an output question needs code and its output")
            if self.choices or self.answer is not None:
                raise ValueError(f"{self.id}: an output question has no choices")
        return self


class TopicQuiz(_Strict):
    topic: str
    questions: list[QuizQuestion] = Field(min_length=4)


class QuizFile(_Strict):
    quizzes: list[TopicQuiz] = Field(min_length=1)
