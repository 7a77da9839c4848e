"""Find logic bugs: spectrum-based fault localisation, a value trace, and verified logic fixes.

Every case (a unit test, a stdin/stdout pair, or one expected output for the whole program) is run
in ONE sandbox run under a harness (``localize_harness.py``) that records which lines of the
student's file each case executed and whether it passed. Lines are ranked by Ochiai:

    suspiciousness(line) = failed(line) / sqrt(total_failed * (failed(line) + passed(line)))

A second run tries logic-fix candidates (inverse mutation operators on the suspicious lines, see
``fix_candidates``) against every case, and records the values on those lines for the first failing
visible case. A candidate that turns failing cases into passing ones without breaking a passing one
is evidence about its line (mutation-based localisation, as in MUSE), so the final order is:

1. lines with a verified fix (every case passes) first;
2. then the best net gain of a candidate on the line (failing cases fixed minus passing cases broken);
3. then Ochiai;
4. ties: fewer passing cases ran the line (more specific), then the line the first failing case ran
   last (nearest to where the wrong value came out).

The report comes back through the student's process, so it sits behind a per-run random nonce and is
parsed as JSON with size limits and a checked shape; anything else is "could not localise". A
verified fix is verified against the cases given, in that same process: callers that must be sure
(grading) still grade with :class:`~learnflow.sandbox.grading.Grader`.
"""

from __future__ import annotations

import ast
import functools
import json
import logging
import math
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

from learnflow.curriculum.models import Exercise
from learnflow.sandbox import CodeRunner
from learnflow.sandbox.grading import check_syntax, test_names

log = logging.getLogger(__name__)

HARNESS = (Path(__file__).parent / "localize_harness.py").read_text(encoding="utf-8")
STUDENT_FILE = "solution.py"
JOB_FILE = "_lf_job.json"
MAX_REPORT_CHARS = 60_000
MAX_CANDIDATES = 120
MAX_HITS = 6
MAX_TRACE_NAMES = 8
RUN_TIMEOUT_S = 10.0
TOTAL_BUDGET_S = 7.0
CASE_BUDGET_S = 1.0
MAX_STEPS = 200_000

Status = Literal["localised", "all_passed", "could_not_localise", "needs_expected_output", "syntax_error"]


# ----------------------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One thing to check: a unit test (by name, from ``tests``) or a stdin/expected-stdout pair."""

    name: str
    kind: Literal["test", "io"]
    visible: bool = True
    stdin: str = ""
    expected_stdout: str = ""


@dataclass(frozen=True)
class Cases:
    """The cases of one localisation: unit tests share one source; io cases carry their own data."""

    tests: str = ""
    items: tuple[Case, ...] = ()

    @property
    def mode(self) -> Literal["tests", "io"]:
        return "tests" if any(c.kind == "test" for c in self.items) else "io"


def cases_from_tests(visible: str, hidden: str = "") -> Cases:
    """Unit-test cases from pytest-style sources; a hidden test named like a visible one is hidden."""
    hidden_names = test_names(hidden) if hidden.strip() else []
    visible_names = [n for n in (test_names(visible) if visible.strip() else []) if n not in hidden_names]
    items = [Case(n, "test", True) for n in visible_names] + [Case(n, "test", False) for n in hidden_names]
    source = visible + "\n\n" + hidden if hidden.strip() else visible
    return Cases(tests=source, items=tuple(items))


def cases_from_io(pairs: Sequence[tuple[str, str]], *, visible: bool = True) -> Cases:
    """Stdin/expected-stdout cases; one pair with empty stdin is "one expected output for the program"."""
    return Cases(items=tuple(Case(f"case {i + 1}", "io", visible, s, e) for i, (s, e) in enumerate(pairs)))


def expected_output_case(expected: str | None, *, stdin: str = "") -> Cases:
    """The whole program against what the student says it should print; no expected output, no cases."""
    return cases_from_io([(stdin, expected)]) if expected is not None and expected.strip() else Cases()


def cases_from_exercise(exercise: Exercise) -> Cases:
    """An exercise's unit tests (visible and hidden) or, when it has none, its io tests."""
    if exercise.visible_tests.strip() or exercise.hidden_tests.strip():
        return cases_from_tests(exercise.visible_tests, exercise.hidden_tests)
    return Cases(items=tuple(Case(t.name, "io", True, t.stdin, t.expected_stdout) for t in exercise.io_tests))


# ---------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class RankedLine:
    line: int
    score: float  # Ochiai suspiciousness, 0..1
    failed: int  # failing cases that ran the line
    passed: int  # passing cases that ran the line
    text: str
    fix_gain: int = 0  # best net number of cases a candidate on this line fixed
    verified_fix: bool = False


@dataclass(frozen=True)
class TraceStep:
    hit: int  # 1 for the first time the line ran in the case
    values: dict[str, str]  # variable -> repr before the line ran
    after: dict[str, str] = field(default_factory=dict)  # assigned variable -> repr once it ran
    expression: str | None = None  # the line's condition / returned / assigned value, when safe to read


