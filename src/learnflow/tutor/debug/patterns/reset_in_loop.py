"""A running total set to its start value inside the loop that adds to it: it restarts every round.

Bad example::

    for n in [1, 2, 3]:
        total = 0
        total += n
    print(total)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from learnflow.tutor.debug.patterns.base import LOOPS, Found, Program, augmented, detector
from learnflow.tutor.debug.patterns.edits import indent, move_before, name


@detector("reset_in_loop", *LOOPS)
def check(node: ast.AST, program: Program) -> Iterator[Found]:
    assert isinstance(node, ast.For | ast.While)
    body = node.body
    targets = {name(t) for n in body if isinstance(n, ast.Assign) for t in n.targets} - {None}
    for reset in targets & augmented(node):
        init = next(n for n in body if isinstance(n, ast.Assign) and any(name(t) == reset for t in n.targets))
        if isinstance(init.value, ast.Constant):
            yield Found(
                init.lineno,
                f"`{ast.unparse(init)}` is inside the loop, so `{reset}` starts again on every round and "
                "only the last round counts.",
                f"Set `{reset}` once, before the loop.",
                move_before(program.code, init.lineno, node.lineno, indent(program.code, node.lineno)),
            )
