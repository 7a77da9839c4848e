"""Reading and editing the student's program as text: lines, names, literals (never running it)."""

from __future__ import annotations

import ast
import keyword
import re


def line(code: str | None, number: int | None) -> str | None:
    if not code or not number:
        return None
    lines = code.splitlines()
    return lines[number - 1] if 0 < number <= len(lines) else None


def replace_line(code: str, number: int, new: str) -> str:
    lines = code.splitlines()
    lines[number - 1] = new
    return "\n".join(lines) + ("\n" if code.endswith("\n") else "")


def defined_names(code: str | None) -> list[str]:
    if not code:
        return []
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return sorted(set(re.findall(r"\b[A-Za-z_]\w*\b", code)) - set(keyword.kwlist))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return sorted(names)


def literal_nodes(code: str) -> list[ast.Constant]:
    """Every string literal in ``code``; [] when it does not parse."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def articles(text: str) -> str:
    """'a `int`' -> 'an `int`' in generated sentences."""
    text = re.sub(r"\ba (`[aeiouAEIOU])", r"an \1", text)
    return re.sub(r"\bA (`[aeiouAEIOU])", r"An \1", text)