@dataclass(frozen=True)
class Trace:
    case: str
    line: int
    expression: str  # source of the expression whose value `TraceStep.expression` holds, or ""
    steps: list[TraceStep]


@dataclass(frozen=True)
class Divergence:
    case: str
    call: str  # e.g. "total([1, 2, 3])"
    student_value: str
    relation: str  # "too big", "too small", "too long", "too short", "wrong type", "different", "raises X"
    expected_value: str | None  # only for visible cases


@dataclass(frozen=True)
class Fix:
    line: int
    operator: str
    description: str
    code: str
    verified: bool
    before: str  # the line as the student wrote it
    after: str  # the line as the fix writes it (the fix may add a line after it)


@dataclass(frozen=True)
class CaseOutcome:
    name: str
    visible: bool
    passed: bool
    error: str | None
    message: str | None


@dataclass
class Localisation:
    status: Status
    reason: str = ""
    ranking: list[RankedLine] = field(default_factory=list)
    spectrum_order: list[int] = field(default_factory=list)  # the lines by Ochiai alone, before fix evidence
    outcomes: list[CaseOutcome] = field(default_factory=list)
    trace: Trace | None = None
    divergence: Divergence | None = None
    fix: Fix | None = None
    candidates_tried: int = 0
    hints: list[str] = field(default_factory=list)
    runs: int = 0
    duration_ms: float = 0.0

    @property
    def top_line(self) -> int | None:
        return self.ranking[0].line if self.ranking else None


class CouldNotLocalise(Exception):
    """The harness's report is missing, malformed or inconsistent: nothing it says is used."""


# ------------------------------------------------------------------------------------------ ochiai


def ochiai(failed: int, passed: int, total_failed: int) -> float:
    """Ochiai suspiciousness of a line run by ``failed`` failing and ``passed`` passing cases."""
    if failed == 0 or total_failed == 0:
        return 0.0
    return failed / math.sqrt(total_failed * (failed + passed))


@dataclass
class Spectrum:
    """Per case: passed or not, and the lines it ran with the step at which each last ran."""

    passed: list[bool]
    lines: list[dict[int, int]]

    def rank(self, source_lines: Sequence[str], *, first_failing: int | None = None) -> list[RankedLine]:
        total_failed = self.passed.count(False)
        runs_failed: dict[int, int] = {}
        runs_passed: dict[int, int] = {}
        for ok, lines in zip(self.passed, self.lines, strict=True):
            for line in lines:
                target = runs_passed if ok else runs_failed
                target[line] = target.get(line, 0) + 1
        order = self.lines[first_failing] if first_failing is not None else {}
        ranked = [
            RankedLine(
                line=line,
                score=round(ochiai(count, runs_passed.get(line, 0), total_failed), 4),
                failed=count,
                passed=runs_passed.get(line, 0),
                text=source_lines[line - 1].strip() if 0 < line <= len(source_lines) else "",
            )
            for line, count in runs_failed.items()
        ]
        ranked.sort(key=lambda r: (-r.score, r.passed, -order.get(r.line, 0), r.line))
        return ranked


def rerank(ranked: list[RankedLine], order: dict[int, int]) -> list[RankedLine]:
    """The final order: verified fix, then net fix gain, then Ochiai, then the tie-breaks above."""
    return sorted(ranked, key=lambda r: (not r.verified_fix, -r.fix_gain, -r.score, r.passed, -order.get(r.line, 0)))


# -------------------------------------------------------------------------------- fix candidates


@dataclass(frozen=True)
class Candidate:
    line: int
    operator: str
    description: str
    code: str


_CMP_SYMBOL: dict[type[ast.cmpop], str] = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}
_CMP_ALTERNATIVES: dict[type[ast.cmpop], tuple[type[ast.cmpop], ...]] = {
    ast.Lt: (ast.LtE, ast.Gt, ast.GtE, ast.NotEq),
    ast.LtE: (ast.Lt, ast.GtE, ast.Gt),
    ast.Gt: (ast.GtE, ast.Lt, ast.LtE, ast.NotEq),
    ast.GtE: (ast.Gt, ast.LtE, ast.Lt),
    ast.Eq: (ast.NotEq, ast.LtE, ast.GtE),
    ast.NotEq: (ast.Eq, ast.Lt, ast.Gt),
    ast.In: (ast.NotIn,),
    ast.NotIn: (ast.In,),
    ast.Is: (ast.IsNot,),
    ast.IsNot: (ast.Is,),
}
_ARITH: tuple[type[ast.operator], ...] = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_PRECEDENCE: dict[type[ast.operator], int] = {ast.Add: 1, ast.Sub: 1, ast.Pow: 3}  # others: 2
# Starting values a student mixes up, by the kind of value written (a number's ±1 is `_constant`'s).
_EMPTY_STARTS = ("0", '""', "[]", "{}", "None")


def _initial_alternatives(value: ast.expr) -> list[str]:
    if isinstance(value, ast.Constant):
        kind = type(value.value)
        if kind is bool:
            return [repr(not value.value)]
        if kind is float:
            return ["0.0", "1.0"]
        if kind is str:
            return ['""'] if value.value else ['" "']
        if value.value is None:
            return list(_EMPTY_STARTS[:-1])
        return ["None"] if kind is int else []
    if isinstance(value, ast.List | ast.Tuple | ast.Set | ast.Dict) and not getattr(
        value, "elts", getattr(value, "keys", [])
    ):
        return ["None", '""', "0"]
    return []


