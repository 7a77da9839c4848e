"""A product that starts at 0: anything times 0 is 0.

Bad example::

    product = 0
    for n in [2, 3, 4]:
        product *= n
    print(product)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from learnflow.tutor.debug.patterns.base import LOOPS, Found, Program, detector
from learnflow.tutor.debug.patterns.edits import name as name_of
from learnflow.tutor.debug.patterns.edits import replace_node


@detector("product_from_zero", *LOOPS)
def check(node: ast.AST, program: Program) -> Iterator[Found]:
    assert isinstance(node, ast.For | ast.While)
    # product *= n, or product = product * n
    products = [n for n in ast.walk(node) if isinstance(n, ast.AugAssign) and isinstance(n.op, ast.Mult)] + [
        n
        for n in ast.walk(node)
        if isinstance(n, ast.Assign)
        and len(n.targets) == 1
        and isinstance(n.value, ast.BinOp)
        and isinstance(n.value.op, ast.Mult)
        and name_of(n.targets[0]) in (name_of(n.value.left), name_of(n.value.right))
    ]
    for update in products:
        name = name_of(update.target if isinstance(update, ast.AugAssign) else update.targets[0])
        start = program.assigned_before(name, node.lineno) if name else None
        if isinstance(start, ast.Constant) and start.value == 0:
            yield Found(
                update.lineno,
                f"`{name}` starts at 0 and is multiplied on every round: anything times 0 is 0.",
                f"Start a product at 1: `{name} = 1`.",
                replace_node(program.code, start, "1"),
            )
