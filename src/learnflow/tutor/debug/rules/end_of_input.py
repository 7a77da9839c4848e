"""EOFError: input() asked for a line the program's input does not have.

Bad example::

    name = input("Name? ")
    print("Hello", name)
"""

from __future__ import annotations

from learnflow.tutor.debug.registry import Case, Explained, Rule, rule


@rule("EOFError")
class EndOfInput(Rule):
    def explain(self, case: Case) -> Explained | None:
        if "EOF when reading a line" not in case.message:
            return None
        return (
            "`input()` waited for a line but there was no more input. When a program runs here, its input comes "
            "from the `stdin` you send; it had fewer lines than the program asks for.",
            "Count the `input()` calls and the lines of input you give; they must match.",
        )
