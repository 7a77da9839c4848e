"""Debug: real error type and line, specific explanations, hints, and only verified fixes."""

from __future__ import annotations

import httpx
import pytest

from learnflow.ai import OfflineProvider
from learnflow.curriculum import get_curriculum
from learnflow.sandbox import ExecutionResult, Sandbox
from learnflow.tutor import debug
from learnflow.tutor.debug import parse_traceback


async def analyze(
    code: str | None,
    error: str | None = None,
    stdin: str = "",
    *,
    question: str = "",
    expected_output: str | None = None,
) -> debug.DebugAnswer:
    return await debug.analyze(
        code=code,
        error_message=error,
        question=question,
        stdin=stdin,
        curriculum=get_curriculum(),
        sandbox=Sandbox(),
        ai=OfflineProvider(),
        expected_output=expected_output,
    )


CASES = [
    ("print(x)\n", "NameError", 1, None),
    ("count = 1\nprint(cuont)\n", "NameError", 2, "count = 1\nprint(count)\n"),
    ("nums = [1, 2]\nprint(nums[5])\n", "IndexError", 2, None),
    ("d = {'a': 1}\nprint(d['b'])\n", "KeyError", 2, None),
    ("print(1 / 0)\n", "ZeroDivisionError", 1, None),
    ("age = 3\nprint('Age: ' + age)\n", "TypeError", 2, "age = 3\nprint('Age: ' + str(age))\n"),
    ("if True\n    print('hi')\n", "SyntaxError", 1, "if True:\n    print('hi')\n"),
    ("x = 5\nif x = 5:\n    print(x)\n", "SyntaxError", 2, "x = 5\nif x == 5:\n    print(x)\n"),
    ("print('hello)\n", "SyntaxError", 1, "print('hello')\n"),
    ("print((1 + 2)\n", "SyntaxError", 1, "print((1 + 2))\n"),
    ("def f():\nreturn 1\n", "IndentationError", 2, "def f():\n    return 1\n"),
    ("x = 1\n    print(x)\n", "IndentationError", 2, "x = 1\nprint(x)\n"),
    ("items = []\nitems.push(1)\n", "AttributeError", 2, "items = []\nitems.append(1)\n"),
    ("n = input()\nprint(n + 1)\n", "TypeError", 2, None),
    ("import numpyy\n", "ModuleNotFoundError", 1, None),
    ("def f(n):\n    return f(n + 1)\nf(0)\n", "RecursionError", 2, None),
]


@pytest.mark.parametrize(("code", "error_type", "line", "fixed"), CASES)
async def test_reproduces_type_and_line(code: str, error_type: str, line: int, fixed: str | None):
    answer = await analyze(code, stdin="5\n")
    assert answer.error_type == error_type
    assert answer.line == line
    assert len(answer.hints) == 3
    assert answer.explanation
    if fixed is not None:
        assert answer.fix_kind == "suggestion"  # no expected output: it runs, but is not verified
        assert answer.corrected_code == fixed
    if answer.corrected_code is not None:
        assert not answer.fix_verified and answer.fix_kind == "suggestion"
        run = await Sandbox().run(answer.corrected_code, stdin="5\n")
        assert run.ok


async def test_name_error_names_the_variable_and_close_names():
    answer = await analyze("total = 0\nfor i in range(3):\n    totl += i\n")
    assert answer.error_type == "NameError" and answer.line == 3
    assert "`totl`" in answer.explanation
    assert "total" in answer.explanation
    assert "total" in answer.hints[0]


async def test_no_fix_is_offered_unless_it_runs():
    answer = await analyze("print(x)\n")
    assert answer.corrected_code is None and answer.fix_verified is False


async def test_program_without_exception_is_a_logic_question():
    answer = await analyze("print(2 + 2)\n")
    assert answer.error_type is None and answer.line is None
    assert "4" in answer.explanation


async def test_infinite_loop_is_explained():
    answer = await analyze("i = 0\nwhile i < 3:\n    print(i)\n")
    assert answer.error_type is None
    assert "stopped" in answer.explanation and "loop" in answer.explanation


async def test_silent_infinite_loop_hits_the_time_limit():
    answer = await analyze("i = 0\nwhile i < 3:\n    pass\n")
    assert answer.run_status == "stopped"
    # The wall-clock limit normally stops it; on a starved machine the CPU-time limit may come first.
    assert "time limit" in answer.explanation or "CPU time" in answer.explanation


async def test_program_killed_at_a_resource_limit_is_not_called_error_free():
    killed = ExecutionResult(stdout="", stderr="", exit_code=-24)
    assert debug._stopped(killed)
    with_traceback = ExecutionResult(
        stdout="", stderr="Traceback (most recent call last):\nMemoryError\n", exit_code=-9
    )
    assert not debug._stopped(with_traceback)


