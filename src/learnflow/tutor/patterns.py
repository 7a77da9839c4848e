"""Beginner logic-bug patterns, found by reading the code (never by running it).

A program can run without an exception and still be wrong. When debug *knows* it is wrong (its
output differs from the expected output, or an exercise's tests fail), these patterns name the
likely cause and the line. Each is a classic beginner mistake with a low false-alarm rate; they are
not reported for programs that behave as expected.
"""

from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass
from functools import lru_cache

_MUTATING = {"append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse", "update", "add", "discard"}
_STR_METHODS = {"upper", "lower", "strip", "lstrip", "rstrip", "replace", "title", "capitalize", "swapcase"}


@dataclass(frozen=True)
class Pattern:
    kind: str
    line: int
    text: str
    hint: str
    # The whole program with this one mistake corrected; only ever shown after it was run and printed
    # the expected output (debug verifies it).
    fixed: str | None = None


def _join(lines: list[str], code: str) -> str:
    return "\n".join(lines) + ("\n" if code.endswith("\n") else "")


def _indent(code: str, line: int) -> str:
    text = code.splitlines()[line - 1]
    return text[: len(text) - len(text.lstrip())]


def _set_lines(code: str, line: int, new: list[str], *, count: int = 1) -> str:
    """Replace ``count`` lines from ``line`` (1-based) with ``new``."""
    lines = code.splitlines()
    lines[line - 1 : line - 1 + count] = new
    return _join(lines, code)


def replace_node(code: str, node: ast.AST, new: str) -> str | None:
    """Replace a single-line node's source with ``new``."""
    start, end = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
    if start is None or start != end:
        return None
    lines = code.splitlines()
    raw = lines[start - 1].encode()
    col, end_col = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
    lines[start - 1] = (raw[:col] + new.encode() + raw[end_col:]).decode()
    return _join(lines, code)


def _move_after(code: str, line: int, after: int, indent: str) -> str:
    """Move line ``line`` to just after line ``after`` (which comes later), re-indented."""
    lines = code.splitlines()
    moved = indent + lines[line - 1].lstrip()
    lines.insert(after, moved)
    del lines[line - 1]
    return _join(lines, code)


def _move_before(code: str, line: int, before: int, indent: str) -> str:
    """Move line ``line`` to just before line ``before`` (which comes earlier), re-indented."""
    lines = code.splitlines()
    moved = indent + lines.pop(line - 1).lstrip()
    lines.insert(before - 1, moved)
    return _join(lines, code)


def _name(node: ast.AST) -> str | None:
    return node.id if isinstance(node, ast.Name) else None


def _loops(tree: ast.AST) -> list[ast.For | ast.While]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.For | ast.While)]


def _assignments(tree: ast.Module) -> dict[str, list[ast.Assign]]:
    """Every plain `name = value` in the program, by name, in line order (built once per program)."""
    found: dict[str, list[ast.Assign]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).append(node)
    for nodes in found.values():
        nodes.sort(key=lambda n: n.lineno)
    return found


