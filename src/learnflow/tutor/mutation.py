"""Single-fault mutants of a Python program, for judging how strong a test set is.

A test set is only as good as the wrong programs it rejects. Each mutant here is the
original program with exactly one small, plausible student mistake (a bound off by one,
a flipped comparison, a wrong variable, a forgotten ``return``, a wrong starting value,
swapped branches, a wrong arithmetic/boolean operator).

Mutants are made by splicing the replacement text of one node back into the original
source by its line/column offsets, so every other byte stays as written and line numbers
keep matching the original (a survivor can be reported as "line 4: `<` → `<=`").
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["OPERATORS", "Mutant", "mutants"]

OPERATORS: tuple[str, ...] = (
    "off_by_one",
    "comparison",
    "variable",
    "missing_return",
    "initial_value",
    "swapped_branches",
    "operator",
)


@dataclass(frozen=True)
class Mutant:
    line: int
    operator: str
    description: str
    code: str


@dataclass(frozen=True)
class _Edit:
    start: int  # absolute character offsets into the original text
    end: int
    text: str
    line: int
    operator: str
    description: str


_COMPARE_SWAPS: dict[type[ast.cmpop], tuple[str, ...]] = {
    ast.Lt: ("<=",),
    ast.LtE: ("<",),
    ast.Gt: (">=",),
    ast.GtE: (">",),
    ast.Eq: ("!=",),
    ast.NotEq: ("==",),
    ast.In: ("not in",),
    ast.NotIn: ("in",),
    ast.Is: ("is not",),
    ast.IsNot: ("is",),
}

_COMPARE_TOKEN = re.compile(r"not\s+in|is\s+not|<=|>=|==|!=|<|>|\bin\b|\bis\b")

_BINOP_SWAPS: dict[type[ast.operator], tuple[str, str]] = {
    # (the operator as written, the mistaken one)
    ast.Add: ("+", "-"),
    ast.Sub: ("-", "+"),
    ast.Mult: ("*", "/"),
    ast.Div: ("/", "*"),
    ast.FloorDiv: ("//", "/"),
    ast.Mod: ("%", "//"),
    ast.Pow: ("**", "*"),
}

_BOOLOP_SWAPS: dict[type[ast.boolop], tuple[str, str]] = {
    ast.And: ("and", "or"),
    ast.Or: ("or", "and"),
}


class _Source:
    """Maps ast positions (1-based line, UTF-8 byte column) onto character offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.starts: list[int] = []
        offset = 0
        for line in self.lines:
            self.starts.append(offset)
            offset += len(line)
        self.starts.append(offset)

    def offset(self, lineno: int, col: int) -> int:
        if lineno - 1 >= len(self.lines):
            return len(self.text)
        line = self.lines[lineno - 1]
        return self.starts[lineno - 1] + len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        # ast.AST declares no positions; callers pass only nodes the parser placed (expressions, statements).
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return start, end

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def line_of(self, offset: int) -> int:
        # Few lines in an exercise: a linear scan keeps this obvious.
        for index in range(len(self.starts) - 1):
            if self.starts[index] <= offset < self.starts[index + 1]:
                return index + 1
        return max(1, len(self.lines))


def _short(text: str, width: int = 40) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _between_token(src: _Source, left: ast.AST, right: ast.AST, pattern: re.Pattern[str]) -> tuple[int, int] | None:
    """Locate the operator token between two operands (only parens, spaces and comments lie there)."""
    start = src.span(left)[1]
    end = src.span(right)[0]
    gap = src.text[start:end]
    cleaned = re.sub(r"#[^\n]*", lambda m: " " * len(m.group(0)), gap)
    match = pattern.search(cleaned)
    if match is None:
        return None
    return start + match.start(), start + match.end()


