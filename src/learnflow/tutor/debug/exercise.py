"""Debugging code written for an exercise: check it against the visible tests, and never hand over a solution."""

from __future__ import annotations

import ast
import difflib
import re

from learnflow.sandbox import CodeRunner
from learnflow.sandbox.grading import GradesCode, IOCase
from learnflow.tutor.debug.logic import with_patterns
from learnflow.tutor.localize import cases_from_io, cases_from_tests, localise
from learnflow.tutor.schemas import DebugAnswer


def _top_level_names(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set(re.findall(r"^(?:def|class)\s+([A-Za-z_]\w*)", code, re.M))
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}


def looks_like_attempt(code: str, *, starter: str, solution: str) -> bool:
    """Is ``code`` an attempt at the exercise with this starter and solution?

    It is when it defines a function or class the exercise asks for, or reads much like the starter
    or the solution (stdin/stdout exercises often define nothing).
    """
    wanted = _top_level_names(starter) or _top_level_names(solution)
    if wanted and wanted & _top_level_names(code):
        return True
    return any(
        difflib.SequenceMatcher(None, code, other).ratio() >= 0.6 for other in (starter, solution) if other.strip()
    )


_LONG_CODE_BLOCK = re.compile(r"```[\w-]*\n(?:[^\n]*\n){3,}?```")

WITHHELD = (
    "This is code for your exercise **{title}**, so I will not write the corrected program for you: that "
    "would be the solution. The hints lead you there step by step; submit when the tests pass."
)


async def against_exercise(
    answer: DebugAnswer,
    *,
    code: str,
    title: str,
    exercise_id: str,
    tests: str,
    io_tests: list[IOCase],
    hints: list[str],
    grader: GradesCode,
    sandbox: CodeRunner | None = None,
    reference: str | None = None,
) -> DebugAnswer:
    """Check a run-clean attempt against the exercise's visible tests, and never hand over a solution."""
    update: dict[str, object] = {
        "corrected_code": None,
        "fix_verified": False,
        "fix_kind": None,
        "exercise_id": exercise_id,
    }
    explanation = answer.explanation
    if answer.source == "llm":
        # An LLM may slip a finished program into its prose; for an exercise, code longer than a
        # couple of lines stays out of the answer.
        explanation = _LONG_CODE_BLOCK.sub("*(code left out: this is your exercise)*", explanation)
    if answer.run_status == "passed" and (tests.strip() or io_tests):
        report = await grader.grade(code=code, tests=tests, io_tests=io_tests)
        failing = [t for t in report.tests if not t.passed]
        if not failing:
            explanation = (
                f"Your program runs and passes every visible test of **{title}**. Submit it: the hidden "
                "tests check a few more cases."
            )
        else:
            listed = "\n".join(f"- `{t.name}`: {t.message}" for t in failing[:3])
            more = f"\n- … and {len(failing) - 3} more" if len(failing) > 3 else ""
            explanation = (
                f"Your program runs without an error, but {len(failing)} of the {len(report.tests)} visible "
                f"tests of **{title}** fail, so this is a logic bug:\n\n{listed}{more}\n\n"
                "Each line says what your code gave and what the test expected."
            )
            generic = [
                "Take the first failing test and work out its expected value by hand.",
                "Call your function with that test's input and print what it returns.",
                "Find the step where your value and the expected one part ways.",
            ]
            # The exercise's own hints are progressive and written for it; patterns in the code
            # (a return inside the loop, ...) are named in the explanation without giving code.
            explanation, _ = with_patterns(explanation, generic, code)
            update["hints"] = [*hints, *generic][:3]
            if sandbox is not None:
                located = await _locate(code, tests=tests, io_tests=io_tests, sandbox=sandbox, reference=reference)
                if located is not None:
                    where, pointed = located
                    explanation += where
                    update["hints"] = [*pointed, *hints, *generic][:3]
    update["explanation"] = explanation + "\n\n" + WITHHELD.format(title=title)
    return answer.model_copy(update=update)


async def _locate(
    code: str, *, tests: str, io_tests: list[IOCase], sandbox: CodeRunner, reference: str | None
) -> tuple[str, list[str]] | None:
    """What the failing visible tests point at, and hints that ask about a concrete value first.

    Only the visible tests are run beside the student's code (the hidden ones must not reach it). No
    fix is searched: for an exercise it would never be shown, and with a handful of visible tests a
    change that passes them is weak evidence of where the bug is. A line is named only when the tests
    tell it apart (it ran in more failing or fewer passing tests than the others); otherwise the first
    call where the code and the reference solution part ways is the pointer.
    """
    pairs = [(c.stdin, c.expected_stdout) for c in io_tests]
    cases = cases_from_tests(tests) if tests.strip() else cases_from_io(pairs)
    found = await localise(code, cases, sandbox, reference=reference, fix=False)
    if found.status != "localised" or not found.ranking:
        return None
    top = found.ranking[0]
    apart = len(found.ranking) == 1 or found.ranking[1].score < top.score
    if apart:
        where = f"\n\nThe failing tests point at line {top.line}:\n\n```python\n{top.text}\n```"
        return where, found.hints[:2]
    d = found.divergence
    if d is None:
        return None
    where = f"\n\nFor `{d.call}` your code gives `{d.student_value}`" + (
        f", which is {d.relation}." if d.relation != "different" else ", which is not what the test expects."
    )
    question = (
        f"Work through `{d.call}` by hand, line by line: at which line does your code's value stop being "
        "the one you would expect?"
    )
    return where, [question]