async def test_error_message_without_code_is_parsed():
    answer = await analyze(
        None,
        'Traceback (most recent call last):\n  File "app.py", line 7, in <module>\n'
        "    print(nme)\nNameError: name 'nme' is not defined",
    )
    assert answer.error_type == "NameError" and answer.line == 7


def test_parse_traceback_variants():
    parsed = parse_traceback("json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)")
    assert parsed is not None and parsed.error_type == "JSONDecodeError"
    assert parse_traceback("NameError: name 'x' is not defined").error_type == "NameError"  # type: ignore[union-attr]
    assert parse_traceback("") is None
    assert parse_traceback("everything is fine") is None


async def test_debug_api(client: httpx.AsyncClient):
    resp = await client.post("/api/debug/analyze", json={"code": "print(x)", "error_message": "NameError"})
    assert resp.status_code == 200
    data = resp.json()
    assert data["error_type"] == "NameError" and data["line"] == 1 and data["source"] == "offline"
    assert (await client.post("/api/debug/analyze", json={"code": ""})).status_code == 422


async def test_index_error_says_which_index_against_which_length():
    answer = await analyze("items = [4, 5, 6]\nfor i in range(len(items) + 1):\n    print(items[i])\n")
    assert answer.error_type == "IndexError" and answer.line == 3
    assert "`i` is `3`" in answer.explanation and "has 3 items" in answer.explanation
    assert "0 to 2" in answer.explanation and "one past the end" in answer.explanation
    assert "below 3" in answer.hints[0]
    empty = await analyze("names = []\nprint(names[0])\n")
    assert "`names` is empty" in empty.explanation
    text = await analyze("word = 'cat'\nprint(word[5])\n")
    assert "3 characters" in text.explanation and "`5`" in text.explanation


async def test_key_error_lists_the_keys_and_the_close_one():
    answer = await analyze("ages = {'Alice': 3, 'Bob': 4}\nname = input()\nprint(ages[name])\n", stdin="alice\n")
    assert answer.error_type == "KeyError"
    assert "`name` is `'alice'`" in answer.explanation
    assert "'Alice', 'Bob'" in answer.explanation and "Did you mean 'Alice'" in answer.explanation
    assert "case-sensitive" in answer.explanation
    assert "ages.get(name)" in answer.hints[0]
    # The probed keys also give a fix, verified by running it with the same input.
    assert answer.fix_kind == "suggestion" and "ages[name.title()]" in (answer.corrected_code or "")


async def test_probing_never_calls_functions_on_the_failing_line():
    # `pop()` has a side effect; the probe must not evaluate it (the subscript with a call is skipped).
    answer = await analyze("stack = [1]\ncounts = {}\nprint(counts[stack.pop()])\n")
    assert answer.error_type == "KeyError" and "Its keys are" not in answer.explanation


@pytest.mark.parametrize(
    ("code", "expected", "needle"),
    [
        ("total = 0\nfor i in range(1, 5):\n    total += i\nprint(total)\n", "15", "range(..., 5)"),
        ("for i in range(1, 4):\n    print(i)\n", "1\n2\n3\n4\n", "stops early"),
        ("a = '2'\nb = '3'\nprint(a + b)\n", "5", "joined as text"),
        ("print(10 / 2)\n", "5", "float"),
        ("print('hello world')\n", "Hello world", "capital"),
        ("for i in range(3):\n    print(i)\n    print('done')\n", "0\n1\n2\ndone\n", "Line 2"),
    ],
)
async def test_logic_bug_compares_with_the_expected_output(code: str, expected: str, needle: str):
    answer = await analyze(code, expected_output=expected)
    assert answer.error_type is None and answer.run_status == "passed"
    assert "logic bug" in answer.explanation and needle in answer.explanation, answer.explanation
    assert len(answer.hints) == 3


async def test_expected_output_stated_in_the_question_is_used():
    answer = await analyze(
        "total = 0\nfor i in range(1, 5):\n    total += i\nprint(total)\n",
        question="my sum should print 15 but it prints 10, why??",
    )
    assert (
        "You expected:" in answer.explanation and "15" in answer.explanation and "range(..., 5)" in answer.explanation
    )


