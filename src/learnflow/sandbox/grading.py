"""Grading: run an exercise's tests against a submission, in two sandboxes.

The submission runs in an *agent* sandbox that only answers requests; the tests run in a *tester*
sandbox that never executes student code and talks to the agent through an object RPC over two
pipes (``rpc.py``). Results are what the tester prints on its own stdout, which the submission
cannot reach, so printing fake results, exiting early, patching builtins or the harness, or
returning objects that claim to equal anything cannot make a test pass. Every ``==`` in a test is
also rewritten into a strict comparison with a message a student can act on.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from learnflow.curriculum.models import IOTest
from learnflow.events.payloads import TestOutcome
from learnflow.sandbox import Program, Sandbox

IOCase = IOTest  # the grading API's name for a stdin/stdout case, imported from here

log = logging.getLogger(__name__)
_HERE = Path(__file__).parent
RPC = (_HERE / "rpc.py").read_text(encoding="utf-8")
AGENT = (_HERE / "agent.py").read_text(encoding="utf-8")
TESTER = (_HERE / "tester.py").read_text(encoding="utf-8")
PYTEST_SHIM = (_HERE / "pytest_shim.py").read_text(encoding="utf-8")
TEST_HELPERS = (_HERE / "test_helpers.py").read_text(encoding="utf-8")

HELPERS_IMPORT = (
    "from _lf_helpers import _lf_assert_compare, _lf_chain, _lf_except, _lf_isinstance, _lf_issubclass, _lf_type\n\n"
)
_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge"}
_CHAIN_OPS = {
    **_OPS,
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}


class _RewriteAsserts(ast.NodeTransformer):
    def __init__(self, source: str) -> None:
        self.source = source

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        # Built-ins that cannot see through a proxy get helpers that ask the student's process.
        if (
            isinstance(node.func, ast.Name)
            and node.func.id in ("isinstance", "issubclass", "type")
            and (node.func.id != "type" or len(node.args) == 1)
        ):
            node.func = ast.copy_location(ast.Name("_lf_" + node.func.id, ast.Load()), node.func)
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        self.generic_visit(node)
        if node.type is not None:
            call = ast.Call(func=ast.Name("_lf_except", ast.Load()), args=[node.type], keywords=[])
            node.type = ast.copy_location(call, node.type)
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        # Every comparison, wherever it stands (inside `and`, a generator, a variable, a chain), is
        # strict: an object the student's code made is never equal to, ordered against or found in a
        # plain value, whatever its own methods say.
        self.generic_visit(node)
        call = ast.Call(
            func=ast.Name("_lf_chain", ast.Load()),
            args=[
                ast.Tuple([ast.Constant(_CHAIN_OPS[type(op)]) for op in node.ops], ast.Load()),
                node.left,
                *node.comparators,
            ],
            keywords=[],
        )
        return ast.copy_location(call, node)

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        text = ast.get_source_segment(self.source, node.test) or "assertion"
        text = " ".join(text.split())[:200]
        test = node.test
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _OPS:
            # The top-level comparison gets a message with both values; its operands are rewritten too.
            left, right = self.visit(test.left), self.visit(test.comparators[0])
            message = self.visit(node.msg) if node.msg is not None else ast.Constant(None)
            call = ast.Call(
                func=ast.Name("_lf_assert_compare", ast.Load()),
                args=[ast.Constant(_OPS[type(test.ops[0])]), left, right, ast.Constant(text), message],
                keywords=[],
            )
            return ast.copy_location(ast.Expr(call), node)
        self.generic_visit(node)
        if node.msg is None:
            node.msg = ast.Constant(f"{text} was not true")
        return node


def prepare_tests(source: str) -> str:
    """Rewrite test source for strict, informative assertions. Raises SyntaxError for bad tests."""
    tree = ast.parse(source)
    tree = _RewriteAsserts(source).visit(tree)
    ast.fix_missing_locations(tree)
    return HELPERS_IMPORT + ast.unparse(tree) + "\n"


def test_names(source: str) -> list[str]:
    """Names of the ``test_*`` functions defined at top level of ``source``."""
    tree = ast.parse(source)
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]


class GradeReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "passed": False,
                    "score": 0.5,
                    "tests": [
                        {"name": "test_double", "passed": False, "message": "double(3) == 6: got 9, expected 6"},
                        {"name": "test_zero", "passed": True, "message": ""},
                    ],
                    "feedback": "1 of 2 tests passed. First failing test: test_double: "
                    "double(3) == 6: got 9, expected 6",
                    "grader_error": False,
                }
            ]
        }
    )

    passed: bool
    score: float
    tests: list[TestOutcome]
    feedback: str
    grader_error: bool = False


class GraderError(RuntimeError):
    """The tester's output was not what the tester writes: the verdict cannot be trusted."""


