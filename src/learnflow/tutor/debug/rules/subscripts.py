"""IndexError and KeyError: a position past the end, or a key the dictionary does not have.

Bad example::

    marks = [70, 85, 90]
    for i in range(len(marks) + 1):
        print(marks[i])

Bad example::

    counts = {}
    for word in ["a", "b", "a"]:
        counts[word] += 1
    print(counts)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from learnflow.tutor.debug.registry import Case, Explained, Rule, rule


def _probed(kind: str, item: dict[str, Any]) -> Explained:
    """Say which index met which length, or which key met which keys, from the probed values."""
    container, index, index_expr = item["container"], item["index"], item["index_expr"]
    value = f"`{index_expr}` is `{index}`" if index_expr != index else f"the index is `{index}`"
    if kind == "IndexError":
        length = int(item["length"])
        unit = "character" if item["type"] == "str" else "item"
        if length == 0:
            return (
                f"On that line {value}, but `{container}` is empty (length 0): there is no position to read.",
                f"Where should `{container}` get its items? Check that it is filled before this line.",
            )
        text = (
            f"On that line {value}, but `{container}` (a {item['type']}) has {length} {unit}"
            f"{'s' if length != 1 else ''}, so its valid positions are 0 to {length - 1} "
            f"(or -{length} to -1 from the end)."
        )
        if index == str(length):
            text += (
                f" Position {length} is one past the end: a classic off-by-one, often from `range(len(...) + 1)`, "
                "`<=` in a loop condition, or using the length itself as the last index."
            )
        return (
            text,
            f"`{container}` has {length} {unit}s; which values does `{index_expr}` take, and is the last one below "
            f"{length}?",
        )
    keys = item.get("keys") or []
    shown = ", ".join(keys) if keys else "none (it is empty)"
    more = f" (and {item['key_count'] - len(keys)} more)" if item.get("key_count", 0) > len(keys) else ""
    text = f"On that line {value}, but `{container}` has no such key. Its keys are: {shown}{more}."
    near = [k for k in keys if k.lower() == index.lower() and k != index]
    close = near or difflib.get_close_matches(index, keys, n=1, cutoff=0.75)
    if close:
        text += f" Did you mean {close[0]}?" + (" Keys are case-sensitive." if near else "")
    return (
        text,
        f"Compare {index} with the keys of `{container}`. If a key may be missing, test `{index_expr} in "
        f"{container}` first or use `{container}.get({index_expr})`.",
    )


@rule("IndexError", "KeyError")
class Subscripts(Rule):
    def explain(self, case: Case) -> Explained | None:
        if case.culprit is not None:
            return _probed(case.kind, case.culprit)
        # Messages that are not about a subscript ("pop from empty list", "popitem(): dictionary is
        # empty") are explained by their own entries in error_messages.yaml, not as a missing position or key.
        if case.kind == "IndexError" and "index out of range" not in (case.message or "index out of range"):
            return None
        if (
            case.kind == "KeyError"
            and case.message
            and (_NOT_A_KEY.match(case.message) or not _KEY_REPR.match(case.message))
        ):
            return None
        if case.kind == "IndexError":
            return (
                "You asked for a position that does not exist. Positions start at 0, so the last valid index of a "
                "list of length n is n - 1.",
                "Print the length of the sequence and the index you use just before that line.",
            )
        msg = case.message
        return (
            f"The dictionary has no key {msg or '(the key shown above)'}.",
            f"Print the dictionary's keys (`print(d.keys())`) and compare them with {msg or 'the key'}.",
        )

    def fixes(self, case: Case) -> Iterator[str]:
        text, n = case.text, case.line
        if text is None or n is None:
            return
        if case.kind == "IndexError":
            yield from _off_by_one(case, text)
            return
        counted = re.match(r"(\s*)([\w.]+)\[([^\]]+)\]\s*\+=\s*(.+)$", text)
        if counted:  # counting into a dict that has no entry yet
            indent, name, key, amount = counted.groups()
            yield case.with_line(f"{indent}{name}[{key}] = {name}.get({key}, 0) + {amount}")
        yield from _key_capitals(case, text)


# A KeyError's message is the missing key's repr: a string, a number, a tuple, True/False/None.
# ... except the messages of dict.popitem() / set.pop() on an empty container, also quoted.
_NOT_A_KEY = re.compile(r"""^['"]?\w+\(\): \w+ is empty['"]?$|^['"]?pop from an empty \w+['"]?$""")
_KEY_REPR = re.compile(r"""^(?:['"(\-\d]|True\b|False\b|None\b)""")


def _off_by_one(case: Case, text: str) -> Iterator[str]:
    """The classic off-by-one loops, and the length used as the last index."""
    for i, line in enumerate(case.lines, 1):
        if re.search(r"range\(len\([^()]*\)\s*\+\s*1\)", line):
            yield case.replace(i, re.sub(r"(range\(len\([^()]*\))\s*\+\s*1\)", r"\1)", line))
        if re.search(r"while\s+\w+\s*<=\s*len\(", line):
            yield case.replace(i, line.replace("<=", "<", 1))
    if re.search(r"\[len\(([^()]*)\)\]", text):
        yield case.with_line(re.sub(r"\[len\(([^()]*)\)\]", r"[len(\1) - 1]", text))


def _key_capitals(case: Case, text: str) -> Iterator[str]:
    """A key with the wrong capitals, from the probed keys: a literal, or a key the user typed."""
    culprit = case.culprit
    if not culprit or not case.line:
        return
    index, expr, container = culprit["index"], culprit["index_expr"], culprit["container"]
    near = [k for k in culprit.get("keys") or [] if k.lower() == index.lower() and k != index]
    if near and expr == index:  # a literal key with the wrong capitals
        yield case.with_line(text.replace(f"{container}[{index}]", f"{container}[{near[0]}]"))
    elif near and index[:1] in "'\"":  # a key typed by the user: match the keys' capitals
        key = near[0][1:-1]
        for method in ("lower", "upper", "title", "capitalize"):
            if getattr(index[1:-1], method)() == key:
                yield case.with_line(text.replace(f"{container}[{expr}]", f"{container}[{expr}.{method}()]"))
