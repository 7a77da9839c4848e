"""A list, dict or set as a parameter's default: created once and shared by every call.

Bad example::

    def add(item, basket=[]):
        basket.append(item)
        return basket

    add("apple")
    print(add("pear"))
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from learnflow.tutor.debug.patterns.base import Found, Program, detector
from learnflow.tutor.debug.patterns.edits import indent, replace_node, set_lines


@detector("mutable_default", ast.FunctionDef)
def check(node: ast.AST, program: Program) -> Iterator[Found]:
    assert isinstance(node, ast.FunctionDef)
    code = program.code
    positional = node.args.args[len(node.args.args) - len(node.args.defaults) :]
    for param, default in zip(positional, node.args.defaults, strict=True):
        if not isinstance(default, ast.List | ast.Dict | ast.Set):
            continue
        fixed = None
        first = node.body[0]
        if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)):
            pad = indent(code, first.lineno)
            replaced = replace_node(code, default, "None")
            if replaced is not None:
                fixed = set_lines(
                    replaced,
                    first.lineno,
                    [
                        f"{pad}if {param.arg} is None:",
                        f"{pad}    {param.arg} = {ast.unparse(default)}",
                        replaced.splitlines()[first.lineno - 1],
                    ],
                )
        yield Found(
            node.lineno,
            f"The default `{ast.unparse(default)}` of `{node.name}` is created once and shared by "
            "every call, so items from earlier calls are still in it.",
            "Use `None` as the default and create the list inside: `if items is None: items = []`.",
            fixed,
        )