class _Source:
    """The program's lines as UTF-8 bytes, because AST column offsets count bytes."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.lines = code.splitlines(keepends=True)
        self.tree = ast.parse(code)
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.code, node) or ast.unparse(node)

    def replace(self, node: ast.AST, text: str) -> str | None:
        """The program with ``node`` (on one line) replaced by ``text``; None if it spans lines."""
        line, end = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        if line is None or line != end or not 0 < line <= len(self.lines):
            return None
        raw = self.lines[line - 1].encode("utf-8")
        # ast.AST declares no positions; lineno above showed this node has them.
        start, stop = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
        new: str = (raw[:start] + text.encode("utf-8") + raw[stop:]).decode("utf-8")
        return "".join(self.lines[: line - 1]) + new + "".join(self.lines[line:])

    def on_line(self, line: int) -> Iterator[ast.AST]:
        for node in ast.walk(self.tree):
            if getattr(node, "lineno", None) == line and getattr(node, "end_lineno", None) == line:
                yield node

    def statement_at(self, line: int) -> ast.stmt | None:
        best: ast.stmt | None = None
        for node in ast.walk(self.tree):
            if (
                isinstance(node, ast.stmt)
                and node.lineno == line
                and (best is None or node.col_offset < best.col_offset)
            ):
                best = node
        return best

    def scope_of(self, node: ast.AST) -> ast.AST:
        current = self.parents.get(node)
        while current is not None and not isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef):
            current = self.parents.get(current)
        return current if current is not None else self.tree

    def variables(self, scope: ast.AST) -> list[str]:
        """Parameters and assigned names of ``scope`` (not nested functions), in order of appearance."""
        names: list[str] = []
        if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
            names += [a.arg for a in scope.args.posonlyargs + scope.args.args + scope.args.kwonlyargs]
        for node in ast.walk(scope):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and self.scope_of(node) is scope:
                names.append(node.id)
        return list(dict.fromkeys(names))


def _wrapped(text: str, node: ast.AST) -> str:
    return text if isinstance(node, ast.Name | ast.Constant | ast.Call | ast.Attribute | ast.Subscript) else f"({text})"


CandidateRule = Callable[[_Source, ast.AST], Iterator[tuple[str, str, ast.AST, str]]]
"""Yields (operator, description, node to replace, replacement text) for one node on the line."""


def _comparison(src: _Source, node: ast.AST) -> Iterator[tuple[str, str, ast.AST, str]]:
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        old = type(node.ops[0])
        for new in _CMP_ALTERNATIVES.get(old, ()):
            text = ast.unparse(ast.Compare(node.left, [new()], node.comparators))
            yield "comparison", f"`{_CMP_SYMBOL[old]}` → `{_CMP_SYMBOL[new]}`", node, text


def _drop_plus_minus_one(src: _Source, node: ast.AST) -> Iterator[tuple[str, str, ast.AST, str]]:
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Add | ast.Sub)
        and isinstance(node.right, ast.Constant)
        and node.right.value == 1
    ):
        yield "off-by-one", f"`{src.segment(node)}` → `{src.segment(node.left)}`", node, src.segment(node.left)


def _bound(src: _Source, node: ast.AST) -> Iterator[tuple[str, str, ast.AST, str]]:
    """±1 on range bounds and on indices and slice bounds that are not plain numbers."""
    targets: list[ast.AST] = []
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
        targets += node.args
    elif isinstance(node, ast.Subscript):
        if isinstance(node.slice, ast.Slice):
            targets += [b for b in (node.slice.lower, node.slice.upper) if b is not None]
        else:
            targets.append(node.slice)
    for target in targets:
        if isinstance(target, ast.Constant):
            continue  # constants get their own ±1
        text = src.segment(target)
        for sign in ("+", "-"):
            new = f"{_wrapped(text, target)} {sign} 1"
            yield "off-by-one", f"`{text}` → `{new}`", target, new


def _constant(src: _Source, node: ast.AST) -> Iterator[tuple[str, str, ast.AST, str]]:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        for new in (node.value + 1, node.value - 1):
            yield "constant", f"`{node.value}` → `{new}`", node, str(new)


def _arithmetic(src: _Source, node: ast.AST) -> Iterator[tuple[str, str, ast.AST, str]]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, _ARITH):
        for new in _ARITH:
            if isinstance(node.op, new):
                continue
            text = ast.unparse(ast.BinOp(node.left, new(), node.right))
            if _PRECEDENCE.get(new, 2) < _PRECEDENCE.get(type(node.op), 2):
                text = f"({text})"
            yield "operator", f"`{src.segment(node)}` → `{text}`", node, text
    elif isinstance(node, ast.AugAssign) and isinstance(node.op, _ARITH):
        for new in _ARITH:
            if not isinstance(node.op, new):
                text = ast.unparse(ast.AugAssign(node.target, new(), node.value))
                yield "operator", f"`{src.segment(node)}` → `{text}`", node, text


def _boolean(src: _Source, node: ast.AST) -> Iterator[tuple[str, str, ast.AST, str]]:
    if isinstance(node, ast.BoolOp):
        new = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        text = ast.unparse(ast.BoolOp(new, node.values))
        yield "boolean", f"`{src.segment(node)}` → `{text}`", node, text
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "boolean", f"drop the `not` in `{src.segment(node)}`", node, _wrapped(src.segment(node.operand), node)


def _variable(src: _Source, node: ast.AST) -> Iterator[tuple[str, str, ast.AST, str]]:
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        scope = src.scope_of(node)
        known = src.variables(scope)
        if node.id not in known:
            return
        for other in [n for n in known if n != node.id][:6]:
            yield "variable", f"`{node.id}` → `{other}`", node, other


def _initial(src: _Source, node: ast.AST) -> Iterator[tuple[str, str, ast.AST, str]]:
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        old = src.segment(node.value)
        for new in _initial_alternatives(node.value):
            if new == old:
                continue
            yield "initial value", f"`{node.targets[0].id} = {old}` → `{node.targets[0].id} = {new}`", node.value, new


def _branches(src: _Source, node: ast.AST) -> Iterator[tuple[str, str, ast.AST, str]]:
    if isinstance(node, ast.If) and node.orelse:
        is_elif = len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If) and node.orelse[0].col_offset > 0
        if not is_elif or node.orelse[0].lineno != node.lineno:
            text = src.segment(node.test)
            yield "swapped branches", f"swap the `if` and `else` branches (`not ({text})`)", node.test, f"not ({text})"


def _missing_return(src: _Source, node: ast.AST) -> Iterator[tuple[str, str, ast.AST, str]]:
    if not isinstance(node, ast.Pass | ast.Expr):
        return
    scope = src.scope_of(node)
    if not isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
        return
    is_print = (
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and ast.unparse(node.value.func) == "print"
    )
    if isinstance(node, ast.Expr) and not isinstance(node.value, ast.Constant) and not is_print:
        text = src.segment(node.value)
        yield "missing return", f"return `{text}`", node, f"return {text}"
    elif isinstance(node, ast.Pass):
        for name in src.variables(scope)[:6]:
            yield "missing return", f"return `{name}`", node, f"return {name}"


# Order matters: when two candidates on one line both pass, the earlier (smaller) change is offered.
FIX_RULES: list[CandidateRule] = [
    _comparison,
    _drop_plus_minus_one,
    _bound,
    _constant,
    _initial,
    _boolean,
    _arithmetic,
    _missing_return,
    _branches,
    _variable,
]


def _append_return(src: _Source, line: int) -> Iterator[Candidate]:
    """A function that never returns, whose last line is ``line``: return one of its variables there."""
    for node in ast.walk(src.tree):
        if not isinstance(node, ast.FunctionDef) or node.end_lineno != line:
            continue
        if any(isinstance(n, ast.Return) for n in ast.walk(node)):
            continue
        indent = " " * node.body[0].col_offset
        for name in src.variables(node)[:6]:
            lines = [*src.lines[:line], f"{indent}return {name}\n", *src.lines[line:]]
            if not lines[line - 1].endswith("\n"):
                lines[line - 1] += "\n"
            yield Candidate(line, "missing return", f"add `return {name}` after line {line}", "".join(lines))


def fix_candidates(code: str, line: int) -> list[Candidate]:
    """Single-edit fixes of ``line`` by the inverse mutation operators, each compiling, none repeated."""
    try:
        src = _Source(code)
    except (SyntaxError, ValueError, RecursionError):
        return []
    found: dict[str, Candidate] = {}
    nodes = list(src.on_line(line))
    statement = src.statement_at(line)
    if statement is not None and statement not in nodes:
        nodes.append(statement)  # compound statements (if, for) span lines but their headers are here
    for rule in FIX_RULES:
        for node in nodes:
            for operator, description, target, text in rule(src, node):
                new = src.replace(target, text)
                if new is None or new == code or new in found:
                    continue
                try:
                    compile(new, STUDENT_FILE, "exec", dont_inherit=True)
                except (SyntaxError, ValueError):
                    continue
                found[new] = Candidate(line, operator, description, new)
    for candidate in _append_return(src, line):
        found.setdefault(candidate.code, candidate)
    return list(found.values())


# ------------------------------------------------------------------------------ harness and report


def _job(code_list: list[str], cases: Cases, *, record_calls: bool, watch: dict[str, Any] | None) -> dict[str, Any]:
    job: dict[str, Any] = {
        "mode": cases.mode,
        "programs": code_list,
        "record_calls": record_calls,
        "max_steps": MAX_STEPS,
        "case_s": CASE_BUDGET_S,
        "total_s": TOTAL_BUDGET_S,
        "max_hits": MAX_HITS,
    }
    if cases.mode == "tests":
        job["tests"] = cases.tests
        job["test_names"] = [c.name for c in cases.items]
    else:
        job["io"] = [{"stdin": c.stdin, "expected": c.expected_stdout} for c in cases.items]
    if watch is not None:
        job["watch"] = watch
    return job


async def _run(sandbox: CodeRunner, job: dict[str, Any]) -> list[list[dict[str, Any]] | None]:
    """Run ``job``; per program its cases' records (None when it was not run or broke the harness)."""
    nonce = "\x1elf-" + secrets.token_hex(16) + "\x1f"
    files = {JOB_FILE: json.dumps({**job, "nonce": nonce})}
    result = await sandbox.run(HARNESS, files=files, timeout_s=RUN_TIMEOUT_S)
    report = parse_report(result.stdout, nonce)
    programs = report.get("programs")
    if not isinstance(programs, list) or not programs or len(programs) > len(job["programs"]):
        raise CouldNotLocalise("the report lists no programs")
    count = len(job["test_names"] if job["mode"] == "tests" else job["io"])
    out: list[list[dict[str, Any]] | None] = []
    for number, cases in enumerate(programs):
        if isinstance(cases, dict):  # the harness itself failed on this program
            if number == 0:
                raise CouldNotLocalise(f"the harness failed: {str(cases.get('harness_error'))[:40]}")
            out.append(None)
            continue
        out.append(_check_cases(cases, count))
    out += [None] * (len(job["programs"]) - len(out))
    return out


