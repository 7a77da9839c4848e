"""Routing policy on representative queries."""

from __future__ import annotations

import difflib
import re
import time

import pytest

from learnflow.tutor import datasets, phrasing
from learnflow.tutor.triage import asks_for_help, classify, rule_classify

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


# Students name errors in prose, say that it "doesnt work", quote the autograder, or ask whether their
# solution will pass; these were routed to concepts before the phrasing markers.
STUDENT_ROUTES = [
    ("it says syntax error when I call skew function, what did I do wrong", None, None, "debug"),
    ("I get a FileNotFoundError", None, None, "debug"),
    ("keeps saying sintax eror on line 3", None, None, "debug"),
    ("code doesnt wrk when the list is empty", None, None, "debug"),
    ("isnt working", "def total(xs):\n    for x in xs:\n        t += x\n", None, "debug"),
    ("wrong answer on test 2", None, None, "debug"),
    ("the autograder says test 3 failed", "def double(n):\n    return n + n + 1\n", None, "debug"),
    ("my output is 9 but it should be 10", None, None, "debug"),
    ("the program hangs after i type a number", None, None, "debug"),
    ("python complains about an unexpected indent", None, None, "debug"),
    ("can u check if my solution is ok", "def half(n):\n    return n / 2\n", None, "exercise"),
    ("does it meet the requirements?", "def greet(name):\n    return 'Hi ' + name\n", None, "exercise"),
    ("will this pass the tests", "def is_odd(n):\n    return n % 2 == 1\n", None, "exercise"),
    ("give me some excercise on while loops", None, None, "exercise"),
    ("debugging practice: give me broken code to fix", None, None, "exercise"),
    ("im so lost with recursion", None, None, "concepts"),
    ("what does a TypeError mean in general", None, None, "concepts"),
    ("what is a runtime error", None, None, "concepts"),
    ("why do we use return and not print", None, None, "concepts"),
    ("how does an autograder work", None, None, "concepts"),
]


@pytest.mark.parametrize(("query", "code", "error", "route"), STUDENT_ROUTES)
def test_students_phrasing_is_routed(query: str, code: str | None, error: str | None, route: str):
    decision = classify(query, code=code, error_message=error)
    assert decision.routed_to == route, decision.scores


@pytest.mark.parametrize(
    ("query", "route"),
    [
        ("it says syntax error when I call skew function, what did I do wrong", "debug"),
        ("I get a FileNotFoundError", "debug"),
        ("the autograder says test 3 failed", "debug"),
        ("doesnt wrk at all", "debug"),
        ("can u check if my solution is ok", "exercise"),
        ("does my code meet the requirements", "exercise"),
        ("what does a KeyError mean in general", "concepts"),
    ],
)
def test_the_rules_follow_the_same_policy(query: str, route: str):
    assert rule_classify(query).routed_to == route


@pytest.mark.parametrize(
    ("query", "marker"),
    [
        ("keeps saying indentation eror", "zzerrornamed"),
        ("python says name total is not defined", "zzerrornamed"),
        ("doesnt wrk", "zznotworking"),
        ("it no work", "zznotworking"),
        ("prints 4 instead of 5", "zzwrongoutput"),
        ("autograder: 2/5 tests passed", "zztestsfail"),
        ("test 4 failed", "zztestsfail"),
        ("loop runs forever", "zzhangs"),
        ("will this pass", "zzcheckme"),
        ("does it meet the requirments", "zzcheckme"),
        ("what is an IndexError", "zzgeneralerror"),
    ],
)
def test_phrasing_markers_read_students_spelling(query: str, marker: str):
    assert marker in {m.name for m in phrasing.markers(query)}


@pytest.mark.parametrize(
    ("query", "absent"),
    [
        ("why do we use return and not print", "zznotworking"),
        ("how does an autograder work", "zztestsfail"),
        ("why do i get a KeyError", "zzgeneralerror"),
        ("what is a list", "zzgeneralerror"),
        ("check out this cool trick", "zzcheckme"),
    ],
)
def test_phrasing_markers_stay_quiet_when_not_meant(query: str, absent: str):
    assert absent not in {m.name for m in phrasing.markers(query)}


def test_the_spelling_table_maps_words_to_known_words():
    table = phrasing.spelling()
    assert len(table) >= 40
    for variant, usual in table.items():
        assert re.fullmatch(r"[a-z']+", variant) and variant != usual
        assert usual not in table, f"{variant} -> {usual} -> {table[usual]}: one step only"
    assert phrasing.normalise("It DOESNT wrk, sintax eror") == "it doesn't work, syntax error"


def _words(example: datasets.TriageExample) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", (example.query + " " + (example.code or "")).lower()))


def _near(a: str, b: str) -> bool:
    if a == b:
        return True
    wa, wb = set(a.split()), set(b.split())
    if wa and wb and len(wa & wb) / len(wa | wb) >= 0.8:
        return True
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return matcher.real_quick_ratio() >= 0.9 and matcher.quick_ratio() >= 0.9 and matcher.ratio() >= 0.9


def test_the_dev_set_is_students_style_and_never_trained_on():
    dev = datasets.load_dev()
    assert len(dev) >= 150 and {e.label for e in dev} == {"concepts", "debug", "exercise"}
    assert sum(bool(e.code) for e in dev) >= 30 and sum(not e.code and not e.error_message for e in dev) >= 100
    training = [_words(e) for e in datasets.load_triage()]
    for example in dev:
        text = _words(example)
        clash = [t for t in training if _near(text, t)]
        assert not clash, (example.query, clash[:3])


def test_the_router_handles_the_dev_set():
    dev = datasets.load_dev()
    right = sum(classify(e.query, code=e.code, error_message=e.error_message).routed_to == e.label for e in dev)
    assert right / len(dev) >= 0.95


@pytest.mark.parametrize("text", ["error " * 200_000, "my what is " * 100_000, "a" * 1_000_000, "expected " * 100_000])
def test_markers_read_a_bounded_prefix_of_hostile_text(text: str):
    started = time.perf_counter()
    phrasing.markers(text)
    assert time.perf_counter() - started < 0.5


def test_a_question_about_an_error_with_code_attached_is_about_that_code():
    query = "what is the error"
    assert "zzgeneralerror" in {m.name for m in phrasing.markers(query)}
    assert "zzgeneralerror" not in {m.name for m in phrasing.markers(query, attached=True)}
    assert classify(query, code="xs = [1, 2]\nprint(xs[2])\n").routed_to == "debug"
