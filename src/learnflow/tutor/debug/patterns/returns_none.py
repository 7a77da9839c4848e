"""A list method's result used as the list: `.sort()`, `.append()`, ... change the list and return None.

Bad example::

    marks = [3, 1, 2]
    ordered = marks.sort()
    print(ordered)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from learnflow.tutor.debug.patterns.base import Found, Program, detector
from learnflow.tutor.debug.patterns.edits import indent, name, set_lines


@detector("method_returns_none", ast.Assign, ast.Call)
def check(node: ast.AST, program: Program) -> Iterator[Found]:
    code = program.code
    # x = items.sort()
    if isinstance(node, ast.Assign) and isinstance(value := node.value, ast.Call):
        func = value.func
        if isinstance(func, ast.Attribute) and func.attr in ("sort", "reverse", "append", "extend", "insert"):
            fixed = None
            if (
                len(node.targets) == 1
                and (target := name(node.targets[0]))
                and (owner := name(func.value))
                and node.lineno == node.end_lineno
            ):
                pad = indent(code, node.lineno)
                fixed = set_lines(code, node.lineno, [pad + ast.unparse(value), f"{pad}{target} = {owner}"])
            yield Found(
                node.lineno,
                f"`.{func.attr}()` changes the list in place and returns `None`, so the variable assigned "
                "here holds `None`, not the list.",
                f"Call `.{func.attr}()` on its own line and keep using the list"
                + (", or use `sorted(...)` which returns a new list." if func.attr == "sort" else "."),
                fixed,
            )
    # print(items.sort())
    if isinstance(node, ast.Call) and name(node.func) == "print":
        for arg in node.args:
            if (
                isinstance(arg, ast.Call)
                and isinstance(arg.func, ast.Attribute)
                and arg.func.attr in ("sort", "reverse", "append")
            ):
                fixed = None
                statement_line = code.splitlines()[node.lineno - 1].strip()
                if len(node.args) == 1 and statement_line == ast.unparse(node) and name(arg.func.value):
                    pad = indent(code, node.lineno)
                    owner = ast.unparse(arg.func.value)
                    fixed = set_lines(code, node.lineno, [pad + ast.unparse(arg), f"{pad}print({owner})"])
                yield Found(
                    node.lineno,
                    f"`.{arg.func.attr}()` returns `None`, so this prints `None`.",
                    f"Call `.{arg.func.attr}()` first, then print the list.",
                    fixed,
                )
