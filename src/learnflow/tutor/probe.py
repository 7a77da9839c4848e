"""Look inside a failed run: the values on the failing line, so debug can say "index 3, length 3".

The student's program is run again in the sandbox under a small wrapper. When it raises, the wrapper
finds the student's frame on the failing line and evaluates the subscript expressions there
(``items[i]``, ``ages[name]``): the container's type and length, the index or key, and the keys that
do exist. Only side-effect-free expressions are evaluated (names, attributes, constants, arithmetic,
subscripts), never calls, so inspecting cannot change what the program did.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from learnflow.sandbox import CodeRunner

log = logging.getLogger(__name__)

_MARKER = "\x00learnflow-probe\x00"
PROGRAM_FILE = "student_program.py"

# Runs as main.py in the sandbox; the student's code is beside it and compiled under the name
# "main.py" so its tracebacks and line numbers are exactly those of a normal run.
_WRAPPER = r"""
import ast, json, sys

MARKER = %(marker)r
with open(%(program)r, encoding="utf-8") as f:
    SOURCE = f.read()
SAFE = (ast.Expression, ast.Name, ast.Load, ast.Attribute, ast.Constant, ast.BinOp, ast.UnaryOp,
        ast.operator, ast.unaryop, ast.Subscript, ast.Tuple, ast.Slice)

def safe(node):
    for sub in ast.walk(node):
        if not isinstance(sub, SAFE):
            return False
        if isinstance(sub, ast.Attribute) and sub.attr.startswith("__"):
            return False
    return True

def short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

def inspect_line(frame, line):
    try:
        tree = ast.parse(SOURCE)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Subscript) and getattr(node, "lineno", None) == line):
            continue
        if isinstance(node.slice, ast.Slice) or not (safe(node.value) and safe(node.slice)):
            continue
        try:
            container = eval(compile(ast.Expression(node.value), "<probe>", "eval"), frame.f_globals, frame.f_locals)
            key = eval(compile(ast.Expression(node.slice), "<probe>", "eval"), frame.f_globals, frame.f_locals)
        except BaseException:
            continue
        item = {
            "expr": ast.get_source_segment(SOURCE, node) or "",
            "container": ast.get_source_segment(SOURCE, node.value) or "",
            "index_expr": ast.get_source_segment(SOURCE, node.slice) or "",
            "type": type(container).__name__,
            "index": short(key),
        }
        if isinstance(container, dict):
            item["missing"] = key not in container
            item["keys"] = [short(k) for k in list(container)[:20]]
            item["key_count"] = len(container)
        elif hasattr(container, "__len__") and isinstance(key, int) and not isinstance(key, bool):
            item["length"] = len(container)
            item["missing"] = not -len(container) <= key < len(container)
        else:
            continue
        found.append(item)
    return found

sys.argv = ["main.py"]
namespace = {"__name__": "__main__", "__builtins__": __builtins__}
try:
    exec(compile(SOURCE, "main.py", "exec"), namespace)
except BaseException as exc:
    tb, frame, line = exc.__traceback__, None, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "main.py":
            frame, line = tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next
    report = {"error": type(exc).__name__, "line": line, "subscripts": inspect_line(frame, line) if frame else []}
    sys.stderr.write(MARKER + json.dumps(report) + "\n")
    sys.exit(1)
"""


async def inspect_failure(sandbox: CodeRunner, code: str, *, stdin: str = "") -> dict[str, Any] | None:
    """Re-run ``code`` and return what was on its failing line, or None when that cannot be told."""
    wrapper = _WRAPPER % {"marker": _MARKER, "program": PROGRAM_FILE}
    result = await sandbox.run(wrapper, stdin=stdin, files={PROGRAM_FILE: code})
    text = result.stderr
    at = text.rfind(_MARKER)
    if at < 0:
        return None
    try:
        report = json.loads(text[at + len(_MARKER) :].splitlines()[0])
    except (ValueError, IndexError):
        log.debug("unreadable probe report: %r", text[at:][:200])
        return None
    return report if isinstance(report, dict) else None


def culprit(report: dict[str, Any] | None, error_type: str) -> dict[str, Any] | None:
    """The subscript on the failing line that raised ``error_type`` (an out-of-range index, a missing key)."""
    if not report or report.get("error") != error_type:
        return None
    for item in report.get("subscripts") or []:
        if not isinstance(item, dict) or not item.get("missing"):
            continue
        if error_type == "KeyError" and item.get("type") == "dict":
            return item
        if error_type == "IndexError" and "length" in item:
            return item
    return None