_HIDDEN_FAILED = "This hidden test failed. Hidden tests check more cases of what the description asks for."
_MAX_RECORD = 4000


def _clean(text: str) -> str:
    """Text a student's values went into, safe to store and send: no lone surrogates, no NUL, bounded."""
    return text[:_MAX_RECORD].encode("utf-8", "replace").decode("utf-8").replace("\x00", "\N{REPLACEMENT CHARACTER}")


def read_tester_output(stdout: str, names: list[str]) -> tuple[dict[str, TestOutcome], str | None]:
    """The tester's JSON lines as outcomes and an import error; any other line is a ``GraderError``.

    Only the tester writes there, but its output is still parsed as data with limits: a line that is
    not one of its records means something is wrong, and no verdict is better than a wrong one.
    """
    done: dict[str, TestOutcome] = {}
    import_error: str | None = None
    known = set(names)
    for number, line in enumerate(stdout.splitlines(), 1):
        try:
            rec = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise GraderError(f"tester line {number} is not JSON: {line[:120]!r}") from exc
        if not isinstance(rec, dict) or not isinstance(rec.get("event"), str):
            raise GraderError(f"tester line {number} is not a record: {line[:120]!r}")
        event = rec["event"]
        if event == "import_error" and isinstance(rec.get("message"), str):
            import_error = _clean(rec["message"])
        elif event == "result":
            name, passed, message = rec.get("name"), rec.get("passed"), rec.get("message", "")
            if not (isinstance(name, str) and isinstance(passed, bool) and isinstance(message, str)) or name in done:
                raise GraderError(f"tester line {number} is a malformed result: {line[:120]!r}")
            if name in known:  # a test_ name the tests imported rather than defined is not graded
                done[name] = TestOutcome(name=name, passed=passed, message=_clean(message))
        elif (event == "tests" and isinstance(rec.get("names"), list)) or event == "end":
            continue
        else:
            raise GraderError(f"tester line {number} is an unknown record: {line[:120]!r}")
    return done, import_error


_COMPILE = """
import importlib._bootstrap_external as ext, importlib.util, json, sys
sources = json.loads(sys.stdin.read())
out = {}
for name, source in sources.items():
    code = compile(source, name, "exec", dont_inherit=True)
    out[name] = bytes(ext._code_to_hash_pyc(code, importlib.util.source_hash(source.encode()), checked=False)).hex()
print(json.dumps(out))
"""


def compile_for(python: str, sources: dict[str, str]) -> dict[str, bytes]:
    """Bytecode of ``sources`` for the sandbox's interpreter (unchecked-hash .pyc files).

    The harness is the same for every run: shipping it compiled saves each run the compilation.
    """
    proc = subprocess.run(
        [python, "-I", "-S", "-c", _COMPILE], input=json.dumps(sources), capture_output=True, text=True, timeout=60
    )
    if proc.returncode != 0:
        raise RuntimeError(f"cannot compile the grading harness: {proc.stderr[-500:]}")
    return {name: bytes.fromhex(data) for name, data in json.loads(proc.stdout).items()}


class GradesCode(Protocol):
    """What the tutor needs to grade: the local :class:`Grader`, or the runner service."""

    async def grade(
        self, *, code: str, tests: str = "", hidden_tests: str = "", io_tests: list[IOCase] | None = None
    ) -> GradeReport: ...


