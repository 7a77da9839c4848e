"""A string method called as a statement: strings never change in place, so the result is lost.

Bad example::

    name = "ada"
    name.upper()
    print(name)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from learnflow.tutor.debug.patterns.base import Found, Program, detector
from learnflow.tutor.debug.patterns.edits import replace_node
from learnflow.tutor.debug.tables import tables


@detector("result_discarded", ast.Expr)
def check(node: ast.AST, program: Program) -> Iterator[Found]:
    assert isinstance(node, ast.Expr)
    call = node.value
    if (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr in tables().new_string_methods
    ):
        target = ast.unparse(call.func.value)
        yield Found(
            node.lineno,
            f"`{target}.{call.func.attr}()` makes a *new* string and the result is thrown away: "
            f"strings never change in place, so `{target}` is unchanged.",
            f"Keep the result: `{target} = {target}.{call.func.attr}(...)`.",
            replace_node(program.code, node, f"{target} = {ast.unparse(call)}"),
        )
