"""Answers the specialists give; also the structured-output schemas the LLM fills in."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from learnflow.events.payloads import Source


class ConceptAnswer(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "topic": "for-loops",
                    "title": "For Loops",
                    "explanation": "A **for loop** repeats some code once for every item in a collection. Each time "
                    "round, the loop variable holds the next item.\n\nTo repeat something a fixed number of times, "
                    "loop over `range()`: `range(5)` gives 0, 1, 2, 3, 4 (it **stops before** 5).",
                    "code_example": 'pets = ["cat", "dog"]\nfor pet in pets:\n    print("I have a", pet)\n\n'
                    'for n in range(1, 4):\n    print(n, "squared is", n * n)\n',
                    "example_output": "I have a cat\nI have a dog\n1 squared is 1\n2 squared is 4\n3 squared is 9\n",
                    "example_stdin": "",
                    "key_points": [
                        "`for item in collection:` runs the body once per item.",
                        "`range(start, stop)` produces numbers; stop is excluded.",
                    ],
                    "common_mistakes": ["Expecting `range(1, 10)` to include 10. Fix: the stop value is excluded."],
                    "related_topics": ["while-loops", "lists"],
                    "level": "beginner",
                    "source": "offline",
                    "note_id": None,
                    "answer_kind": "topic",
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {  # a misspelt name; the fix printed the expected output, so it is verified
                    "error_type": "NameError",
                    "line": 4,
                    "message": "name 'totl' is not defined. Did you mean: 'total'?",
                    "explanation": "Your program stopped with a **NameError** on line 4: Python does not know any "
                    "variable called `totl` at that point. Names that do exist and look similar: `total`.",
                    "hints": [
                        "Check the spelling of `totl`: did you mean `total`?",
                        "Names exist only after they are created, spelled exactly the same.",
                    ],
                    "corrected_code": "total = 0\nfor n in range(3):\n    total += n\nprint(total)\n",
                    "fix_verified": True,
                    "fix_kind": "verified",
                    "output": "",
                    "run_status": "raised",
                    "exercise_id": None,
                    "source": "offline",
                }
            ]
        }
    )

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
