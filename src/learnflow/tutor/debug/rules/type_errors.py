"""TypeError: a value of the wrong type for the operation (text from input(), None, a missing self, ...).

Bad example::

    price = "4"
    print(10 - price)

Bad example::

    count = 3
    for i in count:
        print(i)

Bad example::

    class Dog:
        def bark():
            print("Woof")

    Dog().bark()

Bad example::

    price = "4"
    print(price * 2.5)
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from learnflow.tutor.debug.patterns.edits import replace_node
from learnflow.tutor.debug.registry import Case, Explained, Rule, rule
from learnflow.tutor.debug.rules._common import MessageExplainer, by_message, none_value
from learnflow.tutor.debug.source import literal_nodes

_MESSAGES: list[tuple[re.Pattern[str], MessageExplainer]] = [
    (
        re.compile(r"unsupported operand type\(s\) for (.+?): '(\w+)' and '(\w+)'"),
        lambda m: (
            f"The operator `{m.group(1)}` was used between a `{m.group(2)}` and a `{m.group(3)}`, "
            "and Python does not know how to combine those two types.",
            f"Which value on that line is a `{m.group(3)}` when you expected a `{m.group(2)}` (or the reverse)?",
        ),
    ),
    (
        re.compile(r'can only concatenate (\w+) \(not "(\w+)"\) to (\w+)'),
        lambda m: (
            f"You tried to join a `{m.group(2)}` onto a `{m.group(1)}` with `+`; both sides must be text.",
            f"Convert the `{m.group(2)}` to text with `str(...)`, or use an f-string.",
        ),
    ),
    (
        re.compile(r"'NoneType' object is not (callable|subscriptable|iterable)"),
        lambda m: (
            none_value("way to be " + m.group(1).replace("callable", "called").replace("subscriptable", "indexed")),
            "Which expression on that line is `None`? Print it, then find where it got its value.",
        ),
    ),
    (
        re.compile(r"'(\w+)' object is not subscriptable"),
        lambda m: (
            f"You used `[...]` on a `{m.group(1)}`, but a `{m.group(1)}` has no items to pick from"
            + (
                ": a function is called with `( )`, not indexed with `[ ]`."
                if m.group(1) in ("function", "builtin_function_or_method", "method")
                else "."
            ),
            f"Which value on that line is a `{m.group(1)}`? Did you mean to index a list or string instead?",
        ),
    ),
    (
        re.compile(r"'(\w+)' object is not callable"),
        lambda m: (
            f"You put `(...)` after a `{m.group(1)}` value as if it were a function. This happens when a variable "
            "reuses a function's name (`list = [...]`, `sum = 0`, `input = ...`), hiding the function.",
            f"Which name on that line holds a `{m.group(1)}`? Was it assigned earlier with the same name as a "
            "function?",
        ),
    ),
    (
        re.compile(r"'(\w+)' object is not iterable|cannot unpack non-iterable (\w+) object"),
        lambda m: (
            f"A `{m.group(1) or m.group(2)}` is a single value, so it cannot be looped over or unpacked."
            + (" To repeat n times, loop over `range(n)`." if (m.group(1) or m.group(2)) == "int" else ""),
            "What are you looping over (or unpacking)? Print its value and type.",
        ),
    ),
    (
        re.compile(r"(\w+(?:\.\w+)?)\(\) missing (\d+) required positional arguments?: (.+)"),
        lambda m: (
            f"`{m.group(1)}()` needs {m.group(3).replace(' and ', ', ')} but the call does not pass "
            f"{'it' if m.group(2) == '1' else 'them'}.",
            f"Compare the call with the `def {m.group(1).split('.')[-1]}(...)` line: count the arguments.",
        ),
    ),
    (
        re.compile(r"(\w+(?:\.\w+)?)\(\) takes (\d+) positional arguments? but (\d+) (?:was|were) given"),
        lambda m: (
            f"`{m.group(1)}()` is defined with {m.group(2)} parameter(s) but was called with {m.group(3)}."
            + (
                " For a method, Python passes the object itself as the first argument: the `def` needs `self`."
                if "." in m.group(1) and int(m.group(3)) == int(m.group(2)) + 1
                else ""
            ),
            f"Compare the call with the `def {m.group(1).split('.')[-1]}(...)` line: count the parameters.",
        ),
    ),
    (
        re.compile(r"'(\w+)' object does not support item assignment"),
        lambda m: (
            f"A `{m.group(1)}` cannot be changed in place: it is immutable, so `x[i] = ...` is not allowed.",
            f"Build a new {m.group(1)} instead (for text: slicing and `+`, or convert to a list and back).",
        ),
    ),
    (
        re.compile(r"'(.+?)' not supported between instances of '(\w+)' and '(\w+)'"),
        lambda m: (
            f"`{m.group(1)}` was used to compare a `{m.group(2)}` with a `{m.group(3)}`; Python cannot order "
            "values of different kinds."
            + (" Text from `input()` is a `str`: convert it with `int(...)`." if "str" in m.group(0) else ""),
            f"Which side is the `{m.group(2)}` and which the `{m.group(3)}`? Convert one so both match.",
        ),
    ),
    (
        re.compile(r"object of type '(\w+)' has no len\(\)"),
        lambda m: (
            f"`len()` counts the items of a collection, but it got a `{m.group(1)}`.",
            f"Which value is the `{m.group(1)}`? For a number of digits, use `len(str(n))`.",
        ),
    ),
    (
        re.compile(r"can't multiply sequence by non-int of type '(\w+)'"),
        lambda m: (
            f"A list or string was multiplied by a `{m.group(1)}`; repeating needs a whole number, and the "
            "sequence may be text that should have been converted to a number first.",
            "Is one side of `*` text from `input()`? Convert it with `int()` or `float()`.",
        ),
    ),
    (
        re.compile(r"(list|tuple|string) indices must be integers(?: or slices)?, not (\w+)"),
        lambda m: (
            f"A {m.group(1)} position must be a whole number, but a `{m.group(2)}` was used"
            + (
                ": to look things up by name, use a dictionary."
                if m.group(2) == "str" and m.group(1) != "string"
                else "."
            ),
            f"Which value inside `[ ]` is a `{m.group(2)}`? Convert it with `int()` or use a dict.",
        ),
    ),
    (
        re.compile(r"unhashable type: '(\w+)'"),
        lambda m: (
            f"A `{m.group(1)}` can change, so it cannot be a dictionary key or a set item.",
            "Use a tuple instead of a list as the key, or rethink what the key should be.",
        ),
    ),
]

_READS_TEXT = re.compile(r"\binput\(([^()]*)\)")


@rule("TypeError")
class TypeErrors(Rule):
    def explain(self, case: Case) -> Explained | None:
        return by_message(_MESSAGES, case.message)

    def fixes(self, case: Case) -> Iterator[str]:
        msg, text, n = case.message, case.text, case.line
        if text is not None and n is not None and "input(" in text:
            yield case.with_line(_READS_TEXT.sub(r"int(input(\1))", text))
        if text is not None and n is not None and "can only concatenate str" in msg:
            # Wrap bare names that are not strings in str(); verified by running.
            for name in re.findall(r"\+\s*([A-Za-z_]\w*)\b(?!\s*\()", text):
                yield case.with_line(re.sub(rf"\+\s*{re.escape(name)}\b(?!\s*\()", f"+ str({name})", text))
        if (
            "not supported between instances of 'str' and 'int'" in msg
            or "can only concatenate str" in msg
            or "for -: 'str' and 'int'" in msg
        ):
            # A number read with input() and never converted: convert it where it is read.
            for i, line in enumerate(case.lines, 1):
                if re.search(r"(?<!int\()(?<!float\()\binput\(", line):
                    yield case.replace(i, _READS_TEXT.sub(r"int(input(\1))", line))
        m = re.search(r"(\w+)\.(\w+)\(\) takes 0 positional arguments but 1 was given", msg)
        if m:
            method = m.group(2)
            for i, line in enumerate(case.lines, 1):  # a method without self
                if re.match(rf"\s*def {re.escape(method)}\(\s*\)", line):
                    yield case.replace(i, line.replace(f"def {method}(", f"def {method}(self", 1))
                elif re.match(rf"\s*def {re.escape(method)}\(", line):
                    yield case.replace(i, line.replace(f"def {method}(", f"def {method}(self, ", 1))
        if "'int' object is not iterable" in msg and text is not None and n is not None:
            yield case.with_line(re.sub(r"\bin\s+(?!range\()([\w.]+(?:\([^()]*\))?)\s*:", r"in range(\1):", text))
        if "object is not iterable" in msg and text is not None and n:
            loop = re.match(r"(\s*for\s+\w+\s+in\s+)([A-Za-z_]\w*)(\s*:.*)$", text)
            if loop:
                yield case.with_line(f"{loop.group(1)}range({loop.group(2)}){loop.group(3)}")

    def fallback_fixes(self, case: Case) -> Iterator[str]:
        msg = case.message
        if "'str'" in msg or '"str"' in msg or "sequence by non-int" in msg:
            # A number written in quotes ("4", "2.50") used in arithmetic: write it as a number.
            for node in literal_nodes(case.source):
                if isinstance(node.value, str) and re.fullmatch(r"-?\d+(\.\d+)?", node.value.strip()):
                    fixed = replace_node(case.source, node, node.value.strip())
                    if fixed:
                        yield fixed
