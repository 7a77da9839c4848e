"""Object RPC between the grading tester and the student's process (copied into both sandboxes).

The tests run in a *tester* process that never executes student code; the student's module lives in
an *agent* process. Values cross as data: plain built-in values (exact types only) are copied,
anything else stays where it lives and is represented on the other side by a ``Proxy`` that forwards
operations. So an object whose ``__eq__`` always says True never reaches the tester's comparisons,
and nothing the student's code does can write the tester's results.

Messages are JSON lines: requests ``{"q": n, "op": ...}``, answers ``{"a": n, "v": value}`` or
``{"a": n, "x": exception}``. While waiting for an answer a side serves the other's requests, so
callbacks (a test passing a ``lambda`` to student code) work both ways.

The tester's peer is *guarded* (the agent side is hostile, whatever it sends, in any order):

* it acts only on handles it exported itself, i.e. objects its own requests handed to the agent
  (a capability table); a request on a value that arrived from the agent, such as a string whose
  ``format`` method would walk attributes, is refused;
* only public, non-dunder attributes of those objects are served;
* everything it answers is plain data (built-in values, references to the agent's own objects, or
  handles it had already exported, and bound methods of those); its exceptions travel as type name,
  built-in bases and message text, never as live objects, and carry no traceback.
"""

# Annotations stay strings (never evaluated): the sandbox must not import typing, which pulls in re.
from __future__ import annotations

import _json
import builtins
import math
import operator
import os
import select
import time

TYPE_CHECKING = False  # type checkers read the block below; at run time nothing is imported
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any, Literal

    # A JSON object as it arrived from the other side: untrusted, so its fields are Any until checked.
    Message = dict[str, Any]
    # An encoded value (``{"v": 1}``, ``{"h": 3, "n": "Point", "k": "object"}``...), see ``Peer.encode``.
    Encoded = dict[str, Any]
    # A JSON value the other side sent where an encoded value belongs, not checked first: a malformed
    # one raises while being decoded, and serve() answers that as the request's error.
    Wire = Any

MAX_LINE = 16 * 2**20
MAX_ITEMS = 2_000_000
MAX_DEPTH = 40

_BUILTIN_NAMES = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) or (callable(value) and name in {"len", "str", "int", "float", "abs", "sorted"})
}


class _ScanContext:
    # What the C scanner of the json package reads; using it directly skips importing json (and
    # with it re and enum), which is most of a grading run's start-up time.
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> float:
        raise ValueError("non-finite numbers are not allowed: " + name)


# typeshed types the context as a make_scanner instance; the scanner only reads the attributes above.
_scan = _json.make_scanner(_ScanContext)  # type: ignore[arg-type]
_quote = _json.encode_basestring_ascii


