"""`>` or `<` against the very value the variable holds: the boundary itself is left out.

Bad example::

    mark = 50
    if mark > 50:
        print("pass")
    else:
        print("fail")
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from learnflow.tutor.debug.patterns.base import Found, Program, detector
from learnflow.tutor.debug.patterns.edits import name as name_of
from learnflow.tutor.debug.patterns.edits import replace_node


@detector("boundary", ast.Compare)
def check(node: ast.AST, program: Program) -> Iterator[Found]:
    assert isinstance(node, ast.Compare)
    if (
        len(node.ops) == 1
        and isinstance(node.ops[0], ast.Gt | ast.Lt)
        and (name := name_of(node.left))
        and isinstance(bound := node.comparators[0], ast.Constant)
        and isinstance(known := program.assigned_before(name, node.lineno), ast.Constant)
        and known.value == bound.value
    ):
        strict, inclusive = (">", ">=") if isinstance(node.ops[0], ast.Gt) else ("<", "<=")
        yield Found(
            node.lineno,
            f"`{name}` is exactly {bound.value!r}, and `{strict}` leaves the boundary out: "
            f"`{ast.unparse(node)}` is False.",
            f"Should {bound.value!r} itself count? Then the comparison is `{inclusive}`.",
            replace_node(program.code, node, f"{name} {inclusive} {ast.unparse(bound)}"),
        )
