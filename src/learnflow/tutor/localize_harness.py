"""Localisation harness: runs in the sandbox as main.py (read as text by localize.py, never imported).

It reads its job from ``_lf_job.json`` (then deletes it), runs every program of the job (the student's
code first, then fix candidates) against every case, and records per case which lines of the
program ran, whether the case passed, and (when asked) the calls the tests made and the values on one
line. The report is written once, at the end, on a copy of stdout taken before any student code runs,
behind the job's nonce. Student code shares this process, so the service still treats the report as
untrusted data: it checks every field and bound.
"""

import io
import json
import os
import resource
import signal
import sys
import time
import types

# No `from __future__ import annotations` here: compile() and eval() below would pass it on to the
# tests and the watched expressions. Annotations that name typing (never imported at run time) or use
# `X | None` are quoted, so they are never evaluated whatever the sandbox's interpreter.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, NoReturn

    from _typeshed import TraceFunction

    # One watched line, as the job sends it: [names to show, names the line assigns, a safe expression or None].
    Watched = list[Any]

STUDENT = "solution.py"
_write, _dumps, _monotonic, _settrace = os.write, json.dumps, time.monotonic, sys.settrace
# The report's descriptor is the highest one allowed: student code that opens or closes a small
# number as a file (``open(score)`` with score == 3) does not close it by accident.
_out = os.dup2(1, min(resource.getrlimit(resource.RLIMIT_NOFILE)[0], 1024) - 1)
_null = os.open(os.devnull, os.O_RDWR)
os.dup2(_null, 1)  # raw writes of student code go nowhere; the report has its own descriptor
with open("_lf_job.json", encoding="utf-8") as _file:
    JOB = json.load(_file)
os.remove("_lf_job.json")
NONCE = JOB.pop("nonce")
_real_stdin, _real_stdout, _real_stderr = sys.stdin, sys.stdout, sys.stderr


class Budget(BaseException):
    """Raised into the student's frame when a case runs too long or too many lines."""


class Capped(io.StringIO):
    """Standard output of one case, kept up to a bound (a loop that prints forever fills nothing)."""

    limit = 20_000

    def write(self, text: str) -> int:
        if self.tell() < self.limit:
            super().write(str(text)[: self.limit])
        return len(text)


def short(value: object, limit: int = 60) -> str:
    state.paused = True
    try:
        text = repr(value)
    except BaseException as exc:
        text = "<unprintable " + type(exc).__name__ + ">"
    finally:
        state.paused = False
    if type(text) is not str:
        text = "<unprintable>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class State:
    def __init__(self) -> None:
        self.lines: dict[int, int] = {}
        self.steps = 0
        self.deadline = 0.0
        self.max_steps = 0
        self.paused = False
        self.watch: dict[int, Watched] | None = None  # {line: [names, assigned names, safe expression]}
        self.hits: dict[int, list[dict[str, object]]] = {}
        # (frame, names, hit): values of assigned names once the line has run
        self.after: tuple[types.FrameType, list[str], dict[str, object]] | None = None


state = State()


def _record_after(frame: types.FrameType) -> None:
    pending, state.after = state.after, None
    assert pending is not None  # _local calls this only while a line's values are pending
    watched_frame, names, hit = pending
    if watched_frame is not frame:
        state.after = pending
        return
    values: dict[str, str] = {}
    for name in names:
        if name in frame.f_locals:
            values[name] = short(frame.f_locals[name])
    hit["after"] = values


def _look(frame: types.FrameType, line: int, what: "Watched") -> None:
    names, assigned, expression = what
    hits = state.hits.setdefault(line, [])
    if len(hits) >= JOB["max_hits"]:
        return
    values: dict[str, str] = {}
    scope = frame.f_locals
    for name in names:
        if name in scope:
            values[name] = short(scope[name])
        elif name in frame.f_globals and not callable(frame.f_globals[name]):
            values[name] = short(frame.f_globals[name])
    hit: dict[str, object] = {"values": values}
    if expression:
        # The service sent only names, constants, operators and subscripts: evaluating reads, never calls.
        state.paused = True
        try:
            hit["expr"] = short(eval(expression, frame.f_globals, dict(scope)))
        except BaseException as exc:
            hit["expr_error"] = type(exc).__name__
        finally:
            state.paused = False
    hits.append(hit)
    if assigned:
        state.after = (frame, assigned, hit)


