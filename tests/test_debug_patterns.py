"""Every registered bug-pattern detector, on its own bad example; the corrected program runs in the real sandbox.

A detector without an entry in ``CASES`` fails ``test_every_detector_has_a_case``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from learnflow.sandbox import Sandbox
from learnflow.tutor.debug import patterns
from learnflow.tutor.debug.patterns.base import detector

# kind -> (the line it names in its bad example, what the corrected program prints)
CASES: dict[str, tuple[int, str]] = {
    "method_returns_none": (2, "[1, 2, 3]\n"),
    "result_discarded": (2, "ADA\n"),
    "or_always_true": (2, "consonant\n"),
    "text_compared_as_number": (2, "child\n"),
    "boundary": (2, "pass\n"),
    "float_equality": (2, "equal\n"),
    "mutable_default": (1, "['pear']\n"),
    "lost_swap": (3, "2 1\n"),
    "alias": (2, "[1, 2, 3]\n"),
    "return_in_loop": (5, "6\n"),
    "reset_in_loop": (2, "6\n"),
    "replace_not_add": (3, "6\n"),
    "product_from_zero": (3, "24\n"),
    "extreme_from_zero": (2, "-2\n"),
    "changed_while_iterating": (4, "[5]\n"),
    "range_misses_zero": (3, "cba\n"),
    "print_in_loop": (4, "6\n"),
}

DETECTORS = {d.kind: d for d in patterns.detectors()}


def test_every_detector_has_a_case() -> None:
    assert set(CASES) == set(DETECTORS)
    modules = {p.stem for p in Path(patterns.__file__).parent.glob("*.py")} - {"__init__", "base", "edits"}
    assert modules == set(patterns.CATALOG)


@pytest.mark.parametrize("kind", sorted(CASES))
async def test_detector_on_its_bad_example(kind: str) -> None:
    line, output = CASES[kind]
    (example,) = DETECTORS[kind].examples
    before = await Sandbox().run(example)
    assert before.ok and before.stdout != output  # the bad example runs, but prints the wrong thing
    found = [p for p in patterns.find(example) if p.kind == kind]
    assert [p.line for p in found] == [line]
    fixed = found[0].fixed
    assert fixed is not None
    ast.parse(fixed)
    assert (await Sandbox().run(fixed)).stdout == output


def test_correct_programs_have_no_pattern() -> None:
    for kind in CASES:
        (example,) = DETECTORS[kind].examples
        fixed = next(p.fixed for p in patterns.find(example) if p.kind == kind)
        assert fixed is not None
        assert kind not in {p.kind for p in patterns.find(fixed)}, kind


def test_find_orders_by_line_then_catalog() -> None:
    code = "items = [3, 1]\nresult = items.sort()\nname = 'x'\nname.upper()\nprint(result, name)\n"
    assert [(p.kind, p.line) for p in patterns.find(code)] == [("method_returns_none", 2), ("result_discarded", 4)]
    assert patterns.find("def broken(:\n") == ()


def test_a_detector_must_show_a_bad_example() -> None:
    def check(node: ast.AST, program: patterns.Program) -> None:
        raise AssertionError("never called")

    with pytest.raises(ValueError, match="no 'Bad example::'"):
        detector("undocumented", ast.Name)(check)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="checks no node type"):
        detector("nothing")
    assert "undocumented" not in {d.kind for d in patterns.detectors()}
