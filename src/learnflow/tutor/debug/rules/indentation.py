"""IndentationError and TabError: lines that do not line up with the blocks they belong to.

Bad example::

    for n in [1, 2, 3]:
    print(n)

Bad example::

    total = 0
        total = total + 1
    print(total)

Bad example::

    if True:
    \tx = 1
            print(x)
"""

from __future__ import annotations

from collections.abc import Iterator

from learnflow.tutor.debug.registry import Case, Explained, Rule, rule
from learnflow.tutor.debug.rules.syntax import syntax_hint


@rule("IndentationError", "TabError")
class Indentation(Rule):
    def explain(self, case: Case) -> Explained | None:
        return syntax_hint(case.kind, case.message), None

    def fixes(self, case: Case) -> Iterator[str]:
        if case.kind == "TabError":
            yield case.source.expandtabs(4)
            yield case.source.expandtabs(8)
            return
        msg, text, n, lines = case.message, case.text, case.line, case.lines
        if text is None or n is None:
            return
        previous = lines[n - 2] if n >= 2 else ""
        if "expected an indented block" in msg:
            indent = len(previous) - len(previous.lstrip()) + 4
            yield case.with_line(" " * indent + text.lstrip())
        if "unexpected indent" in msg:
            indent = len(previous) - len(previous.lstrip())
            if previous.rstrip().endswith(":"):
                indent += 4
            yield case.with_line(" " * indent + text.lstrip())
        if "unindent does not match" in msg:
            current = len(text) - len(text.lstrip())
            levels = sorted({len(ln) - len(ln.lstrip()) for ln in lines[: n - 1] if ln.strip()})
            for level in sorted(levels, key=lambda lv: abs(lv - current)):
                yield case.with_line(" " * level + text.lstrip())