def _local(frame: types.FrameType, event: str, arg: object) -> "TraceFunction":
    if state.paused:
        return _local
    if state.after is not None and event in ("line", "return"):
        _record_after(frame)
    if event == "line":
        state.steps += 1
        line = frame.f_lineno
        state.lines[line] = state.steps
        watch = state.watch
        if watch is not None and line in watch:
            _look(frame, line, watch[line])
        if state.steps > state.max_steps or (state.steps & 255 == 0 and _monotonic() > state.deadline):
            raise Budget()
    return _local


def _global(frame: types.FrameType, event: str, arg: object) -> "TraceFunction | None":
    if frame.f_code.co_filename != STUDENT:
        return None
    return _local(frame, event, arg)


def _alarm(signum: int, frame: "types.FrameType | None") -> "NoReturn":
    raise Budget()


signal.signal(signal.SIGALRM, _alarm)


def traced(fn: "Callable[..., object]", *args: object) -> "tuple[str | None, str | None]":
    """Call ``fn`` with line tracing on the student's file; return (error name or None, message)."""
    state.lines = {}
    state.steps = 0
    state.max_steps = JOB["max_steps"]
    state.deadline = _monotonic() + JOB["case_s"]
    signal.setitimer(signal.ITIMER_REAL, JOB["case_s"] + 0.5)
    error: str | None
    message: str | None
    error = message = None
    _settrace(_global)
    try:
        fn(*args)
    except Budget:
        error, message = "Timeout", "ran too long"
    except AssertionError as exc:
        error, message = "AssertionError", short(str(exc), 200)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            error, message = "SystemExit", short(exc.code, 100)
    except BaseException as exc:
        error, message = type(exc).__name__, short(str(exc), 200)
    finally:
        _settrace(None)
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdin, sys.stdout, sys.stderr = _real_stdin, _real_stdout, _real_stderr
    return error, message


class Raises:
    value: "BaseException | None"

    def __init__(
        self, expected: "type[BaseException] | tuple[type[BaseException], ...]", match: "str | None" = None
    ) -> None:
        self.expected, self.match, self.value = expected, match, None

    def __enter__(self) -> "Raises":
        return self

    def __exit__(
        self, kind: "type[BaseException] | None", exc: "BaseException | None", tb: "types.TracebackType | None"
    ) -> bool:
        if kind is None:
            raise AssertionError("expected an exception, but nothing was raised")
        if issubclass(kind, Budget) or not issubclass(kind, self.expected):
            return False
        if self.match is not None and not __import__("re").search(self.match, str(exc)):
            raise AssertionError("the exception's message does not match")
        self.value = exc
        return True


class Approx:
    def __init__(self, expected: float, rel: float = 1e-6, abs: float = 1e-12) -> None:
        self.expected, self.rel, self.abs = expected, rel, abs

    def __eq__(self, other: object) -> bool:
        import math

        return (type(other) is int or type(other) is float) and math.isclose(
            other, self.expected, rel_tol=self.rel, abs_tol=self.abs
        )


def _fail(message: str = "") -> "NoReturn":
    raise AssertionError(message or "failed")


pytest = types.ModuleType("pytest")
pytest.__dict__.update(raises=Raises, approx=Approx, fail=_fail)
sys.modules["pytest"] = pytest


def describe(value: "Any") -> dict[str, object]:  # Any: dispatched on its exact type
    item: dict[str, object] = {"value": short(value), "type": type(value).__name__}
    if type(value) in (int, float):
        item["num"] = float(value)
    elif type(value) in (list, tuple, str, dict, set):
        item["len"] = len(value)
    return item


