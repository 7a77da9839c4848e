"""AttributeError: a method another language has, a dict used like an object, or a value that is None.

Bad example::

    names = ["Ada", "Linus"]
    names.push("Grace")
    print(names)

Bad example::

    scores = [3, 1, 2].sort()
    print(scores.count(3))

Bad example::

    import math
    print(math.squareroot(16))
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from learnflow.tutor.debug.registry import Case, Explained, Rule, rule
from learnflow.tutor.debug.rules._common import MessageExplainer, by_message, module_lookups, none_value
from learnflow.tutor.debug.tables import method_mixups

_NO_ATTRIBUTE = re.compile(r"'(\w+)' object has no attribute '(\w+)'")

_MESSAGES: list[tuple[re.Pattern[str], MessageExplainer]] = [
    (
        re.compile(r"'NoneType' object has no attribute '(\w+)'"),
        lambda m: (
            none_value(f"`.{m.group(1)}`"),
            "Which variable on that line is `None`? Find where it got its value.",
        ),
    ),
    (
        re.compile(r"module '(\w+)' has no attribute '(\w+)'"),
        lambda m: (
            f"The module `{m.group(1)}` has nothing called `{m.group(2)}`.",
            f"List what it offers with `print(dir({m.group(1)}))`, or check the spelling.",
        ),
    ),
]


@rule("AttributeError")
class Attributes(Rule):
    def explain(self, case: Case) -> Explained | None:
        m = _NO_ATTRIBUTE.search(case.message)
        if m and m.group(1) != "NoneType":  # None is its own story (the table above)
            kind, attribute = m.group(1), m.group(2)
            text = f"A value of type `{kind}` has no attribute or method called `{attribute}`."
            if case.suggestion:
                text += f" Python suggests `{case.suggestion}`."
            elif (kind, attribute) in method_mixups():
                text += f" In Python that method is called `{method_mixups()[(kind, attribute)]}`."
                return (
                    text,
                    f"`{attribute}` is what other languages call it; what does Python call it on a `{kind}`?",
                )
            return text, f"Which methods does a `{kind}` have? Try `help({kind})` or `dir({kind})`."
        return by_message(_MESSAGES, case.message)

    def fixes(self, case: Case) -> Iterator[str]:
        m = _NO_ATTRIBUTE.search(case.message)
        if m and case.text is not None and case.line is not None:
            better = case.suggestion or method_mixups().get((m.group(1), m.group(2)))
            if better:
                yield case.with_line(re.sub(rf"\.{re.escape(m.group(2))}\b", "." + better, case.text))

    def fallback_fixes(self, case: Case) -> Iterator[str]:
        text = case.text
        if text is not None and case.line:
            if re.search(r"'str' object has no attribute 'append'", case.message):
                yield case.with_line(re.sub(r"\b(\w+)\.append\((.*)\)\s*$", r"\1 += \2", text))
            m = re.search(r"'dict' object has no attribute '(\w+)'", case.message)
            if m:
                yield case.with_line(re.sub(rf"\.{m.group(1)}\b(?!\s*\()", f'["{m.group(1)}"]', text))
        yield from module_lookups(case.source, case.message)