@dataclass
class Grader:
    sandbox: Sandbox
    timeout_s: float = 10.0
    _harness: dict[str, bytes] | None = None

    def harness(self) -> dict[str, bytes]:
        if self._harness is None:
            self._harness = compile_for(
                self.sandbox.python,
                {
                    "agent": AGENT,
                    "tester": TESTER,
                    "_lf_rpc": RPC,
                    "_lf_pytest": PYTEST_SHIM,
                    "_lf_helpers": TEST_HELPERS,
                },
            )
        return self._harness

    async def grade(
        self, *, code: str, tests: str = "", hidden_tests: str = "", io_tests: list[IOCase] | None = None
    ) -> GradeReport:
        """Run every unit test (visible and hidden) and stdin/stdout case against ``code``.

        A failing hidden test is reported by name only: its assertion, expected value and error stay
        hidden, or a student could read the answers from the feedback.
        """
        io_tests = io_tests or []
        visible = test_names(tests) if tests.strip() else []
        hidden_all = test_names(hidden_tests) if hidden_tests.strip() else []
        hidden = [n for n in hidden_all if n not in visible]
        names = visible + hidden
        source = tests + "\n\n" + hidden_tests if hidden_tests.strip() else tests
        syntax = check_syntax(code)
        if syntax:
            outcomes = [TestOutcome(name=n, passed=False, message=syntax) for n in names]
            outcomes += [TestOutcome(name=c.name, passed=False, message=syntax) for c in io_tests]
            return _report(outcomes, syntax_error=syntax)
        try:
            outcomes = await self._unit_tests(code, source, names) if names else []
        except GraderError as exc:
            log.error("grader error: %s", exc)
            message = "Grader error: the grading harness failed, not your code. It has been logged; please try again."
            failed = [TestOutcome(name=n, passed=False, message=message) for n in names]
            failed += [TestOutcome(name=c.name, passed=False, message=message) for c in io_tests]
            return GradeReport(passed=False, score=0.0, tests=failed, feedback=message, grader_error=True)
        # A hidden test named like a visible one replaces it when the two are run together: it is hidden.
        hidden_set = set(hidden_all)
        for i, outcome in enumerate(outcomes):
            if outcome.name in hidden_set and not outcome.passed:
                outcomes[i] = TestOutcome(name=outcome.name, passed=False, message=_HIDDEN_FAILED)
        for case in io_tests:
            outcomes.append(await self._io_test(code, case))
        return _report(outcomes)

    async def _unit_tests(self, code: str, tests: str, names: list[str]) -> list[TestOutcome]:
        # Two pipes: tester -> agent requests, agent -> tester answers (and callbacks both ways).
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        budget = max(1.0, self.timeout_s - 1.0)  # the tester reports before the sandbox's deadline
        compiled = self.harness()
        agent = Program(
            files={"agent.pyc": compiled["agent"], "_lf_rpc.pyc": compiled["_lf_rpc"], "solution.py": code},
            main="agent.pyc",
            argv=(str(req_r), str(resp_w)),
            pass_fds=(req_r, resp_w),
        )
        tester = Program(
            files={
                "tester.pyc": compiled["tester"],
                "_lf_rpc.pyc": compiled["_lf_rpc"],
                "_lf_pytest.pyc": compiled["_lf_pytest"],
                "_lf_helpers.pyc": compiled["_lf_helpers"],
                "_lf_tests.py": prepare_tests(tests),
            },
            main="tester.pyc",
            argv=(str(req_w), str(resp_r), f"{budget:.2f}"),
            pass_fds=(req_w, resp_r),
            output_cap=1_000_000,
        )
        _, result = await self.sandbox.run_many(
            [agent, tester], timeout_s=self.timeout_s, close_after_start=(req_r, req_w, resp_r, resp_w)
        )
        done, import_error = read_tester_output(result.stdout, names)
        if result.timed_out:
            cut = f"Stopped after {self.timeout_s:g} s: is there an infinite loop?"
        else:
            cut = "The tests could not finish (the run ran out of time or memory)."
        outcomes = []
        for name in names:
            if name in done:
                outcomes.append(done[name])
            else:
                outcomes.append(TestOutcome(name=name, passed=False, message=import_error or cut))
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
