"""Content is data: every topic, example, exercise and error explanation is validated and executed."""

from __future__ import annotations

import asyncio

import pytest

from learnflow.curriculum import get_curriculum
from learnflow.curriculum.models import Exercise
from learnflow.sandbox import Sandbox
from learnflow.sandbox.grading import Grader, IOCase
from learnflow.tutor import quality
from learnflow.tutor.debug import parse_traceback

CURRICULUM = get_curriculum()
MODULES = {
    "basics": {"variables", "data-types", "input-output", "operators", "type-conversion"},
    "control-flow": {"conditionals", "for-loops", "while-loops", "break-continue"},
    "data-structures": {"lists", "tuples", "dictionaries", "sets"},
    "functions": {"defining-functions", "parameters", "return-values", "scope"},
    "oop": {"classes-objects", "attributes-methods", "inheritance", "encapsulation"},
    "files": {"reading-writing-files", "csv", "json"},
    "errors": {"try-except", "exception-types", "custom-exceptions", "debugging"},
    "libraries": {"installing-packages", "working-with-apis", "virtual-environments"},
}


def test_curriculum_has_every_module_and_topic():
    assert {m.module: {t.id for t in m.topics} for m in CURRICULUM.modules} == MODULES


@pytest.mark.parametrize("topic_id", sorted(CURRICULUM.topics))
def test_topic_is_complete(topic_id: str):
    topic = CURRICULUM.topics[topic_id]
    assert topic.explanation.beginner.strip() and topic.explanation.intermediate.strip()
    assert len(topic.examples) >= 2
    assert all(r in CURRICULUM.topics for r in topic.related_topics)


@pytest.mark.parametrize("topic_id", sorted(CURRICULUM.topics))
async def test_every_example_prints_what_it_shows(topic_id: str):
    sandbox = Sandbox()
    for example in CURRICULUM.topics[topic_id].examples:
        result = await sandbox.run(example.code, stdin=example.stdin)
        assert result.exit_code == 0, f"{example.title}: {result.stderr}"
        assert result.stdout == example.output, example.title


@pytest.mark.parametrize("module_id", sorted(MODULES))
def test_every_topic_has_three_exercises_one_per_difficulty(module_id: str):
    for topic_id in MODULES[module_id]:
        levels = sorted(str(e.difficulty) for e in CURRICULUM.exercises_for(topic=topic_id))
        assert levels == ["advanced", "beginner", "intermediate"], topic_id


def _cases(ex: Exercise) -> list[IOCase]:
    return list(ex.io_tests)


@pytest.mark.parametrize("exercise_id", sorted(CURRICULUM.exercises))
async def test_reference_solution_passes_and_starter_fails(exercise_id: str):
    ex = CURRICULUM.exercises[exercise_id]
    grader = Grader(Sandbox())
    tests = ex.visible_tests + "\n\n" + ex.hidden_tests
    solution, starter = await asyncio.gather(
        grader.grade(code=ex.solution, tests=tests, io_tests=_cases(ex)),
        grader.grade(code=ex.starter_code, tests=tests, io_tests=_cases(ex)),
    )
    assert solution.passed, solution.feedback
    assert solution.score == 1.0
    assert not starter.passed, "the starter code must leave work to do"


@pytest.mark.parametrize("error_type", sorted(CURRICULUM.errors))
async def test_error_examples_raise_their_error_and_fixes_run(error_type: str):
    info = CURRICULUM.errors[error_type]
    sandbox = Sandbox()
    broken = await sandbox.run(info.example_code)
    parsed = parse_traceback(broken.stderr)
    assert parsed is not None and parsed.error_type == error_type, broken.stderr
    fixed = await sandbox.run(info.fixed_code)
    assert fixed.exit_code == 0, fixed.stderr


def test_at_least_thirty_error_types_are_explained():
    assert len(CURRICULUM.errors) >= 30


@pytest.mark.parametrize("topic_id", sorted(CURRICULUM.topics))
async def test_every_topic_has_a_quiz_whose_outputs_are_real(topic_id: str):
    quiz = CURRICULUM.quizzes[topic_id]
    kinds = [q.kind for q in quiz.questions]
    # A pool twice an attempt's size: a retake draws new questions before old ones come back.
    assert len(kinds) >= 10 and kinds.count("choice") >= 4 and kinds.count("output") >= 4
    sandbox = Sandbox()
    for question in quiz.questions:
        assert question.id.startswith(topic_id + "-")
        if question.kind == "output":
            result = await sandbox.run(question.code)
            assert result.exit_code == 0, f"{question.id}: {result.stderr}"
            assert result.stdout == question.output, question.id


async def test_reference_solutions_are_exemplary_code():
    """Calibration of the code-quality score: every reference solution of the bank gets 1.0 from ruff."""
    reports = await asyncio.gather(*(quality.analyse(ex.solution) for ex in CURRICULUM.exercises.values()))
    flagged = {
        ex.id: [f.code for f in r.findings] if r else "unparsable"
        for ex, r in zip(CURRICULUM.exercises.values(), reports, strict=True)
        if r is None or r.findings
    }
    assert flagged == {}