def parse_report(stdout: str, nonce: str) -> dict[str, Any]:
    """The one report behind ``nonce`` in ``stdout``, as JSON within limits, or ``CouldNotLocalise``."""
    if stdout.count(nonce) != 1:
        raise CouldNotLocalise("no report, or more than one")
    text = stdout[stdout.index(nonce) + len(nonce) :]
    end = text.find("\n")
    if end < 0 or end > MAX_REPORT_CHARS:
        raise CouldNotLocalise("the report is cut or too long")
    try:
        report = json.loads(text[:end])
    except (ValueError, RecursionError) as exc:
        raise CouldNotLocalise("the report is not JSON") from exc
    if not isinstance(report, dict):
        raise CouldNotLocalise("the report is not an object")
    return report


def _short(value: object, limit: int = 200) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise CouldNotLocalise("a text field is not text")
    return value[:limit]


def _check_cases(cases: object, count: int) -> list[dict[str, Any]]:
    if not isinstance(cases, list) or len(cases) != count:
        raise CouldNotLocalise("the report has the wrong number of cases")
    checked: list[dict[str, Any]] = []
    for case in cases:
        if not isinstance(case, dict) or not isinstance(case.get("passed"), bool):
            raise CouldNotLocalise("a case record is malformed")
        lines = case.get("lines")
        if not isinstance(lines, list) or len(lines) > 5000:
            raise CouldNotLocalise("a case's lines are malformed")
        ran: dict[int, int] = {}
        for pair in lines:
            if not (isinstance(pair, list) and len(pair) == 2 and all(type(x) is int and x > 0 for x in pair)):
                raise CouldNotLocalise("a line record is malformed")
            ran[pair[0]] = pair[1]
        record: dict[str, Any] = {
            "passed": case["passed"],
            "error": _short(case.get("error"), 60),
            "message": _short(case.get("message")),
            "lines": ran,
            "stdout": _short(case.get("stdout"), 2000),
            "calls": _check_calls(case.get("calls")),
            "hits": _check_hits(case.get("hits")),
        }
        checked.append(record)
    return checked


