"""Grading: run an exercise's tests against a submission in the sandbox.

The tests are trusted (curriculum or teacher); the submission is not. Results come back through a
token-tagged channel the submission cannot see (see ``harness.py``), and every ``==`` in a test is
rewritten into a strict comparison so that an object whose ``__eq__`` always says True cannot pass.
"""

from __future__ import annotations

import ast
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from learnflow.events.payloads import TestOutcome
from learnflow.sandbox import Sandbox

HARNESS = (Path(__file__).parent / "harness.py").read_text(encoding="utf-8")

# Minimal stand-in for the parts of pytest that exercise tests use; the sandbox has only the
# standard library, and the real pytest would bring plugins and startup time we do not want.
PYTEST_SHIM = """
import math as _math


class _Raises:
    def __init__(self, expected, match=None):
        self.expected = expected
        self.match = match
        self.value = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        name = getattr(self.expected, "__name__", str(self.expected))
        if exc_type is None:
            raise AssertionError(f"expected {name} to be raised, but nothing was raised")
        if not issubclass(exc_type, self.expected):
            return False
        if self.match is not None:
            import re
            if not re.search(self.match, str(exc)):
                raise AssertionError(f"{name} was raised, but its message {str(exc)!r} does not match {self.match!r}")
        self.value = exc
        return True


def raises(expected, match=None):
    return _Raises(expected, match)


class approx:
    def __init__(self, expected, rel=1e-6, abs=1e-12):
        self.expected, self.rel, self.abs = expected, rel, abs

    def __eq__(self, other):
        if type(other) not in (int, float):
            return False
        return _math.isclose(other, self.expected, rel_tol=self.rel, abs_tol=self.abs)

    def __repr__(self):
        return f"approx({self.expected!r})"


def fail(message=""):
    raise AssertionError(message or "failed")
"""

# Prepended to the tests: strict comparisons that a submission's objects cannot fool.
ASSERT_HELPERS = """
_LF_PLAIN = (int, float, complex, str, bytes, bool, type(None), list, tuple, dict, set, frozenset, range)


def _lf_plain(value, depth=0):
    kind = type(value)
    if kind not in _LF_PLAIN or depth > 50:
        return False
    if kind in (list, tuple, set, frozenset):
        return all(_lf_plain(item, depth + 1) for item in value)
    if kind is dict:
        return all(_lf_plain(k, depth + 1) and _lf_plain(v, depth + 1) for k, v in value.items())
    return True


def _lf_eq(left, right):
    import pytest
    if type(right) is pytest.approx:
        return right == left
    if type(left) is pytest.approx:
        return left == right
    left_plain, right_plain = _lf_plain(left), _lf_plain(right)
    if left_plain and right_plain:
        return bool(left == right)
    if left_plain != right_plain:
        # One side is a plain value, the other an object of the student's making: it is only
        # equal if it is that plain value, which it is not.
        return False
    return bool(left == right) and bool(right == left)


def _lf_show(value):
    try:
        text = repr(value)
    except Exception:
        text = "<unprintable " + type(value).__name__ + ">"
    if not _lf_plain(value):
        text += " (a " + type(value).__name__ + ")"
    return text if len(text) <= 300 else text[:300] + "..."


def _lf_assert_compare(op, left, right, source, message):
    import operator
    if op == "==":
        ok = _lf_eq(left, right)
    elif op == "!=":
        ok = not _lf_eq(left, right)
    else:
        ok = bool(getattr(operator, op)(left, right))
    if not ok:
        detail = message if message is not None else ""
        if op == "==":
            text = f"{source}: got {_lf_show(left)}, expected {_lf_show(right)}"
        else:
            text = f"{source}: left side is {_lf_show(left)}, right side is {_lf_show(right)}"
        raise AssertionError((str(detail) + " - " if detail else "") + text)
"""

_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge"}


class _RewriteAsserts(ast.NodeTransformer):
    def __init__(self, source: str) -> None:
        self.source = source

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        test = node.test
        text = ast.get_source_segment(self.source, test) or "assertion"
        text = " ".join(text.split())[:200]
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _OPS:
            call = ast.Call(
                func=ast.Name("_lf_assert_compare", ast.Load()),
                args=[
                    ast.Constant(_OPS[type(test.ops[0])]),
                    test.left,
                    test.comparators[0],
                    ast.Constant(text),
                    node.msg or ast.Constant(None),
                ],
                keywords=[],
            )
            return ast.copy_location(ast.Expr(call), node)
        if node.msg is None:
            node.msg = ast.Constant(f"{text} was not true")
        return node


def prepare_tests(source: str) -> str:
    """Rewrite test source for strict, informative assertions. Raises SyntaxError for bad tests."""
    tree = ast.parse(source)
    tree = _RewriteAsserts(source).visit(tree)
    ast.fix_missing_locations(tree)
    return ASSERT_HELPERS + "\n" + ast.unparse(tree) + "\n"


