"""How strong is an exercise's test set? Grade single-fault mutants of its reference solution.

A mutant that passes every test *survives*. A survivor is either an *equivalent* program (the
fault changes nothing observable) or a wrong program the tests *miss*. Calling a survivor
equivalent needs evidence, never a guess:

1. **Probes from the tests' own calls.** Every test function is rewritten so that each ``assert``
   records the values it would compare instead of stopping at the first failure, and
   ``pytest.raises`` records which exception came out (or none).
2. **Neighbouring inputs.** Each literal argument of a call into the solution (``f(5)``,
   ``obj.add([1, 2])``, ``fh.write("a\\nb")``) and each literal assigned in a test is replaced, one at a
   time, by neighbours of the same type: ints ±1, 0 and the negation; floats ±1, 0, negation; strings
   empty, shortened, lengthened, upper-cased, reversed; lists/tuples empty, shortened, reversed,
   lengthened, and each leading element moved to its own neighbours; dicts emptied, a key dropped, a
   value changed; booleans flipped. So the probes stay in the types and shapes the exercise is about.
   For stdin/stdout exercises, each number in the input moves by ±1 and the input is also cut short.
3. Both the reference and the survivor run every probe in the sandbox (each probe under its own
   timer, printed output captured). Values are recorded in a canonical form (sets and dicts sorted,
   object addresses dropped) and compared as data with size limits, never evaluated. Probes on which
   the reference itself runs out of time say nothing and are skipped.

The survivor is equivalent only if every informative probe gives the same record. Otherwise it is
*missed*, and the first differing probe is the evidence that a test could have caught it.
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import copy
import itertools
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from learnflow.curriculum.models import Exercise as BankExercise
from learnflow.sandbox import CodeRunner
from learnflow.sandbox.grading import GradesCode, IOCase
from learnflow.tutor.mutation import Mutant, mutants

__all__ = [
    "CheckedExercise",
    "MutationReport",
    "Survivor",
    "mutation_check",
    "survivor_warnings",
]

MAX_PROBES = 600  # per exercise: a probe run must stay well inside the sandbox's time limit
MAX_VARIANTS_PER_TEST = 120
MAX_VARIANTS_PER_SITE = 40
MAX_IO_VARIANTS = 16
_PROBE_SECONDS = 1.0
_RUN_SECONDS = 20.0
_MAX_RECORD_CHARS = 20_000
_MAX_LITERAL_CHARS = 400


@dataclass(frozen=True)
class CheckedExercise:
    """What the check needs from an exercise, whether from the bank or from a teacher."""

    id: str
    solution: str
    tests: str = ""
    hidden_tests: str = ""
    io_tests: tuple[IOCase, ...] = ()

    @classmethod
    def of(cls, exercise: BankExercise) -> CheckedExercise:
        return cls(
            exercise.id, exercise.solution, exercise.visible_tests, exercise.hidden_tests, tuple(exercise.io_tests)
        )


@dataclass(frozen=True)
class Survivor:
    mutant: Mutant
    equivalent: bool
    evidence: str


@dataclass
class MutationReport:
    exercise_id: str
    mutants: int = 0
    killed: int = 0
    errors: int = 0  # grader errors: neither killed nor survived, left out of the rate
    probes: int = 0
    survivors: list[Survivor] = field(default_factory=list)

    @property
    def equivalent(self) -> list[Survivor]:
        return [s for s in self.survivors if s.equivalent]

    @property
    def missed(self) -> list[Survivor]:
        return [s for s in self.survivors if not s.equivalent]

    @property
    def kill_rate(self) -> float:
        """Killed over the mutants that are not shown equivalent (1.0 when there are none)."""
        judged = self.killed + len(self.missed)
        return self.killed / judged if judged else 1.0


def survivor_warnings(report: MutationReport, *, show: int = 5) -> list[str]:
    """Teacher-facing sentences: which changed versions of the solution still pass every test."""
    missed = report.missed
    if not missed:
        return []
    shown = "; ".join(f"line {s.mutant.line} {s.mutant.description}" for s in missed[:show])
    more = f" (and {len(missed) - show} more)" if len(missed) > show else ""
    return [
        f"{len(missed)} changed version(s) of your solution pass every test: {shown}{more}. "
        "Add test cases (edge cases, boundaries, both branches) that these would fail."
    ]


# ------------------------------------------------------------------------------------------ probes


@dataclass(frozen=True)
class _Pool:
    """Constants of the programs under comparison: where their boundaries are, by type."""

    ints: tuple[int, ...] = ()
    floats: tuple[float, ...] = ()
    strs: tuple[str, ...] = ()


def _constant_pool(codes: Sequence[str]) -> _Pool:
    ints: dict[int, None] = {}
    floats: dict[float, None] = {}
    strs: dict[str, None] = {}
    for code in codes:
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or id(node) in docstrings:
                continue
            value = node.value
            if type(value) is int and abs(value) <= 10**6:
                for near in (value, value - 1, value + 1):
                    ints[near] = None
            elif type(value) is float:
                for near_f in (value, value - 0.5, value + 0.5):
                    floats[near_f] = None
            elif type(value) is str and len(value) <= 40:
                strs[value] = None
    return _Pool(tuple(ints)[:30], tuple(floats)[:30], tuple(strs)[:20])


def _neighbours(value: Any, pool: _Pool = _Pool(), depth: int = 0) -> list[Any]:
    """Values of the same type and shape near ``value`` (and at the programs' own constants), each different."""
    out: list[Any] = []
    if isinstance(value, bool):
        out = [not value]
    elif isinstance(value, int):
        out = [value - 1, value + 1, 0, -value] if abs(value) <= 10**6 else [value - 1, value + 1]
        out += list(pool.ints)
    elif isinstance(value, float):
        out = [value - 1.0, value + 1.0, 0.0, -value, *pool.floats]
    elif isinstance(value, str):
        out = ["", value[:-1], value + value[-1:], value.upper(), value[::-1], " " + value]
        if value.strip().lstrip("-").isdigit():
            out += [str(int(value) + 1), str(int(value) - 1)]
        out += list(pool.strs)
    elif isinstance(value, list | tuple):
        kind = type(value)
        items = list(value)
        out = [kind(), kind(items[:-1]), kind(items[::-1]), kind(items + items[-1:])]
        if depth == 0:
            # Near values first, then the programs' constants, for each of the leading elements.
            nearby = [(i, near) for i, item in enumerate(items[:3]) for near in _neighbours(item, depth=1)[:2]]
            constants = [(i, near) for i, item in enumerate(items[:3]) for near in _neighbours(item, pool, 1)[2:]]
            for index, near in nearby + constants:
                out.append(kind([*items[:index], near, *items[index + 1 :]]))
    elif isinstance(value, dict):
        out = [{}]
        keys = list(value)[:4]
        out += [{k: v for k, v in value.items() if k != key} for key in keys]
        if depth == 0:
            nearby = [(key, near) for key in keys for near in _neighbours(value[key], depth=1)[:1]]
            constants = [(key, near) for key in keys for near in _neighbours(value[key], pool, 1)[1:]]
            out += [{**value, key: near} for key, near in nearby + constants]
    unique: list[Any] = []
    for item in out:
        if repr(item) != repr(value) and repr(item) not in {repr(u) for u in unique}:
            unique.append(item)
    return unique


def _literal(node: ast.AST) -> tuple[bool, Any]:
    if isinstance(node, ast.Constant) and node.value is None:
        return False, None
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None
    if isinstance(value, set | frozenset | complex | bytes) or len(repr(value)) > _MAX_LITERAL_CHARS:
        return False, None
    return True, value


class _ObserveAsserts(ast.NodeTransformer):
    """``assert a == b`` → ``_lf_obs(a, b)``: record what the test looks at and carry on."""

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        values = [node.test.left, *node.test.comparators] if isinstance(node.test, ast.Compare) else [node.test]
        call = ast.Call(func=ast.Name("_lf_obs", ast.Load()), args=values, keywords=[])
        return ast.copy_location(ast.Expr(call), node)


def _input_sites(function: ast.FunctionDef, modules: set[str]) -> list[ast.expr]:
    """Literal inputs in a test: arguments of calls into the solution, and literals assigned to names."""
    skip = {*dir(builtins), "_lf_obs"}
    sites: list[ast.expr] = []
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in skip:
                continue
            if isinstance(func, ast.Attribute) and (
                isinstance(func.value, ast.Constant) or (isinstance(func.value, ast.Name) and func.value.id in modules)
            ):
                continue
            sites.extend(a for a in node.args if _literal(a)[0])
            sites.extend(k.value for k in node.keywords if _literal(k.value)[0])
        elif isinstance(node, ast.Assign) and _literal(node.value)[0]:
            sites.append(node.value)
    return sites


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, replacement: ast.AST) -> None:
        self.target, self.replacement = target, replacement

    def visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return self.replacement
        visited: ast.AST = super().visit(node)
        return visited


