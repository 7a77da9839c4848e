"""`b = a` for a list, then `b` is changed: both names are one list, so `a` changes too.

Bad example::

    original = [1, 2, 3]
    backup = original
    backup.append(4)
    print(original)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from learnflow.tutor.debug.patterns.base import Found, Program, detector
from learnflow.tutor.debug.patterns.edits import name, replace_node
from learnflow.tutor.debug.tables import tables


@detector("alias", ast.Module, ast.FunctionDef)
def check(node: ast.AST, program: Program) -> Iterator[Found]:
    assert isinstance(node, ast.Module | ast.FunctionDef)
    body = node.body
    for i, stmt in enumerate(body):
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and (alias := name(stmt.targets[0]))
            and (source := name(stmt.value))
            and isinstance(program.assigned_before(source, stmt.lineno), ast.List | ast.Dict | ast.Set)
            and _changed_later(body[i + 1 :], alias)
        ):
            yield Found(
                stmt.lineno,
                f"`{alias} = {source}` does not copy: both names point to the same "
                f"object, so changing `{alias}` also changes `{source}`.",
                f"Make a copy: `{alias} = {source}.copy()` (or `list({source})`).",
                replace_node(program.code, stmt.value, f"{source}.copy()"),
            )


def _changed_later(statements: list[ast.stmt], alias: str) -> bool:
    """Does any of ``statements`` call a method on ``alias`` that changes it in place?"""
    mutating = tables().mutating_methods
    return any(
        isinstance(sub, ast.Call)
        and isinstance(sub.func, ast.Attribute)
        and name(sub.func.value) == alias
        and sub.func.attr in mutating
        for later in statements
        for sub in ast.walk(later)
    )
