"""AssertionError: an `assert` whose condition was False.

Bad example::

    def average(values):
        return sum(values) // len(values)

    assert average([1, 2]) == 1.5, "average of 1 and 2"
"""

from __future__ import annotations

import re

from learnflow.tutor.debug.registry import Case, Explained, Rule, rule

_WHOLE_MESSAGE = re.compile(r"^(.*)$")


@rule("AssertionError")
class Assertions(Rule):
    def explain(self, case: Case) -> Explained | None:
        m = _WHOLE_MESSAGE.search(case.message)
        if not m:
            return None
        said = m.group(1)
        return (
            "An `assert` checked a condition and it was False"
            + (f"; its message says: *{said}*." if said else ".")
            + " The program stops there on purpose: something is not what the code expects.",
            "Print the values used in the `assert` condition just before it.",
        )