async def test_assigned_exercise_gets_its_tests_and_never_a_solution(client: httpx.AsyncClient):
    student = "dbg-ex"
    ex = (
        await client.post(
            "/api/exercises/generate", json={"student_id": student, "topic": "lists", "difficulty": "beginner"}
        )
    ).json()
    starter = ex["starter_code"]
    # The starter runs without an exception but fails the visible tests: a logic bug, shown by the tests.
    resp = await client.post("/api/debug/analyze", json={"code": starter, "student_id": student})
    data = resp.json()
    assert data["exercise_id"] == ex["exercise_id"], data
    assert data["corrected_code"] is None and data["fix_verified"] is False and data["fix_kind"] is None
    assert "visible tests" in data["explanation"] and "will not write the corrected program" in data["explanation"]
    # A crashing attempt at a named exercise: the error is explained, and a fix is still withheld even
    # though one would run (a NameError typo).
    broken = starter + "\nprint(undefind_name)\n"
    named = await client.post(
        "/api/debug/analyze", json={"code": broken, "exercise_id": ex["exercise_id"], "student_id": "other"}
    )
    assert named.json()["error_type"] == "NameError" and named.json()["corrected_code"] is None
    unknown = await client.post("/api/debug/analyze", json={"code": "x = 1", "exercise_id": "no-such-exercise"})
    assert unknown.status_code == 404
    # Unrelated code from the same student still gets a fix (a suggestion: no expected output to check).
    other = await client.post(
        "/api/debug/analyze", json={"code": "colour = 'red'\nprint(color)\n", "student_id": student}
    )
    assert other.json()["exercise_id"] is None and other.json()["fix_kind"] == "suggestion"


@pytest.mark.parametrize(
    ("code", "stdin", "needles"),
    [
        (
            "def f():\n    count += 1\ncount = 0\nf()\n",
            "",
            ["`f` assigns it, which makes `count` local", "global count"],
        ),
        ("def area(w, h):\n    return w * h\nprint(area(2))\n", "", ["`area()` needs 'h'"]),
        ("class Dog:\n    def bark():\n        return 'woof'\nDog().bark()\n", "", ["the `def` needs `self`"]),
        ("n = int(input())\n", "3.5\n", ["text '3.5'", "float()"]),
        ("items = [3, 1].sort()\nitems.append(2)\n", "", ["The value is `None`", "`.sort()`"]),
        ("open('scores.txt').read()\n", "", ["`scores.txt`"]),
        ("a = input()\nb = input()\n", "1\n", ["fewer lines"]),
        ("import json\njson.loads(\"{'a': 1}\")\n", "", ["double quotes"]),
        ("x, y = [1]\n", "", ["names 2 variable(s)", "only 1"]),
        ("for i in 5:\n    print(i)\n", "", ["An `int` is a single value", "range(n)"]),
        ("print(len(5))\n", "", ["it got an `int`"]),
    ],
)
async def test_explanations_are_specific_to_the_case(code: str, stdin: str, needles: list[str]):
    answer = await analyze(code, stdin=stdin)
    assert answer.error_type is not None
    for needle in needles:
        assert needle in answer.explanation, answer.explanation


async def test_int_is_not_iterable_gets_range_and_sort_result_gets_the_list():
    loop = await analyze("n = 3\nfor i in n:\n    print(i)\n")
    assert loop.fix_kind == "suggestion" and "for i in range(n):" in (loop.corrected_code or "")
    none = await analyze("names = ['b', 'a']\nordered = names.sort()\nprint(ordered[0])\n")
    assert none.error_type == "TypeError" and none.fix_kind == "suggestion"
    assert "names.sort()\nordered = names" in (none.corrected_code or "")


@pytest.mark.parametrize(
    ("code", "expected_fix"),
    [
        ('person = {"name": "Ada"}\nprint(person.name)\n', 'person["name"]'),
        ('s = "Hello"\ns.append(" world")\nprint(s)\n', 's += " world"'),
        ("import math\nprint(math.squareroot(49))\n", "math.sqrt(49)"),
        ("from math import squareroot\nprint(squareroot(25))\n", "from math import sqrt"),
        ('class = "7B"\nprint("My class is", class)\n', 'class_ = "7B"\nprint("My class is", class_)'),
        ("import json\ntext = \"{'a': 1,}\"\nprint(json.loads(text)['a'])\n", "text = '{\"a\": 1}'"),
        ('price = "4"\nprint(price - 1)\n', "price = 4"),
        ("d = {'a': 0, 'b': 1}\nfor k in d:\n    if d[k] == 0:\n        del d[k]\nprint(d)\n", "for k in list(d):"),
    ],
)
async def test_mechanical_fixes_are_suggested(code: str, expected_fix: str):
    answer = await analyze(code)
    assert answer.fix_kind == "suggestion" and not answer.fix_verified, answer
    assert expected_fix in (answer.corrected_code or ""), answer.corrected_code
    assert "<function" not in (await Sandbox().run(answer.corrected_code or "")).stdout
