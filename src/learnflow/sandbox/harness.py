"""Test harness run *inside* the sandbox as ``main.py`` (this file is read as text, never imported).

Protocol: the first line of stdin is a one-time token. Each test result is written as
``<token> <json>`` on a private copy of the original stdout, one line per test, as soon as the test
ends, so a run cut short by the time limit still reports the tests that finished. The student's own
prints go to /dev/null: nothing they print can look like a result, and they do not know the token.
"""

import builtins
import json
import os
import sys
import traceback

# Isolated mode (-I) leaves the script's folder off sys.path; the student's module lives there.
sys.path.insert(0, os.getcwd())
_token = sys.stdin.readline().strip()
_results_fd = os.dup(1)
_null = os.open(os.devnull, os.O_WRONLY)
os.dup2(_null, 1)
sys.stdin = open(os.devnull)  # noqa: SIM115 - the student's input() sees an empty stream, not our protocol

_write = os.write
_dumps = json.dumps
_builtins_snapshot = dict(builtins.__dict__)
_BaseException = BaseException
_AssertionError = AssertionError


def _restore_builtins():
    # A submission that patches builtins (say, `builtins.len`) must not change how tests behave.
    current = builtins.__dict__
    for name in [n for n in current if n not in _builtins_snapshot]:
        del current[name]
    current.update(_builtins_snapshot)


def _report(record):
    _write(_results_fd, (_token + " " + _dumps(record) + "\n").encode())


def _short(exc):
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[:500]


def _student_frame(exc):
    # The line of the student's file where the error surfaced, if any: "(solution.py, line 3)".
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith("solution.py"):
            return f" (solution.py, line {frame.lineno})"
    return ""


_report({"event": "start"})
try:
    import solution  # noqa: F401 - runs the student's module-level code once, as pytest would
except _BaseException as exc:
    _restore_builtins()
    if isinstance(exc, SystemExit):
        message = "Your program called exit() while being imported, so no test could run."
    else:
        message = "Importing your code failed: " + _short(exc) + _student_frame(exc)
    _report({"event": "import_error", "message": message})
    os._exit(0)
_restore_builtins()

try:
    import _lf_tests as _tests
except _BaseException as exc:
    _report({"event": "import_error", "message": "The tests could not be loaded: " + _short(exc)})
    os._exit(0)

_names = [n for n in _tests.__dict__ if n.startswith("test_") and callable(_tests.__dict__[n])]
_functions = [(n, _tests.__dict__[n]) for n in _names]
for _name, _fn in _functions:
    _report({"event": "begin", "name": _name})
    try:
        _fn()
    except _AssertionError as exc:
        _restore_builtins()
        _report(
            {
                "event": "result",
                "name": _name,
                "passed": False,
                "message": (str(exc) or "assertion failed")[:800],
            }
        )
    except SystemExit:
        _restore_builtins()
        _report({"event": "result", "name": _name, "passed": False, "message": "Your code called exit()."})
    except _BaseException as exc:
        _restore_builtins()
        _report({"event": "result", "name": _name, "passed": False, "message": _short(exc) + _student_frame(exc)})
    else:
        _restore_builtins()
        _report({"event": "result", "name": _name, "passed": True, "message": ""})
_report({"event": "end"})
os._exit(0)
