"""Which fix candidates keep a program's meaning, read from the program's own structure.

A candidate that runs is not therefore right. Without the student's expected output (or the exercise's
tests) to check against, the debug tutor only suggests rewrites that cannot change what the program
means; these are the facts it decides that by:

- ``unbound_local``: where a variable that raised UnboundLocalError gets its value, so `global` is
  proposed only for a function that really updates a module-level name, and a variable assigned only
  inside a loop or branch that did not run gets a starting value before that loop instead;
- ``kind_of_use`` / ``kind_of_name``: whether a name stands for a value or for something called, so a
  "Did you mean" is not followed from a variable to a builtin function or to a function of the program.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass
from typing import Literal

Kind = Literal["value", "callable", "any"]

_COMPOUND_NAMES: dict[type[ast.stmt], str] = {
    ast.For: "`for` loop",
    ast.AsyncFor: "`for` loop",
    ast.While: "`while` loop",
    ast.If: "`if` branch",
    ast.Try: "`try` block",
    ast.With: "`with` block",
    ast.AsyncWith: "`with` block",
    ast.Match: "`match` statement",
}


@dataclass(frozen=True)
class UnboundLocal:
    """Where the function that raised UnboundLocalError gives ``name`` a value."""

    name: str
    function: str
    module_level: bool  # the module assigns the name too
    updates_module_name: bool  # the function means to change the module-level name: `global` fits
    only_augmented: bool  # the function never sets a starting value (`total += x` only)
    guard: str | None  # "`for` loop", "`if` branch", …: the statement that holds every assignment
    guard_line: int | None
    guard_indent: int
    initial: str  # a neutral starting value for the kind of value assigned: 0, "", [], None, …

    def initialised(self, code: str) -> str | None:
        """``code`` with ``name = <initial>`` just before the loop or branch; None without one."""
        if self.guard_line is None:
            return None
        lines = code.splitlines()
        line = " " * self.guard_indent + f"{self.name} = {self.initial}"
        return "\n".join([*lines[: self.guard_line - 1], line, *lines[self.guard_line - 1 :]]) + "\n"


def _parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except SyntaxError:
        return None


def _assigns(node: ast.AST, name: str) -> bool:
    """Does this statement itself (not a nested block) store ``name``?"""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AugAssign | ast.For | ast.AsyncFor) or (isinstance(node, ast.AnnAssign) and node.value):
        targets = [node.target]
    elif isinstance(node, ast.With | ast.AsyncWith):
        targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
    return any(isinstance(n, ast.Name) and n.id == name for t in targets for n in ast.walk(t))


def _module_assigns(tree: ast.Module, name: str) -> bool:
    """Is ``name`` assigned at module level (outside every function and class)?"""

    def visit(body: list[ast.stmt]) -> bool:
        for stmt in body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            if _assigns(stmt, name) or (
                isinstance(stmt, ast.Import | ast.ImportFrom)
                and any((a.asname or a.name).split(".")[0] == name for a in stmt.names)
            ):
                return True
            for field in ("body", "orelse", "finalbody"):
                if visit(getattr(stmt, field, []) or []):
                    return True
            if isinstance(stmt, ast.Try) and any(visit(h.body) for h in stmt.handlers):
                return True
        return False

    return visit(tree.body)


def _enclosing_function(tree: ast.Module, line: int) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    found: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        inside = node.lineno <= line <= (node.end_lineno or 0)
        if inside and (found is None or node.lineno >= found.lineno):
            found = node  # the innermost one
    return found


def _stores_in(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> list[tuple[ast.stmt, ast.stmt | None]]:
    """Each statement of ``function`` that stores ``name``, with the top-level statement it sits in.

    The second item is None when the statement is itself in the function's body (it always runs).
    """
    found: list[tuple[ast.stmt, ast.stmt | None]] = []

    def visit(body: list[ast.stmt], top: ast.stmt | None) -> None:
        for stmt in body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
                continue  # a nested scope of its own
            holder = top if top is not None else (stmt if type(stmt) in _COMPOUND_NAMES else None)
            if _assigns(stmt, name):
                # A `for` loop's target and a `with ... as` name are only set when the block runs.
                found.append((stmt, holder))
            for field in ("body", "orelse", "finalbody"):
                visit(getattr(stmt, field, []) or [], holder)
            if isinstance(stmt, ast.Try):
                for handler in stmt.handlers:
                    visit(handler.body, holder)
            if isinstance(stmt, ast.Match):
                for case in stmt.cases:
                    visit(case.body, holder)

    visit(function.body, None)
    return found


def _initial(stores: list[ast.stmt]) -> str:
    """A neutral starting value of the kind the function assigns."""
    for stmt in stores:
        value = getattr(stmt, "value", None)
        if isinstance(value, ast.Constant) and isinstance(value.value, bool):
            return "False"
        if isinstance(value, ast.Constant) and isinstance(value.value, int | float):
            return "0"
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return '""'
        if isinstance(value, ast.List | ast.ListComp):
            return "[]"
        if isinstance(value, ast.Dict | ast.DictComp):
            return "{}"
    return "None"


def unbound_local(code: str, name: str, line: int) -> UnboundLocal | None:
    """What the function raising UnboundLocalError for ``name`` at ``line`` does with that name."""
    tree = _parse(code)
    if tree is None:
        return None
    function = _enclosing_function(tree, line)
    if function is None:
        return None
    stores = _stores_in(function, name)
    if not stores:
        return None
    module_level = _module_assigns(tree, name)
    top_level = any(holder is None for _, holder in stores)
    augmented = [stmt for stmt, _ in stores if isinstance(stmt, ast.AugAssign)]
    only_augmented = len(augmented) == len(stores)
    # `global` fits a function that changes the module's value: it assigns the name in its own body
    # (it always runs), or updates it with `+=` (which needs an existing value). A variable assigned only
    # inside a loop or branch that may not run is the function's own, whatever the module calls it.
    updates = module_level and (top_level or bool(augmented))
    guard: ast.stmt | None = None
    if not top_level:
        holders = [holder for _, holder in stores if holder is not None]
        guard = min(holders, key=lambda h: h.lineno)
    elif only_augmented:
        # `total += x` with no starting value: the statement that holds it, or the line itself.
        first = min((stmt for stmt, _ in stores), key=lambda s: s.lineno)
        guard = first
    return UnboundLocal(
        name=name,
        function=function.name,
        module_level=module_level,
        updates_module_name=updates,
        only_augmented=only_augmented,
        guard=_COMPOUND_NAMES.get(type(guard)) if guard is not None else None,
        guard_line=guard.lineno if guard is not None else None,
        guard_indent=guard.col_offset if guard is not None else 0,
        initial=_initial([stmt for stmt, _ in stores]),
    )


def kind_of_use(code: str, name: str) -> Kind:
    """How the program uses ``name``: called (or as a class: `except`, `raise`), as a value, or unclear."""
    tree = _parse(code)
    if tree is None:
        return "any"
    called = valued = False
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and node.id == name):
            continue
        parent = parents.get(node)
        in_except = isinstance(parent, ast.Tuple) and isinstance(parents.get(parent), ast.ExceptHandler)
        if (isinstance(parent, ast.Call) and parent.func is node) or in_except:
            called = True
        elif isinstance(parent, ast.ExceptHandler | ast.Raise):
            called = True  # a class, as callable as one
        elif isinstance(parent, ast.Attribute):
            return "any"  # `mathh.sqrt`: a module or an object, either may be meant
        elif isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id == "isinstance":
            return "any"
        else:
            valued = True
    if called and not valued:
        return "callable"
    if valued and not called:
        return "value"
    return "any"


def kind_of_name(code: str, name: str) -> Kind:
    """What ``name`` is: a function, class or builtin callable, a value, or unclear (both, or unknown)."""
    tree = _parse(code)
    defined_callable = defined_value = False
    if tree is not None:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name == name:
                defined_callable = True
            elif (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id == name) or (
                isinstance(node, ast.arg) and node.arg == name
            ):
                defined_value = True
            elif isinstance(node, ast.alias) and (node.asname or node.name).split(".")[0] == name:
                return "any"  # an imported module or function
    if defined_callable and defined_value:
        return "any"
    if defined_callable:
        return "callable"
    if defined_value:
        return "value"
    if hasattr(builtins, name):
        return "callable" if callable(getattr(builtins, name)) else "value"
    return "any"


def same_kind(code: str, missing: str, suggested: str) -> bool:
    """May ``missing`` be replaced by ``suggested`` without changing what kind of thing it stands for?"""
    use, what = kind_of_use(code, missing), kind_of_name(code, suggested)
    return use == "any" or what == "any" or use == what
