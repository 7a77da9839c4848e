"""RecursionError: a function that calls itself without reaching a base case.

Bad example::

    def countdown(n):
        print(n)
        countdown(n - 1)

    countdown(3)
"""

from __future__ import annotations

from learnflow.tutor.debug.registry import Case, Explained, Rule, rule


@rule("RecursionError")
class Recursion(Rule):
    def explain(self, case: Case) -> Explained | None:
        if "maximum recursion depth exceeded" not in case.message:
            return None
        return (
            "A function kept calling itself without ever stopping: its base case is missing or never reached.",
            "Which `if` should stop the recursion, and does each call get closer to it?",
        )
