"""`age >= "18"`: a comparison with a number in quotes orders text letter by letter, not numbers.

Bad example::

    age = "9"
    if age >= "18":
        print("adult")
    else:
        print("child")
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from learnflow.tutor.debug.patterns.base import Found, Program, detector
from learnflow.tutor.debug.patterns.edits import replace_node


@detector("text_compared_as_number", ast.Compare)
def check(node: ast.AST, program: Program) -> Iterator[Found]:
    assert isinstance(node, ast.Compare)
    for op, right in zip(node.ops, node.comparators, strict=True):
        if (
            isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE)
            and isinstance(right, ast.Constant)
            and isinstance(right.value, str)
            and right.value.strip().lstrip("-").replace(".", "", 1).isdigit()
        ):
            yield Found(
                node.lineno,
                f"`{ast.unparse(node)}` compares *text*, letter by letter (`'9' > '18'` is True), not numbers.",
                "Convert with `int(...)` or `float(...)` and compare with a number without quotes.",
                replace_node(
                    program.code,
                    node,
                    f"{'float' if '.' in right.value else 'int'}({ast.unparse(node.left)}) "
                    f"{ast.unparse(ast.Compare(ast.Name('x'), [op], [ast.Constant(0)])).split()[1]} "
                    f"{right.value.strip()}",
                )
                if len(node.ops) == 1
                else None,
            )
