"""Debug: real error type and line, specific explanations, hints, and only verified fixes."""

from __future__ import annotations

import httpx
import pytest

from learnflow.ai import OfflineProvider
from learnflow.curriculum import get_curriculum
from learnflow.sandbox import Sandbox
from learnflow.tutor import debug
from learnflow.tutor.debug import parse_traceback


async def analyze(code: str | None, error: str | None = None, stdin: str = "") -> debug.DebugAnswer:
    return await debug.analyze(
        code=code,
        error_message=error,
        question="",
        stdin=stdin,
        curriculum=get_curriculum(),
        sandbox=Sandbox(),
        ai=OfflineProvider(),
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
        assert answer.fix_verified
        assert answer.corrected_code == fixed
    if answer.corrected_code is not None:
        assert answer.fix_verified
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
    answer = await debug.analyze(
        code="i = 0\nwhile i < 3:\n    print(i)\n",
        error_message=None,
        question="",
        stdin="",
        curriculum=get_curriculum(),
        sandbox=Sandbox(),
        ai=OfflineProvider(),
    )
    assert answer.error_type is None
    assert "stopped" in answer.explanation and "loop" in answer.explanation


async def test_silent_infinite_loop_hits_the_time_limit():
    sandbox = Sandbox()
    answer = await debug.analyze(
        code="i = 0\nwhile i < 3:\n    pass\n",
        error_message=None,
        question="",
        stdin="",
        curriculum=get_curriculum(),
        sandbox=sandbox,
        ai=OfflineProvider(),
    )
    assert "time limit" in answer.explanation


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