def _is_int(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _int_value(node: ast.AST) -> int | None:
    if _is_int(node):
        # _is_int checked that node is a Constant holding an int (a bool is no int here).
        return node.value  # type: ignore[attr-defined,no-any-return]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and _is_int(node.operand):
        # _is_int checked the operand as above.
        return -node.operand.value  # type: ignore[attr-defined,no-any-return]
    return None


def _bound_edits(src: _Source, node: ast.expr) -> Iterator[_Edit]:
    """A bound moved by one: constants are rewritten, other expressions get ``+ 1`` / ``- 1``."""
    start, end = src.span(node)
    old = src.text[start:end]
    value = _int_value(node)
    for delta in (1, -1):
        if value is not None:
            new = str(value + delta)
        elif "\n" in old:
            continue
        else:
            needs_parens = not isinstance(node, ast.Name | ast.Call | ast.Attribute | ast.Subscript | ast.Constant)
            base = f"({old})" if needs_parens else old
            new = f"{base} {'+' if delta > 0 else '-'} 1"
        yield _Edit(start, end, new, node.lineno, "off_by_one", f"`{_short(old)}` → `{_short(new)}`")


def _off_by_one(src: _Source, tree: ast.AST) -> Iterator[_Edit]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
            for arg in node.args:
                yield from _bound_edits(src, arg)
        elif isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                if _int_value(operand) is not None:
                    yield from _bound_edits(src, operand)
        elif isinstance(node, ast.Slice):
            for part in (node.lower, node.upper):
                if part is not None:
                    yield from _bound_edits(src, part)
        elif isinstance(node, ast.Subscript) and _int_value(node.slice) is not None:
            yield from _bound_edits(src, node.slice)


def _comparison(src: _Source, tree: ast.AST) -> Iterator[_Edit]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for index, op in enumerate(node.ops):
            found = _between_token(src, operands[index], operands[index + 1], _COMPARE_TOKEN)
            if found is None:
                continue
            start, end = found
            old = src.text[start:end]
            for new in _COMPARE_SWAPS[type(op)]:
                yield _Edit(start, end, new, src.line_of(start), "comparison", f"`{_short(old)}` → `{new}`")


_Scope = ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


def _scopes(tree: ast.Module) -> Iterator[tuple[_Scope, list[str]]]:
    """Each function (and the module) with the variables it binds itself, in first-seen order."""
    holders: list[_Scope] = [tree]
    holders.extend(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))
    for holder in holders:
        names: list[str] = []
        if isinstance(holder, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            arguments = holder.args
            for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
                names.append(arg.arg)
            for extra in (arguments.vararg, arguments.kwarg):
                if extra is not None:
                    names.append(extra.arg)
        for child in _own_nodes(holder):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                names.append(child.id)
        unique = list(dict.fromkeys(n for n in names if n not in ("self", "cls")))
        yield holder, unique


def _own_nodes(holder: _Scope) -> Iterator[ast.AST]:
    """Nodes of a scope, not descending into nested functions or classes."""
    body: list[ast.AST] = [holder.body] if isinstance(holder, ast.Lambda) else list(holder.body)
    stack = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        for child in reversed(list(ast.iter_child_nodes(node))):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
                continue
            stack.append(child)


def _variable(src: _Source, tree: ast.AST) -> Iterator[_Edit]:
    assert isinstance(tree, ast.Module)
    for holder, names in _scopes(tree):
        if len(names) < 2:
            continue
        if holder is tree:
            # Module level: only plain variables, never the functions/classes the tests import.
            defined = {
                n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            }
            names = [n for n in names if n not in defined]
        for node in _own_nodes(holder):
            if not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in names):
                continue
            # One stand-in per use (the scope's next variable), so long functions do not drown
            # the other operators in near-identical variable swaps.
            other = names[(names.index(node.id) + 1) % len(names)]
            start, end = src.span(node)
            yield _Edit(start, end, other, node.lineno, "variable", f"`{node.id}` → `{other}`")


def _missing_return(src: _Source, tree: ast.AST) -> Iterator[_Edit]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and node.value is not None:
            start = src.offset(node.lineno, node.col_offset)
            value_start = src.span(node.value)[0]
            # Keep the value as an expression statement: the line stays, the result is lost.
            yield _Edit(
                start,
                value_start,
                "",
                node.lineno,
                "missing_return",
                f"`return {_short(src.segment(node.value))}` → `{_short(src.segment(node.value))}`",
            )


def _initial_value_for(node: ast.expr) -> list[str]:
    value: object
    if isinstance(node, ast.Constant):
        value = node.value
    elif _int_value(node) is not None:
        value = _int_value(node)
    elif (isinstance(node, ast.List | ast.Tuple | ast.Set) and not node.elts) or (
        isinstance(node, ast.Dict) and not node.keys
    ):
        return ["None"]
    else:
        return []
    if isinstance(value, bool):
        return [repr(not value)]
    if isinstance(value, int):
        return ["1"] if value == 0 else ["0"]
    if isinstance(value, float):
        return ["1.0"] if value == 0 else ["0.0"]
    if isinstance(value, str):
        return ['"x"'] if value == "" else ['""']
    if value is None:
        return ["0"]
    return []


