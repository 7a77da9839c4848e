"""ValueError: the right type but a value it cannot take (text that is not a number, too many items, ...).

Bad example::

    price = int("3.5")
    print(price * 2)

Bad example::

    x, y = [1, 2, 3]
    print(x + y)
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from learnflow.tutor.debug.registry import Case, Explained, Rule, rule
from learnflow.tutor.debug.rules._common import MessageExplainer, by_message

_MESSAGES: list[tuple[re.Pattern[str], MessageExplainer]] = [
    (
        re.compile(r"invalid literal for int\(\) with base 10: (.+)"),
        lambda m: (
            f"`int()` was given the text {m.group(1)}, which is not a whole number"
            + (
                " (it has a decimal point: use `float()`, or `int(float(...))`)."
                if "." in m.group(1)
                else " (an empty text means the input was empty)."
                if m.group(1) in ("''", '""')
                else "."
            ),
            f"Print the text before converting it. What should happen when the user types {m.group(1)}?",
        ),
    ),
    (
        re.compile(r"could not convert string to float: (.+)"),
        lambda m: (
            f"`float()` was given the text {m.group(1)}, which is not a number.",
            "Print the text before converting it, and check for commas, units or spaces.",
        ),
    ),
    (
        re.compile(
            r"too many values to unpack \(expected (\d+)\)|not enough values to unpack \(expected (\d+), got (\d+)\)"
        ),
        lambda m: (
            f"The left side of `=` names {m.group(1) or m.group(2)} variable(s), but the value on the right has "
            + ("more items." if m.group(1) else f"only {m.group(3)}."),
            "Print the value on the right of `=`: how many items does it really have?",
        ),
    ),
    (
        re.compile(r"(.+) is not in list|list\.remove\(x\): x not in list"),
        lambda m: (
            "The list does not contain the value you asked for"
            + (f" ({m.group(1)})" if m.group(1) else "")
            + ": `.index()` and `.remove()` need it to be there.",
            "Check with `if value in my_list:` first, and print the list to compare.",
        ),
    ),
    (
        re.compile(r"math domain error"),
        lambda m: (
            "A math function got a value outside what it accepts, such as `math.sqrt` of a negative number or "
            "`math.log(0)`.",
            "Print the value passed to the math function on that line.",
        ),
    ),
]


@rule("ValueError")
class ValueErrors(Rule):
    def explain(self, case: Case) -> Explained | None:
        return by_message(_MESSAGES, case.message)

    def fallback_fixes(self, case: Case) -> Iterator[str]:
        msg, text = case.message, case.text
        if text is not None and case.line and "invalid literal for int()" in msg and "." in msg:
            # '3.5' is a number with a fraction: keep the fraction (float) rather than dropping it.
            yield case.with_line(re.sub(r"\bint\(", "float(", text, count=1))
