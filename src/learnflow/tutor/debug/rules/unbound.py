"""UnboundLocalError: a function's own variable used before it has a value.

Bad example::

    def last_mark(marks):
        for mark in marks:
            latest = mark
        return latest

    print(last_mark([]))
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from learnflow.tutor import fixsafety
from learnflow.tutor.debug.registry import Case, Explained, Rule, rule
from learnflow.tutor.debug.rules._common import global_declared
from learnflow.tutor.debug.rules.names import look_alikes, unknown_name

_LOCAL = re.compile(r"(?:name|local variable) '([^']+)'")


def _why_unbound(code: str | None, name: str, line: int | None) -> Explained | None:
    """Why this local variable has no value: a loop or branch that did not run, or a module name changed."""
    facts = fixsafety.unbound_local(code, name, line) if code and line else None
    if facts is None:
        return None
    if facts.updates_module_name:
        return (
            f"`{name}` is also a module-level variable, and `{facts.function}` assigns it, which makes `{name}` "
            f"local to the whole function: inside `{facts.function}` the module's `{name}` is not used. To "
            f"change the module's `{name}`, declare `global {name}` as the function's first line (or pass the "
            "value in and return the new one).",
            f"Does `{facts.function}` mean to change the module's `{name}`? Then say `global {name}` at its top.",
        )
    if facts.guard is None:
        return None
    where = f"the {facts.guard} on line {facts.guard_line}"
    start = f"`{name} = {facts.initial}`"
    if facts.only_augmented:
        return (
            f"`{name}` is only ever updated (`{name} += …`) in `{facts.function}`, never given a starting value, "
            f"so the first update has nothing to add to. Give it a starting value before {where}, such as {start}.",
            f"What should `{name}` be before {where} starts? Assign that before it.",
        )
    return (
        f"`{name}` is only given a value inside {where} of `{facts.function}`. When that "
        f"{'loop runs zero times' if 'loop' in facts.guard else 'code does not run'}, as it did here, `{name}` "
        f"has no value when line {line} uses it. Give it a starting value before {where} (for example {start}), "
        "or make sure every path assigns it. (`global` would not help: it is the function's own variable.)",
        f"What should `{name}` be when {where} does not run? Assign that before line {facts.guard_line}.",
    )


@rule("UnboundLocalError")
class UnboundLocal(Rule):
    def explain(self, case: Case) -> Explained | None:
        m = _LOCAL.search(case.message)
        if not m:
            return None
        name = m.group(1)
        close = look_alikes(case, name)
        unbound = _why_unbound(case.code, name, case.line)
        if unbound is not None:
            return unbound
        text = (
            f"`{name}` is assigned somewhere inside the function, which makes it local to the "
            "whole function, but it is used before that assignment."
        )
        return unknown_name(name, text, close)

    def fixes(self, case: Case) -> Iterator[str]:
        if case.line is None:
            return
        m = re.search(r"local variable '(\w+)'", case.message)
        facts = fixsafety.unbound_local(case.source, m.group(1), case.line) if m else None
        if facts is not None and facts.updates_module_name:
            # A function that updates a module-level counter: declare it global in that function.
            yield from global_declared(case.source, case.lines, case.line, facts.name)
        elif facts is not None:
            # Assigned only in a loop or branch that did not run (or only ever `+=`): start it first.
            initialised = facts.initialised(case.source)
            if initialised:
                yield initialised

    def risky_fixes(self, case: Case) -> Iterator[str]:
        """`global` for a variable that the function only assigns in a loop or branch."""
        if case.line is None:
            return
        m = re.search(r"local variable '(\w+)'", case.message)
        facts = fixsafety.unbound_local(case.source, m.group(1), case.line) if m else None
        if m and (facts is None or not facts.updates_module_name):
            yield from global_declared(case.source, case.lines, case.line, m.group(1))
