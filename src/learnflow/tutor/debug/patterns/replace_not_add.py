"""`total = n` inside the loop where `total += n` was meant: only the last value is kept.

Bad example::

    total = 0
    for n in [1, 2, 3]:
        total = n
    print(total)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from learnflow.tutor.debug.patterns.base import Found, Program, augmented, detector
from learnflow.tutor.debug.patterns.edits import name as name_of
from learnflow.tutor.debug.patterns.edits import replace_node


@detector("replace_not_add", ast.For)
def check(node: ast.AST, program: Program) -> Iterator[Found]:
    assert isinstance(node, ast.For)
    updated = augmented(node)
    for stmt in node.body:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and (name := name_of(stmt.targets[0]))
            and isinstance(program.assigned_before(name, node.lineno), ast.Constant)
            and name not in {name_of(n) for n in ast.walk(stmt.value)}
            and name not in updated
            and not isinstance(stmt.value, ast.Constant)
            and name_of(node.target) in {name_of(n) for n in ast.walk(stmt.value)}
        ):
            yield Found(
                stmt.lineno,
                f"`{ast.unparse(stmt)}` *replaces* `{name}` on every round, so it ends up with only the "
                "last value instead of a running total.",
                f"Add to it: `{name} += ...` (or `{name} = {name} + ...`).",
                replace_node(program.code, stmt, f"{name} += {ast.unparse(stmt.value)}"),
            )
