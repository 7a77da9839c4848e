"""Helpers more than one rule needs."""

from __future__ import annotations

import builtins
import difflib
import importlib
import re
import sys
from collections.abc import Callable, Iterator, Sequence

from learnflow.tutor.debug import source
from learnflow.tutor.debug.tables import tables

STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))
BUILTIN_NAMES = frozenset(dir(builtins))

# Standard modules whose names debug may look up to suggest a close function name; importing them in
# the service has no side effects (unlike, say, `antigravity` or `this`). Kept in code, not in the
# data tables: it decides what the service imports.
LOOKUP_MODULES = frozenset(
    "math random string statistics datetime time json os sys itertools collections functools re".split()
)


def close_names(code: str, missing: str, suggested: str | None) -> list[str]:
    """Python's "Did you mean", else the program's own names that look alike."""
    if suggested:
        return [suggested]
    return difflib.get_close_matches(missing, source.defined_names(code), n=2, cutoff=0.75)


def global_declared(code: str, lines: list[str], n: int, name: str) -> Iterator[str]:
    """``code`` with ``global name`` as the first statement of the function holding line ``n``."""
    for i in range(n - 1, 0, -1):
        header = re.match(r"(\s*)def \w+\(.*\):\s*$", lines[i - 1])
        if header:
            body = lines[i] if i < len(lines) else ""
            indent = body[: len(body) - len(body.lstrip())] or header.group(1) + "    "
            yield "\n".join([*lines[:i], f"{indent}global {name}", *lines[i:]]) + "\n"
            return


def none_value(attr_or_call: str) -> str:
    return (
        f"The value is `None`, so it has no {attr_or_call}. `None` usually comes from a function that has no "
        "`return` (it returns `None`), or from list methods like `.sort()` / `.append()`, which change the list "
        "and return `None`."
    )


def file_name(path: str) -> str:
    # The sandbox's working folder is an implementation detail; the student knows the file's name.
    return path.rsplit("/", 1)[-1] if path.startswith("/tmp/") else path


_MODULE_ATTR = re.compile(r"module '(\w+)' has no attribute '(\w+)'|cannot import name '(\w+)' from '(\w+)'")


def module_lookups(code: str, message: str) -> Iterator[str]:
    """A name a standard module does not have, replaced by a close one it has (`math.squareroot` -> `sqrt`)."""
    found = _MODULE_ATTR.search(message)
    if not found:
        return
    name = found.group(2) or found.group(3)
    module = found.group(1) or found.group(4)
    if module in LOOKUP_MODULES:
        public = [a for a in dir(importlib.import_module(module)) if not a.startswith("_")]
        aliases = tables().module_function_aliases
        for close in [aliases.get(name, ""), *difflib.get_close_matches(name, public, n=2, cutoff=0.6)]:
            if close in public:
                yield re.sub(rf"\b{re.escape(name)}\b", close, code)


# A message pattern and what to say when it matches: (explanation, first hint).
MessageExplainer = Callable[[re.Match[str]], tuple[str, str]]


def by_message(table: Sequence[tuple[re.Pattern[str], MessageExplainer]], message: str) -> tuple[str, str] | None:
    """The first entry whose pattern is found in ``message``, applied to its match."""
    for pattern, explain in table:
        if m := pattern.search(message):
            return explain(m)
    return None
