"""ZeroDivisionError: a division (or modulo) by zero.

Bad example::

    marks = []
    print(sum(marks) / len(marks))
"""

from __future__ import annotations

from learnflow.tutor.debug.registry import Case, Explained, Rule, rule


@rule("ZeroDivisionError")
class ZeroDivision(Rule):
    def explain(self, case: Case) -> Explained | None:
        return (
            "Something on that line was divided by zero.",
            "Which divisor on that line can be 0? Check it first.",
        )
