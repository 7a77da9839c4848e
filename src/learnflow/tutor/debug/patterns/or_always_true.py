"""`x == "a" or "e"`: the bare value on its own counts as true, so the condition always is.

Bad example::

    letter = "z"
    if letter == "a" or "e":
        print("vowel")
    else:
        print("consonant")
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from learnflow.tutor.debug.patterns.base import Found, Program, detector
from learnflow.tutor.debug.patterns.edits import replace_node


@detector("or_always_true", ast.BoolOp)
def check(node: ast.AST, program: Program) -> Iterator[Found]:
    assert isinstance(node, ast.BoolOp)
    if not isinstance(node.op, ast.Or):
        return
    has_compare = any(isinstance(v, ast.Compare) for v in node.values)
    bare = [v for v in node.values if isinstance(v, ast.Constant) and v.value not in (None, False, 0, "")]
    if not (has_compare and bare):
        return
    subject = {
        ast.unparse(v.left)
        for v in node.values
        if isinstance(v, ast.Compare) and len(v.ops) == 1 and isinstance(v.ops[0], ast.Eq)
    }
    options = [
        ast.unparse(v.comparators[0] if isinstance(v, ast.Compare) else v)
        for v in node.values
        if isinstance(v, ast.Constant) or (isinstance(v, ast.Compare) and isinstance(v.ops[0], ast.Eq))
    ]
    fixed = (
        replace_node(program.code, node, f"{subject.pop()} in ({', '.join(options)})")
        if len(subject) == 1 and len(options) == len(node.values)
        else None
    )
    yield Found(
        node.lineno,
        f"`{ast.unparse(node)}` is always true: `or` joins whole conditions, and "
        f"`{ast.unparse(bare[0])}` on its own counts as true.",
        "Repeat the comparison on each side of `or` (`x == 'a' or x == 'e'`), or use `x in ('a', 'e')`.",
        fixed,
    )
