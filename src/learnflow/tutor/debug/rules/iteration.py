"""StopIteration and RuntimeError (changed during iteration): an iterator used past its end, or a
collection changed while a loop walks over it.

Bad example::

    letters = iter("ab")
    print(next(letters), next(letters), next(letters))

Bad example::

    stock = {"apples": 0, "pears": 3}
    for fruit in stock:
        if stock[fruit] == 0:
            del stock[fruit]
    print(stock)
"""

from __future__ import annotations

import re

from learnflow.tutor.debug.registry import Case, Explained, Rule, rule

_WHOLE_MESSAGE = re.compile(r"^(.*)$")
_CHANGED = re.compile(r"(dictionary|Set|set) changed size during iteration")


@rule("StopIteration", "RuntimeError")
class Iteration(Rule):
    def explain(self, case: Case) -> Explained | None:
        if case.kind == "StopIteration":
            return (
                None
                if _WHOLE_MESSAGE.search(case.message) is None
                else (
                    "`next()` asked an iterator for another item but it had none left.",
                    "Give `next()` a default (`next(it, None)`) or loop with `for` instead.",
                )
            )
        m = _CHANGED.search(case.message)
        if not m:
            return None
        return (
            f"The {m.group(1).lower()} was changed (items added or removed) while a loop was walking over it.",
            f"Loop over a copy, e.g. `for k in list(my_{m.group(1).lower()}):`, or collect changes and apply "
            "them after the loop.",
        )
