"""Rewriting a program's lines and nodes, for the bug patterns' fixes (and the rules that reuse them)."""

from __future__ import annotations

import ast


def join(lines: list[str], code: str) -> str:
    return "\n".join(lines) + ("\n" if code.endswith("\n") else "")


def indent(code: str, line: int) -> str:
    text = code.splitlines()[line - 1]
    return text[: len(text) - len(text.lstrip())]


def set_lines(code: str, line: int, new: list[str], *, count: int = 1) -> str:
    """Replace ``count`` lines from ``line`` (1-based) with ``new``."""
    lines = code.splitlines()
    lines[line - 1 : line - 1 + count] = new
    return join(lines, code)


def replace_node(code: str, node: ast.AST, new: str) -> str | None:
    """Replace a single-line node's source with ``new``."""
    start, end = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
    if start is None or start != end:
        return None
    lines = code.splitlines()
    raw = lines[start - 1].encode()
    # ast.AST declares no positions; lineno above showed this node has them.
    col, end_col = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
    lines[start - 1] = (raw[:col] + new.encode() + raw[end_col:]).decode()
    return join(lines, code)


def move_after(code: str, line: int, after: int, pad: str) -> str:
    """Move line ``line`` to just after line ``after`` (which comes later), re-indented."""
    lines = code.splitlines()
    moved = pad + lines[line - 1].lstrip()
    lines.insert(after, moved)
    del lines[line - 1]
    return join(lines, code)


def move_before(code: str, line: int, before: int, pad: str) -> str:
    """Move line ``line`` to just before line ``before`` (which comes earlier), re-indented."""
    lines = code.splitlines()
    moved = pad + lines.pop(line - 1).lstrip()
    lines.insert(before - 1, moved)
    return join(lines, code)


def name(node: ast.AST) -> str | None:
    return node.id if isinstance(node, ast.Name) else None
