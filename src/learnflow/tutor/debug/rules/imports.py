"""ModuleNotFoundError and ImportError: a module that is not there, or a name a module does not have.

Bad example::

    import Math
    print(Math.sqrt(16))

Bad example::

    from math import squareroot
    print(squareroot(16))
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator

from learnflow.tutor.debug.registry import Case, Explained, Rule, rule
from learnflow.tutor.debug.rules._common import STDLIB, module_lookups

_NO_MODULE = re.compile(r"No module named '([^']+)'")
_NO_NAME = re.compile(r"cannot import name '(\w+)' from '([\w.]+)'")


@rule("ModuleNotFoundError", "ImportError")
class Imports(Rule):
    def explain(self, case: Case) -> Explained | None:
        if case.kind == "ImportError":
            m = _NO_NAME.search(case.message)
            return (
                (
                    f"The module `{m.group(2)}` exists but has nothing called `{m.group(1)}`.",
                    f"Check the spelling, or list the names with `import {m.group(2)}; print(dir({m.group(2)}))`.",
                )
                if m
                else None
            )
        m = _NO_MODULE.search(case.message)
        if not m:
            return None
        return (
            f"The module `{m.group(1)}` is not installed where your program runs (student programs here "
            "can use only Python's standard library).",
            f"Is `{m.group(1)}` spelled right? If it is a third-party package, install it with pip in a venv.",
        )

    def fixes(self, case: Case) -> Iterator[str]:
        m = _NO_MODULE.search(case.message) if case.kind == "ModuleNotFoundError" else None
        if m:
            lowered = {name.lower(): name for name in STDLIB}
            close = lowered.get(m.group(1).lower()) or next(
                iter(difflib.get_close_matches(m.group(1), sorted(STDLIB), n=1, cutoff=0.75)), None
            )
            if close:
                yield re.sub(rf"\b{re.escape(m.group(1))}\b", close, case.source)

    def fallback_fixes(self, case: Case) -> Iterator[str]:
        if case.kind == "ImportError":
            yield from module_lookups(case.source, case.message)
