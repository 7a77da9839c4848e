"""Answers the specialists give; also the structured-output schemas the LLM fills in."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from learnflow.events.payloads import Source


class ConceptAnswer(BaseModel):
    topic: str | None = Field(description="Curriculum topic id, or null when none matched.", examples=["for-loops"])
    title: str
    explanation: str = Field(description="Markdown explanation at the student's level.")
    code_example: str = Field(description="A complete program that runs.")
    example_output: str = Field(description="What the program prints, from really running it.")
    example_stdin: str = Field(default="", description="The input the example reads, as typed; empty when none.")
    key_points: list[str] = Field(default_factory=list)
    common_mistakes: list[str] = Field(default_factory=list)
    related_topics: list[str] = Field(default_factory=list)
    level: Literal["beginner", "intermediate"] = "beginner"
    source: Source = "offline"
    note_id: str | None = Field(default=None, description="The knowledge-base note the answer comes from, if any.")
    answer_kind: Literal["note", "docs", "topic", "closest", "overview", "off-topic", "clarify", "code"] = Field(
        default="topic",
        description="Where the answer comes from: a specific note, Python's own documentation, a topic page, the "
        "closest note when nothing fits well, the overview of topics, the off-topic redirect, a question back to a "
        "student who is stuck without saying on what, or the student's code.",
    )


class DebugAnswer(BaseModel):
    error_type: str | None = Field(description="Exception class, or null when the program raised none.")
    line: int | None = Field(description="Line of the student's code where it was raised.")
    message: str | None = Field(description="Python's own error message.")
    explanation: str = Field(description="What went wrong, for a beginner, specific to this case.")
    hints: list[str] = Field(description="Progressive hints, gentlest first.")
    corrected_code: str | None = Field(
        description="A corrected program that was run here without failing; see fix_kind for how far it was checked."
    )
    fix_verified: bool = Field(
        description="True only when corrected_code was run and matched what we know the program must do: the "
        "expected output (or the exercise's tests). A fix that merely runs is a suggestion."
    )
    fix_kind: Literal["verified", "suggestion"] | None = Field(
        default=None,
        description="How corrected_code was checked: 'verified' when it prints the expected output (or passes "
        "the exercise's tests); 'suggestion' when there was nothing to check it against, so it only runs without "
        "the error and was chosen among rewrites that keep the program's meaning; null when there is no fix.",
    )
    output: str | None = Field(default=None, description="What the program printed when it was run.")
    run_status: Literal["passed", "raised", "stopped", "not_run"] = Field(
        default="not_run", description="How the student's program ended when it was run here."
    )
    exercise_id: str | None = Field(
        default=None, description="The exercise this code was recognised as an attempt at (no fix is given then)."
    )
    source: Source = "offline"


class LLMConceptText(BaseModel):
    """What the LLM may contribute to a concept answer; code is verified before use."""

    explanation: str
    code_example: str
    key_points: list[str]


class LLMDebugText(BaseModel):
    """What the LLM may contribute to a debug answer; a fix is verified before use."""

    explanation: str
    hints: list[str]
    corrected_code: str | None = None


class LLMExercise(BaseModel):
    """An exercise the LLM proposes; accepted only after the sandbox checks its solution and starter."""

    title: str
    description: str
    starter_code: str
    solution: str
    tests: str = Field(description="pytest-style test_* functions that `from solution import ...`.")
    hints: list[str]
