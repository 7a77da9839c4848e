"""The mutation check of an exercise: weak tests leave survivors, strong ones none; equivalence needs evidence."""

from __future__ import annotations

import httpx
import pytest

from learnflow.curriculum import load
from learnflow.sandbox import Sandbox
from learnflow.sandbox.grading import Grader, IOCase
from learnflow.tutor.bankcheck import CheckedExercise, MutationReport, Survivor, mutation_check, survivor_warnings
from learnflow.tutor.evaluation import BankMutation
from learnflow.tutor.mutation import Mutant

ADULT = "def is_adult(age):\n    return age >= 18\n"
WEAK = (
    "from solution import is_adult\n\n"
    "def test_old():\n    assert is_adult(30) is True\n\n"
    "def test_young():\n    assert is_adult(5) is False\n"
)
STRONG = WEAK + "\ndef test_edges():\n    assert is_adult(18) is True\n    assert is_adult(17) is False\n"

ABS = "def magnitude(n):\n    if n < 0:\n        return -n\n    return n\n"
ABS_TESTS = (
    "from solution import magnitude\n\n"
    "def test_values():\n    assert magnitude(-3) == 3\n    assert magnitude(4) == 4\n    assert magnitude(0) == 0\n"
)


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


@pytest.fixture
def grader(sandbox: Sandbox) -> Grader:
    return Grader(sandbox, timeout_s=10)


def _described(report: MutationReport, *, equivalent: bool) -> set[str]:
    return {s.mutant.description for s in report.survivors if s.equivalent is equivalent}


async def test_weak_tests_leave_missed_mutants_with_evidence(grader: Grader, sandbox: Sandbox) -> None:
    report = await mutation_check(CheckedExercise("adult", ADULT, WEAK), grader, runner=sandbox, limit=None)
    assert "`>=` → `>`" in _described(report, equivalent=False)
    assert report.equivalent == []
    assert report.kill_rate < 1.0
    boundary = next(s for s in report.missed if s.mutant.description == "`>=` → `>`")
    assert boundary.mutant.line == 2 and "differs from the reference" in boundary.evidence
    (warning,) = survivor_warnings(report)
    assert "line 2 `>=` → `>`" in warning


async def test_strong_tests_kill_every_mutant(grader: Grader, sandbox: Sandbox) -> None:
    report = await mutation_check(CheckedExercise("adult", ADULT, WEAK, STRONG), grader, runner=sandbox, limit=None)
    assert report.mutants >= 4
    assert report.survivors == [] and report.killed == report.mutants
    assert report.kill_rate == 1.0 and survivor_warnings(report) == []


async def test_equivalent_only_with_same_behaviour_on_the_probes(grader: Grader, sandbox: Sandbox) -> None:
    report = await mutation_check(CheckedExercise("abs", ABS, ABS_TESTS), grader, runner=sandbox, limit=None)
    # n <= 0 returns -0 == 0 for ints: no input tells it apart.
    assert "`<` → `<=`" in _described(report, equivalent=True)
    # n < -1 returns -1 for -1: a neighbour the tests never tried, but the probes do.
    assert "`0` → `-1`" in _described(report, equivalent=False)
    assert report.probes > 3


async def test_without_a_runner_no_survivor_is_called_equivalent(grader: Grader) -> None:
    report = await mutation_check(CheckedExercise("abs", ABS, ABS_TESTS), grader, runner=None, limit=None)
    assert report.survivors and report.equivalent == []


async def test_io_exercise_survivors_are_probed_with_neighbouring_input(grader: Grader, sandbox: Sandbox) -> None:
    code = "n = int(input())\nif n > 10:\n    print('big')\nelse:\n    print('small')\n"
    cases = (
        IOCase(name="big", stdin="20\n", expected_stdout="big\n"),
        IOCase(name="small", stdin="3\n", expected_stdout="small\n"),
    )
    report = await mutation_check(CheckedExercise("io", code, io_tests=cases), grader, runner=sandbox, limit=None)
    assert "`>` → `>=`" in _described(report, equivalent=False)


async def test_a_bank_exercise_reaches_full_kill_rate(grader: Grader, sandbox: Sandbox) -> None:
    exercise = load().exercises["conditionals-2-letter-grade"]
    report = await mutation_check(CheckedExercise.of(exercise), grader, runner=sandbox, limit=None)
    assert report.mutants > 10 and report.missed == [], [(s.mutant.description, s.evidence) for s in report.missed]


TEACHER = {
    "title": "Adult or not",
    "topic": "conditionals",
    "difficulty": "beginner",
    "description": "Write `is_adult(age)`: True from 18 on.",
    "starter_code": "def is_adult(age):\n    pass\n",
    "solution": ADULT,
}


async def test_teacher_exercise_warns_about_weak_tests_only(client: httpx.AsyncClient) -> None:
    weak = await client.post("/api/exercises", json={**TEACHER, "tests": WEAK})
    assert weak.status_code == 201, weak.text
    (warning,) = weak.json()["warnings"]
    assert "pass every test" in warning and "line 2 `>=` → `>`" in warning
    strong = await client.post("/api/exercises", json={**TEACHER, "tests": STRONG})
    assert strong.status_code == 201 and strong.json()["warnings"] == []


def test_bank_totals_leave_equivalent_mutants_out_of_the_rate() -> None:
    mutant = Mutant(line=2, operator="comparison", description="`>=` → `>`", code="")
    first = MutationReport(
        "a", mutants=10, killed=8, survivors=[Survivor(mutant, True, "same"), Survivor(mutant, False, "differs")]
    )
    second = MutationReport("b", mutants=5, killed=5)
    totals = BankMutation([first, second])
    assert (totals.mutants, totals.killed, totals.equivalent, totals.missed) == (15, 13, 1, 1)
    assert totals.kill_rate == 13 / 14
    assert totals.misses() == ["a line 2 `>=` → `>`: differs"]
