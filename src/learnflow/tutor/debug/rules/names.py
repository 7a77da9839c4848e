"""NameError: a name used before it exists, misspelt, or a word meant as text.

Bad example::

    colour = "red"
    print(color)

Bad example::

    print(math.sqrt(16))
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator

from learnflow.tutor import fixsafety
from learnflow.tutor.debug import source
from learnflow.tutor.debug.registry import Case, Explained, Rule, rule
from learnflow.tutor.debug.rules._common import BUILTIN_NAMES, STDLIB, close_names

_UNKNOWN = re.compile(r"(?:name|local variable) '([^']+)'")


def look_alikes(case: Case, name: str) -> list[str]:
    """Existing names that look like ``name``: Python's suggestion, else the program's names and builtins."""
    close = (
        [case.suggestion]
        if case.suggestion
        # In an imported module `__builtins__` is the builtins' namespace dict, so these are its keys'
        # container methods rather than builtins; kept as it was (changing it changes answers).
        else difflib.get_close_matches(name, [*source.defined_names(case.code), *dir(__builtins__)], n=3, cutoff=0.75)
    )
    # A name of another kind (the builtin `id` for a variable) is not offered as the spelling.
    return [c for c in close if c != name and (case.code is None or fixsafety.same_kind(case.code, name, c))]


def unknown_name(name: str, text: str, close: list[str]) -> Explained:
    """``text`` about ``name``, with the look-alikes and a hint to check the spelling or the assignment."""
    if close:
        text += " Names that do exist and look similar: " + ", ".join(f"`{c}`" for c in close) + "."
        return text, f"Check the spelling of `{name}`: did you mean `{close[0]}`?"
    return text, f"Where do you give `{name}` a value? It must be assigned (or defined) before this line."


@rule("NameError")
class Names(Rule):
    def explain(self, case: Case) -> Explained | None:
        m = _UNKNOWN.search(case.message)
        if not m:
            return None
        name = m.group(1)
        close = look_alikes(case, name)
        return unknown_name(
            name, f"Python does not know any variable or function called `{name}` at that point.", close
        )

    def fixes(self, case: Case) -> Iterator[str]:
        m = re.search(r"name '([^']+)'", case.message)
        if m and case.text is not None and case.line is not None:
            for name in close_names(case.source, m.group(1), case.suggestion):
                if fixsafety.same_kind(case.source, m.group(1), name):
                    yield case.with_line(re.sub(rf"\b{re.escape(m.group(1))}\b", name, case.text))
        if m and m.group(1) in STDLIB:
            yield f"import {m.group(1)}\n" + case.source  # a module used without importing it

    def risky_fixes(self, case: Case) -> Iterator[str]:
        """A "Did you mean" to a name of another kind (a builtin function for a variable), or a word turned
        into a string (`color = blue` -> `"blue"`, but also a parameter `day` -> `"day"`)."""
        text, code = case.text, case.source
        m = re.search(r"name '([^']+)'", case.message)
        if text is None or case.line is None or not m or m.group(1) in STDLIB:
            return
        missing = m.group(1)
        for name in close_names(code, missing, case.suggestion):
            if not fixsafety.same_kind(code, missing, name):
                yield case.with_line(re.sub(rf"\b{re.escape(missing)}\b", name, text))
        if (
            missing not in BUILTIN_NAMES
            and len(missing) >= 3  # `x`, `n`, `i` are variables, not words
            and missing.isalpha()
            and len(re.findall(rf"\b{re.escape(missing)}\b", code)) == 1
        ):
            # A word used once and defined nowhere may have been meant as text: `color = blue`.
            yield case.with_line(re.sub(rf"(?<![\w.'\"]){re.escape(missing)}(?![\w'\"(])", f'"{missing}"', text))