def _check_calls(calls: object) -> list[dict[str, Any]]:
    if calls is None:
        return []
    if not isinstance(calls, list) or len(calls) > 20:
        raise CouldNotLocalise("calls are malformed")
    out = []
    for call in calls:
        if not isinstance(call, dict) or not isinstance(call.get("fn"), str) or not isinstance(call.get("args"), str):
            raise CouldNotLocalise("a call is malformed")
        num, size = call.get("num"), call.get("len")
        if (num is not None and type(num) not in (int, float)) or (size is not None and type(size) is not int):
            raise CouldNotLocalise("a call's value is malformed")
        out.append(
            {
                "fn": call["fn"][:60],
                "args": call["args"][:120],
                "value": _short(call.get("value"), 60),
                "type": _short(call.get("type"), 40),
                "num": num,
                "len": size,
                "raised": _short(call.get("raised"), 60),
            }
        )
    return out


def _check_hits(hits: object) -> dict[int, list[TraceStep]]:
    if hits is None:
        return {}
    if not isinstance(hits, dict) or len(hits) > 50:
        raise CouldNotLocalise("hits are malformed")
    out: dict[int, list[TraceStep]] = {}
    for key, steps in hits.items():
        if not (isinstance(key, str) and key.isdigit() and isinstance(steps, list) and len(steps) <= MAX_HITS):
            raise CouldNotLocalise("hits are malformed")
        parsed = []
        for number, step in enumerate(steps, 1):
            if not isinstance(step, dict):
                raise CouldNotLocalise("a hit is malformed")
            parsed.append(
                TraceStep(
                    hit=number,
                    values=_check_values(step.get("values")),
                    after=_check_values(step.get("after")),
                    expression=_short(step.get("expr"), 60),
                )
            )
        out[int(key)] = parsed
    return out


