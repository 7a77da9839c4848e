"""The grading tester's side of the object RPC, driven by a hostile agent.

The tester's peer runs here, in-process, behind a pair of pipes; the test plays the agent and sends
hand-written and generated messages. Whatever arrives, the tester may only act on the handles it
exported itself, must answer with plain data, and must never evaluate anything outside the protocol:
a profiler records every function it runs while serving.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from learnflow.sandbox import rpc

SECRET = "tester-secret-7c1f"
TESTER_OPS = {"call", "getattr", "unary", "binary", "setitem"}


class Exported:
    """A test-defined object that tests hand to student code."""

    colour = "blue"

    def __init__(self) -> None:
        self.hidden_expected: object = "plain data the test chose to hand out"

    def method(self, x: int) -> int:
        return x + 1

    def __getitem__(self, key: int) -> int:
        if key == 99:
            raise KeyError("no such key")
        return key * 2


CALLED: list[str] = []


def callback(x: Any = None) -> Any:
    CALLED.append("callback")
    return x


def maker() -> object:
    return object()


class Harness:
    """A guarded tester peer, the agent's end of its pipes, and the handles the tester exported."""

    def __init__(self) -> None:
        a_r, self.to_tester = os.pipe()
        self.from_tester, t_w = os.pipe()
        self.fds = (a_r, self.to_tester, self.from_tester, t_w)
        self.peer = rpc.Peer(a_r, t_w, TESTER_OPS, guarded=True)
        # This agent never answers the tester's own requests (a test comparing a value the agent
        # sent asks the agent): such a request times out, as it would against a silent agent.
        self.peer.deadline = time.monotonic() + 0.2
        self.secret_holder = {"expected": SECRET}  # lives in the tester, never exported
        self.obj, self.fn = Exported(), callback
        self.exported = {
            "obj": self.peer.encode(self.obj)["h"],
            "fn": self.peer.encode(self.fn)["h"],
            "iter": self.peer.encode(iter([1, 2, 3]))["h"],
            "maker": self.peer.encode(maker)["h"],
        }
        self.buf = b""

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)

    def exchange(self, raw: bytes, watch: Watch) -> dict[str, Any] | None:
        """Send one raw line; return the tester's answer, or None when it ended the channel."""
        os.write(self.to_tester, raw + b"\n")
        try:
            message = self.peer.recv()
            sys.setprofile(watch)
            try:
                self.peer.serve(message)
            finally:
                sys.setprofile(None)
        except rpc.Dead:
            return None
        while b"\n" not in self.buf:
            self.buf += os.read(self.from_tester, 1 << 20)
        line, _, self.buf = self.buf.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        return answer


@pytest.fixture
def harness() -> Iterator[Harness]:
    h = Harness()
    CALLED.clear()
    yield h
    h.close()


def ref(oid: int) -> dict[str, int]:
    return {"r": oid}


def handles_in(value: Any) -> list[int]:
    """Every handle an answer names (a handle is a capability into the tester)."""
    found: list[int] = []
    if isinstance(value, dict):
        if "h" in value:
            found.append(value["h"])
        for item in value.values():
            found += handles_in(item)
    elif isinstance(value, list):
        for item in value:
            found += handles_in(item)
    return found


RPC_FILE = rpc.__file__
ALLOWED_C_METHODS_ON_DATA = {"join", "partition", "decode", "encode", "hex", "startswith", "get", "items", "append"}


