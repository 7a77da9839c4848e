"""Submissions that try to make the grader act for them, or read the hidden tests.

Each exploit drives the agent's own RPC peer (the submission runs in the agent process, so it can)
and returns the hidden value only if the tester leaked it; no honest solution can pass these tests.
"""

from __future__ import annotations

import os
import textwrap

import pytest

from learnflow.events.payloads import TestOutcome
from learnflow.sandbox import ExecutionResult, Sandbox
from learnflow.sandbox.grading import Grader, GraderError, read_tester_output

SECRET = 918273645

TESTS = textwrap.dedent(
    f"""
    from solution import guess

    EXPECTED = {SECRET}


    def test_guess():
        assert guess(lambda: None) == EXPECTED
    """
)

# Shared by every exploit: the agent's peer, and the handle of the callback the test handed over.
PRELUDE = textwrap.dedent(
    """
    import re
    import sys

    peer = sys.modules["__main__"].peer


    def found(text):
        match = re.search(r"9182\\d+", str(text))
        return int(match.group(0)) if match else None


    def handle(f):
        return {"r": object.__getattribute__(f, "_lf_id")}
    """
)

EXPLOITS = {
    "format string on a plain value": """
def guess(f):
    fmt = peer.request("getattr", o={"v": "{0.__globals__[EXPECTED]}"}, n="format")
    return found(fmt(f)) or 0
""",
    "format_map walking globals": """
def guess(f):
    fmt = peer.request("getattr", o={"v": "{g.__globals__}"}, n="format_map")
    return found(fmt({"g": f})) or 0
""",
    "dunder of the exported callback": """
def guess(f):
    g = peer.request("getattr", o=handle(f), n="__globals__")
    return g["EXPECTED"]
""",
    "a live exception handle from the tester": """
def guess(f):
    try:
        peer.request("getattr", o=handle(f), n="no_such_attribute")
    except Exception as exc:
        remote = getattr(exc, "_lf_remote", None)
        if remote is not None:
            fmt = peer.request("getattr", o={"v": "{0.__traceback__.tb_frame.f_globals}"}, n="format")
            return found(fmt(remote)) or 0
        return found(repr(exc.__dict__)) or 0
    return 0
""",
    "type() of the callback, then its globals": """
def guess(f):
    kind = peer.request("unary", o=handle(f), n="type")
    return found(peer.request("getattr", o={"r": object.__getattribute__(kind, "_lf_id")}, n="__dict__")) or 0
""",
    "a builtin class as target": """
def guess(f):
    t = peer.request("call", o={"bt": "type"}, args=[handle(f)])
    return found(t) or 0
""",
    "guessing handle ids": """
def guess(f):
    for oid in range(0, 50):
        for name in ("EXPECTED", "namespace", "source", "__globals__"):
            try:
                value = found(peer.request("getattr", o={"r": oid}, n=name))
            except Exception:
                continue
            if value:
                return value
    return 0
""",
    "reads the test file": """
def guess(f):
    for path in ("/work/_lf_tests.py", "_lf_tests.py", "/work/tests.py", "/run/sandbox/work/_lf_tests.py"):
        try:
            value = found(open(path).read())
        except OSError:
            continue
        if value:
            return value
    return 0
""",
    "answers for the tester": """
import json, os
def guess(f):
    # A forged answer to a request the tester never made, then a forged result line.
    os.write(peer.wfd, b'{"a": 99, "v": {"v": 918273645}}\\n')
    return 0
""",
}


@pytest.fixture
def grader() -> Grader:
    box = Sandbox()
    if not box.available:
        pytest.fail(f"no sandbox: {box.isolation_reason}") if os.environ.get("CI") == "true" else pytest.skip(
            box.isolation_reason
        )
    return Grader(box, timeout_s=10)


async def test_the_tests_fail_an_honest_attempt(grader: Grader) -> None:
    report = await grader.grade(code="def guess(f):\n    return 42\n", tests=TESTS)
    assert not report.passed and "got 42" in report.tests[0].message


@pytest.mark.parametrize("name", sorted(EXPLOITS))
async def test_the_grader_never_acts_for_the_submission(grader: Grader, name: str) -> None:
    report = await grader.grade(code=PRELUDE + EXPLOITS[name], tests=TESTS)
    assert not report.passed, (name, report)
    assert not report.grader_error, (name, report)


