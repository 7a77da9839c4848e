"""`range(len(s) - 1, 0, -1)`: counting down stops before 0, so index 0 is never visited.

Bad example::

    word = "abc"
    backwards = ""
    for i in range(len(word) - 1, 0, -1):
        backwards += word[i]
    print(backwards)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from learnflow.tutor.debug.patterns.base import Found, Program, detector
from learnflow.tutor.debug.patterns.edits import name, replace_node


@detector("range_misses_zero", ast.For)
def check(node: ast.AST, program: Program) -> Iterator[Found]:
    assert isinstance(node, ast.For)
    loop_range = node.iter
    if (
        isinstance(loop_range, ast.Call)
        and name(loop_range.func) == "range"
        and len(loop_range.args) == 3
        and isinstance(loop_range.args[1], ast.Constant)
        and loop_range.args[1].value == 0
        and isinstance(loop_range.args[2], ast.UnaryOp | ast.Constant)
        and ast.unparse(loop_range.args[2]).startswith("-")
    ):
        yield Found(
            node.lineno,
            f"`{ast.unparse(loop_range)}` counts down but stops *before* 0, so index 0 is never visited.",
            "Use -1 as the stop value to include 0: `range(len(s) - 1, -1, -1)`, or `reversed(...)`.",
            replace_node(program.code, loop_range.args[1], "-1"),
        )
