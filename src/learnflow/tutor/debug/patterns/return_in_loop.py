"""`return` as the last statement of a `for` body: the function returns during the first round.

Bad example::

    def total(values):
        result = 0
        for v in values:
            result += v
            return result

    print(total([1, 2, 3]))
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from learnflow.tutor.debug.patterns.base import Found, Program, detector
from learnflow.tutor.debug.patterns.edits import indent, set_lines


@detector("return_in_loop", ast.For)
def check(node: ast.AST, program: Program) -> Iterator[Found]:
    assert isinstance(node, ast.For)
    body, code = node.body, program.code
    if body and isinstance(last := body[-1], ast.Return):
        yield Found(
            last.lineno,
            "This `return` is inside the loop, so the function returns during the first round and the "
            "loop never gets further.",
            "Move the `return` out of the loop (dedent it) so it runs after every item is handled.",
            set_lines(code, last.lineno, [indent(code, node.lineno) + code.splitlines()[last.lineno - 1].lstrip()])
            if last.lineno == last.end_lineno
            else None,
        )