@lru_cache(maxsize=256)
def find(code: str) -> tuple[Pattern, ...]:
    """Every pattern found in ``code``, in line order; () when it does not parse (cached: debug asks
    for the explanation, the logic fixes and the crash fixes of the same program)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return ()
    found: list[Pattern] = []
    add = found.append
    assignments = _assignments(tree)

    def _assigned_before(_tree: ast.Module, name: str | None, line: int) -> ast.expr | None:
        """The value last assigned to ``name`` before ``line``."""
        earlier = [n for n in assignments.get(name or "", ()) if n.lineno < line]
        return earlier[-1].value if earlier else None

    for node in ast.walk(tree):
        # x = items.sort()  /  print(items.sort())
        if isinstance(node, ast.Assign | ast.Call) and isinstance(
            value := (node.value if isinstance(node, ast.Assign) else None), ast.Call
        ):
            func = value.func
            if isinstance(func, ast.Attribute) and func.attr in ("sort", "reverse", "append", "extend", "insert"):
                fixed = None
                if (
                    isinstance(node, ast.Assign)
                    and len(node.targets) == 1
                    and (target := _name(node.targets[0]))
                    and (owner := _name(func.value))
                    and node.lineno == node.end_lineno
                ):
                    pad = _indent(code, node.lineno)
                    fixed = _set_lines(code, node.lineno, [pad + ast.unparse(value), f"{pad}{target} = {owner}"])
                add(
                    Pattern(
                        "method_returns_none",
                        node.lineno,
                        f"`.{func.attr}()` changes the list in place and returns `None`, so the variable assigned "
                        "here holds `None`, not the list.",
                        f"Call `.{func.attr}()` on its own line and keep using the list"
                        + (", or use `sorted(...)` which returns a new list." if func.attr == "sort" else "."),
                        fixed,
                    )
                )
        if isinstance(node, ast.Call) and _name(node.func) == "print":
            for arg in node.args:
                if (
                    isinstance(arg, ast.Call)
                    and isinstance(arg.func, ast.Attribute)
                    and arg.func.attr in ("sort", "reverse", "append")
                ):
                    fixed = None
                    statement_line = code.splitlines()[node.lineno - 1].strip()
                    if len(node.args) == 1 and statement_line == ast.unparse(node) and _name(arg.func.value):
                        pad = _indent(code, node.lineno)
                        owner = ast.unparse(arg.func.value)
                        fixed = _set_lines(code, node.lineno, [pad + ast.unparse(arg), f"{pad}print({owner})"])
                    add(
                        Pattern(
                            "method_returns_none",
                            node.lineno,
                            f"`.{arg.func.attr}()` returns `None`, so this prints `None`.",
                            f"Call `.{arg.func.attr}()` first, then print the list.",
                            fixed,
                        )
                    )
        # s.upper() as a statement: strings never change in place.
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr in _STR_METHODS
        ):
            target = ast.unparse(node.value.func.value)
            add(
                Pattern(
                    "result_discarded",
                    node.lineno,
                    f"`{target}.{node.value.func.attr}()` makes a *new* string and the result is thrown away: "
                    f"strings never change in place, so `{target}` is unchanged.",
                    f"Keep the result: `{target} = {target}.{node.value.func.attr}(...)`.",
                    replace_node(code, node, f"{target} = {ast.unparse(node.value)}"),
                )
            )
        # if letter == "a" or "e":  -> always true
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            has_compare = any(isinstance(v, ast.Compare) for v in node.values)
            bare = [v for v in node.values if isinstance(v, ast.Constant) and v.value not in (None, False, 0, "")]
            if has_compare and bare:
                subject = {
                    ast.unparse(v.left)
                    for v in node.values
                    if isinstance(v, ast.Compare) and len(v.ops) == 1 and isinstance(v.ops[0], ast.Eq)
                }
                options = [
                    ast.unparse(v.comparators[0] if isinstance(v, ast.Compare) else v)
                    for v in node.values
                    if isinstance(v, ast.Constant) or (isinstance(v, ast.Compare) and isinstance(v.ops[0], ast.Eq))
                ]
                fixed = (
                    replace_node(code, node, f"{subject.pop()} in ({', '.join(options)})")
                    if len(subject) == 1 and len(options) == len(node.values)
                    else None
                )
                add(
                    Pattern(
                        "or_always_true",
                        node.lineno,
                        f"`{ast.unparse(node)}` is always true: `or` joins whole conditions, and "
                        f"`{ast.unparse(bare[0])}` on its own counts as true.",
                        "Repeat the comparison on each side of `or` (`x == 'a' or x == 'e'`), "
                        "or use `x in ('a', 'e')`.",
                        fixed,
                    )
                )
        # age >= "18": text compared by alphabet, not by number.
        if isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators, strict=True):
                if (
                    isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE)
                    and isinstance(right, ast.Constant)
                    and isinstance(right.value, str)
                    and right.value.strip().lstrip("-").replace(".", "", 1).isdigit()
                ):
                    add(
                        Pattern(
                            "text_compared_as_number",
                            node.lineno,
                            f"`{ast.unparse(node)}` compares *text*, letter by letter (`'9' > '18'` is True), "
                            "not numbers.",
                            "Convert with `int(...)` or `float(...)` and compare with a number without quotes.",
                            replace_node(
                                code,
                                node,
                                f"{'float' if '.' in right.value else 'int'}({ast.unparse(node.left)}) "
                                f"{ast.unparse(ast.Compare(ast.Name('x'), [op], [ast.Constant(0)])).split()[1]} "
                                f"{right.value.strip()}",
                            )
                            if len(node.ops) == 1
                            else None,
                        )
                    )
            if (
                len(node.ops) == 1
                and isinstance(node.ops[0], ast.Gt | ast.Lt)
                and (name := _name(node.left))
                and isinstance(bound := node.comparators[0], ast.Constant)
                and isinstance(known := _assigned_before(tree, name, node.lineno), ast.Constant)
                and known.value == bound.value
            ):
                strict, inclusive = (">", ">=") if isinstance(node.ops[0], ast.Gt) else ("<", "<=")
                add(
                    Pattern(
                        "boundary",
                        node.lineno,
                        f"`{name}` is exactly {bound.value!r}, and `{strict}` leaves the boundary out: "
                        f"`{ast.unparse(node)}` is False.",
                        f"Should {bound.value!r} itself count? Then the comparison is `{inclusive}`.",
                        replace_node(code, node, f"{name} {inclusive} {ast.unparse(bound)}"),
                    )
                )
            if any(isinstance(o, ast.Eq | ast.NotEq) for o in node.ops) and any(
                isinstance(c, ast.Constant) and isinstance(c.value, float) for c in [node.left, *node.comparators]
            ):
                add(
                    Pattern(
                        "float_equality",
                        node.lineno,
                        f"`{ast.unparse(node)}` compares floats exactly, but floats are stored approximately "
                        "(`0.1 + 0.2 == 0.3` is False).",
                        "Use `math.isclose(a, b)` or compare `round(a, 2)`.",
                        replace_node(
                            code,
                            node,
                            f"abs(({ast.unparse(node.left)}) - ({ast.unparse(node.comparators[0])})) "
                            f"{'<' if isinstance(node.ops[0], ast.Eq) else '>='} 1e-9",
                        )
                        if len(node.ops) == 1
                        else None,
                    )
                )
        # def add(item, items=[]):  one shared list for every call
        if isinstance(node, ast.FunctionDef):
            positional = node.args.args[len(node.args.args) - len(node.args.defaults) :]
            for param, default in zip(positional, node.args.defaults, strict=True):
                if isinstance(default, ast.List | ast.Dict | ast.Set):
                    fixed = None
                    first = node.body[0]
                    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)):
                        pad = _indent(code, first.lineno)
                        replaced = replace_node(code, default, "None")
                        if replaced is not None:
                            fixed = _set_lines(
                                replaced,
                                first.lineno,
                                [
                                    f"{pad}if {param.arg} is None:",
                                    f"{pad}    {param.arg} = {ast.unparse(default)}",
                                    replaced.splitlines()[first.lineno - 1],
                                ],
                            )
                    add(
                        Pattern(
                            "mutable_default",
                            node.lineno,
                            f"The default `{ast.unparse(default)}` of `{node.name}` is created once and shared by "
                            "every call, so items from earlier calls are still in it.",
                            "Use `None` as the default and create the list inside: `if items is None: items = []`.",
                            fixed,
                        )
                    )
        # a = b  then  b = a: the swap loses a value
        if isinstance(node, ast.Module | ast.FunctionDef):
            body = node.body
            for first, second in itertools.pairwise(body):
                if (
                    isinstance(first, ast.Assign)
                    and isinstance(second, ast.Assign)
                    and len(first.targets) == len(second.targets) == 1
                    and _name(first.targets[0])
                    and _name(first.value)
                    and _name(first.targets[0]) == _name(second.value)
                    and _name(second.targets[0]) == _name(first.value)
                ):
                    a, b = _name(first.targets[0]), _name(second.targets[0])
                    add(
                        Pattern(
                            "lost_swap",
                            first.lineno,
                            f"`{a} = {b}` overwrites `{a}` before `{b} = {a}` reads it, so both end up equal.",
                            f"Swap in one step: `{a}, {b} = {b}, {a}`.",
                            _set_lines(
                                code, first.lineno, [f"{_indent(code, first.lineno)}{a}, {b} = {b}, {a}"], count=2
                            )
                            if second.lineno == first.lineno + 1
                            else None,
                        )
                    )
            # b = a (a list) then b is changed: both names are one list
            for i, stmt in enumerate(body):
                if (
                    isinstance(stmt, ast.Assign)
                    and len(stmt.targets) == 1
                    and (alias := _name(stmt.targets[0]))
                    and (source := _name(stmt.value))
                    and isinstance(_assigned_before(tree, source, stmt.lineno), ast.List | ast.Dict | ast.Set)
                ):
                    for later in body[i + 1 :]:
                        for sub in ast.walk(later):
                            if (
                                isinstance(sub, ast.Call)
                                and isinstance(sub.func, ast.Attribute)
                                and _name(sub.func.value) == alias
                                and sub.func.attr in _MUTATING
                            ):
                                add(
                                    Pattern(
                                        "alias",
                                        stmt.lineno,
                                        f"`{alias} = {source}` does not copy: both names point to the same "
                                        f"object, so changing `{alias}` also changes `{source}`.",
                                        f"Make a copy: `{alias} = {source}.copy()` (or `list({source})`).",
                                        replace_node(code, stmt.value, f"{source}.copy()"),
                                    )
                                )
                                break
                        else:
                            continue
                        break
    for loop in _loops(tree):
        body = loop.body
        loop_line = loop.lineno
        # return as the last statement of a loop body, not inside an if: the loop runs once.
        if body and isinstance(body[-1], ast.Return) and isinstance(loop, ast.For):
            add(
                Pattern(
                    "return_in_loop",
                    body[-1].lineno,
                    "This `return` is inside the loop, so the function returns during the first round and the "
                    "loop never gets further.",
                    "Move the `return` out of the loop (dedent it) so it runs after every item is handled.",
                    _set_lines(
                        code,
                        body[-1].lineno,
                        [_indent(code, loop.lineno) + code.splitlines()[body[-1].lineno - 1].lstrip()],
                    )
                    if body[-1].lineno == body[-1].end_lineno
                    else None,
                )
            )
        targets = {_name(t) for n in body if isinstance(n, ast.Assign) for t in n.targets} - {None}
        augmented = {_name(n.target) for n in ast.walk(loop) if isinstance(n, ast.AugAssign)} - {None}
        for name in targets & augmented:
            init = next(n for n in body if isinstance(n, ast.Assign) and any(_name(t) == name for t in n.targets))
            if isinstance(init.value, ast.Constant):
                add(
                    Pattern(
                        "reset_in_loop",
                        init.lineno,
                        f"`{ast.unparse(init)}` is inside the loop, so `{name}` starts again on every round and "
                        "only the last round counts.",
                        f"Set `{name}` once, before the loop.",
                        _move_before(code, init.lineno, loop.lineno, _indent(code, loop.lineno)),
                    )
                )
        # total = 0 before the loop, then `total = n` inside: replaces instead of adding.
        for stmt in body:
            if (
                isinstance(stmt, ast.Assign)
                and len(stmt.targets) == 1
                and (name := _name(stmt.targets[0]))
                and isinstance(_assigned_before(tree, name, loop_line), ast.Constant)
                and name not in {_name(n) for n in ast.walk(stmt.value)}
                and name not in augmented
                and not isinstance(stmt.value, ast.Constant)
                and isinstance(loop, ast.For)
                and _name(loop.target) in {_name(n) for n in ast.walk(stmt.value)}
            ):
                add(
                    Pattern(
                        "replace_not_add",
                        stmt.lineno,
                        f"`{ast.unparse(stmt)}` *replaces* `{name}` on every round, so it ends up with only the "
                        "last value instead of a running total.",
                        f"Add to it: `{name} += ...` (or `{name} = {name} + ...`).",
                        replace_node(code, stmt, f"{name} += {ast.unparse(stmt.value)}"),
                    )
                )
        # product = 0 then product *= n (or product = product * n): stays 0
        products = [n for n in ast.walk(loop) if isinstance(n, ast.AugAssign) and isinstance(n.op, ast.Mult)] + [
            n
            for n in ast.walk(loop)
            if isinstance(n, ast.Assign)
            and len(n.targets) == 1
            and isinstance(n.value, ast.BinOp)
            and isinstance(n.value.op, ast.Mult)
            and _name(n.targets[0]) in (_name(n.value.left), _name(n.value.right))
        ]
        for aug in products:
            name = _name(aug.target if isinstance(aug, ast.AugAssign) else aug.targets[0])
            init_value = _assigned_before(tree, name, loop_line) if name else None
            if isinstance(init_value, ast.Constant) and init_value.value == 0:
                add(
                    Pattern(
                        "product_from_zero",
                        aug.lineno,
                        f"`{name}` starts at 0 and is multiplied on every round: anything times 0 is 0.",
                        f"Start a product at 1: `{name} = 1`.",
                        replace_node(code, init_value, "1"),
                    )
                )
        # largest = 0 then `if n > largest`: wrong for all-negative data
        for cmp in (n for n in ast.walk(loop) if isinstance(n, ast.If) and isinstance(n.test, ast.Compare)):
            test = cmp.test
            assert isinstance(test, ast.Compare)
            if len(test.ops) == 1 and isinstance(test.ops[0], ast.Gt | ast.Lt):
                name = _name(test.comparators[0])
                init_value = _assigned_before(tree, name, loop_line) if name else None
                if isinstance(init_value, ast.Constant) and init_value.value == 0:
                    kind = "largest" if isinstance(test.ops[0], ast.Gt) else "smallest"
                    add(
                        Pattern(
                            "extreme_from_zero",
                            init_value.lineno,
                            f"`{name}` starts at 0, so if every value is "
                            f"{'negative' if kind == 'largest' else 'positive'} the {kind} is never found: 0 wins.",
                            f"Start `{name}` with the first value of the data (e.g. `{name} = items[0]`).",
                            replace_node(code, init_value, f"{seq}[0]")
                            if isinstance(loop, ast.For) and (seq := _name(loop.iter))
                            else None,
                        )
                    )
        # for x in items: items.remove(...)  skips elements
        if isinstance(loop, ast.For) and (seq := _name(loop.iter)):
            for sub in ast.walk(loop):
                if (
                    isinstance(sub, ast.Call)
                    and isinstance(sub.func, ast.Attribute)
                    and _name(sub.func.value) == seq
                    and sub.func.attr in ("remove", "pop", "insert", "append", "add", "discard")
                ) or (
                    isinstance(sub, ast.Delete)
                    and any(isinstance(t, ast.Subscript) and _name(t.value) == seq for t in sub.targets)
                ):
                    add(
                        Pattern(
                            "changed_while_iterating",
                            sub.lineno,
                            f"`{seq}` is changed while the loop walks over it, so items are skipped (or the loop "
                            "never ends).",
                            f"Loop over a copy (`for x in list({seq})`) or build a new collection instead.",
                            replace_node(code, loop.iter, f"list({seq})"),
                        )
                    )
                    break
        # range(len(s) - 1, 0, -1): stops before index 0
        if (
            isinstance(loop, ast.For)
            and isinstance(loop.iter, ast.Call)
            and _name(loop.iter.func) == "range"
            and len(loop.iter.args) == 3
            and isinstance(loop.iter.args[1], ast.Constant)
            and loop.iter.args[1].value == 0
            and isinstance(loop.iter.args[2], ast.UnaryOp | ast.Constant)
            and ast.unparse(loop.iter.args[2]).startswith("-")
        ):
            add(
                Pattern(
                    "range_misses_zero",
                    loop.lineno,
                    f"`{ast.unparse(loop.iter)}` counts down but stops *before* 0, so index 0 is never visited.",
                    "Use -1 as the stop value to include 0: `range(len(s) - 1, -1, -1)`, or `reversed(...)`.",
                    replace_node(code, loop.iter.args[1], "-1"),
                )
            )
        # print(total) inside the loop that builds total: prints every running value, not the result.
        for stmt in body:
            if (
                isinstance(stmt, ast.Expr)
                and isinstance(stmt.value, ast.Call)
                and _name(stmt.value.func) == "print"
                and augmented & {_name(n) for a in stmt.value.args for n in ast.walk(a)}
            ):
                add(
                    Pattern(
                        "print_in_loop",
                        stmt.lineno,
                        "This `print` is inside the loop, so it prints the running value on every round "
                        "instead of the final result once.",
                        "Dedent the `print` so it runs once, after the loop.",
                        _move_after(code, stmt.lineno, loop.end_lineno or loop.lineno, _indent(code, loop.lineno))
                        if stmt.lineno == stmt.end_lineno
                        else None,
                    )
                )
    unique: dict[tuple[str, int], Pattern] = {}
    for p in found:
        unique.setdefault((p.kind, p.line), p)
    return tuple(sorted(unique.values(), key=lambda p: p.line))