def test_names(source: str) -> list[str]:
    """Names of the ``test_*`` functions defined at top level of ``source``."""
    tree = ast.parse(source)
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]


class IOCase(BaseModel):
    name: str
    stdin: str = ""
    expected_stdout: str


class GradeReport(BaseModel):
    passed: bool
    score: float
    tests: list[TestOutcome]
    feedback: str


@dataclass
class Grader:
    sandbox: Sandbox
    timeout_s: float = 10.0

    async def grade(self, *, code: str, tests: str = "", io_tests: list[IOCase] | None = None) -> GradeReport:
        """Run every unit test and stdin/stdout case against ``code``."""
        io_tests = io_tests or []
        names = test_names(tests) if tests.strip() else []
        syntax = check_syntax(code)
        if syntax:
            outcomes = [TestOutcome(name=n, passed=False, message=syntax) for n in names]
            outcomes += [TestOutcome(name=c.name, passed=False, message=syntax) for c in io_tests]
            return _report(outcomes, syntax_error=syntax)
        outcomes = await self._unit_tests(code, tests, names) if names else []
        for case in io_tests:
            outcomes.append(await self._io_test(code, case))
        return _report(outcomes)

    async def _unit_tests(self, code: str, tests: str, names: list[str]) -> list[TestOutcome]:
        token = secrets.token_hex(16)
        result = await self.sandbox.run(
            HARNESS,
            stdin=token + "\n",
            timeout_s=self.timeout_s,
            files={"solution.py": code, "_lf_tests.py": prepare_tests(tests), "pytest.py": PYTEST_SHIM},
        )
        records = []
        for line in result.stdout.splitlines():
            head, _, body = line.partition(" ")
            if head == token:
                try:
                    records.append(json.loads(body))
                except json.JSONDecodeError:
                    continue
        done: dict[str, TestOutcome] = {}
        current: str | None = None
        import_error: str | None = None
        for rec in records:
            if rec.get("event") == "import_error":
                import_error = str(rec.get("message", "import failed"))
            elif rec.get("event") == "begin":
                current = str(rec.get("name"))
            elif rec.get("event") == "result" and rec.get("name") in names:
                done[rec["name"]] = TestOutcome(
                    name=rec["name"], passed=bool(rec.get("passed")), message=str(rec.get("message", ""))
                )
                current = None
        if result.timed_out:
            cut = f"Stopped after {self.timeout_s:g} s: is there an infinite loop?"
        elif result.memory_exceeded:
            cut = "Your code used more memory than allowed."
        else:
            cut = "Your program ended before this test finished (did it call os._exit or crash?)."
        outcomes = []
        for name in names:
            if name in done:
                outcomes.append(done[name])
            elif import_error:
                outcomes.append(TestOutcome(name=name, passed=False, message=import_error))
            else:
                message = cut if name == current or current is None else "Not run: an earlier test did not finish."
                outcomes.append(TestOutcome(name=name, passed=False, message=message))
        return outcomes

    async def _io_test(self, code: str, case: IOCase) -> TestOutcome:
        result = await self.sandbox.run(code, stdin=case.stdin, timeout_s=self.timeout_s)
        if result.timed_out:
            return TestOutcome(name=case.name, passed=False, message="Timed out: is there an infinite loop?")
        if result.exit_code != 0:
            last = result.stderr.strip().splitlines()[-1:] or ["the program failed"]
            return TestOutcome(name=case.name, passed=False, message=f"Your program crashed: {last[0][:300]}")
        if _normalise(result.stdout) == _normalise(case.expected_stdout):
            return TestOutcome(name=case.name, passed=True)
        return TestOutcome(
            name=case.name,
            passed=False,
            message=f"With input {case.stdin!r} expected output {case.expected_stdout!r}, got {result.stdout[:300]!r}",
        )


def _normalise(text: str) -> str:
    # Trailing spaces and a missing final newline are not what an exercise is about.
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def check_syntax(code: str) -> str | None:
    """Return a student-friendly message when ``code`` does not compile, else None."""
    try:
        compile(code, "solution.py", "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f" on line {exc.lineno}" if exc.lineno else ""
        kind = type(exc).__name__
        return f"{kind}{where}: {exc.msg}. Fix this first: Python cannot run any of the file until it parses."
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        return f"Your code could not be compiled: {type(exc).__name__}."
    return None


def _report(outcomes: list[TestOutcome], *, syntax_error: str | None = None) -> GradeReport:
    total = len(outcomes)
    passed = sum(o.passed for o in outcomes)
    score = round(passed / total, 4) if total else 0.0
    all_passed = total > 0 and passed == total
    if syntax_error:
        feedback = syntax_error
    elif all_passed:
        feedback = f"All {total} tests passed. Well done!"
    else:
        first = next(o for o in outcomes if not o.passed) if total else None
        feedback = f"{passed} of {total} tests passed."
        if first:
            feedback += f" First failing test: {first.name}: {first.message}"
    return GradeReport(passed=all_passed, score=score, tests=outcomes, feedback=feedback)
