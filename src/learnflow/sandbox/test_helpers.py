"""Helpers the tests in the tester sandbox import (read as text, never imported by the service).

Every ``assert a == b`` becomes ``_lf_assert_compare("==", a, b, ...)`` and every other comparison
``_lf_chain(...)``: a value from the student's process that is not a plain built-in (a proxy) is
never equal to a plain value, whatever its ``__eq__`` says, cannot be ordered against one, and is not
found in a plain container; an assertion that compares the two either way fails. ``isinstance``,
``issubclass`` and ``type`` are routed through helpers that can see through proxies.
"""

# Annotations stay strings (never evaluated): the sandbox must not import typing, which pulls in re.
from __future__ import annotations

import operator as _lf_operator

import _lf_pytest
from _lf_rpc import Proxy as _lf_Proxy

TYPE_CHECKING = False  # type checkers read the block below; at run time nothing is imported
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

_LF_PLAIN = (int, float, complex, str, bytes, bool, type(None), list, tuple, dict, set, frozenset, range)


def _lf_plain(value: Any, depth: int = 0) -> bool:  # Any: dispatched on its exact type
    kind = type(value)
    if kind not in _LF_PLAIN or depth > 50:
        return False
    if kind in (list, tuple, set, frozenset):
        return all(_lf_plain(item, depth + 1) for item in value)
    if kind is dict:
        return all(_lf_plain(k, depth + 1) and _lf_plain(v, depth + 1) for k, v in value.items())
    return True


def _lf_eq(left: object, right: object) -> bool:
    if type(right) is _lf_pytest.approx:
        return right == left
    if type(left) is _lf_pytest.approx:
        return left == right
    left_plain, right_plain = _lf_plain(left), _lf_plain(right)
    if left_plain and right_plain:
        return bool(left == right)
    if left_plain != right_plain:
        return False
    return (left == right) is True and (right == left) is True


def _lf_show(value: object) -> str:
    try:
        text = repr(value)
    except Exception:
        text = "<unprintable " + type(value).__name__ + ">"
    return text if len(text) <= 300 else text[:300] + "..."


def _lf_isinstance(obj: object, cls: Any) -> bool:  # Any: a class, a tuple of them, or a proxy of one
    return isinstance(obj, cls)


def _lf_issubclass(sub: Any, cls: Any) -> bool:
    if isinstance(sub, _lf_Proxy) or isinstance(cls, _lf_Proxy):
        owner = sub if isinstance(sub, _lf_Proxy) else cls
        peer = object.__getattribute__(owner, "_lf_peer")
        return peer.request("binary", n="issubclass", o=peer.encode(sub), v=peer.encode(cls)) is True
    return issubclass(sub, cls)


def _lf_type(obj: object) -> object:
    if isinstance(obj, _lf_Proxy):
        return obj._lf_un("type")
    return type(obj)


def _lf_except(kind: object) -> object:
    """What an `except` clause catches: a student's exception class becomes its local stand-in."""
    if isinstance(kind, tuple):
        return tuple(_lf_except(k) for k in kind)
    if isinstance(kind, _lf_Proxy):
        return object.__getattribute__(kind, "_lf_peer").stand_in(kind)
    return kind


def _lf_student(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is, or holds, an object that lives in the student's process."""
    if isinstance(value, _lf_Proxy):
        return True
    kind = type(value)
    if depth > 50 or kind not in (list, tuple, set, frozenset, dict):
        return False
    items = [*value.keys(), *value.values()] if kind is dict else value
    return any(_lf_student(item, depth + 1) for item in items)


def _lf_mixed(left: object, right: object) -> AssertionError:
    return AssertionError(
        f"{_lf_show(left)} was compared with {_lf_show(right)}: one is an object your code made, the other a "
        "plain value (a number, a string, a list …); return the plain value itself"
    )


_LF_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "lt": _lf_operator.lt,
    "le": _lf_operator.le,
    "gt": _lf_operator.gt,
    "ge": _lf_operator.ge,
}


def _lf_cmp(op: str, left: object, right: Any) -> bool:
    """One comparison of a test, strict about the student's objects (see the module docstring)."""
    if op == "is":
        return left is right
    if op == "is not":
        return left is not right
    if op in ("in", "not in"):
        if isinstance(right, _lf_Proxy):
            found = right.__contains__(left)  # the student's own container answers for itself
        elif _lf_student(left) and not _lf_student(right):
            found = False  # a plain container holds plain values only
        else:
            found = left in right
        return found if op == "in" else not found
    if type(left) is _lf_pytest.approx or type(right) is _lf_pytest.approx:
        equal = _lf_eq(left, right)
        return equal if op == "==" else (not equal if op == "!=" else False)
    student = _lf_student(left), _lf_student(right)
    if student[0] != student[1]:
        # Never equal, and not ordered: as Python says of unrelated types.
        if op in ("==", "!="):
            return op == "!="
        raise _lf_mixed(left, right)
    if op == "==":
        return _lf_eq(left, right)
    if op == "!=":
        return not _lf_eq(left, right)
    return _LF_ORDER[op](left, right) is True


def _lf_chain(ops: Sequence[str], *operands: object) -> bool:
    """``a < b <= c`` as one strict comparison after another (every operand is evaluated once)."""
    return all(_lf_cmp(op, operands[i], operands[i + 1]) for i, op in enumerate(ops))


def _lf_assert_compare(op: str, left: object, right: object, source: str, message: object) -> None:
    if _lf_student(left) != _lf_student(right) and type(left) is not _lf_pytest.approx:
        ok = False  # a plain value against an object the student made proves nothing, either way
    elif op == "==":
        ok = _lf_eq(left, right)
    elif op == "!=":
        ok = not _lf_eq(left, right)
    elif _lf_plain(left) != _lf_plain(right):
        ok = False  # ordering a plain value against an object the student made proves nothing
    else:
        ok = getattr(_lf_operator, op)(left, right) is True
    if not ok:
        if op == "==":
            text = f"{source}: got {_lf_show(left)}, expected {_lf_show(right)}"
        else:
            text = f"{source}: left side is {_lf_show(left)}, right side is {_lf_show(right)}"
        raise AssertionError((str(message) + " - " if message is not None else "") + text)