def _variants(function: ast.FunctionDef, modules: set[str], pool: _Pool) -> Iterator[tuple[str, ast.FunctionDef]]:
    """The test as written, then one input moved at a time, taking turns between the inputs."""
    yield "as written", copy.deepcopy(function)
    sites = _input_sites(function, modules)
    queues = [
        [(index, near) for near in _neighbours(_literal(site)[1], pool)[:MAX_VARIANTS_PER_SITE]]
        for index, site in enumerate(sites)
    ]
    turns = [item for round_ in itertools.zip_longest(*queues) for item in round_ if item is not None]
    for site_index, near in turns[:MAX_VARIANTS_PER_TEST]:
        variant = copy.deepcopy(function)
        target = _input_sites(variant, modules)[site_index]
        replacement = ast.copy_location(ast.parse(repr(near), mode="eval").body, target)
        replaced = _Replace(target, replacement).visit(variant)
        assert isinstance(replaced, ast.FunctionDef)  # the input sites are inside the function, never the function
        yield f"{ast.unparse(sites[site_index])[:60]} → {repr(near)[:60]}", replaced


_HARNESS = r"""
import contextlib, io, json, os, re, signal, sys, types
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
_lf_out = sys.stdout
_lf_seen = []
class _LfTimeout(BaseException):
    pass
def _lf_alarm(signum, frame):
    raise _LfTimeout()
signal.signal(signal.SIGALRM, _lf_alarm)
def _lf_canon(value, depth=0):
    if depth > 4:
        return "…"
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return repr(value)[:300]
    if isinstance(value, (list, tuple)):
        return [type(value).__name__] + [_lf_canon(v, depth + 1) for v in list(value)[:40]]
    if isinstance(value, (set, frozenset)):
        return [type(value).__name__] + sorted(json.dumps(_lf_canon(v, depth + 1)) for v in list(value)[:40])
    if isinstance(value, dict):
        items = [(json.dumps(_lf_canon(k, depth + 1)), _lf_canon(v, depth + 1)) for k, v in list(value.items())[:40]]
        return ["dict"] + sorted(items, key=lambda kv: kv[0])
    if isinstance(value, BaseException):
        return ["raised", type(value).__name__, str(value)[:200]]
    try:
        shown = re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))[:300]
    except Exception as exc:
        shown = "repr failed: " + type(exc).__name__
    state = getattr(value, "__dict__", None)
    if isinstance(state, dict) and not isinstance(value, type) and not callable(value):
        return [type(value).__name__, shown, _lf_canon(state, depth + 1)]
    return [type(value).__name__, shown]
def _lf_obs(*values):
    if len(_lf_seen) < 60:
        _lf_seen.extend(_lf_canon(v) for v in values)
class _LfRaises:
    def __init__(self, expected, match=None):
        self.value = None
    def __enter__(self):
        return self
    def __exit__(self, kind, exc, tb):
        if kind is None:
            _lf_obs("raised: nothing")
            return False
        if issubclass(kind, Exception):
            self.value = exc
            _lf_obs("raised: " + kind.__name__)
            return True
        return False
_lf_pytest = types.ModuleType("pytest")
_lf_pytest.raises = _LfRaises
_lf_pytest.approx = lambda expected, rel=None, abs=None: expected
def _lf_fail(message=""):
    raise AssertionError(message)
_lf_pytest.fail = _lf_fail
sys.modules["pytest"] = _lf_pytest
def _lf_probe(name, fn):
    _lf_seen.clear()
    captured = io.StringIO()
    signal.setitimer(signal.ITIMER_REAL, PROBE_SECONDS)
    try:
        with contextlib.redirect_stdout(captured):
            fn()
        status = "ok"
    except _LfTimeout:
        status = "timeout"
    except BaseException as exc:
        status = type(exc).__name__
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    record = {"p": name, "s": status, "o": _lf_seen[:60], "out": captured.getvalue()[:500]}
    _lf_out.write(json.dumps(record) + "\n")
    _lf_out.flush()
"""


