"""Every registered error rule, run on its own bad examples in the real sandbox.

A rule without an entry in ``CASES`` fails ``test_every_rule_has_a_case``: a new rule is one module
and one entry here.
"""

from __future__ import annotations

import ast

import pytest

from learnflow.sandbox import Sandbox
from learnflow.tutor.debug import fixes, patterns, registry
from learnflow.tutor.debug.registry import Case
from learnflow.tutor.debug.rules import MODULES
from learnflow.tutor.debug.traceback import parse_traceback

# For each rule, per bad example in its docstring (in order): the error type, words its explanation
# must contain, and what the verified fix prints (None: the rule offers no fix that runs).
CASES: dict[str, list[tuple[str, str, str | None]]] = {
    "assertions": [("AssertionError", "its message says: *average of 1 and 2*", None)],
    "attributes": [
        ("AttributeError", "In Python that method is called `append`", "['Ada', 'Linus', 'Grace']\n"),
        ("AttributeError", "The value is `None`", None),
        ("AttributeError", "The module `math` has nothing called `squareroot`", "4.0\n"),
    ],
    "end_of_input": [("EOFError", "fewer lines than the program asks for", None)],
    "files": [
        ("FileNotFoundError", "There is no file `notes.txt`", None),
        ("IsADirectoryError", "was given a folder", None),
        ("FileExistsError", "", "ready\n"),
    ],
    "imports": [
        ("ModuleNotFoundError", "The module `Math` is not installed", "4.0\n"),
        ("ImportError", "has nothing called `squareroot`", "4.0\n"),
    ],
    "indentation": [
        ("IndentationError", "must be indented", "1\n2\n3\n"),
        ("IndentationError", "indented more than the code around it", "1\n"),
        ("TabError", "Tabs and spaces are mixed", "1\n"),
    ],
    "iteration": [
        ("StopIteration", "it had none left", None),
        ("RuntimeError", "The dictionary was changed", "{'pears': 3}\n"),
    ],
    "json_text": [("JSONDecodeError", "JSON needs double quotes", "Ada\n")],
    "names": [
        ("NameError", "Names that do exist and look similar: `colour`", "red\n"),
        ("NameError", "called `math`", "4.0\n"),
    ],
    "overflow": [("OverflowError", "too large to represent", None)],
    "recursion": [("RecursionError", "its base case is missing", None)],
    "subscripts": [
        ("IndexError", "Positions start at 0", "70\n85\n90\n"),
        ("KeyError", "The dictionary has no key 'a'", "{'a': 2, 'b': 1}\n"),
    ],
    "syntax": [
        ("SyntaxError", "must end with a colon", "adult\n"),
        ("SyntaxError", "the closing quote is missing", "Hello,Ada\n"),
        ("SyntaxError", "Python could not understand this line", "3B\n"),
    ],
    "type_errors": [
        ("TypeError", "Python does not know how to combine those two types", "6\n"),
        ("TypeError", "To repeat n times, loop over `range(n)`", "0\n1\n2\n"),
        ("TypeError", "the `def` needs `self`", "Woof\n"),
        ("TypeError", "repeating needs a whole number", "10.0\n"),
    ],
    "unbound": [("UnboundLocalError", "When that loop runs zero times", "None\n")],
    "unicode": [
        ("UnicodeEncodeError", "", "b'caf\\xc3\\xa9'\n"),
        ("UnicodeDecodeError", "contains bytes that are not valid `utf-8`", None),
    ],
    "value_errors": [
        ("ValueError", "it has a decimal point", "7.0\n"),
        ("ValueError", "The left side of `=` names 2 variable(s)", None),
    ],
    "zero_division": [("ZeroDivisionError", "divided by zero", None)],
}

# Examples whose fix comes from a bug pattern (tried between the rule's fixes and its fallbacks).
FIXED_BY_A_PATTERN = {("iteration", 1)}

RULES = {r.name: r for r in registry.all_rules()}


def test_every_rule_has_a_case() -> None:
    assert set(RULES) == set(MODULES)
    assert set(CASES) == set(RULES)
    for name, rule in RULES.items():
        assert len(CASES[name]) == len(rule.examples), name
        assert {error for error, _, _ in CASES[name]} == set(rule.handles), name


def test_each_error_type_has_one_rule() -> None:
    handled = [error for rule in RULES.values() for error in rule.handles]
    assert len(handled) == len(set(handled))
    assert all(registry.rule_for(error) is RULES[name] for name in RULES for error in RULES[name].handles)


@pytest.mark.parametrize(
    ("name", "index"), [(name, i) for name in sorted(RULES) for i in range(len(RULES[name].examples))]
)
async def test_rule_on_its_bad_example(name: str, index: int) -> None:
    rule, code = RULES[name], RULES[name].examples[index]
    error, words, fixed_output = CASES[name][index]
    sandbox = Sandbox()
    run = await sandbox.run(code)
    parsed = parse_traceback(run.stderr)
    assert parsed is not None and parsed.error_type == error, run.stderr[-300:]
    explained = rule.explain(Case(parsed, code))
    if words:
        assert explained is not None and words in explained[0]
    else:
        assert explained is None
    fix = await fixes.verified_fix(code, parsed, stdin="", sandbox=sandbox)
    if fixed_output is None:
        assert fix is None
        return
    # The fix comes from where the case says, and it prints what the corrected program should.
    case = Case(parsed, code)
    own = [*rule.fixes(case), *rule.fallback_fixes(case)]
    by_pattern = [p.fixed for p in patterns.find(code) if p.fixed]
    assert fix is not None and fix in (by_pattern if (name, index) in FIXED_BY_A_PATTERN else own)
    ast.parse(fix)
    assert (await sandbox.run(fix)).stdout == fixed_output


def test_a_rule_must_show_a_bad_example() -> None:
    with pytest.raises(ValueError, match="no 'Bad example::'"):

        @registry.rule("NoSuchTestError")
        class Undocumented(registry.Rule):
            pass

    assert registry.rule_for("NoSuchTestError") is None


def test_an_error_type_is_handled_once() -> None:
    with pytest.raises(ValueError, match="already handled"):
        registry.rule("NameError")(RULES["names"].__class__)


def test_examples_come_from_the_docstring_with_tabs_kept() -> None:
    doc = "Title.\n\nBad example::\n\n    if True:\n    \tx = 1\n\nBad example::\n\n    print(y)\n"
    assert registry.examples_in(doc) == ("if True:\n\tx = 1\n", "print(y)\n")
    assert registry.examples_in("No example here.") == ()
