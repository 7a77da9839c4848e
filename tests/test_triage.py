"""Routing policy on representative queries."""

from __future__ import annotations

import pytest

from learnflow.tutor.triage import asks_for_help, classify

ROUTES = [
    ("Can you explain how Python loops work?", None, None, "concepts"),
    ("I am getting a NameError in my code", None, None, "debug"),
    ("Give me a Python exercise on loops", None, None, "exercise"),
    ("What is the difference between a list and a tuple?", None, None, "concepts"),
    ("what does KeyError mean in general", None, None, "concepts"),
    ("explain this code", "for i in range(3):\n    print(i)\n", None, "concepts"),
    ("my code doesn't work", "print(x)", None, "debug"),
    ("", "print(x)", "NameError: name 'x' is not defined", "debug"),
    ("", "print(x)", None, "debug"),
    ("why does my loop never stop", None, None, "debug"),
    ("quiz me on dictionaries", None, None, "exercise"),
    ("can you check my solution", "def f(): return 1", None, "exercise"),
    ("I want to practice functions", None, None, "exercise"),
    ("give me an example of a dictionary", None, None, "concepts"),
    ("hello", None, None, "concepts"),
    (
        "Traceback (most recent call last):\n  File 'a.py', line 1\nZeroDivisionError: division by zero",
        None,
        None,
        "debug",
    ),
]


@pytest.mark.parametrize(("query", "code", "error", "route"), ROUTES)
def test_routes(query: str, code: str | None, error: str | None, route: str):
    decision = classify(query, code=code, error_message=error)
    assert decision.routed_to == route, decision.scores
    assert 0 < decision.confidence <= 1


@pytest.mark.parametrize("text", ["I don't understand loops", "I'm stuck", "i am totally lost", "this makes no sense"])
def test_help_requests_are_noticed(text: str):
    assert asks_for_help(text)


def test_ordinary_questions_are_not_help_requests():
    assert not asks_for_help("How do I understand recursion better?")