def dumps(value: Any) -> str:
    """JSON text of plain data (None, bool, int, finite float, str, list, tuple, str-keyed dict)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    kind = type(value)
    if kind is str:
        return _quote(value)
    if kind is int:
        return str(value)
    if kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("non-finite float")
        return repr(value)
    if kind is list or kind is tuple:
        return "[" + ",".join([dumps(v) for v in value]) + "]"
    if kind is dict:
        return "{" + ",".join([_quote(str(k)) + ":" + dumps(v) for k, v in value.items()]) + "}"
    raise TypeError("cannot send " + kind.__name__)


def loads(text: str) -> Any:
    try:
        value, end = _scan(text, 0)
    except StopIteration as exc:
        raise ValueError("malformed message") from exc
    if end != len(text):
        raise ValueError("trailing data in message")
    return value


class Dead(Exception):
    """The other side is gone or stuck."""


class TimedOut(Dead):
    """The other side did not answer in time."""


class Peer:
    def __init__(self, rfd: int, wfd: int, allowed_ops: set[str], guarded: bool = False) -> None:
        self.guarded = guarded  # the tester's side: see the module docstring
        self.rfd = rfd
        self.wfd = wfd
        self.allowed = set(allowed_ops)
        self.objects: dict[int, Any] = {}  # handles this side exported, by id
        self.ids: dict[int, int] = {}  # id() of an exported object -> its handle
        self.next_id = 1
        self.seq = 0
        self.buf = b""
        self.deadline: float | None = None
        self.dead: str | None = None
        self.exception_classes: dict[int, type[BaseException]] = {}
        self.mirrors: dict[tuple[str, type[BaseException]], type[BaseException]] = {}

    # -- transport ---------------------------------------------------------------------------
    def send(self, msg: Message) -> None:
        data = (dumps(msg) + "\n").encode()
        try:
            while data:
                data = data[os.write(self.wfd, data) :]
        except OSError as exc:
            self.dead = "the other side closed the channel"
            raise Dead(self.dead) from exc

    def recv(self) -> Message:
        while b"\n" not in self.buf:
            if self.deadline is not None:
                remaining = self.deadline - time.monotonic()
                if remaining <= 0:
                    self.dead = "timed out"
                    raise TimedOut("timed out")
                ready, _, _ = select.select([self.rfd], [], [], remaining)
                if not ready:
                    continue
            chunk = os.read(self.rfd, 1 << 16)
            if not chunk:
                self.dead = "ended"
                raise Dead("ended")
            self.buf += chunk
            if len(self.buf) > MAX_LINE:
                self.dead = "sent too much data"
                raise Dead(self.dead)
        line, _, self.buf = self.buf.partition(b"\n")
        try:
            message = loads(line.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            self.dead = "sent a malformed message"
            raise Dead(self.dead) from exc
        if type(message) is not dict:
            self.dead = "sent a malformed message"
            raise Dead(self.dead)
        return message

    def request(self, op: str, _mutable: dict[str, Any] | None = None, **fields: Any) -> Any:
        if self.dead:
            raise Dead(self.dead)
        self.seq += 1
        seq = self.seq
        self.send({"q": seq, "op": op, **fields})
        while True:
            msg = self.recv()
            if "q" in msg:
                self.serve(msg)
            elif msg.get("a") == seq:
                if _mutable and "after" in msg:
                    for key, state in msg["after"].items():
                        _update_in_place(_mutable.get(key), self.decode(state))
                if "x" in msg:
                    raise self.decode_exception(msg["x"])
                return self.decode(msg["v"])

    def serve(self, msg: Message) -> None:
        try:
            if msg.get("op") not in self.allowed:
                raise PermissionError("operation not allowed: " + str(msg.get("op")))
            result = self.execute(msg)
            if isinstance(result, _WithAfter):
                reply = {"a": msg["q"], "v": self.reply_value(result.value), "after": result.after}
            else:
                reply = {"a": msg["q"], "v": self.reply_value(result)}
        except Dead:
            raise
        except BaseException as exc:
            reply = {"a": msg.get("q"), "x": self.encode_exception(exc)}
        self.send(reply)

    def reply_value(self, value: object) -> Encoded:
        """What a served request answers: anything on the agent's side, plain data on the tester's."""
        if not self.guarded:
            return self.encode(value)
        return self.encode(value, export=False)

    def serve_forever(self) -> None:
        while True:
            self.serve(self.recv())

    # -- operations on local objects ---------------------------------------------------------
    def target(self, msg: Message) -> Any:
        """The object a request acts on; on the guarded side only a handle this side exported."""
        ref = msg.get("o")
        if not self.guarded:
            return self.decode(ref)
        if type(ref) is not dict or set(ref) != {"r"} or type(ref["r"]) is not int or ref["r"] not in self.objects:
            raise PermissionError("requests may only act on objects the tests handed to your code")
        return self.objects[ref["r"]]

    def execute(self, msg: Message) -> Any:
        op = msg["op"]
        if op == "call":
            target = self.target(msg)
            args = [self.decode(a) for a in msg.get("args", [])]
            kwargs = {k: self.decode(v) for k, v in msg.get("kwargs", {}).items()}
            result = target(*args, **kwargs)
            # Arguments are copies on this side: send back what the call did to mutable ones so the
            # caller's list or dict changes as it would have in one process.
            after = {str(i): self.reply_value(a) for i, a in enumerate(args) if type(a) in (list, dict, set)}
            after.update({k: self.reply_value(v) for k, v in kwargs.items() if type(v) in (list, dict, set)})
            return _WithAfter(result, after) if after else result
        name: Any = msg.get("n")  # a str whenever an operation below reads it (checked next)
        if op in ("getattr", "setattr", "delattr", "unary", "binary") and type(name) is not str:
            raise PermissionError("malformed request")
        if op == "getattr":
            if self.guarded and name.startswith("_"):
                raise AttributeError(name)
            return getattr(self.target(msg), name)
        if op == "setattr":
            setattr(self.target(msg), name, self.decode(msg["v"]))
            return None
        if op == "delattr":
            delattr(self.target(msg), name)
            return None
        if op == "unary":
            if self.guarded and name not in _GUARDED_UNARY:
                raise PermissionError("operation not allowed: " + name)
            return _UNARY[name](self.target(msg))
        if op == "binary":
            if self.guarded and name not in _GUARDED_BINARY:
                raise PermissionError("operation not allowed: " + name)
            return _BINARY[name](self.target(msg), self.decode(msg["v"]))
        if op == "setitem":
            self.target(msg)[self.decode(msg["k"])] = self.decode(msg["v"])
            return None
        if op == "builtin":
            if msg["n"] != "open":
                raise PermissionError("only open is offered")
            return builtins.open
        raise PermissionError("unknown operation " + str(op))

    # -- encoding ----------------------------------------------------------------------------
    def register(self, obj: object) -> int:
        # One id per object (the table keeps it alive, so id() stays unique): the other side can
        # then tell that two handles are the same class.
        oid = self.ids.get(id(obj))
        if oid is not None:
            return oid
        oid = self.next_id
        self.next_id += 1
        self.objects[oid] = obj
        self.ids[id(obj)] = oid
        return oid

    def encode(self, value: Any, depth: int = 0, budget: list[int] | None = None, export: bool = True) -> Encoded:
        """``value`` as data; an object that is not plain data becomes a handle when ``export``.

        Without ``export`` (the guarded side's answers) only objects already handed out, and their
        bound methods, may be named; anything else is refused.
        """
        budget = budget if budget is not None else [MAX_ITEMS]
        budget[0] -= 1
        kind = type(value)
        if budget[0] < 0 or depth > MAX_DEPTH:
            if not export:
                raise TypeError("the value is too large or too deep to send")
            return self.handle(value)
        if value is None or kind is bool or kind is str:
            return {"v": value}
        if kind is int:
            return {"v": value} if abs(value) < 2**53 else {"i": str(value)}
        if kind is float:
            return {"v": value} if math.isfinite(value) else {"f": repr(value)}
        if kind is complex:
            return {"c": [repr(value.real), repr(value.imag)]}
        if kind is bytes:
            return {"b": value.hex()}
        if kind is range:
            return {"rg": [value.start, value.stop, value.step]}
        if kind in (list, tuple, set, frozenset):
            items = [self.encode(v, depth + 1, budget, export) for v in value]
            return {_COLLECTION_TAGS[kind]: items}
        if kind is dict:
            return {
                "d": [
                    [self.encode(k, depth + 1, budget, export), self.encode(v, depth + 1, budget, export)]
                    for k, v in value.items()
                ]
            }
        if kind is Proxy and object.__getattribute__(value, "_lf_peer") is self:
            return {"r": object.__getattribute__(value, "_lf_id")}
        if kind is type and value.__module__ == "builtins" and value.__name__ in _BUILTIN_NAMES:
            return {"bt": value.__name__}
        if export or id(value) in self.ids or (kind is _MethodType and id(value.__self__) in self.ids):
            return self.handle(value)
        raise TypeError("a " + kind.__name__ + " from the tests cannot be handed to your code")

    def handle(self, value: object) -> Encoded:
        kind = "class" if isinstance(value, type) else ("callable" if callable(value) else "object")
        return {"h": self.register(value), "n": type(value).__name__, "k": kind}

    def decode(self, data: Wire) -> Any:
        if "v" in data:
            return data["v"]
        if "i" in data:
            return int(data["i"])
        if "f" in data:
            return float(data["f"])
        if "c" in data:
            return complex(float(data["c"][0]), float(data["c"][1]))
        if "b" in data:
            return bytes.fromhex(data["b"])
        if "rg" in data:
            return range(*(int(x) for x in data["rg"]))
        for key, kind in (("l", list), ("t", tuple), ("s", set), ("fs", frozenset)):
            if key in data:
                return kind(self.decode(v) for v in data[key])
        if "d" in data:
            return {self.decode(k): self.decode(v) for k, v in data["d"]}
        if "r" in data:
            return self.objects[data["r"]]
        if "bt" in data:
            if data["bt"] not in _BUILTIN_NAMES:
                raise PermissionError("unknown builtin")
            return getattr(builtins, data["bt"])
        if "h" in data:
            return Proxy(self, data["h"], data.get("n", "object"), data.get("k", "object"))
        raise ValueError("bad value")

    def mirror(self, name: str, base: type[BaseException]) -> type[BaseException]:
        """A local class named like an exception of the guarded side, derived from its built-in base."""
        if name == base.__name__:
            return base
        cls = self.mirrors.get((name, base))
        if cls is None:
            cls = self.mirrors[(name, base)] = type(name, (base,), {})
        return cls

    def stand_in(self, remote_class: Proxy) -> type[BaseException]:
        """A local exception class mirroring a remote one and its ancestors.

        It is a real subclass of the built-in exceptions the remote class derives from, and of the
        stand-ins of its remote bases, so `except`, `pytest.raises` and `isinstance` work locally.
        """
        key = object.__getattribute__(remote_class, "_lf_id")
        cls = self.exception_classes.get(key)
        if cls is not None:
            return cls
        bases: list[type[BaseException]] = []
        for base in remote_class.__bases__:
            if isinstance(base, Proxy):
                bases.append(self.stand_in(base))
            elif isinstance(base, type) and issubclass(base, BaseException):
                bases.append(base)
        if not bases:
            bases = [Exception]
        namespace = {"_lf_remote_type": remote_class, "__getattr__": _remote_exception_attribute}
        cls = type(str(remote_class.__name__), tuple(bases), namespace)
        self.exception_classes[key] = cls
        return cls

    def encode_exception(self, exc: BaseException, depth: int = 0) -> Message:
        bases = [c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins" and issubclass(c, BaseException)]
        if self.guarded:
            # Plain data only: the exception's own object, class and traceback stay here.
            try:
                text = str(exc)[:2000]
            except Exception:
                text = "<unprintable>"
            if type(text) is not str:
                text = "<unprintable>"
            return {"bases": bases, "name": str(type(exc).__name__)[:200], "own": False, "args": {"l": [{"v": text}]}}
        where = ""
        tb = exc.__traceback__
        while tb is not None:  # the innermost frame in the student's file (no traceback import)
            if tb.tb_frame.f_code.co_filename.endswith("solution.py"):
                where = f" (solution.py, line {tb.tb_lineno})"
            tb = tb.tb_next
        try:
            args = self.encode(list(exc.args)) if all(_plain(a) for a in exc.args) else {"l": [{"v": str(exc)}]}
        except Exception:
            args = {"l": [{"v": "<unprintable>"}]}
        data: Message = {
            "bases": bases,
            "name": type(exc).__name__,
            "own": type(exc).__module__ == "builtins",
            "type": self.handle(type(exc)),
            "inst": self.handle(exc),
            "args": args,
            "where": where,
        }
        cause = exc.__cause__ or exc.__context__
        if cause is not None and depth < 5:
            data["cause"] = self.encode_exception(cause, depth + 1)
        return data

    def decode_exception(self, data: Message) -> BaseException:
        base: type[BaseException] = builtins.Exception
        for name in data.get("bases", []):
            candidate = getattr(builtins, name, None)
            if isinstance(candidate, type) and issubclass(candidate, BaseException):
                base = candidate
                break
        args = self.decode(data.get("args", {"l": []}))
        if not isinstance(args, list):
            args = [str(args)]
        if data.get("own"):
            cls = base
        elif "type" not in data:
            cls = self.mirror(str(data.get("name", base.__name__))[:200], base)
        else:
            try:
                cls = self.stand_in(self.decode(data["type"]))
            except Dead:
                raise
            except Exception:
                cls = base
        try:
            exc = cls(*args)
        except Exception:
            exc = cls(str(args))
        # The stand-in classes are built at run time: these attributes are what tester.py and
        # _remote_exception_attribute read back, so no class declares them.
        try:
            exc._lf_where = data.get("where", "")  # type: ignore[attr-defined]
            if "inst" in data:
                exc._lf_remote = self.decode(data["inst"])  # type: ignore[attr-defined]
            if "cause" in data:
                exc.__cause__ = self.decode_exception(data["cause"])
        except Exception:
            pass
        return exc


class _WithAfter:
    def __init__(self, value: object, after: dict[str, Encoded]) -> None:
        self.value = value
        self.after = after


def _update_in_place(target: Any, state: object) -> None:
    if type(target) is list and type(state) is list:
        target[:] = state
    elif (type(target) is dict and type(state) is dict) or (type(target) is set and type(state) is set):
        target.clear()
        target.update(state)


def _remote_exception_attribute(self: BaseException, name: str) -> Any:
    # Attributes the student's exception carries (`err.field`) are read from the real one.
    if name.startswith("_lf_") or name.startswith("__"):
        raise AttributeError(name)
    remote = self.__dict__.get("_lf_remote")
    if remote is None:
        raise AttributeError(name)
    return getattr(remote, name)


def _plain(value: object) -> bool:
    return type(value) in (type(None), bool, int, float, str)


def _next(it: Iterator[Any]) -> Any:
    return next(it)


class _Probe:
    def method(self) -> _Probe:
        return self


_MethodType = type(_Probe().method)  # a bound method's type (no `types` import: it slows start-up)

# What the guarded side performs on the objects it exported: reading them as values and iterating,
# never `type` (a class) or context management.
_GUARDED_UNARY = {"len", "str", "repr", "bool", "hash", "iter", "next", "int", "float", "index", "abs", "neg", "pos"}
_GUARDED_BINARY = {"eq", "ne", "lt", "le", "gt", "ge", "contains", "getitem"}

_UNARY: dict[str, Callable[[Any], Any]] = {
    "len": len,
    "str": str,
    "repr": repr,
    "bool": bool,
    "hash": hash,
    "iter": iter,
    "next": _next,
    "int": int,
    "float": float,
    "index": operator.index,
    "abs": abs,
    "neg": operator.neg,
    "pos": operator.pos,
    "invert": operator.invert,
    "type": type,
    "enter": lambda o: o.__enter__(),
    "exit": lambda o: o.__exit__(None, None, None),
}
_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "pow": operator.pow,
    "contains": operator.contains,
    "getitem": operator.getitem,
    "delitem": operator.delitem,
    "isinstance": isinstance,
    "issubclass": issubclass,
    "radd": lambda a, b: b + a,
    "rsub": lambda a, b: b - a,
    "rmul": lambda a, b: b * a,
}


_COLLECTION_TAGS: dict[type, str] = {list: "l", tuple: "t", set: "s", frozenset: "fs"}
_PLAIN_TYPES = (type(None), bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset, range)
_COMPARISONS = {"eq", "ne", "lt", "le", "gt", "ge"}
_ARITHMETIC = {"add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "radd", "rsub", "rmul"}


class Proxy:
    """Stands for an object living on the other side."""

    __slots__ = ("_lf_id", "_lf_kind", "_lf_peer", "_lf_type")

    def __init__(self, peer: Peer, oid: int, type_name: str, kind: str) -> None:
        object.__setattr__(self, "_lf_peer", peer)
        object.__setattr__(self, "_lf_id", oid)
        object.__setattr__(self, "_lf_type", type_name)
        object.__setattr__(self, "_lf_kind", kind)

    def _lf(self, op: str, **fields: Any) -> Any:
        peer = object.__getattribute__(self, "_lf_peer")
        return peer.request(op, o={"r": object.__getattribute__(self, "_lf_id")}, **fields)

    def _lf_enc(self, value: object) -> Encoded:
        peer: Peer = object.__getattribute__(self, "_lf_peer")
        return peer.encode(value)

    def __getattr__(self, name: str) -> Any:
        return self._lf("getattr", n=name)

    def __setattr__(self, name: str, value: object) -> None:
        self._lf("setattr", n=name, v=self._lf_enc(value))

    def __delattr__(self, name: str) -> None:
        self._lf("delattr", n=name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        mutable = {str(i): a for i, a in enumerate(args) if type(a) in (list, dict, set)}
        mutable.update({k: v for k, v in kwargs.items() if type(v) in (list, dict, set)})
        peer = object.__getattribute__(self, "_lf_peer")
        return peer.request(
            "call",
            _mutable=mutable,
            o={"r": object.__getattribute__(self, "_lf_id")},
            args=[self._lf_enc(a) for a in args],
            kwargs={k: self._lf_enc(v) for k, v in kwargs.items()},
        )

    def _lf_un(self, name: str) -> Any:
        return self._lf("unary", n=name)

    def _lf_bin(self, name: str, other: object) -> Any:
        strict = object.__getattribute__(self, "_lf_peer").guarded and type(other) in _PLAIN_TYPES
        if strict and name in _COMPARISONS:
            # On the tester's side an object of the student's is never equal to a plain value and
            # cannot be ordered against one, whatever its own methods would say (list.index, `in`,
            # sorting would otherwise ask it and believe it).
            if name in ("eq", "ne"):
                return name == "ne"
            raise TypeError("an object your code made cannot be ordered against a plain value")
        result = self._lf("binary", n=name, v=self._lf_enc(other))
        if strict and name in _ARITHMETIC and type(result) in _PLAIN_TYPES:
            # `abs(answer - 2.5) < 1e-9` must not be answered by the student's own __sub__;
            # `Vector(1, 2) * 3` still works, since it gives a Vector.
            raise TypeError("arithmetic between an object your code made and a plain value gave a plain value")
        return result

    def __repr__(self) -> str:
        try:
            text = self._lf_un("repr")
        except Dead:
            text = None
        return text if type(text) is str else f"<{object.__getattribute__(self, '_lf_type')} object>"

    def __str__(self) -> str:
        text = self._lf_un("str")
        return text if type(text) is str else repr(self)

    def __len__(self) -> int:
        value = self._lf_un("len")
        if type(value) is not int:
            raise TypeError("len() of the object did not return an int")
        return value

    def __bool__(self) -> bool:
        value = self._lf_un("bool")
        return value is True

    def __hash__(self) -> int:
        value = self._lf_un("hash")
        return value if type(value) is int else 0

    def __iter__(self) -> Iterator[Any]:
        iterator = self._lf_un("iter")
        while True:
            try:
                item = iterator._lf_un("next") if isinstance(iterator, Proxy) else next(iterator)
            except StopIteration:
                return
            yield item

    def __next__(self) -> Any:
        return self._lf_un("next")

    def __int__(self) -> int:
        return int(self._lf_un("int"))

    def __float__(self) -> float:
        return float(self._lf_un("float"))

    def __index__(self) -> int:
        return int(self._lf_un("index"))

    def __abs__(self) -> Any:
        return self._lf_un("abs")

    def __neg__(self) -> Any:
        return self._lf_un("neg")

    def __enter__(self) -> Any:
        return self._lf_un("enter")

    def __exit__(self, *exc: object) -> Literal[False]:
        self._lf_un("exit")
        return False

    def __contains__(self, item: object) -> bool:
        return self._lf_bin("contains", item) is True

    def __getitem__(self, key: object) -> Any:
        return self._lf_bin("getitem", key)

    def __setitem__(self, key: object, value: object) -> None:
        self._lf("setitem", k=self._lf_enc(key), v=self._lf_enc(value))

    def __delitem__(self, key: object) -> None:
        self._lf_bin("delitem", key)

    def __eq__(self, other: object) -> bool:
        return self._lf_bin("eq", other) is True

    def __ne__(self, other: object) -> bool:
        return self._lf_bin("ne", other) is not False

    def __lt__(self, other: object) -> Any:
        return self._lf_bin("lt", other)

    def __le__(self, other: object) -> Any:
        return self._lf_bin("le", other)

    def __gt__(self, other: object) -> Any:
        return self._lf_bin("gt", other)

    def __ge__(self, other: object) -> Any:
        return self._lf_bin("ge", other)

    def __add__(self, other: object) -> Any:
        return self._lf_bin("add", other)

    def __radd__(self, other: object) -> Any:
        return self._lf_bin("radd", other)

    def __sub__(self, other: object) -> Any:
        return self._lf_bin("sub", other)

    def __rsub__(self, other: object) -> Any:
        return self._lf_bin("rsub", other)

    def __mul__(self, other: object) -> Any:
        return self._lf_bin("mul", other)

    def __rmul__(self, other: object) -> Any:
        return self._lf_bin("rmul", other)

    def __truediv__(self, other: object) -> Any:
        return self._lf_bin("truediv", other)

    def __floordiv__(self, other: object) -> Any:
        return self._lf_bin("floordiv", other)

    def __mod__(self, other: object) -> Any:
        return self._lf_bin("mod", other)

    def __pow__(self, other: object) -> Any:
        return self._lf_bin("pow", other)

    def __instancecheck__(self, instance: object) -> bool:
        return _remote_check(self, "isinstance", instance)

    def __subclasscheck__(self, subclass: object) -> bool:
        return _remote_check(self, "issubclass", subclass)


def _remote_check(cls_proxy: Proxy, op: str, value: object) -> bool:
    peer = object.__getattribute__(cls_proxy, "_lf_peer")
    result = peer.request("binary", n=op, o=peer.encode(value), v={"r": object.__getattribute__(cls_proxy, "_lf_id")})
    return result is True