def recorder(name: str, fn: "Callable[..., Any]", calls: "list[dict[str, object]]") -> "Callable[..., Any]":
    def call(*args: object, **kwargs: object) -> "Any":
        shown = ", ".join([short(a, 40) for a in args] + [k + "=" + short(v, 40) for k, v in kwargs.items()])
        record: dict[str, object] = {"fn": name, "args": shown[:120]}
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            record["raised"] = type(exc).__name__
            if len(calls) < 20:
                calls.append(record)
            raise
        record.update(describe(result))
        if len(calls) < 20:
            calls.append(record)
        return result

    return call


def run_tests(program: str, record_calls: bool, watch: "dict[str, Any] | None") -> "list[dict[str, object]]":
    code = compile(program, STUDENT, "exec", dont_inherit=True)
    module = types.ModuleType("solution")
    module.__file__ = STUDENT
    sys.modules.pop("solution", None)
    setup_error, _ = traced(exec, code, module.__dict__)
    setup_lines = dict(state.lines)
    calls: list[dict[str, object]] = []
    facade = types.ModuleType("solution")
    for name, value in list(module.__dict__.items()):
        is_student = isinstance(value, types.FunctionType) and value.__code__.co_filename == STUDENT
        setattr(facade, name, recorder(name, value, calls) if record_calls and is_student else value)
    sys.modules["solution"] = facade
    namespace: dict[str, Any] = {"__name__": "_lf_tests"}
    exec(compile(JOB["tests"], "tests.py", "exec"), namespace)
    cases: list[dict[str, object]] = []
    error: str | None
    message: str | None
    for index, name in enumerate(JOB["test_names"]):
        state.watch = watch["lines"] if watch is not None and watch["case"] == index else None
        state.hits = {}
        del calls[:]
        if setup_error:
            error, message = setup_error, "the module did not load"
            state.lines = {}
        else:
            error, message = traced(namespace[name])
        lines = {**setup_lines, **state.lines}
        case: dict[str, object] = {
            "passed": error is None,
            "error": error,
            "message": message,
            "lines": sorted(lines.items()),
        }
        if record_calls:
            case["calls"] = list(calls)
        if state.watch is not None:
            case["hits"] = state.hits
        cases.append(case)
    state.watch = None
    return cases


def _normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def run_io(program: str, record_output: bool, watch: "dict[str, Any] | None") -> "list[dict[str, object]]":
    code = compile(program, STUDENT, "exec", dont_inherit=True)
    cases: list[dict[str, object]] = []
    for index, case in enumerate(JOB["io"]):
        state.watch = watch["lines"] if watch is not None and watch["case"] == index else None
        state.hits = {}
        out = Capped()
        sys.stdin, sys.stdout = io.StringIO(case["stdin"]), out
        namespace = {"__name__": "__main__", "__file__": STUDENT}
        error, message = traced(exec, code, namespace)
        printed = out.getvalue()
        passed = error is None and _normalise(printed) == _normalise(case["expected"])
        record: dict[str, object] = {
            "passed": passed,
            "error": error,
            "message": message,
            "lines": sorted(state.lines.items()),
        }
        if record_output:
            record["stdout"] = printed[:2000]
        if state.watch is not None:
            record["hits"] = state.hits
        cases.append(record)
    state.watch = None
    return cases


def main() -> None:
    started = _monotonic()
    results: list[object] = []
    watch = JOB.get("watch")
    if watch is not None:
        watch["lines"] = {int(line): what for line, what in watch["lines"].items()}
    for number, program in enumerate(JOB["programs"]):
        if _monotonic() - started > JOB["total_s"]:
            break  # the rest are reported as not run: unverified, never guessed
        first = number == 0
        cases: list[dict[str, object]] | dict[str, str]
        try:
            if JOB["mode"] == "tests":
                cases = run_tests(program, first and JOB["record_calls"], watch if first else None)
            else:
                cases = run_io(program, first, watch if first else None)
            if not first:
                # A candidate is judged by its verdicts alone: they keep the report small.
                cases = [{"passed": case["passed"], "lines": []} for case in cases]
        except BaseException as exc:
            cases = {"harness_error": type(exc).__name__}
        results.append(cases)
    report = _dumps({"programs": results}, separators=(",", ":"))
    _write(_out, ("\n" + NONCE + report + "\n").encode("utf-8", "replace"))
    os._exit(0)


main()
