"""A largest (or smallest) value that starts at 0: wrong when every value is negative (or positive).

Bad example::

    temperatures = [-5, -2, -9]
    warmest = 0
    for t in temperatures:
        if t > warmest:
            warmest = t
    print(warmest)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from learnflow.tutor.debug.patterns.base import LOOPS, Found, Program, detector
from learnflow.tutor.debug.patterns.edits import name as name_of
from learnflow.tutor.debug.patterns.edits import replace_node


@detector("extreme_from_zero", *LOOPS)
def check(node: ast.AST, program: Program) -> Iterator[Found]:
    assert isinstance(node, ast.For | ast.While)
    for branch in (n for n in ast.walk(node) if isinstance(n, ast.If) and isinstance(n.test, ast.Compare)):
        test = branch.test
        assert isinstance(test, ast.Compare)
        if not (len(test.ops) == 1 and isinstance(test.ops[0], ast.Gt | ast.Lt)):
            continue
        name = name_of(test.comparators[0])
        start = program.assigned_before(name, node.lineno) if name else None
        if isinstance(start, ast.Constant) and start.value == 0:
            kind = "largest" if isinstance(test.ops[0], ast.Gt) else "smallest"
            yield Found(
                start.lineno,
                f"`{name}` starts at 0, so if every value is "
                f"{'negative' if kind == 'largest' else 'positive'} the {kind} is never found: 0 wins.",
                f"Start `{name}` with the first value of the data (e.g. `{name} = items[0]`).",
                replace_node(program.code, start, f"{seq}[0]")
                if isinstance(node, ast.For) and (seq := name_of(node.iter))
                else None,
            )