def _check_values(values: object) -> dict[str, str]:
    if values is None:
        return {}
    if not isinstance(values, dict) or len(values) > MAX_TRACE_NAMES:
        raise CouldNotLocalise("trace values are malformed")
    out = {}
    for name, value in values.items():
        if not (isinstance(name, str) and name.isidentifier() and isinstance(value, str)):
            raise CouldNotLocalise("a trace value is malformed")
        out[name[:40]] = value[:60]
    return out


# ------------------------------------------------------------------------------------- the trace

_SAFE_NODES = (
    ast.Expression,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
    ast.Subscript,
    ast.Tuple,
    ast.Slice,
)


def _safe_expression(node: ast.AST | None) -> str:
    """The source of ``node`` when reading it calls nothing the student wrote (beyond operators)."""
    if node is None or not all(isinstance(sub, _SAFE_NODES) for sub in ast.walk(node)):
        return ""
    return ast.unparse(node)


def _line_expression(statement: ast.stmt | None) -> str:
    """What is worth evaluating on a line: its condition, returned value or assigned value."""
    if isinstance(statement, ast.If | ast.While):
        return _safe_expression(statement.test)
    if isinstance(statement, ast.Return | ast.Assign | ast.AugAssign):
        return _safe_expression(statement.value)
    return ""


def _watch_for(code: str, lines: list[int], case: int) -> dict[str, Any]:
    src = _Source(code)
    what: dict[str, list[Any]] = {}
    for line in lines:
        statement = src.statement_at(line)
        header: list[ast.AST] = []
        if isinstance(statement, ast.For):
            header = [statement.target, statement.iter]
        elif isinstance(statement, ast.If | ast.While):
            header = [statement.test]
        elif statement is not None:
            header = [statement]
        names: list[str] = []
        assigned: list[str] = []
        for part in header:
            for node in ast.walk(part):
                if isinstance(node, ast.Name) and node.id not in names:
                    names.append(node.id)
                    if isinstance(node.ctx, ast.Store):
                        assigned.append(node.id)
        if isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
            assigned.append(statement.target.id)
        what[str(line)] = [names[:MAX_TRACE_NAMES], assigned[:MAX_TRACE_NAMES], _line_expression(statement)]
    return {"case": case, "lines": what}


# ---------------------------------------------------------------------------------- divergence


def find_divergence(student: list[dict[str, Any]], reference: list[dict[str, Any]], cases: Cases) -> Divergence | None:
    """The first visible case where a call the tests made returns something else than the reference's."""
    for case, mine, theirs in zip(cases.items, student, reference, strict=False):
        if not case.visible:
            continue  # a hidden test's calls and values would tell the student the hidden test
        for ours, ref in zip(mine["calls"], theirs["calls"], strict=False):
            if ours["fn"] != ref["fn"] or ours["args"] != ref["args"]:
                break  # the tests went another way: later calls are not comparable
            if ours["raised"] == ref["raised"] and ours["value"] == ref["value"] and ours["type"] == ref["type"]:
                continue
            call = f"{ours['fn']}({ours['args']})"
            if ours["raised"]:
                relation, value = f"raises {ours['raised']}", ours["raised"]
            elif ours["type"] != ref["type"] and not (ours["num"] is not None and ref["num"] is not None):
                relation, value = "wrong type", f"{ours['value']} (a {ours['type']})"
            elif ours["num"] is not None and ref["num"] is not None and ours["num"] != ref["num"]:
                relation, value = ("too big" if ours["num"] > ref["num"] else "too small"), ours["value"]
            elif ours["len"] is not None and ref["len"] is not None and ours["len"] != ref["len"]:
                relation, value = ("too long" if ours["len"] > ref["len"] else "too short"), ours["value"]
            else:
                relation, value = "different", ours["value"]
            return Divergence(case.name, call, value or "", relation, ref["value"] if case.visible else None)
    return None


# ------------------------------------------------------------------------------------------ hints


class HintQuestions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    loop: str
    loop_never_ran: str
    condition: str
    returns: str
    assigns: str
    values: str


class HintTexts(BaseModel):
    """The sentences of ``localize_hints.yaml``: content lives in data, the code only fills it in."""

    model_config = ConfigDict(extra="forbid")
    given: str
    value: str
    questions: HintQuestions
    pointer: str
    divergence: str
    divergence_unordered: str
    change_verified: str
    change_described: str
    change_unverified: str
    ask_expected: str


HINTS_FILE = Path(__file__).parent.parent / "curriculum" / "data" / "localize_hints.yaml"
# The placeholders each sentence must use, no more and no fewer (checked by the schema test).
HINT_FIELDS: dict[str, set[str]] = {
    "given": {"values"},
    "value": {"name", "value"},
    "questions.loop": {"line", "given", "target", "values"},
    "questions.loop_never_ran": {"line", "case"},
    "questions.condition": {"line", "given", "expression", "value"},
    "questions.returns": {"line", "value", "expression"},
    "questions.assigns": {"line", "given", "name", "value"},
    "questions.values": {"line", "values"},
    "pointer": {"line", "text", "failed", "failing", "passed"},
    "divergence": {"call", "value", "relation"},
    "divergence_unordered": {"call", "value"},
    "change_verified": {"line", "before", "after"},
    "change_described": {"line", "description"},
    "change_unverified": {"line"},
    "ask_expected": set(),
}


