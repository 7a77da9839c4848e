"""Beginner logic-bug patterns, found by reading the code (never by running it).

A program can run without an exception and still be wrong. When debug *knows* it is wrong (its
output differs from the expected output, or an exercise's tests fail), these patterns name the
likely cause and the line. Each is a classic beginner mistake with a low false-alarm rate; they are
not reported for programs that behave as expected.

One detector per module, declared with ``@detector(kind, *node_types)`` (see ``base.detector``).
``CATALOG`` lists them: a new detector is one module, one entry there, and one case in
``tests/test_debug_patterns.py``.
"""

from __future__ import annotations

import ast
import importlib
from functools import lru_cache

from learnflow.tutor.debug.patterns.base import DETECTORS, Detector, Pattern, Program
from learnflow.tutor.debug.patterns.edits import replace_node

# The order decides which of two patterns on the same line is named first: statement-level mistakes
# before loop-level ones.
CATALOG = (
    "returns_none",
    "result_discarded",
    "or_always_true",
    "text_compared_as_number",
    "boundary",
    "float_equality",
    "mutable_default",
    "lost_swap",
    "alias",
    "return_in_loop",
    "reset_in_loop",
    "replace_not_add",
    "product_from_zero",
    "extreme_from_zero",
    "changed_while_iterating",
    "range_misses_zero",
    "print_in_loop",
)

for _module in CATALOG:
    importlib.import_module(f"{__name__}.{_module}")


def detectors() -> list[Detector]:
    """Every registered detector, in catalog order."""
    return list(DETECTORS)


@lru_cache(maxsize=256)
def find(code: str) -> tuple[Pattern, ...]:
    """Every pattern found in ``code``, in line order (on one line, in catalog order); () when it does not
    parse. Cached: debug asks for the explanation, the logic fixes and the crash fixes of the same program."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return ()
    program = Program(code, tree)
    found: list[tuple[tuple[int, int, int, int], Pattern]] = []
    for walked, node in enumerate(ast.walk(tree)):
        for rank, det in enumerate(DETECTORS):
            if isinstance(node, det.node_types):
                for seq, hit in enumerate(det.check(node, program)):
                    found.append(
                        ((hit.line, rank, walked, seq), Pattern(det.kind, hit.line, hit.text, hit.hint, hit.fixed))
                    )
    unique: dict[tuple[str, int], Pattern] = {}
    for _, pattern in sorted(found, key=lambda entry: entry[0]):
        unique.setdefault((pattern.kind, pattern.line), pattern)
    return tuple(unique.values())


__all__ = ["CATALOG", "Pattern", "detectors", "find", "replace_node"]