class Watch:
    """Records what the tester runs while it serves: Python functions and C methods of data."""

    def __init__(self) -> None:
        self.python: set[str] = set()
        self.c_methods: set[str] = set()

    def __call__(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            code = frame.f_code
            if code.co_filename != RPC_FILE:
                self.python.add(f"{code.co_filename}:{code.co_name}")
        elif event == "c_call":
            owner = getattr(arg, "__self__", None)
            if isinstance(owner, str | bytes) and arg.__name__ not in ALLOWED_C_METHODS_ON_DATA:
                self.c_methods.add(f"{type(owner).__name__}.{arg.__name__}")


def check(h: Harness, message: dict[str, Any] | bytes) -> dict[str, Any] | None:
    raw = message if isinstance(message, bytes) else json.dumps(message).encode()
    watch = Watch()
    before = dict(h.peer.objects)
    answer = h.exchange(raw, watch)
    legit = {f"{__file__}:{name}" for name in ("callback", "maker", "method", "__getitem__")}
    assert watch.python <= legit, (message, watch.python - legit)
    assert not watch.c_methods, (message, watch.c_methods)
    if answer is not None:
        assert SECRET not in json.dumps(answer), (message, answer)
        if "x" in answer:
            assert set(answer["x"]) <= {"bases", "name", "own", "args"}, answer
        # A handle names an object exported before, or a bound method of one: nothing new.
        for oid in handles_in(answer):
            obj = h.peer.objects.get(oid)
            owner = getattr(obj, "__self__", None)
            assert oid in before or any(owner is o for o in before.values()), (message, answer)
    return answer


HOSTILE = {
    "format string on a value the agent sent": {"q": 1, "op": "getattr", "o": {"v": "{0.__globals__}"}, "n": "format"},
    "format_map on a value the agent sent": {"q": 1, "op": "getattr", "o": {"v": "{x}"}, "n": "format_map"},
    "call on a value the agent sent": {"q": 1, "op": "call", "o": {"bt": "type"}, "args": [{"v": "x"}]},
    "call on a handle the tester never exported": {"q": 1, "op": "call", "o": {"r": 999}},
    "call on a handle the agent made up": {"q": 1, "op": "call", "o": {"h": 1, "n": "x", "k": "callable"}},
    "dunder attribute of an exported object": {"q": 1, "op": "getattr", "o": {"r": 1}, "n": "__dict__"},
    "globals of an exported function": {"q": 1, "op": "getattr", "o": {"r": 2}, "n": "__globals__"},
    "type of an exported object": {"q": 1, "op": "unary", "o": {"r": 1}, "n": "type"},
    "context manager of an exported object": {"q": 1, "op": "unary", "o": {"r": 1}, "n": "enter"},
    "isinstance with an agent value as target": {"q": 1, "op": "binary", "o": {"v": 1}, "n": "isinstance", "v": {}},
    "unknown unary": {"q": 1, "op": "unary", "o": {"r": 1}, "n": "__import__"},
    "builtin open from the tester": {"q": 1, "op": "builtin", "o": {"v": None}, "n": "open"},
    "setattr on the tester": {"q": 1, "op": "setattr", "o": {"r": 1}, "n": "colour", "v": {"v": "red"}},
    "delattr on the tester": {"q": 1, "op": "delattr", "o": {"r": 1}, "n": "colour"},
    "name that is not a string": {"q": 1, "op": "getattr", "o": {"r": 1}, "n": ["colour"]},
    "op that is not a string": {"q": 1, "op": {"call": 1}, "o": {"r": 2}},
    "reference that is not an int": {"q": 1, "op": "call", "o": {"r": "2"}},
    "reference with extra keys": {"q": 1, "op": "call", "o": {"r": 2, "v": 1}},
    "exception text of an exported object": {"q": 1, "op": "binary", "o": {"r": 1}, "n": "getitem", "v": {"v": 99}},
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_requests_are_refused_or_answered_with_data(harness: Harness, name: str) -> None:
    message = dict(HOSTILE[name])
    # Handles 1 and 2 in the table above stand for the exported object and function.
    if message.get("o") in ({"r": 1}, {"r": 2}):
        message["o"] = ref(harness.exported["obj" if message["o"] == {"r": 1} else "fn"])
    answer = check(harness, message)
    assert answer is not None
    assert "x" in answer, (name, answer)
    assert not CALLED, name


def test_an_attribute_that_is_not_plain_data_is_refused(harness: Harness) -> None:
    harness.obj.hidden_expected = object()  # an object the tests never handed out: refused, not exported
    answer = check(harness, {"q": 1, "op": "getattr", "o": ref(harness.exported["obj"]), "n": "hidden_expected"})
    assert answer is not None and "x" in answer and answer["x"]["name"] == "TypeError"


def test_exported_objects_still_work(harness: Harness) -> None:
    obj, fn, it = (harness.exported[k] for k in ("obj", "fn", "iter"))
    assert check(harness, {"q": 1, "op": "call", "o": ref(fn), "args": [{"v": 5}]}) == {"a": 1, "v": {"v": 5}}
    assert CALLED == ["callback"]
    assert check(harness, {"q": 2, "op": "getattr", "o": ref(obj), "n": "colour"}) == {"a": 2, "v": {"v": "blue"}}
    method = check(harness, {"q": 3, "op": "getattr", "o": ref(obj), "n": "method"})
    assert method is not None and "h" in method["v"]  # a bound method of an exported object
    assert check(harness, {"q": 4, "op": "call", "o": ref(method["v"]["h"]), "args": [{"v": 1}]}) == {
        "a": 4,
        "v": {"v": 2},
    }
    assert check(harness, {"q": 5, "op": "binary", "o": ref(obj), "n": "getitem", "v": {"v": 4}}) == {
        "a": 5,
        "v": {"v": 8},
    }
    assert check(harness, {"q": 6, "op": "unary", "o": ref(it), "n": "next"}) == {"a": 6, "v": {"v": 1}}
    # An object already handed out may come back as itself.
    answer = check(harness, {"q": 7, "op": "call", "o": ref(fn), "args": [{"r": obj}]})
    assert answer is not None and answer["v"] == {"h": obj, "n": "Exported", "k": "object"}
    # A callback returning an object the tests never handed out is refused, not exported.
    answer = check(harness, {"q": 8, "op": "call", "o": ref(harness.exported["maker"])})
    assert answer is not None and answer["x"]["name"] == "TypeError"


def test_exceptions_travel_as_plain_data(harness: Harness) -> None:
    answer = check(harness, {"q": 1, "op": "getattr", "o": ref(harness.exported["obj"]), "n": "missing"})
    assert answer is not None
    assert answer["x"]["name"] == "AttributeError" and "AttributeError" in answer["x"]["bases"]
    assert "type" not in answer["x"] and "inst" not in answer["x"] and "where" not in answer["x"]


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[1, 2]", b'{"q": 1, "op": "call"', b"\xff\xfe", b"[" * 5000 + b"]" * 5000, b'{"q": NaN}'],
)
def test_malformed_messages_end_the_channel(harness: Harness, raw: bytes) -> None:
    assert check(harness, raw) is None
    assert harness.peer.dead


VALUES: list[Any] = [
    {"v": "{0.__globals__}"},
    {"v": "{0.__class__.__mro__}"},
    {"v": 1},
    {"v": None},
    {"bt": "type"},
    {"bt": "object"},
    {"l": [{"v": "{}"}]},
    {"d": [[{"v": "k"}, {"v": "{0.__init__.__globals__}"}]]},
    {"h": 1, "n": "x", "k": "callable"},
    {"i": "123456789012345678901234567890"},
    {"x": 1},
    [],
    "str",
    7,
]
NAMES = ["format", "format_map", "__globals__", "__class__", "__dict__", "method", "colour", "gi_frame", "join", 3]
OPS = [*sorted(TESTER_OPS), "setattr", "delattr", "builtin", "nope", None, 1]
UNARY = ["len", "str", "repr", "type", "iter", "next", "enter", "exit", "hash", "int"]
BINARY = ["eq", "getitem", "isinstance", "issubclass", "add", "contains", "delitem", "radd"]


def generated_messages(seed: int, count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    messages = []
    for q in range(count):
        op = rng.choice(OPS)
        target: Any = rng.choice(
            [{"r": rng.randint(0, 12)}, *VALUES, {"r": 1}, {"r": 2}, {"r": 3}]  # 1 to 4 are exported
        )
        message: dict[str, Any] = {"q": q, "op": op, "o": target}
        if op == "unary":
            message["n"] = rng.choice(UNARY + NAMES)
        elif op == "binary":
            message["n"] = rng.choice(BINARY)
            message["v"] = rng.choice(VALUES)
        else:
            message["n"] = rng.choice(NAMES)
        if rng.random() < 0.5:
            message["args"] = [rng.choice(VALUES) for _ in range(rng.randint(0, 3))]
        if rng.random() < 0.2:
            message["kwargs"] = {"k": rng.choice(VALUES)}
        if rng.random() < 0.1:
            del message["q"]
        messages.append(message)
    return messages


def test_generated_messages_never_make_the_tester_evaluate_anything() -> None:
    served = refused = ended = 0
    harness = Harness()
    for message in generated_messages(seed=2026, count=1500):
        harness.peer.deadline = time.monotonic() + 0.2
        answer = check(harness, message)
        if answer is None:  # the tester asked the silent agent something and gave up: start afresh
            ended += 1
            harness.close()
            harness = Harness()
            continue
        if "x" in answer:
            refused += 1
        else:
            served += 1
            # Only exported objects could be acted on.
            assert message["o"] in ({"r": oid} for oid in harness.peer.objects), message
    harness.close()
    assert refused > 1000 and served > 10 and ended < 100, (served, refused, ended)


class _TestError(ValueError):
    """A test-defined exception class."""


class _BadStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError(SECRET)


class _NotAStr(Exception):
    def __str__(self) -> Any:
        return self.args  # not a str: str() itself raises TypeError


def _chained() -> None:
    try:
        raise KeyError(SECRET)
    except KeyError as exc:
        raise _TestError("wrapped") from exc


RAISERS: dict[str, Any] = {
    "key error": lambda: {}["missing"],
    "test-defined subclass": lambda: (_ for _ in ()).throw(_TestError("bad value")),
    "str that raises": lambda: (_ for _ in ()).throw(_BadStr()),
    "str that is not a str": lambda: (_ for _ in ()).throw(_NotAStr(1, 2)),
    "system exit": lambda: (_ for _ in ()).throw(SystemExit(3)),
    "keyboard interrupt": lambda: (_ for _ in ()).throw(KeyboardInterrupt()),
    "generator exit": lambda: (_ for _ in ()).throw(GeneratorExit()),
    "chained with a secret cause": _chained,
    "huge message": lambda: (_ for _ in ()).throw(ValueError("x" * 1_000_000)),
    "recursion": lambda: RAISERS["recursion"](),
}


@pytest.mark.parametrize("name", sorted(RAISERS))
def test_every_kind_of_tester_exception_travels_as_bounded_plain_data(harness: Harness, name: str) -> None:
    oid = harness.peer.encode(RAISERS[name])["h"]
    before = dict(harness.peer.objects)
    raw = json.dumps({"q": 1, "op": "call", "o": ref(oid)}).encode()
    answer = harness.exchange(raw, Watch())
    assert answer is not None and "x" in answer, (name, answer)
    error = answer["x"]
    assert set(error) == {"bases", "name", "own", "args"}, error
    assert error["own"] is False and "cause" not in error
    assert len(json.dumps(error)) < 5000 and SECRET not in json.dumps(error), error
    assert not handles_in(answer) and harness.peer.objects == before
    # The tester keeps serving afterwards.
    assert harness.exchange(json.dumps({"q": 2, "op": "call", "o": ref(harness.exported["fn"])}).encode(), Watch())
