"""Debug answers from what the student gives: a pasted traceback, the error's own message, the expected output."""

from __future__ import annotations

import httpx

from learnflow.ai import OfflineProvider
from learnflow.curriculum import get_curriculum
from learnflow.sandbox import Sandbox
from learnflow.tutor import debug

AVERAGE = """def average(values):
    total = 0
    for v in values:
        total += v
    return total / len(values)
"""

PASTED = """my function passes when i try it but the autograder says:

Traceback (most recent call last):
  File "/autograder/source/tests/test_average.py", line 12, in test_empty
    self.assertEqual(average([]), 0)
  File "/autograder/submission/stats.py", line 5, in average
    return total / len(values)
           ~~~~~~^~~~~~~~~~~~~
ZeroDivisionError: division by zero
"""


async def analyze(code: str | None, *, question: str = "", error: str | None = None, expected: str | None = None):
    return await debug.analyze(
        code=code,
        error_message=error,
        question=question,
        stdin="",
        curriculum=get_curriculum(),
        sandbox=Sandbox(),
        ai=OfflineProvider(),
        expected_output=expected,
    )


async def test_a_pasted_traceback_is_the_error_even_when_the_code_alone_runs_clean() -> None:
    answer = await analyze(AVERAGE, question=PASTED)
    assert (answer.error_type, answer.line, answer.message) == ("ZeroDivisionError", 5, "division by zero")
    assert answer.run_status == "passed"
    assert "finished without an error" not in answer.explanation
    assert "traceback you pasted" in answer.explanation and "`average([])`" in answer.explanation
    # A fix is checked by the failing call no longer raising, never called verified without an expected output.
    if answer.corrected_code is not None:
        assert answer.fix_kind == "suggestion" and "average([])" not in answer.corrected_code


async def test_a_pasted_traceback_without_code_is_explained_by_its_message() -> None:
    answer = await analyze(None, question="i get this\nValueError: max() arg is an empty sequence")
    assert answer.error_type == "ValueError"
    assert "empty" in answer.explanation and "int(" not in answer.explanation


async def test_the_explanation_follows_the_message_not_only_the_type() -> None:
    popped = await analyze("stack = []\nstack.pop()\n")
    assert popped.error_type == "IndexError" and "empty" in popped.explanation
    assert "position that does not exist" not in popped.explanation
    popitem = await analyze("d = {}\nd.popitem()\n")
    assert popitem.error_type == "KeyError" and "has no key" not in popitem.explanation
    outside = await analyze("x = 1\nreturn x\n")
    assert outside.error_type == "SyntaxError" and "function" in outside.explanation


async def test_wrong_output_names_the_line_and_asks_about_a_value_first() -> None:
    code = "def total(n):\n    s = 0\n    for i in range(1, n):\n        s += i\n    return s\n\nprint(total(4))\n"
    answer = await analyze(code, expected="10")
    assert answer.run_status == "passed" and answer.fix_kind == "verified"
    assert "line 3" in answer.explanation
    assert answer.hints[0].rstrip().endswith("?"), answer.hints
    assert "print(total(4))" in (answer.corrected_code or "")


async def test_no_expected_output_is_invented_from_prose() -> None:
    answer = await analyze("print(sum([1, 2]))\n", question="I get unexpected results, what is wrong")
    assert answer.corrected_code is None
    assert "what output you expected" in answer.explanation


async def test_exercise_code_is_localised_against_its_visible_tests_without_a_fix(client: httpx.AsyncClient) -> None:
    ex = (await client.get("/api/exercises/return-values-1-max-of-three")).json()
    assert "solution" not in ex  # the reference stays on the server
    code = (
        "def max_of_three(a, b, c):\n    best = a\n    if b > best:\n        best = b\n"
        "    if c < best:\n        best = c\n    return best\n"
    )
    data = (await client.post("/api/debug/analyze", json={"code": code, "exercise_id": ex["exercise_id"]})).json()
    assert data["corrected_code"] is None and data["fix_kind"] is None
    # Two visible tests run every line alike: no line is claimed; the first call that differs from the
    # reference solution is the pointer, with the student's own value (never the solution's code).
    assert "For `max_of_three(" in data["explanation"] and "too small" in data["explanation"], data["explanation"]
    assert "by hand" in data["hints"][0], data["hints"]
    assert "best = a" not in data["explanation"].split("For `max_of_three(")[1]


def test_an_off_by_one_names_a_loop_bound_only_when_there_is_a_loop() -> None:
    from learnflow.tutor import compare

    without = compare.explain("9\n", "10\n", code="price = 9\nprint(price)\n")
    assert without.kind == "off_by_one" and "loop" not in without.explanation + " ".join(without.hints)
    looped = compare.explain("9\n", "10\n", code="for i in range(9):\n    pass\nprint(i + 1)\n")
    assert looped.kind == "off_by_one" and "loop bound" in looped.explanation