@dataclass(frozen=True)
class _ProbeSet:
    program: str  # main.py: the harness, the tests' module-level code and the probe functions
    labels: list[str]
    io_inputs: list[str]


def _build_probes(exercise: CheckedExercise, pool: _Pool = _Pool()) -> _ProbeSet:
    program_parts = [_HARNESS.replace("PROBE_SECONDS", repr(_PROBE_SECONDS))]
    labels: list[str] = []
    for source in (exercise.tests, exercise.hidden_tests):
        if not source.strip():
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        modules = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        tree = _ObserveAsserts().visit(tree)
        ast.fix_missing_locations(tree)
        body: list[ast.stmt] = []
        calls: list[str] = []
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                for label, variant in _variants(node, modules, pool):
                    if len(labels) >= MAX_PROBES:
                        break
                    variant.name = f"_lf_case_{len(labels)}"
                    body.append(variant)
                    calls.append(f"_lf_probe({len(labels)}, {variant.name})")
                    labels.append(f"{node.name}: {label}")
            else:
                body.append(node)
        module = ast.Module(body=body, type_ignores=[])
        ast.fix_missing_locations(module)
        # The tests' own imports run inside a probe too, so a solution that fails to import is recorded.
        program_parts.append(
            "try:\n" + _indent(ast.unparse(module)) + "\nexcept BaseException as _lf_exc:\n"
            "    _lf_out.write(json.dumps({'p': 'import', 's': type(_lf_exc).__name__, 'o': [], 'out': ''}) + '\\n')\n"
            "else:\n" + _indent("\n".join(calls) or "pass") + "\n"
        )
    io_inputs: list[str] = []
    for case in exercise.io_tests:
        for stdin in [case.stdin, *_stdin_neighbours(case.stdin, pool)]:
            if stdin not in io_inputs and len(io_inputs) < MAX_IO_VARIANTS * max(1, len(exercise.io_tests)):
                io_inputs.append(stdin)
    return _ProbeSet("\n".join(program_parts), labels, io_inputs)