@functools.cache
def hint_texts() -> HintTexts:
    return HintTexts.model_validate(yaml.safe_load(HINTS_FILE.read_text(encoding="utf-8")))


def _values_phrase(values: dict[str, str]) -> str:
    texts = hint_texts()
    return " and ".join(texts.value.format(name=name, value=value) for name, value in list(values.items())[:3])


def _given(values: dict[str, str]) -> str:
    return hint_texts().given.format(values=_values_phrase(values)) if values else ""


def _loop_question(trace: Trace, statement: ast.For, line: int) -> str | None:
    target = statement.target.id if isinstance(statement.target, ast.Name) else None
    if target is None:
        return None
    questions = hint_texts().questions
    seen = [value for s in trace.steps if (value := s.after.get(target)) is not None]
    sequence = list(dict.fromkeys(seen))
    if not sequence:
        return questions.loop_never_ran.format(line=line, case=trace.case)
    bounds = {k: v for k, v in trace.steps[0].values.items() if k != target}
    shown = ", ".join(sequence[:MAX_HITS]) + (", …" if len(trace.steps) >= MAX_HITS else "")
    return questions.loop.format(line=line, given=_given(bounds), target=target, values=shown)


def _condition_question(trace: Trace, statement: ast.If | ast.While, line: int) -> str | None:
    step = next((s for s in trace.steps if s.expression is not None), None)
    if step is None:
        return None
    return hint_texts().questions.condition.format(
        line=line, given=_given(step.values), expression=trace.expression, value=step.expression
    )


def _assign_question(trace: Trace, statement: ast.stmt, line: int) -> str | None:
    step = next((s for s in trace.steps if s.after or s.expression is not None), None)
    if step is None:
        return None
    questions = hint_texts().questions
    if isinstance(statement, ast.Return):
        return questions.returns.format(line=line, value=step.expression, expression=trace.expression)
    name, value = next(iter(step.after.items()), (None, step.expression))
    inputs = {k: v for k, v in step.values.items() if k != name}
    return questions.assigns.format(line=line, given=_given(inputs), name=name or trace.expression, value=value)


QuestionRule = Callable[[Trace, Any, int], str | None]
QUESTIONS: dict[type[ast.stmt], QuestionRule] = {
    ast.For: _loop_question,
    ast.If: _condition_question,
    ast.While: _condition_question,
    ast.Assign: _assign_question,
    ast.AugAssign: _assign_question,
    ast.Return: _assign_question,
}


def _question(code: str, trace: Trace) -> str | None:
    statement = _Source(code).statement_at(trace.line)
    rule = QUESTIONS.get(type(statement)) if statement is not None else None
    question = rule(trace, statement, trace.line) if rule is not None else None
    if question is None and trace.steps and trace.steps[0].values:
        question = hint_texts().questions.values.format(line=trace.line, values=_values_phrase(trace.steps[0].values))
    return question


def build_hints(code: str, result: Localisation) -> list[str]:
    """Ordered: a question about a concrete value on the line, then the pointer, then what to change."""
    texts = hint_texts()
    if result.status == "needs_expected_output":
        return [texts.ask_expected]
    if result.status != "localised" or not result.ranking:
        return []
    top = result.ranking[0]
    hints: list[str] = []
    if result.trace is not None and result.trace.line == top.line:
        question = _question(code, result.trace)
        if question:
            hints.append(question)
    failing = sum(1 for o in result.outcomes if not o.passed)
    pointer = texts.pointer.format(line=top.line, text=top.text, failed=top.failed, failing=failing, passed=top.passed)
    if result.divergence is not None:
        d = result.divergence
        if d.relation == "different":
            pointer += texts.divergence_unordered.format(call=d.call, value=d.student_value)
        else:
            pointer += texts.divergence.format(call=d.call, value=d.student_value, relation=d.relation)
    hints.append(pointer)
    fix = result.fix
    if fix is not None and fix.verified and fix.before != fix.after:
        hints.append(texts.change_verified.format(line=fix.line, before=fix.before, after=fix.after))
    elif fix is not None and fix.verified:
        hints.append(texts.change_described.format(line=fix.line, description=fix.description))
    else:
        hints.append(texts.change_unverified.format(line=top.line))
    return hints


# ------------------------------------------------------------------------------------- localise


def _header_lines(code: str) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            lines.add(node.lineno)
            lines.update(d.lineno for d in node.decorator_list)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            lines.add(node.lineno)
    return lines


def _outcomes(cases: Cases, records: list[dict[str, Any]]) -> list[CaseOutcome]:
    return [
        CaseOutcome(c.name, c.visible, r["passed"], r["error"], r["message"] if c.visible else None)
        for c, r in zip(cases.items, records, strict=True)
    ]