async def test_a_failing_hidden_test_says_only_its_name(grader: Grader) -> None:
    visible = "from solution import double\n\ndef test_visible():\n    assert double(2) == 4\n"
    hidden = f"from solution import double\n\ndef test_hidden():\n    assert double(-7) == -14, 'secret {SECRET}'\n"
    report = await grader.grade(code="def double(x):\n    return abs(x) * 2\n", tests=visible, hidden_tests=hidden)
    by_name = {t.name: t for t in report.tests}
    assert by_name["test_visible"].passed
    assert not by_name["test_hidden"].passed
    text = report.model_dump_json()
    assert str(SECRET) not in text and "-14" not in text and "double(-7)" not in text
    assert "hidden test failed" in by_name["test_hidden"].message.lower()
    # A failing visible test keeps its actionable message.
    wrong = await grader.grade(code="def double(x):\n    return x\n", tests=visible, hidden_tests=hidden)
    assert "got 2, expected 4" in {t.name: t for t in wrong.tests}["test_visible"].message


async def test_a_hidden_test_that_passes_is_reported_passed(grader: Grader) -> None:
    hidden = "from solution import double\n\ndef test_hidden():\n    assert double(-7) == -14\n"
    report = await grader.grade(code="def double(x):\n    return x * 2\n", tests="", hidden_tests=hidden)
    assert report.passed and report.tests[0].name == "test_hidden"


BAD_LINES = [
    "not json",
    "[1, 2]",
    '{"event": 5}',
    '{"event": "result", "name": "test_a", "passed": "yes"}',
    '{"event": "result", "name": "test_a", "passed": true, "message": 3}',
    '{"event": "mystery"}',
    '{"event": "result", "name": "test_a", "passed": true}\n{"event": "result", "name": "test_a", "passed": true}',
    "[" * 100_000,
]


@pytest.mark.parametrize("stdout", BAD_LINES)
def test_a_malformed_tester_line_is_a_grader_error(stdout: str) -> None:
    with pytest.raises(GraderError):
        read_tester_output(stdout, ["test_a"])


def test_well_formed_tester_output_is_read() -> None:
    out = (
        '{"event": "tests", "names": ["test_a", "test_b"]}\n'
        '{"event": "result", "name": "test_a", "passed": true, "message": ""}\n'
        '{"event": "result", "name": "test_other", "passed": true, "message": ""}\n'
        '{"event": "end"}\n'
    )
    done, error = read_tester_output(out, ["test_a", "test_b"])
    assert done == {"test_a": TestOutcome(name="test_a", passed=True, message="")} and error is None


class _GarbledSandbox(Sandbox):
    """A sandbox whose tester printed something that is not one of its records."""

    def __init__(self) -> None:
        super().__init__()

    async def run_many(self, programs, **kwargs):  # type: ignore[no-untyped-def, override]
        for fd in kwargs.get("close_after_start", ()):
            os.close(fd)
        line = '{"event": "result", "name": "test_guess", "passed": true, "message": ""}\n{"event": "result"'
        return [
            ExecutionResult(stdout="", stderr="", exit_code=0),
            ExecutionResult(stdout=line, stderr="", exit_code=0),
        ]


async def test_a_garbled_tester_fails_the_submission_with_a_grader_error(caplog: pytest.LogCaptureFixture) -> None:
    report = await Grader(_GarbledSandbox()).grade(code="def guess(f):\n    return 1\n", tests=TESTS)
    assert not report.passed and report.grader_error and report.score == 0.0
    assert report.feedback.startswith("Grader error")
    assert any("grader error" in r.getMessage() for r in caplog.records)


ALWAYS_EQUAL = textwrap.dedent(
    """
    class Eq:
        seen = []

        def __eq__(self, other):
            return True

        def __ne__(self, other):
            return False

        def __lt__(self, other):
            return True

        __le__ = __gt__ = __ge__ = __lt__

        def __sub__(self, other):
            Eq.seen.append(other)
            return 0

        __rsub__ = __add__ = __radd__ = __sub__

        def __abs__(self):
            return 0

        def __hash__(self):
            return 2

        def __bool__(self):
            return True


    def f(*args):
        return Eq()
    """
)

