"""Schema of the curriculum data files (topics, exercises, error explanations).

Content is data: every YAML file under ``curriculum/data`` is validated against these models when
it is loaded, and the test suite executes every example and every reference solution.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator


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
