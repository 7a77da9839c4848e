"""OverflowError: a float calculation past the largest float.

Bad example::

    value = 10.0
    for _ in range(20):
        value = value ** 2
    print(value)
"""

from __future__ import annotations

from learnflow.tutor.debug.registry import Case, Explained, Rule, rule


@rule("OverflowError")
class Overflow(Rule):
    def explain(self, case: Case) -> Explained | None:
        if not case.message:
            return None
        return (
            "A float calculation produced a number too large to represent (floats top out near 1.8e308).",
            "Print the values just before that line; is something growing much faster than intended?",
        )