def _indent(text: str) -> str:
    return "\n".join("    " + line if line else line for line in text.splitlines())


def _stdin_neighbours(stdin: str, pool: _Pool) -> list[str]:
    out: list[str] = []
    for match in list(re.finditer(r"-?\d+", stdin))[:4]:
        number = int(match.group(0))
        for near in (number - 1, number + 1, 0, *pool.ints):
            if near != number:
                out.append(stdin[: match.start()] + str(near) + stdin[match.end() :])
    lines = stdin.splitlines(keepends=True)
    if len(lines) > 1:
        out.append("".join(lines[:-1]))
    return out[:MAX_IO_VARIANTS]


def _read_records(stdout: str) -> dict[str, str]:
    """Probe records keyed by probe, as canonical JSON text; anything that is not a record is ignored.

    The program under test shares stdout with the harness: its lines are data to compare, with limits.
    """
    records: dict[str, str] = {}
    for line in stdout.splitlines()[: MAX_PROBES + 8]:
        if len(line) > _MAX_RECORD_CHARS:
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict) and isinstance(record.get("p"), int | str) and str(record["p"]) not in records:
            records[str(record["p"])] = json.dumps(record, sort_keys=True)
    return records


@dataclass
class _Behaviour:
    records: dict[str, str]
    io: list[tuple[str, bool]]


