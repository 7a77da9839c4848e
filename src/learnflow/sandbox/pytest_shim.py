"""The parts of pytest exercise tests use, for the tester sandbox (read as text, never imported).

The sandbox has only the standard library, and the real pytest would bring plugins and start-up
time we do not want. ``raises`` understands the student's own exception classes through the proxy.
"""

# Annotations stay strings (never evaluated): the sandbox must not import typing, which pulls in re.
from __future__ import annotations

import math as _math

import _lf_rpc

TYPE_CHECKING = False  # type checkers read the block below; at run time nothing is imported
if TYPE_CHECKING:
    from types import TracebackType
    from typing import NoReturn


def _matches(exc_type: type[BaseException], expected: object) -> bool:
    if isinstance(expected, tuple):
        return any(_matches(exc_type, e) for e in expected)
    if isinstance(expected, _lf_rpc.Proxy):
        # The student's own exception class: its local stand-in mirrors the class hierarchy.
        expected = object.__getattribute__(expected, "_lf_peer").stand_in(expected)
    return isinstance(expected, type) and issubclass(exc_type, expected)


def _name(expected: object) -> str:
    if isinstance(expected, tuple):
        return " or ".join(_name(e) for e in expected)
    if isinstance(expected, _lf_rpc.Proxy):
        return str(expected.__name__)
    return getattr(expected, "__name__", str(expected))


class _Raises:
    def __init__(self, expected: object, match: str | None = None) -> None:
        self.expected = expected
        self.match = match
        self.value: BaseException | None = None

    def __enter__(self) -> _Raises:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        name = _name(self.expected)
        if exc_type is None:
            raise AssertionError(f"expected {name} to be raised, but nothing was raised")
        if issubclass(exc_type, _lf_rpc.Dead) or not _matches(exc_type, self.expected):
            return False
        if self.match is not None and not __import__("re").search(self.match, str(exc)):
            raise AssertionError(f"{name} was raised, but its message {str(exc)!r} does not match {self.match!r}")
        self.value = exc
        return True


def raises(expected: object, match: str | None = None) -> _Raises:
    return _Raises(expected, match)


class approx:
    def __init__(self, expected: float, rel: float = 1e-6, abs: float = 1e-12) -> None:
        self.expected, self.rel, self.abs = expected, rel, abs

    def __eq__(self, other: object) -> bool:
        if type(other) is not int and type(other) is not float:  # exact types: a bool is no number here
            return False
        return _math.isclose(other, self.expected, rel_tol=self.rel, abs_tol=self.abs)

    def __repr__(self) -> str:
        return f"approx({self.expected!r})"


def fail(message: str = "") -> NoReturn:
    raise AssertionError(message or "failed")
