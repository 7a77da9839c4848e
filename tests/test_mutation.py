"""Single-fault mutants: one operator per example, positions kept, deterministic."""

from __future__ import annotations

import ast

import pytest

from learnflow.tutor.mutation import OPERATORS, Mutant, mutants

PROGRAM = '''\
def count_below(values, limit):
    """How many values are below the limit."""
    total = 0
    for i in range(len(values)):  # every index
        if values[i] < limit:
            total += 1
    return total
'''


def _of(code: str, operator: str) -> list[Mutant]:
    return [m for m in mutants(code) if m.operator == operator]


def _changed_lines(original: str, mutant: Mutant) -> list[int]:
    before, after = original.splitlines(keepends=True), mutant.code.splitlines(keepends=True)
    assert len(before) == len(after)
    return [number for number, (old, new) in enumerate(zip(before, after, strict=True), start=1) if old != new]


def test_off_by_one_moves_range_bounds_and_constants() -> None:
    bodies = {m.code for m in _of(PROGRAM, "off_by_one")}
    assert PROGRAM.replace("range(len(values))", "range(len(values) + 1)") in bodies
    assert PROGRAM.replace("range(len(values))", "range(len(values) - 1)") in bodies
    code = "def f(n):\n    return n > 10\n"
    assert {m.code for m in _of(code, "off_by_one")} == {
        "def f(n):\n    return n > 11\n",
        "def f(n):\n    return n > 9\n",
    }


def test_comparison_flips_the_operator_only() -> None:
    (flipped,) = _of(PROGRAM, "comparison")
    assert flipped.code == PROGRAM.replace("values[i] < limit", "values[i] <= limit")
    assert flipped.line == 5
    assert flipped.description == "`<` → `<=`"
    chained = "def f(a, b, c):\n    return a < b not in c\n"
    assert {m.code for m in _of(chained, "comparison")} == {
        "def f(a, b, c):\n    return a <= b not in c\n",
        "def f(a, b, c):\n    return a < b in c\n",
    }


def test_variable_uses_another_variable_of_the_same_function() -> None:
    swapped = _of(PROGRAM, "variable")
    assert PROGRAM.replace("values[i] < limit", "values[i] < total") in {m.code for m in swapped}
    for mutant in swapped:
        new_names = {n.id for n in ast.walk(ast.parse(mutant.code)) if isinstance(n, ast.Name)}
        assert new_names <= {"values", "limit", "total", "i", "range", "len"}
    # The imported function's name is never swapped in for a variable at module level.
    module_level = _of("def f():\n    return 1\nx = 1\ny = x\n", "variable")
    assert [m.code for m in module_level] == ["def f():\n    return 1\nx = 1\ny = y\n"]


def test_missing_return_keeps_the_line_but_drops_the_result() -> None:
    (dropped,) = _of(PROGRAM, "missing_return")
    assert dropped.code == PROGRAM.replace("    return total\n", "    total\n")
    assert dropped.line == 7
    assert _of("def f():\n    return\n", "missing_return") == []


def test_initial_value_changes_the_starting_constant() -> None:
    (changed,) = _of(PROGRAM, "initial_value")
    assert changed.code == PROGRAM.replace("total = 0", "total = 1")
    assert {m.code for m in _of("def f():\n    seen = []\n    ok = True\n    return seen, ok\n", "initial_value")} == {
        "def f():\n    seen = None\n    ok = True\n    return seen, ok\n",
        "def f():\n    seen = []\n    ok = False\n    return seen, ok\n",
    }


def test_swapped_branches_negates_if_and_swaps_conditional_expressions() -> None:
    (negated,) = _of(PROGRAM, "swapped_branches")
    assert negated.code == PROGRAM.replace("if values[i] < limit:", "if not (values[i] < limit):")
    code = "def f(n):\n    return 'big' if n > 3 else 'small'\n"
    assert "def f(n):\n    return ('small' if n > 3 else 'big')\n" in {m.code for m in _of(code, "swapped_branches")}


def test_operator_swaps_arithmetic_augmented_boolean_and_not() -> None:
    assert {m.code for m in _of(PROGRAM, "operator")} == {PROGRAM.replace("total += 1", "total -= 1")}
    code = "def f(a, b):\n    return (a * 2) // b and not a\n"
    assert {m.code for m in _of(code, "operator")} == {
        "def f(a, b):\n    return (a / 2) // b and not a\n",
        "def f(a, b):\n    return (a * 2) / b and not a\n",
        "def f(a, b):\n    return (a * 2) // b or not a\n",
        "def f(a, b):\n    return (a * 2) // b and a\n",
    }


def test_every_mutant_changes_one_line_keeps_numbering_and_compiles() -> None:
    found = mutants(PROGRAM)
    assert {m.operator for m in found} == set(OPERATORS)
    assert len({m.code for m in found}) == len(found)
    for mutant in found:
        assert mutant.code != PROGRAM
        compile(mutant.code, "<m>", "exec")
        assert _changed_lines(PROGRAM, mutant) == [mutant.line], mutant


def test_comments_and_unicode_before_the_node_do_not_shift_the_splice() -> None:
    code = 'def f(x):\n    s = "é→"; return x < (1)  # x < 2\n'
    (flipped,) = _of(code, "comparison")
    assert flipped.code == 'def f(x):\n    s = "é→"; return x <= (1)  # x < 2\n'


def test_mutants_are_deterministic_and_limit_spreads_over_the_program() -> None:
    assert mutants(PROGRAM) == mutants(PROGRAM)
    capped = mutants(PROGRAM, limit=5)
    assert capped == mutants(PROGRAM, limit=5)
    assert len(capped) == 5
    assert set(capped) <= set(mutants(PROGRAM))
    assert len({m.line for m in capped}) >= 3


@pytest.mark.parametrize("code", ["def f(:\n", "", "x = 1\n"])
def test_unparsable_or_trivial_code_has_no_mutants(code: str) -> None:
    assert [m for m in mutants(code) if m.operator != "initial_value"] == []
