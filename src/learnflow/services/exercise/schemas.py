"""Exercise API models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema, model_validator

from learnflow.events.payloads import TestOutcome
from learnflow.sandbox.grading import IOCase
from learnflow.services.limits import ID_PATTERN, MAX_CODE_CHARS, MAX_ID_CHARS
from learnflow.services.timestamps import UtcDateTime

Difficulty = Literal["beginner", "intermediate", "advanced"]

# Real answers (trimmed), shared by the models and by the routes that return lists of them.
EXERCISE_EXAMPLE: dict[str, Any] = {
    "exercise_id": "for-loops-1-sum-evens",
    "title": "Sum of the even numbers",
    "topic": "for-loops",
    "difficulty": "beginner",
    "description": "Write a function that returns the **sum of all even numbers** in a list of whole numbers.\n"
    "If there are none, return `0`.\n\n```python\nsum_evens([1, 2, 3, 4, 5, 6])   # returns 12\n```\n",
    "starter_code": 'def sum_evens(numbers):\n    """Return the sum of the even numbers in the list `numbers`."""\n'
    "    pass\n",
    "visible_tests": "from solution import sum_evens\n\n\ndef test_mixed_numbers():\n"
    "    assert sum_evens([1, 2, 3, 4, 5, 6]) == 12\n\n\ndef test_no_evens():\n    assert sum_evens([1, 3, 5]) == 0\n",
    "hints": [
        "Look at the numbers one at a time with a `for` loop, and keep a running total.",
        "Create `total = 0` before the loop. A number is even when `n % 2 == 0`.",
    ],
    "author": "curriculum",
}
ALERT_EXAMPLE: dict[str, Any] = {
    "alert_id": "a973444e-3a6a-5efd-8162-b38a8ed51d24",
    "student_id": "student-42",
    "topic": "lists",
    "reason": "low_quiz",
    "details": "Quiz on 'lists': 1/5 correct (20%, under 50%).",
    "resolved": False,
    "created_at": "2026-01-31T09:20:11.058210Z",
    "recent_code": "numbers = [3, 1, 2]\nprint(numbers[3])\n",
}
STUDENT_SUBMISSION_EXAMPLE: dict[str, Any] = {
    "submission_id": "e8ad391c-4d55-421f-91a7-604349aa46e9",
    "exercise_id": "for-loops-1-sum-evens",
    "title": "Sum of the even numbers",
    "passed": False,
    "score": 0.2,
    "tests": [
        {
            "name": "test_mixed_numbers",
            "passed": False,
            "message": "sum_evens([1, 2, 3, 4, 5, 6]) == 12: got 9, expected 12",
        },
        {"name": "test_no_evens", "passed": False, "message": "sum_evens([1, 3, 5]) == 0: got 9, expected 0"},
    ],
    "hidden_passed": 1,
    "hidden_total": 3,
    "code": "def sum_evens(numbers):\n    total = 0\n    for n in numbers:\n        if n % 2:\n"
    "            total += n\n    return total\n",
    "created_at": "2026-01-31T09:12:47.310554Z",
}
HISTORY_EXAMPLE: dict[str, Any] = {
    "student_id": "student-42",
    "points": [
        {"at": "2026-01-31T09:12:47.310554Z", "topic": "for-loops", "mastery": 0.0},
        {"at": "2026-01-31T09:15:02.118020Z", "topic": "for-loops", "mastery": 31.33},
        {"at": "2026-01-31T09:20:11.058210Z", "topic": "lists", "mastery": 6.0},
    ],
}


class ExerciseRead(BaseModel):
    """An exercise as students see it: never the solution or the hidden tests."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXERCISE_EXAMPLE]})

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "exercise_id": "t-df378d5f-09e6-45f8-a9dc-82863bb200f6",
                    "title": "Sum of a list",
                    "topic": "return-values",
                    "difficulty": "beginner",
                    "description": "Write total(numbers) that returns the sum of the numbers.",
                    "starter_code": "def total(numbers):\n    pass\n",
                    "visible_tests": "from solution import total\n\n\ndef test_total():\n"
                    "    assert total([1, 2, 3]) == 6\n",
                    "hints": ["Start from 0 and add each number."],
                    "author": "teacher",
                    "warnings": [],
                }
            ]
        }
    )

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
                    "tests": "from solution import total\n\n\ndef test_total():\n    assert total([1, 2, 3]) == 6\n"
                    "    assert total([]) == 0\n",
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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {  # summed the odd numbers: a visible test fails with both values, hidden ones only say they failed
                    "submission_id": "e8ad391c-4d55-421f-91a7-604349aa46e9",
                    "exercise_id": "for-loops-1-sum-evens",
                    "passed": False,
                    "score": 0.2,
                    "tests": [
                        {
                            "name": "test_mixed_numbers",
                            "passed": False,
                            "message": "sum_evens([1, 2, 3, 4, 5, 6]) == 12: got 9, expected 12",
                        },
                        {
                            "name": "test_no_evens",
                            "passed": False,
                            "message": "sum_evens([1, 3, 5]) == 0: got 9, expected 0",
                        },
                        {"name": "test_empty_list", "passed": True, "message": ""},
                        {
                            "name": "test_negative_evens",
                            "passed": False,
                            "message": "This hidden test failed. Hidden tests check more cases of what the description "
                            "asks for.",
                        },
                        {
                            "name": "test_zero_and_repeats",
                            "passed": False,
                            "message": "This hidden test failed. Hidden tests check more cases of what the description "
                            "asks for.",
                        },
                    ],
                    "feedback": "1 of 5 tests passed. First failing test: test_mixed_numbers: "
                    "sum_evens([1, 2, 3, 4, 5, 6]) == 12: got 9, expected 12",
                    "quality": {
                        "score": 0.9,
                        "findings": [{"code": "F401", "line": 1, "message": "`os` imported but unused"}],
                    },
                }
            ]
        }
    )

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
    # Mastery is the weighted sum of the four parts, as a percentage (40*0.3333 + 30*0.8 + 20*0.8 + 10*0.6667 = 60);
    # overall is the mean over all 31 curriculum topics, unseen ones counting 0.
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "student_id": "student-42",
                    "overall": 3.14,
                    "topics": [
                        {
                            "topic": "for-loops",
                            "mastery": 60.0,
                            "level": "Learning",
                            "completion": 0.3333,
                            "quiz": 0.8,
                            "quality": 0.8,
                            "consistency": 0.6667,
                        },
                        {
                            "topic": "lists",
                            "mastery": 37.33,
                            "level": "Beginner",
                            "completion": 0.3333,
                            "quiz": 0.2,
                            "quality": 0.9,
                            "consistency": 0.0,
                        },
                    ],
                }
            ]
        }
    )

    student_id: str
    overall: float
    topics: list[TopicProgress]


class AlertRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ALERT_EXAMPLE]})

    alert_id: str
    student_id: str
    topic: str | None
    reason: str
    details: str
    resolved: bool
    created_at: UtcDateTime
    recent_code: str | None = Field(
        default=None,
        description="The code the student last submitted before the alert (on its topic), truncated; null if none.",
    )


class StudentSubmissionRead(BaseModel):
    """A graded submission as the student's teachers read it: hidden tests only as a count."""

    model_config = ConfigDict(json_schema_extra={"examples": [STUDENT_SUBMISSION_EXAMPLE]})

    submission_id: str
    exercise_id: str
    title: str
    passed: bool
    score: float
    tests: list[TestOutcome] = Field(description="The visible tests' results.")
    hidden_passed: int = Field(description="Hidden tests passed.")
    hidden_total: int = Field(description="Hidden tests run.")
    code: str
    created_at: UtcDateTime


class HistoryPoint(BaseModel):
    at: UtcDateTime
    topic: str
    mastery: float = Field(description="The topic's mastery (0-100) right after this graded submission or quiz.")


class ProgressHistoryRead(BaseModel):
    """Mastery over time, oldest first: one point per graded submission or quiz."""

    model_config = ConfigDict(json_schema_extra={"examples": [HISTORY_EXAMPLE]})

    student_id: str
    points: list[HistoryPoint]


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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"topic": "lists", "title": "Lists", "pool_size": 10, "questions_per_attempt": 5}]
        }
    )

    topic: str
    title: str
    pool_size: int = Field(description="Questions in the topic's pool.")
    questions_per_attempt: int