# Test forms beyond `assert a == b` that an always-equal object used to pass.
COMPARISON_FORMS = {
    "and": "assert f(1) == 2 and f(2) == 4",
    "generator": "assert all(f(x) == 2 * x for x in range(3))",
    "in a tuple": "assert f(3) in (6, 7)",
    "not equal": "assert f(1) != 99",
    "in a variable": "ok = f(1) == 2\n    assert ok",
    "not not-equal": "assert not (f(1) != 2)",
    "is True": "assert (f(1) == 2) is True",
    "list.index": "assert [2, 4].index(f(1)) == 0",
    "list.count": "assert [2, 2].count(f(1)) == 2",
    "dict lookup": 'assert {2: "ok"}.get(f(1)) == "ok"',
    "chained": "assert 2 <= f(1) <= 2",
    "float closeness": "assert abs(f(1) - 2.5) < 1e-9",
    "reversed closeness": "assert abs(2.5 - f(1)) < 1e-9",
    "if-fail": "if f(1) != 2:\n        pytest.fail('wrong')",
}


@pytest.mark.parametrize("form", sorted(COMPARISON_FORMS))
async def test_an_always_equal_object_passes_no_comparison_form(grader: Grader, form: str) -> None:
    tests = f"import pytest\nfrom solution import f\n\n\ndef test_form():\n    {COMPARISON_FORMS[form]}\n"
    report = await grader.grade(code=ALWAYS_EQUAL, tests=tests)
    assert not report.passed, (form, report)
    honest = "def f(x):\n    return 2 if x == 1 else (4 if x == 2 else 2 * x)\n"
    if form not in ("float closeness", "reversed closeness", "in a tuple", "not equal", "if-fail"):
        assert (await grader.grade(code=honest, tests=tests)).passed, form  # the test is passable


async def test_student_objects_still_compare_with_each_other_and_with_plain_values_honestly(grader: Grader) -> None:
    code = textwrap.dedent(
        """
        class V:
            def __init__(self, x):
                self.x = x

            def __eq__(self, other):
                return isinstance(other, V) and other.x == self.x

            def __mul__(self, k):
                return V(self.x * k)


        def make(x):
            return V(x)
        """
    )
    tests = (
        "from solution import make, V\n\n\ndef test_v():\n"
        "    assert make(2) * 3 == V(6)\n    assert (make(1) == (1,)) is False\n    assert make(1) != make(2)\n"
        "    assert make(4).x == 4\n"
    )
    report = await grader.grade(code=code, tests=tests)
    assert report.passed, report


async def test_arithmetic_with_a_hidden_expected_value_fails_and_shows_nothing(grader: Grader) -> None:
    leak = ALWAYS_EQUAL.replace("Eq.seen.append(other)", "Eq.seen.append(other)\n            print(other)")
    hidden = f"from solution import f\n\n\ndef test_hidden():\n    assert abs(f(1) - {SECRET}) < 1e-9\n"
    report = await grader.grade(code=leak, tests="", hidden_tests=hidden)
    assert not report.passed and str(SECRET) not in report.model_dump_json()


async def test_text_from_the_student_cannot_break_the_report(grader: Grader) -> None:
    code = 'class R:\n    def __repr__(self):\n        return "evil\\ud800\\x00x"\n\n\ndef f(*a):\n    return R()\n'
    report = await grader.grade(code=code, tests="from solution import f\n\n\ndef test_f():\n    assert f(1) == 2\n")
    text = report.model_dump_json()  # no lone surrogate, so it serialises (and stores)
    assert not report.passed and "\\u0000" not in text


async def test_a_huge_where_from_the_agent_is_no_grader_error(grader: Grader) -> None:
    code = textwrap.dedent(
        """
        import sys
        peer = sys.modules["__main__"].peer


        def enc(exc, depth=0):
            return {"bases": ["ValueError"], "name": "ValueError", "own": True, "args": {"l": [{"v": "x"}]},
                    "where": "W" * 1_100_000}


        peer.encode_exception = enc


        def f(*a):
            raise ValueError("x")
        """
    )
    report = await grader.grade(code=code, tests="from solution import f\n\n\ndef test_f():\n    assert f(1) == 2\n")
    assert not report.passed and not report.grader_error, report
    assert len(report.tests[0].message) < 1000


async def test_a_hidden_test_named_like_a_visible_one_stays_hidden(grader: Grader) -> None:
    visible = "from solution import f\n\n\ndef test_a():\n    assert f(1) == 0\n"
    hidden = f"from solution import f\n\n\ndef test_a():\n    assert f(2) == {SECRET}\n"
    report = await grader.grade(code="def f(x):\n    return 0\n", tests=visible, hidden_tests=hidden)
    assert not report.passed and str(SECRET) not in report.model_dump_json()
