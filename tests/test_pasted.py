"""Pasted tracebacks: found in free text in every common format, mapped onto the student's code, rerun."""

from __future__ import annotations

import time

import pytest

from learnflow.sandbox import Sandbox
from learnflow.tutor import datasets, evaluation, pasted

CODE = "def average(nums):\n    total = sum(nums)\n    return total / len(nums)\n"

FORMATS = {
    "posix": (
        'Traceback (most recent call last):\n  File "/home/a/test_avg.py", line 4, in <module>\n'
        "    result = average([])\n             ^^^^^^^^^^^\n"
        '  File "/home/a/avg.py", line 5, in average\n    return total / len(nums)\n'
        "           ~~~~~~^~~~~~~~~~~\nZeroDivisionError: division by zero\n"
    ),
    "windows-fenced": (
        "it fails:\n```\nTraceback (most recent call last):\n"
        '  File "C:\\Users\\kim\\hw\\test_avg.py", line 4, in <module>\n    result = average([])\n'
        '  File "C:\\Users\\kim\\hw\\avg.py", line 3, in average\n    return total / len(nums)\n'
        "ZeroDivisionError: division by zero\n```\nwhy?"
    ),
    "stdin-prompt": (
        '>>> average([])\nTraceback (most recent call last):\n  File "<stdin>", line 1, in <module>\n'
        '  File "<stdin>", line 3, in average\nZeroDivisionError: division by zero\n>>> '
    ),
    "jupyter": (
        "-----\nZeroDivisionError                         Traceback (most recent call last)\n"
        "Cell In[5], line 1\n----> 1 average([])\n\nCell In[4], line 3, in average(nums)\n"
        "      1 def average(nums):\n      2     total = sum(nums)\n----> 3     return total / len(nums)\n\n"
        "ZeroDivisionError: division by zero"
    ),
    "ipython-old": (
        "ZeroDivisionError                         Traceback (most recent call last)\n"
        "<ipython-input-5-ab12> in <module>\n----> 1 average([])\n\n<ipython-input-4-cd34> in average(nums)\n"
        "----> 3     return total / len(nums)\n\nZeroDivisionError: division by zero"
    ),
    "pytest-long": (
        "    def test_avg():\n>       assert average([]) == 0\n\ntest_avg.py:4: \n_ _ _ _ _ _\n\nnums = []\n\n"
        "    def average(nums):\n        total = sum(nums)\n>       return total / len(nums)\n"
        "E       ZeroDivisionError: division by zero\n\navg.py:3: ZeroDivisionError\n"
        "=== short test summary info ===\nFAILED test_avg.py::test_avg - ZeroDivisionError: division by zero"
    ),
    "pytest-short": (
        "test_avg.py:4: in test_avg\n    assert average([]) == 0\navg.py:3: in average\n"
        "    return total / len(nums)\nE   ZeroDivisionError: division by zero"
    ),
    "unittest": (
        "E\n======\nERROR: test_avg (test_avg.TestAvg.test_avg)\n------\nTraceback (most recent call last):\n"
        '  File "/autograder/test_avg.py", line 6, in test_avg\n    self.assertEqual(average([]), 0)\n'
        '  File "/autograder/avg.py", line 3, in average\n    return total / len(nums)\n'
        "ZeroDivisionError: division by zero\n\n------\nRan 1 test in 0.001s\n\nFAILED (errors=1)"
    ),
    "every-line-prompted": (
        '>>> average([])\n>>> Traceback (most recent call last):\n>>>   File "<stdin>", line 1, in <module>\n'
        '>>>   File "<stdin>", line 3, in average\n>>> ZeroDivisionError: division by zero'
    ),
}


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_gives_type_message_and_line(name: str):
    tb = pasted.find_traceback(FORMATS[name])
    assert tb is not None
    assert (tb.error_type, tb.message) == ("ZeroDivisionError", "division by zero")
    mapped = pasted.map_to_code(tb, CODE)
    assert mapped.line == 3
    assert pasted.failing_call(mapped, CODE) == "average([])"


def test_chained_takes_the_last_and_syntax_error_block_and_last_line_only():
    chained = (
        "Traceback (most recent call last):\n  File \"a.py\", line 3, in f\n    return d[k]\nKeyError: 'x'\n\n"
        "During handling of the above exception, another exception occurred:\n\n"
        'Traceback (most recent call last):\n  File "a.py", line 5, in f\n    raise ValueError("no x")\n'
        "ValueError: no x\n"
    )
    tb = pasted.find_traceback(chained)
    assert tb is not None and (tb.error_type, tb.message, tb.frames[-1].line) == ("ValueError", "no x", 5)
    syntax = '  File "/h/x.py", line 7\n    if x = 1:\n       ^^^^^\nSyntaxError: invalid syntax\n'
    tb = pasted.find_traceback(syntax)
    assert tb is not None and tb.error_type == "SyntaxError"
    assert pasted.map_to_code(tb, "def f(x):\n    if x = 1:\n        pass\n").line == 2
    lone = pasted.find_traceback('why do I get TypeError: can only concatenate str (not "int") to str here')
    assert lone is not None and not lone.complete
    assert lone.message == 'can only concatenate str (not "int") to str here'
    assert pasted.find_traceback("my loop prints the wrong total, no error at all") is None


