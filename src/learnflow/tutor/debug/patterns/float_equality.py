"""`==` between floats: floats are stored approximately, so exact equality fails.

Bad example::

    total = 0.1 + 0.2
    if total == 0.3:
        print("equal")
    else:
        print("different")
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from learnflow.tutor.debug.patterns.base import Found, Program, detector
from learnflow.tutor.debug.patterns.edits import replace_node


@detector("float_equality", ast.Compare)
def check(node: ast.AST, program: Program) -> Iterator[Found]:
    assert isinstance(node, ast.Compare)
    if any(isinstance(o, ast.Eq | ast.NotEq) for o in node.ops) and any(
        isinstance(c, ast.Constant) and isinstance(c.value, float) for c in [node.left, *node.comparators]
    ):
        yield Found(
            node.lineno,
            f"`{ast.unparse(node)}` compares floats exactly, but floats are stored approximately "
            "(`0.1 + 0.2 == 0.3` is False).",
            "Use `math.isclose(a, b)` or compare `round(a, 2)`.",
            replace_node(
                program.code,
                node,
                f"abs(({ast.unparse(node.left)}) - ({ast.unparse(node.comparators[0])})) "
                f"{'<' if isinstance(node.ops[0], ast.Eq) else '>='} 1e-9",
            )
            if len(node.ops) == 1
            else None,
        )
