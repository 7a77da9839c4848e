"""The students'-style routing set: valid, balanced, kept apart from the training data, and measured."""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter

import pytest

from learnflow.tutor import datasets, evaluation, localize_eval
from learnflow.tutor.localize_eval import LocalisationScore

PATH = datasets.DATA / "triage_students.jsonl"
STUDENTS = datasets.load_students()


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9_]+", text.lower())


def _near(a: list[str], b: list[str]) -> bool:
    if a == b:
        return True
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    # The cheap upper bounds rule out almost every pair before the full ratio is computed.
    return matcher.real_quick_ratio() >= 0.9 and matcher.quick_ratio() >= 0.9 and matcher.ratio() >= 0.9


def test_every_line_is_a_complete_example():
    lines = [line for line in PATH.read_text().splitlines() if line.strip()]
    assert len(lines) == len(STUDENTS) >= 320
    for line in lines:
        row = json.loads(line)
        assert set(row) == {"query", "code", "error_message", "label"}, line
        example = datasets.TriageExample.model_validate(row)
        assert example.query.strip(), line
        assert example.code is None or example.code.strip(), line
        assert example.error_message is None or example.error_message.strip(), line


def test_labels_are_balanced_and_the_set_is_varied():
    share = {label: n / len(STUDENTS) for label, n in Counter(e.label for e in STUDENTS).items()}
    assert 0.35 <= share["concepts"] <= 0.45
    assert 0.30 <= share["debug"] <= 0.40
    assert 0.20 <= share["exercise"] <= 0.30
    with_code = sum(e.code is not None for e in STUDENTS) / len(STUDENTS)
    assert 0.25 <= with_code <= 0.35
    assert sum(e.error_message is not None for e in STUDENTS) >= 15
    # Debugging without code attached is one of the boundaries the set exists to measure.
    assert sum(e.label == "debug" and e.code is None for e in STUDENTS) >= 30


def test_no_duplicate_queries():
    normalised = Counter(" ".join(_words(e.query)) for e in STUDENTS)
    assert [q for q, n in normalised.items() if n > 1] == []


def test_no_query_is_near_a_training_query():
    training = [_words(e.query) for e in datasets.load_triage()]
    close = [e.query for e in STUDENTS if any(_near(_words(e.query), t) for t in training)]
    assert close == []


@pytest.mark.parametrize(
    ("a", "b"), [("What does += mean?", "what does += mean"), ("is x a b c d e f g h i", "is x a b c d e f g h j")]
)
def test_near_duplicates_are_caught(a: str, b: str):
    assert _near(_words(a), _words(b))


def test_distinct_queries_are_not_near():
    assert not _near(_words("quiz me on strings"), _words("why does my string crash"))


def test_students_set_is_measured_per_router_and_label():
    result = evaluation.evaluate_triage_students(STUDENTS)
    labels = Counter(e.label for e in STUDENTS)
    for name in evaluation.ROUTERS:
        per_label = [result[f"{name}/{label}"] for label in labels]
        assert result[name].total == len(STUDENTS) == sum(a.total for a in per_label)
        assert result[name].correct == sum(a.correct for a in per_label)
        assert {label: result[f"{name}/{label}"].total for label in labels} == labels
    wrong = evaluation.misroutes(STUDENTS)
    assert len(wrong) == result["router"].total - result["router"].correct
    assert all(got != ex.label for ex, got in wrong)
    # A floor, not the measured value: the trained router must stay clearly ahead of plain keywords.
    assert result["router"].value >= 0.85 > result["keyword_baseline"].value


def test_summary_reports_the_students_set():
    students = evaluation.evaluate_triage_students(STUDENTS[:20])
    empty = {"router": evaluation.Accuracy(), "rules": evaluation.Accuracy(), "keyword_baseline": evaluation.Accuracy()}
    concepts = {k: evaluation.Accuracy() for k in ("top1", "top3", "keywords", "baseline")}
    summary = json.loads(
        evaluation.summary_json(
            empty, evaluation.DebugScore(), (0, []), concepts, {"triage": empty, "concepts": concepts}, students
        )
    )
    assert summary["triage_students_size"] == 20
    assert summary["triage_students_accuracy"] == round(students["router"].value, 4)
    assert summary["triage_students_debug"] == round(students["router/debug"].value, 4)


def test_eval_command_reports_the_students_set(monkeypatch: pytest.MonkeyPatch):
    from typer.testing import CliRunner

    from learnflow import cli

    async def no_debug(*args: object, **kwargs: object) -> evaluation.DebugScore:
        return evaluation.DebugScore()

    async def no_bank(*args: object, **kwargs: object) -> tuple[int, list[str]]:
        return 0, []

    async def no_answers(*args: object, **kwargs: object) -> evaluation.AnswerScore:
        return evaluation.AnswerScore()

    # The sandboxed parts of `learnflow eval` are measured by their own tests; only the routing rows matter here.
    monkeypatch.setattr(evaluation, "evaluate_debug", no_debug)
    monkeypatch.setattr(evaluation, "check_bank", no_bank)

    async def no_localisation(*args: object, **kwargs: object) -> LocalisationScore:
        return LocalisationScore()

    monkeypatch.setattr(localize_eval, "evaluate_localisation", no_localisation)

    async def no_pasted(*args: object, **kwargs: object) -> evaluation.PastedScore:
        return evaluation.PastedScore()

    monkeypatch.setattr(evaluation, "evaluate_pasted", no_pasted)

    async def no_mutants(*args: object, **kwargs: object) -> evaluation.BankMutation:
        return evaluation.BankMutation()

    monkeypatch.setattr(evaluation, "evaluate_bank_mutants", no_mutants)

    monkeypatch.setattr(evaluation, "evaluate_answers", no_answers)
    # One run, the table: the JSON keys are checked on summary_json above.
    table = CliRunner().invoke(cli.app, ["eval"], terminal_width=200)
    assert table.exit_code == 0, table.output
    assert f"routing, students' style ({len(STUDENTS)})" in table.output
