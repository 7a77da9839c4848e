"""Grading tester: runs the exercise's tests in *its own sandbox* (read as text, never imported).

The student's module is a proxy to the agent process; this process never runs student code, so its
results, written as JSON lines on its own stdout, cannot be forged by the submission.
"""

import os
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _lf_rpc

# No `from __future__ import annotations` here: compile() below would pass it on to the tests. Names
# from typing are quoted instead, as the sandbox must not import typing (it pulls in re).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_req, _resp, _budget = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
_out = os.dup(1)
_null = os.open(os.devnull, os.O_RDWR)
os.dup2(_null, 0)
os.dup2(_null, 1)  # a test's own prints must not be mistaken for results


def report(**record: "Any") -> None:
    if type(record.get("message")) is str:
        record["message"] = record["message"][:800]  # one bound for every record, whatever went into it
    os.write(_out, (_lf_rpc.dumps(record) + "\n").encode())


peer = _lf_rpc.Peer(_resp, _req, {"call", "getattr", "unary", "binary", "setitem"}, guarded=True)
deadline = time.monotonic() + _budget
peer.deadline = deadline
try:
    hello = peer.recv()
except _lf_rpc.Dead:
    hello = {"hello": False, "message": "Your program did not start (it may have run out of time or memory)."}
if not hello.get("hello"):
    report(event="import_error", message=str(hello.get("message", "import failed"))[:800])
    os._exit(0)
remote_solution = peer.decode(hello["module"])


class _SolutionModule(types.ModuleType):
    def __getattr__(self, name: str) -> "Any":
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return getattr(remote_solution, name)
        except AttributeError:
            raise ImportError(f"your code does not define `{name}`") from None


sys.modules["solution"] = _SolutionModule("solution")
import _lf_pytest  # noqa: E402

sys.modules["pytest"] = _lf_pytest


def remote_open(*args: "Any", **kwargs: "Any") -> "Any":
    """Files a test writes must exist where the student's code runs: open them there."""
    return peer.request("builtin", o={"v": None}, n="open")(*args, **kwargs)


namespace: "dict[str, Any]" = {"__name__": "_lf_tests", "open": remote_open}
with open(os.path.join(os.path.dirname(__file__), "_lf_tests.py")) as _file:
    source = _file.read()
try:
    exec(compile(source, "tests.py", "exec"), namespace)
except ImportError as exc:
    report(event="import_error", message=str(exc)[:800])
    os._exit(0)
except _lf_rpc.Dead as exc:
    report(event="import_error", message="Your program stopped responding: " + str(exc))
    os._exit(0)

names = [n for n, v in namespace.items() if n.startswith("test_") and callable(v)]
report(event="tests", names=names)
per_test = max(1.0, _budget / max(len(names), 1))


def describe(exc: BaseException) -> str:
    import traceback  # only when a test fails: it costs milliseconds at start-up

    text = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]
    where = getattr(exc, "_lf_where", "")  # sent by the student's process: a short string or nothing
    return text[:500] + (where[:60] if type(where) is str else "")


for name in names:
    if peer.dead:
        report(
            event="result", name=name, passed=False, message="Not run: your program had stopped (" + peer.dead + ")."
        )
        continue
    peer.deadline = min(deadline, time.monotonic() + per_test)
    try:
        namespace[name]()
    except AssertionError as exc:
        report(event="result", name=name, passed=False, message=(str(exc) or "assertion failed")[:800])
    except _lf_rpc.TimedOut:
        report(event="result", name=name, passed=False, message="Timed out: is there an infinite loop?")
    except _lf_rpc.Dead as exc:
        report(
            event="result",
            name=name,
            passed=False,
            message=f"Your program ended while this test ran ({exc}); did it call exit() or crash?",
        )
    except SystemExit:
        report(event="result", name=name, passed=False, message="Your code called exit().")
    except BaseException as exc:
        report(event="result", name=name, passed=False, message=describe(exc))
    else:
        report(event="result", name=name, passed=True, message="")
report(event="end")
os._exit(0)
