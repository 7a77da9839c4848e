"""`print(total)` inside the loop that builds `total`: every running value is printed, not the result.

Bad example::

    total = 0
    for n in [1, 2, 3]:
        total += n
        print(total)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from learnflow.tutor.debug.patterns.base import LOOPS, Found, Program, augmented, detector
from learnflow.tutor.debug.patterns.edits import indent, move_after, name


@detector("print_in_loop", *LOOPS)
def check(node: ast.AST, program: Program) -> Iterator[Found]:
    assert isinstance(node, ast.For | ast.While)
    updated = augmented(node)
    for stmt in node.body:
        if (
            isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Call)
            and name(stmt.value.func) == "print"
            and updated & {name(n) for a in stmt.value.args for n in ast.walk(a)}
        ):
            yield Found(
                stmt.lineno,
                "This `print` is inside the loop, so it prints the running value on every round "
                "instead of the final result once.",
                "Dedent the `print` so it runs once, after the loop.",
                move_after(program.code, stmt.lineno, node.end_lineno or node.lineno, indent(program.code, node.lineno))
                if stmt.lineno == stmt.end_lineno
                else None,
            )