def _initial_value(src: _Source, tree: ast.AST) -> Iterator[_Edit]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if not all(isinstance(t, ast.Name) for t in targets):
                continue
            old = src.segment(node.value)
            for new in _initial_value_for(node.value):
                start, end = src.span(node.value)
                yield _Edit(start, end, new, node.value.lineno, "initial_value", f"`{_short(old)}` → `{new}`")


def _swapped_branches(src: _Source, tree: ast.AST) -> Iterator[_Edit]:
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            # Negating the test swaps which branch runs and keeps every line where it was.
            start, end = src.span(node.test)
            old = src.text[start:end]
            new = f"not ({old})"
            yield _Edit(
                start, end, new, node.test.lineno, "swapped_branches", f"`if {_short(old)}` → `if {_short(new)}`"
            )
        elif isinstance(node, ast.IfExp) and node.lineno == node.end_lineno:
            start, end = src.span(node)
            body, test, orelse = src.segment(node.body), src.segment(node.test), src.segment(node.orelse)
            new = f"({orelse} if {test} else {body})"
            yield _Edit(
                start, end, new, node.lineno, "swapped_branches", f"`{_short(src.text[start:end])}` → `{_short(new)}`"
            )


def _operator(src: _Source, tree: ast.AST) -> Iterator[_Edit]:
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOP_SWAPS:
            written, wrong = _BINOP_SWAPS[type(node.op)]
            found = _between_token(src, node.left, node.right, re.compile(re.escape(written)))
            if found is not None:
                yield _Edit(found[0], found[1], wrong, src.line_of(found[0]), "operator", f"`{written}` → `{wrong}`")
        elif isinstance(node, ast.AugAssign) and type(node.op) in _BINOP_SWAPS:
            written, wrong = _BINOP_SWAPS[type(node.op)]
            found = _between_token(src, node.target, node.value, re.compile(re.escape(written) + "="))
            if found is not None:
                yield _Edit(
                    found[0], found[1], wrong + "=", src.line_of(found[0]), "operator", f"`{written}=` → `{wrong}=`"
                )
        elif isinstance(node, ast.BoolOp):
            written, wrong = _BOOLOP_SWAPS[type(node.op)]
            for left, right in zip(node.values, node.values[1:], strict=False):
                found = _between_token(src, left, right, re.compile(rf"\b{written}\b"))
                if found is not None:
                    yield _Edit(
                        found[0], found[1], wrong, src.line_of(found[0]), "operator", f"`{written}` → `{wrong}`"
                    )
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            start = src.span(node)[0]
            operand_start = src.span(node.operand)[0]
            yield _Edit(
                start,
                operand_start,
                "",
                node.lineno,
                "operator",
                f"`not {_short(src.segment(node.operand))}` → `{_short(src.segment(node.operand))}`",
            )


_GENERATORS: dict[str, Callable[[_Source, ast.AST], Iterator[_Edit]]] = {
    "off_by_one": _off_by_one,
    "comparison": _comparison,
    "variable": _variable,
    "missing_return": _missing_return,
    "initial_value": _initial_value,
    "swapped_branches": _swapped_branches,
    "operator": _operator,
}


def _compiles(code: str) -> bool:
    try:
        compile(code, "<mutant>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _spread(items: list[Mutant], limit: int) -> list[Mutant]:
    """An evenly spaced, deterministic sample, so a cap still covers the whole program."""
    if limit >= len(items):
        return items
    if limit <= 0:
        return []
    step = len(items) / limit
    return [items[int(index * step)] for index in range(limit)]


def mutants(code: str, *, limit: int | None = None) -> list[Mutant]:
    """Every distinct, compiling single-fault mutant of ``code``, in source order.

    ``limit`` caps the count with an evenly spaced sample (the same one on every call).
    Code that does not parse has no mutants.
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    src = _Source(code)
    edits: list[_Edit] = []
    for generate in _GENERATORS.values():
        edits.extend(generate(src, tree))
    edits.sort(key=lambda e: (e.start, e.end, OPERATORS.index(e.operator), e.text))
    seen = {code}
    found: list[Mutant] = []
    for edit in edits:
        mutated = code[: edit.start] + edit.text + code[edit.end :]
        if mutated in seen or not _compiles(mutated):
            continue
        seen.add(mutated)
        found.append(Mutant(line=edit.line, operator=edit.operator, description=edit.description, code=mutated))
    return found if limit is None else _spread(found, limit)
