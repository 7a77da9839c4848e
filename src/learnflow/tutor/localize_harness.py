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

    def write(self, text):
        if self.tell() < self.limit:
            super().write(str(text)[: self.limit])
        return len(text)


def short(value, limit=60):
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
    def __init__(self):
        self.lines = {}
        self.steps = 0
        self.deadline = 0.0
        self.max_steps = 0
        self.paused = False
        self.watch = None  # {line: [names, assigned names, safe expression]} for this case
        self.hits = {}
        self.after = None  # (frame, names, hit): values of assigned names once the line has run


state = State()


def _record_after(frame):
    pending, state.after = state.after, None
    watched_frame, names, hit = pending
    if watched_frame is not frame:
        state.after = pending
        return
    values = {}
    for name in names:
        if name in frame.f_locals:
            values[name] = short(frame.f_locals[name])
    hit["after"] = values


def _look(frame, line, what):
    names, assigned, expression = what
    hits = state.hits.setdefault(line, [])
    if len(hits) >= JOB["max_hits"]:
        return
    values = {}
    scope = frame.f_locals
    for name in names:
        if name in scope:
            values[name] = short(scope[name])
        elif name in frame.f_globals and not callable(frame.f_globals[name]):
            values[name] = short(frame.f_globals[name])
    hit = {"values": values}
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


def _local(frame, event, arg):
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


def _global(frame, event, arg):
    if frame.f_code.co_filename != STUDENT:
        return None
    return _local(frame, event, arg)


def _alarm(signum, frame):
    raise Budget()


signal.signal(signal.SIGALRM, _alarm)


def traced(fn, *args):
    """Call ``fn`` with line tracing on the student's file; return (error name or None, message)."""
    state.lines = {}
    state.steps = 0
    state.max_steps = JOB["max_steps"]
    state.deadline = _monotonic() + JOB["case_s"]
    signal.setitimer(signal.ITIMER_REAL, JOB["case_s"] + 0.5)
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
    def __init__(self, expected, match=None):
        self.expected, self.match, self.value = expected, match, None

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if kind is None:
            raise AssertionError("expected an exception, but nothing was raised")
        if issubclass(kind, Budget) or not issubclass(kind, self.expected):
            return False
        if self.match is not None and not __import__("re").search(self.match, str(exc)):
            raise AssertionError("the exception's message does not match")
        self.value = exc
        return True


class Approx:
    def __init__(self, expected, rel=1e-6, abs=1e-12):
        self.expected, self.rel, self.abs = expected, rel, abs

    def __eq__(self, other):
        import math

        return type(other) in (int, float) and math.isclose(other, self.expected, rel_tol=self.rel, abs_tol=self.abs)


def _fail(message=""):
    raise AssertionError(message or "failed")


pytest = types.ModuleType("pytest")
pytest.raises, pytest.approx, pytest.fail = Raises, Approx, _fail
sys.modules["pytest"] = pytest


def describe(value):
    item = {"value": short(value), "type": type(value).__name__}
    if type(value) in (int, float):
        item["num"] = float(value)
    elif type(value) in (list, tuple, str, dict, set):
        item["len"] = len(value)
    return item


def recorder(name, fn, calls):
    def call(*args, **kwargs):
        shown = ", ".join([short(a, 40) for a in args] + [k + "=" + short(v, 40) for k, v in kwargs.items()])
        record = {"fn": name, "args": shown[:120]}
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


def run_tests(program, record_calls, watch):
    code = compile(program, STUDENT, "exec", dont_inherit=True)
    module = types.ModuleType("solution")
    module.__file__ = STUDENT
    sys.modules.pop("solution", None)
    setup_error, _ = traced(exec, code, module.__dict__)
    setup_lines = dict(state.lines)
    calls = []
    facade = types.ModuleType("solution")
    for name, value in list(module.__dict__.items()):
        is_student = isinstance(value, types.FunctionType) and value.__code__.co_filename == STUDENT
        setattr(facade, name, recorder(name, value, calls) if record_calls and is_student else value)
    sys.modules["solution"] = facade
    namespace = {"__name__": "_lf_tests"}
    exec(compile(JOB["tests"], "tests.py", "exec"), namespace)
    cases = []
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
        case = {"passed": error is None, "error": error, "message": message, "lines": sorted(lines.items())}
        if record_calls:
            case["calls"] = list(calls)
        if state.watch is not None:
            case["hits"] = state.hits
        cases.append(case)
    state.watch = None
    return cases


def _normalise(text):
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def run_io(program, record_output, watch):
    code = compile(program, STUDENT, "exec", dont_inherit=True)
    cases = []
    for index, case in enumerate(JOB["io"]):
        state.watch = watch["lines"] if watch is not None and watch["case"] == index else None
        state.hits = {}
        out = Capped()
        sys.stdin, sys.stdout = io.StringIO(case["stdin"]), out
        namespace = {"__name__": "__main__", "__file__": STUDENT}
        error, message = traced(exec, code, namespace)
        printed = out.getvalue()
        passed = error is None and _normalise(printed) == _normalise(case["expected"])
        record = {"passed": passed, "error": error, "message": message, "lines": sorted(state.lines.items())}
        if record_output:
            record["stdout"] = printed[:2000]
        if state.watch is not None:
            record["hits"] = state.hits
        cases.append(record)
    state.watch = None
    return cases


def main():
    started = _monotonic()
    results = []
    watch = JOB.get("watch")
    if watch is not None:
        watch["lines"] = {int(line): what for line, what in watch["lines"].items()}
    for number, program in enumerate(JOB["programs"]):
        if _monotonic() - started > JOB["total_s"]:
            break  # the rest are reported as not run: unverified, never guessed
        first = number == 0
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