def test_multiline_message_and_windows_dotted_type():
    text = (
        'Traceback (most recent call last):\n  File "C:\\a\\b.py", line 2, in <module>\n    load()\n'
        "json.decoder.JSONDecodeError: Expecting value\nline 1 column 1 (char 0)\n\nany idea?"
    )
    tb = pasted.find_traceback(text)
    assert tb is not None
    assert (tb.error_type, tb.message) == ("JSONDecodeError", "Expecting value\nline 1 column 1 (char 0)")
    assert text[tb.start : tb.end].startswith("Traceback") and text[tb.start : tb.end].endswith("(char 0)")


def test_duplicate_lines_are_told_apart_by_function_and_offset():
    code = "def low(x):\n    return x / 0\n\n\ndef high(x):\n    return x / 0\n"
    text = (
        'Traceback (most recent call last):\n  File "t.py", line 9, in <module>\n    high(3)\n'
        '  File "s.py", line 16, in high\n    return x / 0\nZeroDivisionError: division by zero'
    )
    tb = pasted.find_traceback(text)
    assert tb is not None
    assert pasted.map_to_code(tb, code).line == 6
    # Same text twice in one function: the other frame of that file shows the offset (10 lines above).
    code = "def f(x):\n    y = g(x)\n    y = g(x)\n    return y\n\n\ndef g(x):\n    return 1 / x\n"
    text = (
        'Traceback (most recent call last):\n  File "t.py", line 2, in <module>\n    f(0)\n'
        '  File "s.py", line 13, in f\n    y = g(x)\n  File "s.py", line 18, in g\n    return 1 / x\n'
        "ZeroDivisionError: division by zero"
    )
    tb = pasted.find_traceback(text)
    assert tb is not None
    assert pasted.map_to_code(tb, code).frame_lines == (None, 3, 8)


@pytest.mark.parametrize(
    "site",
    ["result = average(nums)", "average(open('x'))", "__import__('os').system('ls')", "average(*[1])", "print(1)"],
)
def test_failing_call_refuses_anything_but_literals_and_own_functions(site: str):
    tb = pasted.PastedTraceback("ZeroDivisionError", "division by zero", (), 0, 0, prompts=(site,))
    assert pasted.failing_call(pasted.map_to_code(tb, CODE), CODE) is None


@pytest.mark.parametrize(
    ("site", "call"),
    [
        ("self.assertEqual(average([1, 2]), 1.5)", "average([1, 2])"),
        ("assert average([]) == 0, 'empty'", "average([])"),
        ("for x in average((1, -2)):", "average((1, -2))"),
    ],
)
def test_failing_call_takes_the_call_out_of_a_test_line(site: str, call: str):
    tb = pasted.PastedTraceback("ZeroDivisionError", "division by zero", (), 0, 0, prompts=(site,))
    assert pasted.failing_call(pasted.map_to_code(tb, CODE), CODE) == call


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "text",
    [
        "a" * 5_000_000,
        'File "' * 200_000,
        "Traceback (most recent call last):\n" + '  File "x.py", line 1, in f\n    f()\n' * 100_000 + "OSError: x",
        "TypeError:" + " " * 1_000_000 + "x",
        ("x.py:1:" * 100_000) + " TypeError",
        "E   " * 500_000,
    ],
)
def test_hostile_input_is_bounded(text: str):
    started = time.perf_counter()
    tb = pasted.find_traceback(text)
    if tb is not None:
        pasted.map_to_code(tb, CODE)
        assert len(tb.frames) <= pasted.MAX_FRAMES and len(tb.message) <= pasted.MAX_MESSAGE
    assert time.perf_counter() - started < 5


async def test_reproduce_on_the_real_sandbox():
    evidence = await pasted.from_pasted(text=FORMATS["pytest-short"], code=CODE, sandbox=Sandbox())
    assert evidence is not None
    assert (evidence.error_type, evidence.line, evidence.failing_call) == ("ZeroDivisionError", 3, "average([])")
    assert evidence.reproduced and evidence.reproduction is not None and evidence.reproduction.line == 3
    other = await pasted.reproduce(CODE, "average([1])", sandbox=Sandbox(), expected=None)
    assert other.ran and other.error_type is None and not other.reproduced


async def test_the_pasted_set_scores_at_least_95_percent():
    cases = datasets.load_pasted()
    assert len(cases) >= 110
    assert len({c.id for c in cases}) == len(cases)
    assert len({c.error_type for c in cases}) >= 10 and len({c.format for c in cases}) >= 10
    score = await evaluation.evaluate_pasted(cases, sandbox=Sandbox())
    assert score.all_correct / score.total >= 0.95, score.misses
    assert score.reproduced / score.with_call >= 0.9, score.misses