class QuizRead(BaseModel):
    """An open attempt: the questions drawn for it, to answer once."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "attempt_id": "3ef1e1ef-69d9-43e6-93c3-29101c3d2ae1",
                    "topic": "lists",
                    "title": "Lists",
                    "questions": [
                        {
                            "question_id": "lists-q1",
                            "kind": "choice",
                            "prompt": "Given items = [10, 20, 30], which expression gives the last item?",
                            "code": "",
                            "choices": ["items[3]", "items[len(items)]", "items[-0]", "items[-1]"],
                        },
                        {
                            "question_id": "lists-q4",
                            "kind": "output",
                            "prompt": "What does this program print?",
                            "code": "a = [1, 2]\nb = a\nc = a.copy()\nb.append(3)\nprint(a)\nprint(c)\n",
                            "choices": [],
                        },
                    ],
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {  # under 50%: graded, and teachers get an alert
                    "attempt_id": "3ef1e1ef-69d9-43e6-93c3-29101c3d2ae1",
                    "topic": "lists",
                    "score": 0.2,
                    "correct": 1,
                    "total": 5,
                    "results": [
                        {
                            "question_id": "lists-q1",
                            "answered": True,
                            "given": 3,
                            "correct": True,
                            "expected": "items[-1]",
                            "explanation": "Indexes go from 0 to len(items) - 1, so items[3] raises IndexError; a "
                            "negative index counts from the end and items[-1] is the last item.",
                        },
                        {
                            "question_id": "lists-q4",
                            "answered": True,
                            "given": "[1, 2, 3]\n[1, 2, 3]\n",
                            "correct": False,
                            "expected": "[1, 2, 3]\n[1, 2]\n",
                            "explanation": "b = a makes a second name for the same list, so appending through b "
                            "changes a too; a.copy() made a separate list that is unaffected.",
                        },
                        {
                            "question_id": "lists-q7",
                            "answered": True,
                            "given": 0,
                            "correct": False,
                            "expected": "[2, 3]",
                            "explanation": "Slicing never raises IndexError: a stop beyond the end is simply cut to "
                            "the length of the list, so the slice holds everything from index 1 on.",
                        },
                        {
                            "question_id": "lists-q10",
                            "answered": True,
                            "given": "Cai ['Ana', 'Ben', 'Dev'] 3\nTrue\n",
                            "correct": False,
                            "expected": "Cai ['Ana', 'Bo', 'Dev'] 3\nFalse\n",
                            "explanation": "insert(0, ...) puts Cai at the front, pop(0) removes and returns it, and "
                            "assigning to queue[1] replaces Ben, so Ben is no longer in the list.",
                        },
                        {
                            "question_id": "lists-q3",
                            "answered": False,
                            "given": None,
                            "correct": False,
                            "expected": "4",
                            "explanation": "append() adds its argument as one single item, here the nested list "
                            "[4, 5]; use extend([4, 5]) to add the numbers one by one.",
                        },
                    ],
                    "mastery": 37.33,
                    "level": "Beginner",
                    "struggle_detected": True,
                }
            ]
        }
    )

    attempt_id: str
    topic: str
    score: float = Field(ge=0, le=1)
    correct: int
    total: int
    results: list[QuizResult]
    mastery: float
    level: Literal["Beginner", "Learning", "Proficient", "Mastered"]
    struggle_detected: bool = Field(description="True when the score was under 50% and teachers were alerted.")


class TopicOutline(BaseModel):
    topic: str = Field(description="The topic's id, as exercises and quizzes name it.")
    title: str
    summary: str


class ModuleOutline(BaseModel):
    module: str
    title: str
    order: int
    topics: list[TopicOutline]


class CurriculumRead(BaseModel):
    """The curriculum's modules in teaching order, each with its topics: how exercises are browsed."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "modules": [
                        {
                            "module": "basics",
                            "title": "Python Basics",
                            "order": 1,
                            "topics": [
                                {
                                    "topic": "variables",
                                    "title": "Variables",
                                    "summary": "A variable is a name that refers to a value, so you can use it later.",
                                }
                            ],
                        },
                        {
                            "module": "control-flow",
                            "title": "Control Flow",
                            "order": 2,
                            "topics": [
                                {
                                    "topic": "conditionals",
                                    "title": "Conditionals (if, elif, else)",
                                    "summary": "Conditionals let a program choose which code to run.",
                                }
                            ],
                        },
                    ]
                }
            ]
        }
    )

    modules: list[ModuleOutline]