async def _behaviour(runner: CodeRunner, code: str, probes: _ProbeSet) -> _Behaviour:
    records: dict[str, str] = {}
    if probes.labels:
        result = await runner.run(probes.program, files={"solution.py": code}, timeout_s=_RUN_SECONDS)
        records = _read_records(result.stdout)
    io: list[tuple[str, bool]] = []
    for stdin in probes.io_inputs:
        run = await runner.run(code, stdin=stdin, timeout_s=5.0)
        io.append((run.stdout[:5000], run.ok))
    return _Behaviour(records, io)


def _first_difference(reference: _Behaviour, other: _Behaviour, probes: _ProbeSet) -> tuple[str | None, int]:
    """The first probe on which the two differ (None if none) and how many probes were informative."""
    informative = 0
    for key, ref in sorted(reference.records.items(), key=lambda kv: str(kv[0])):
        if json.loads(ref).get("s") == "timeout":
            continue
        informative += 1
        if other.records.get(key) != ref:
            label = probes.labels[int(key)] if key.isdigit() and int(key) < len(probes.labels) else key
            return f"differs from the reference on {label}", informative
    for stdin, ref_io, got in zip(probes.io_inputs, reference.io, other.io, strict=True):
        informative += 1
        if ref_io != got:
            return f"differs from the reference with input {stdin[:60]!r}", informative
    return None, informative


# ------------------------------------------------------------------------------------------- check


async def mutation_check(
    exercise: CheckedExercise,
    grader: GradesCode,
    *,
    runner: CodeRunner | None = None,
    limit: int | None = 40,
    concurrency: int = 2,
) -> MutationReport:
    """Grade up to ``limit`` mutants of the exercise's solution with all its tests; classify the survivors.

    ``runner`` runs the equivalence probes; without one (or when it cannot run code) no survivor can
    be shown equivalent, so every survivor counts as missed.
    """
    report = MutationReport(exercise.id)
    found = mutants(exercise.solution, limit=limit)
    report.mutants = len(found)
    slots = asyncio.Semaphore(max(1, concurrency))
    io_cases = list(exercise.io_tests)
    surviving: list[Mutant] = []

    async def grade(mutant: Mutant) -> None:
        async with slots:
            graded = await grader.grade(
                code=mutant.code, tests=exercise.tests, hidden_tests=exercise.hidden_tests, io_tests=io_cases
            )
        if graded.grader_error:
            report.errors += 1
        elif graded.passed:
            surviving.append(mutant)
        else:
            report.killed += 1

    await asyncio.gather(*(grade(m) for m in found))
    surviving.sort(key=found.index)
    if not surviving:
        return report
    if runner is None or not runner.available:
        report.survivors = [Survivor(m, False, "not probed: no sandbox to run it") for m in surviving]
        return report
    probes = _build_probes(exercise, _constant_pool([exercise.solution, *(m.code for m in surviving)]))
    report.probes = len(probes.labels) + len(probes.io_inputs)
    reference = await _behaviour(runner, exercise.solution, probes)

    async def judge(mutant: Mutant) -> Survivor:
        async with slots:
            behaviour = await _behaviour(runner, mutant.code, probes)
        difference, informative = _first_difference(reference, behaviour, probes)
        if difference is not None:
            return Survivor(mutant, False, difference)
        if informative == 0:
            return Survivor(mutant, False, "no probe the reference answers in time")
        return Survivor(mutant, True, f"same behaviour as the reference on {informative} probes")

    report.survivors = list(await asyncio.gather(*(judge(m) for m in surviving)))
    return report