async def localise(
    code: str,
    cases: Cases,
    sandbox: CodeRunner,
    *,
    reference: str | None = None,
    fix: bool = True,
    max_candidates: int = MAX_CANDIDATES,
) -> Localisation:
    """Rank the lines of ``code`` by how likely they hold the bug that makes some of ``cases`` fail.

    ``reference`` (an exercise's solution) is run on its own, never beside the student's code, and
    only the first visible divergence is reported from it, never its code.
    """
    started = time.monotonic()
    result = await _localise(code, cases, sandbox, reference=reference, fix=fix, max_candidates=max_candidates)
    result.hints = build_hints(code, result)
    result.duration_ms = round((time.monotonic() - started) * 1000, 1)
    return result


async def _localise(
    code: str, cases: Cases, sandbox: CodeRunner, *, reference: str | None, fix: bool, max_candidates: int
) -> Localisation:
    if not cases.items:
        return Localisation("needs_expected_output", reason="no tests and no expected output to compare with")
    syntax = check_syntax(code)
    if syntax:
        return Localisation("syntax_error", reason=syntax)
    source_lines = code.splitlines()
    runs = 1
    try:
        [original] = (await _run(sandbox, _job([code], cases, record_calls=reference is not None, watch=None)))[:1]
    except CouldNotLocalise as exc:
        return Localisation("could_not_localise", reason=str(exc), runs=runs)
    assert original is not None  # _run raises for the first program instead
    outcomes = _outcomes(cases, original)
    if all(o.passed for o in outcomes):
        return Localisation("all_passed", outcomes=outcomes, runs=runs)
    spectrum = Spectrum([r["passed"] for r in original], [r["lines"] for r in original])
    failing = [i for i, o in enumerate(outcomes) if not o.passed]
    visible_failing = [i for i in failing if cases.items[i].visible]
    first = visible_failing[0] if visible_failing else failing[0]
    # A `def`, `class` or `import` line runs once, when the module loads, in every case alike: where
    # a function's bug lies is its body, so these lines are left out of the ranking.
    headers = _header_lines(code)
    ranking = [r for r in spectrum.rank(source_lines, first_failing=first) if r.line not in headers]
    if not ranking:
        return Localisation("could_not_localise", reason="no line of the program ran in a failing case", runs=runs)

    spectrum_order = [r.line for r in ranking]
    candidates: list[Candidate] = []
    if fix:
        for ranked in ranking:
            for candidate in fix_candidates(code, ranked.line):
                if len(candidates) < max_candidates:
                    candidates.append(candidate)
    watched = [r.line for r in ranking[:MAX_HITS]] + list(dict.fromkeys(c.line for c in candidates))
    watch = _watch_for(code, list(dict.fromkeys(watched))[:40], first) if visible_failing else None
    runs += 1
    try:
        second = await _run(
            sandbox, _job([code] + [c.code for c in candidates], cases, record_calls=False, watch=watch)
        )
    except CouldNotLocalise as exc:
        return Localisation("could_not_localise", reason=str(exc), runs=runs)
    hits = second[0][first]["hits"] if second[0] is not None else {}

    gains: dict[int, int] = {}
    verified: list[Candidate] = []
    was_passing = [o.passed for o in outcomes]
    for candidate, records in zip(candidates, second[1:], strict=True):
        if records is None:
            continue
        now = [r["passed"] for r in records]
        fixed = sum(1 for before, after in zip(was_passing, now, strict=True) if after and not before)
        broken = sum(1 for before, after in zip(was_passing, now, strict=True) if before and not after)
        gains[candidate.line] = max(gains.get(candidate.line, 0), fixed - broken)
        if all(now):
            verified.append(candidate)
    verified_lines = {c.line for c in verified}
    ranking = [
        RankedLine(r.line, r.score, r.failed, r.passed, r.text, max(gains.get(r.line, 0), 0), r.line in verified_lines)
        for r in ranking
    ]
    ranking = rerank(ranking, spectrum.lines[first])
    chosen: Fix | None = None
    if verified:
        best_line = ranking[0].line
        pick = next((c for c in verified if c.line == best_line), verified[0])
        after = pick.code.splitlines()[pick.line - 1].strip() if pick.line <= len(pick.code.splitlines()) else ""
        chosen = Fix(
            pick.line, pick.operator, pick.description, pick.code, True, source_lines[pick.line - 1].strip(), after
        )

    trace: Trace | None = None
    top = ranking[0].line
    if top in hits:
        trace = Trace(
            case=cases.items[first].name,
            line=top,
            expression=str(watch["lines"][str(top)][2]) if watch else "",
            steps=hits[top],
        )

    divergence: Divergence | None = None
    if reference is not None:
        runs += 1
        try:
            [theirs] = (await _run(sandbox, _job([reference], cases, record_calls=True, watch=None)))[:1]
        except CouldNotLocalise as exc:
            log.warning("the reference solution could not be run for a divergence: %s", exc)
            theirs = None
        if theirs is not None:
            divergence = find_divergence(original, theirs, cases)
    return Localisation(
        "localised",
        ranking=ranking,
        spectrum_order=spectrum_order,
        outcomes=outcomes,
        trace=trace,
        divergence=divergence,
        fix=chosen,
        candidates_tried=len(candidates),
        runs=runs,
    )
