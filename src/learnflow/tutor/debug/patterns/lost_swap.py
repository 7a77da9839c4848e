"""`a = b` then `b = a`: the first assignment overwrites the value the second needs.

Bad example::

    a = 1
    b = 2
    a = b
    b = a
    print(a, b)
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator

from learnflow.tutor.debug.patterns.base import Found, Program, detector
from learnflow.tutor.debug.patterns.edits import indent, name, set_lines


@detector("lost_swap", ast.Module, ast.FunctionDef)
def check(node: ast.AST, program: Program) -> Iterator[Found]:
    assert isinstance(node, ast.Module | ast.FunctionDef)
    for first, second in itertools.pairwise(node.body):
        if (
            isinstance(first, ast.Assign)
            and isinstance(second, ast.Assign)
            and len(first.targets) == len(second.targets) == 1
            and name(first.targets[0])
            and name(first.value)
            and name(first.targets[0]) == name(second.value)
            and name(second.targets[0]) == name(first.value)
        ):
            a, b = name(first.targets[0]), name(second.targets[0])
            yield Found(
                first.lineno,
                f"`{a} = {b}` overwrites `{a}` before `{b} = {a}` reads it, so both end up equal.",
                f"Swap in one step: `{a}, {b} = {b}, {a}`.",
                set_lines(
                    program.code, first.lineno, [f"{indent(program.code, first.lineno)}{a}, {b} = {b}, {a}"], count=2
                )
                if second.lineno == first.lineno + 1
                else None,
            )
