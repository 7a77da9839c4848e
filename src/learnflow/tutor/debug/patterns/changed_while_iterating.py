"""A list changed (`remove`, `pop`, `del`, ...) inside the `for` loop walking over it: items are skipped.

Bad example::

    numbers = [2, 4, 5, 6]
    for n in numbers:
        if n % 2 == 0:
            numbers.remove(n)
    print(numbers)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from learnflow.tutor.debug.patterns.base import Found, Program, detector
from learnflow.tutor.debug.patterns.edits import name, replace_node


@detector("changed_while_iterating", ast.For)
def check(node: ast.AST, program: Program) -> Iterator[Found]:
    assert isinstance(node, ast.For)
    seq = name(node.iter)
    if not seq:
        return
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute)
            and name(sub.func.value) == seq
            and sub.func.attr in ("remove", "pop", "insert", "append", "add", "discard")
        ) or (
            isinstance(sub, ast.Delete)
            and any(isinstance(t, ast.Subscript) and name(t.value) == seq for t in sub.targets)
        ):
            yield Found(
                sub.lineno,
                f"`{seq}` is changed while the loop walks over it, so items are skipped (or the loop never ends).",
                f"Loop over a copy (`for x in list({seq})`) or build a new collection instead.",
                replace_node(program.code, node.iter, f"list({seq})"),
            )
            return
