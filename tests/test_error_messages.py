"""Explanations keyed by the error message: the data, the matching rule, and the beginners' classic messages.

Every entry's example is run with the real interpreter (our own trusted programs, in a subprocess with a
timeout): it must raise exactly the message its pattern describes, and that message must select that entry.
Set LEARNFLOW_MESSAGE_PYTHONS (paths separated by os.pathsep) to run the same check on other Python versions.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from learnflow.tutor.messages import (
    MAX_VALUE_CHARS,
    MESSAGES_FILE,
    MessageEntry,
    MessageFile,
    _index,
    candidates,
    explain_message,
    load_messages,
    specificity,
)

ENTRIES = load_messages()
BY_ID = {e.id: e for e in ENTRIES}
_LAST_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?:: (?P<msg>.*))?$")

Outcome = tuple[str, str] | None  # (exception type, message) or None when the program ran cleanly


def _run(python: str, source: str, workdir: Path) -> Outcome:
    """Run one program as a student would (python main.py) and read the traceback's last line."""
    workdir.mkdir(parents=True)
    (workdir / "main.py").write_text(source, encoding="utf-8")
    proc = subprocess.run(
        [python, "-I", "main.py"],
        cwd=workdir,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
        encoding="utf-8",
        errors="replace",
        env={"PATH": os.environ.get("PATH", ""), "PYTHONIOENCODING": "utf-8"},
    )
    if proc.returncode == 0:
        return None
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    match = _LAST_LINE.match(lines[-1]) if lines else None
    assert match, f"no exception line in stderr: {proc.stderr[-500:]!r}"
    return match["type"].rsplit(".", 1)[-1], (match["msg"] or "").strip()


def _run_all(python: str, tmp: Path) -> dict[tuple[str, str], Outcome]:
    jobs = [(e.id, kind, src) for e in ENTRIES for kind, src in (("example", e.example), ("fixed", e.fixed))]
    # Two workers: the machine is shared, and each run is a short interpreter start.
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda job: _run(python, job[2], tmp / f"{job[0]}-{job[1]}"), jobs)
        return {(entry_id, kind): outcome for (entry_id, kind, _), outcome in zip(jobs, results, strict=True)}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Outcome]:
    return _run_all(sys.executable, tmp_path_factory.mktemp("messages"))


def _extra_pythons() -> Iterator[str]:
    for path in os.environ.get("LEARNFLOW_MESSAGE_PYTHONS", "").split(os.pathsep):
        if path.strip():
            yield path.strip()


# ---------------------------------------------------------------- the data


def test_file_has_enough_entries_and_validates() -> None:
    assert len(ENTRIES) >= 70
    raw = yaml.safe_load(MESSAGES_FILE.read_text(encoding="utf-8"))
    assert MessageFile.model_validate(raw).messages == ENTRIES


def test_no_two_entries_share_a_pattern_for_the_same_type() -> None:
    # Only entries of one exception type compete for a message, so that is where a duplicate would be a bug;
    # the empty pattern ("no message at all") legitimately appears for StopIteration and AssertionError.
    keys = [(e.error_type, e.pattern) for e in ENTRIES]
    assert len(keys) == len(set(keys))
    non_empty = [e.pattern for e in ENTRIES if e.pattern]
    assert len(non_empty) == len(set(non_empty))


def test_schema_rejects_bad_entries() -> None:
    good = BY_ID["list-pop-empty"].model_dump()
    with pytest.raises(ValidationError, match="question"):
        MessageEntry.model_validate({**good, "hints": ["Look here.", "Then there.", "Fix it."]})
    with pytest.raises(ValidationError, match="placeholder"):
        MessageEntry.model_validate({**good, "explanation": good["explanation"] + " The {func} is empty."})
    with pytest.raises(ValidationError, match="variant"):
        MessageEntry.model_validate({**good, "variants": ["pop from empty dict"]})
    with pytest.raises(ValidationError):
        MessageEntry.model_validate({**good, "pattern": "pop from (empty list"})
    with pytest.raises(ValidationError, match="same error type and pattern"):
        MessageFile.model_validate({"messages": [good, {**good, "id": "list-pop-empty-again"}]})


def test_placeholders_only_name_groups_every_match_captures() -> None:
    # An optional group can be absent; a placeholder for it would leave "{name}" in front of a student.
    with pytest.raises(ValidationError, match="placeholder"):
        MessageEntry.model_validate(
            {**BY_ID["unexpected-keyword"].model_dump(), "explanation": "x" * 60 + " You meant {suggestion}."}
        )


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_explanation_is_two_to_four_sentences_of_clean_text(entry: MessageEntry) -> None:
    text = re.sub(r"\b(?:e\.g|i\.e|etc)\.", "", entry.explanation.strip())
    assert 2 <= len(re.findall(r"[.!?](?=\s|$)", text)) <= 4
    for field in (entry.explanation, *entry.causes, *entry.hints):
        assert '\\"' not in field, "a YAML escape left in a block scalar"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_first_hint_does_not_give_away_the_fix(entry: MessageEntry) -> None:
    assert entry.fixed != entry.example, "the fixed program must differ from the example"
    # A fix that only re-indents a line shows no new text; any line whose text is new must stay out of hint 1.
    new_text = {ln.strip() for ln in entry.fixed.splitlines()} - {ln.strip() for ln in entry.example.splitlines()}
    new_text.discard("")
    for line in new_text:
        assert line not in entry.hints[0], f"first hint contains the fixed line {line!r}"


# ---------------------------------------------------------------- examples against the real interpreter


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_example_raises_its_own_message(entry: MessageEntry, outcomes: dict[tuple[str, str], Outcome]) -> None:
    outcome = outcomes[(entry.id, "example")]
    assert outcome is not None, "the example ran without an exception"
    kind, message = outcome
    assert kind == entry.error_type
    assert re.fullmatch(entry.pattern, message), f"{message!r} does not match the pattern"
    explained = explain_message(kind, message)
    assert explained is not None
    assert explained.id == entry.id


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_fixed_program_runs_cleanly(entry: MessageEntry, outcomes: dict[tuple[str, str], Outcome]) -> None:
    assert outcomes[(entry.id, "fixed")] is None


@pytest.mark.parametrize("python", list(_extra_pythons()))
def test_examples_on_other_python_versions(python: str, tmp_path: Path) -> None:
    results = _run_all(python, tmp_path)
    wrong = []
    for entry in ENTRIES:
        outcome = results[(entry.id, "example")]
        chosen = explain_message(*outcome) if outcome else None
        if chosen is None or chosen.id != entry.id or results[(entry.id, "fixed")] is not None:
            wrong.append((entry.id, outcome))
    assert not wrong


def test_every_variant_selects_its_entry() -> None:
    checked = 0
    for entry in ENTRIES:
        for variant in entry.variants:
            explained = explain_message(entry.error_type, variant)
            assert explained is not None and explained.id == entry.id, variant
            checked += 1
    assert checked >= 15


def test_at_least_sixty_distinct_messages(outcomes: dict[tuple[str, str], Outcome]) -> None:
    raised = {outcomes[(e.id, "example")] for e in ENTRIES}
    assert None not in raised
    assert len(raised) >= 60


def test_each_example_is_won_outright_not_by_file_order(outcomes: dict[tuple[str, str], Outcome]) -> None:
    # The rule: the pattern demanding the most literal characters wins. A tie would fall back on file order,
    # which nobody reading the data can see, so no example message may produce one.
    for entry in ENTRIES:
        outcome = outcomes[(entry.id, "example")]
        assert outcome is not None
        matching = candidates(*outcome)
        assert matching[0].id == entry.id
        if len(matching) > 1:
            assert specificity(matching[0].pattern) > specificity(matching[1].pattern), (entry.id, matching[1].id)


# ---------------------------------------------------------------- the matching rule


def test_specificity_counts_the_literal_characters_every_match_needs() -> None:
    assert specificity("pop from empty list") == len("pop from empty list")
    assert specificity(r"a(?:bc)?") == 1
    assert specificity(r"(?:ab|c)d") == 2
    assert specificity(r"(?P<x>\w+) is") == 3
    assert specificity(r"x{3}") == 3
    assert specificity("") == 0


def test_most_specific_pattern_wins() -> None:
    message = "'NoneType' object is not subscriptable"
    ids = [e.id for e in candidates("TypeError", message)]
    assert ids[:2] == ["none-not-subscriptable", "not-subscriptable"]
    explained = explain_message("TypeError", message)
    assert explained is not None and explained.id == "none-not-subscriptable"
    ranks = [specificity(BY_ID[i].pattern) for i in ids]
    assert ranks == sorted(ranks, reverse=True)


def test_general_entry_still_answers_what_no_specific_one_covers() -> None:
    explained = explain_message("TypeError", "'float' object is not subscriptable")
    assert explained is not None and explained.id == "not-subscriptable"
    assert "`float`" in explained.explanation


def test_unknown_message_or_type_gives_none() -> None:
    assert explain_message("ValueError", "the flux capacitor is out of phase") is None
    assert explain_message("FluxError", "max() arg is an empty sequence") is None
    assert explain_message("TypeError", "") is None


def test_module_prefix_on_the_type_is_ignored() -> None:
    explained = explain_message("json.decoder.JSONDecodeError", "Expecting value: line 1 column 1 (char 0)")
    assert explained is not None and explained.id == "json-expecting-value"


def test_entries_are_loaded_and_compiled_once() -> None:
    first = _index()
    explain_message("IndexError", "pop from empty list")
    assert _index() is first
    assert _index.cache_info().misses <= 1


def test_matching_a_huge_hostile_message_stays_fast() -> None:
    types = {e.error_type for e in ENTRIES}
    hostile = ["'" + "a" * 100_000, "(" * 50_000 + "x", "x " * 50_000 + "is not in list", "'" + "' and '" * 20_000]
    start = time.perf_counter()
    for kind in types:
        for message in hostile:
            explain_message(kind, message)
    assert time.perf_counter() - start < 5


# ---------------------------------------------------------------- values from the student's message are data


def test_captured_values_are_cleaned_and_shortened() -> None:
    key = "'a`b\nc{key}" + "z" * 300 + "'"
    explained = explain_message("KeyError", key)
    assert explained is not None and explained.id == "key-missing"
    value = explained.captured["key"]
    assert "`" not in value and "\n" not in value
    assert len(value) <= MAX_VALUE_CHARS
    assert value.endswith("…")
    # Filled in one pass: the "{key}" inside the student's value is not expanded again.
    assert explained.explanation.count("c{key}") == 1
    assert len(explained.explanation) < len(BY_ID["key-missing"].explanation) + MAX_VALUE_CHARS


def test_placeholders_are_filled_from_the_message() -> None:
    explained = explain_message("TypeError", 'can only concatenate str (not "int") to str')
    assert explained is not None and explained.id == "concatenate-str"
    assert "`int`" in explained.explanation
    assert "{type}" not in explained.explanation + " ".join(explained.hints)
    # Doubled braces in the data are literal braces in the text (an f-string in a hint).
    assert "f'Age: {age}'" in explained.hints[2]


# ---------------------------------------------------------------- the messages that were explained wrongly


@pytest.mark.parametrize(
    "message",
    ["max() arg is an empty sequence", "min() arg is an empty sequence", "max() iterable argument is empty"],
)
def test_max_min_of_empty_is_about_the_empty_collection(message: str) -> None:
    explained = explain_message("ValueError", message)
    assert explained is not None and explained.id == "max-min-empty"
    func = message.split("(")[0]
    assert f"`{func}()`" in explained.explanation and "empty" in explained.explanation
    assert "int(" not in explained.explanation + " ".join(explained.hints)
    assert "default=" in explained.hints[2]


def test_pop_from_empty_list_is_not_index_advice() -> None:
    explained = explain_message("IndexError", "pop from empty list")
    assert explained is not None and explained.id == "list-pop-empty"
    assert "empty" in explained.explanation
    assert "while stack:" in explained.hints[2]
    other = explain_message("IndexError", "pop index out of range")
    assert other is not None and other.id == "list-pop-index"


def test_dict_popitem_and_pop_on_an_empty_dict() -> None:
    popitem = explain_message("KeyError", "'popitem(): dictionary is empty'")
    assert popitem is not None and popitem.id == "dict-popitem-empty"
    pop = explain_message("KeyError", "'colour'")  # what {}.pop("colour") raises
    assert pop is not None and pop.id == "key-missing"
    assert "'colour'" in pop.explanation and ".pop(key)" in pop.explanation
    from_set = explain_message("KeyError", "'pop from an empty set'")
    assert from_set is not None and from_set.id == "set-pop-empty"


def test_return_outside_function_is_about_the_def_not_colons() -> None:
    explained = explain_message("SyntaxError", "'return' outside function")
    assert explained is not None and explained.id == "return-outside-function"
    text = explained.explanation + " ".join(explained.hints)
    assert "def" in text and "indent" in text
    assert "colon" not in text and "quote" not in text


@pytest.mark.parametrize(
    "message", ["unhashable type: 'list'", "cannot use 'list' as a dict key (unhashable type: 'list')"]
)
def test_unhashable_list(message: str) -> None:
    explained = explain_message("TypeError", message)
    assert explained is not None and explained.id == "unhashable-type"
    assert explained.captured["type"] == "list"
    assert "tuple(" in explained.hints[2]


def test_int_object_is_not_subscriptable() -> None:
    explained = explain_message("TypeError", "'int' object is not subscriptable")
    assert explained is not None and explained.id == "not-subscriptable"
    assert "`int`" in explained.explanation


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("greet() takes 1 positional argument but 2 were given", "positional-count"),
        ("Shop.add() takes 2 positional arguments but 3 were given", "positional-count"),
        ("area() takes from 1 to 2 positional arguments but 3 were given", "positional-count"),
        ("Dog.bark() takes 0 positional arguments but 1 was given", "method-missing-self-param"),
        # A plain function has no object passed in, so the advice about a missing `self` would be wrong.
        ("tick() takes 0 positional arguments but 1 was given", "positional-count"),
        ("len() takes exactly one argument (2 given)", "builtin-arg-count"),
    ],
)
def test_takes_n_positional_arguments_but_m_were_given(message: str, expected: str) -> None:
    explained = explain_message("TypeError", message)
    assert explained is not None and explained.id == expected
    func = message.split("(")[0]
    assert f"`{func}" in explained.explanation or f"`{func}" in explained.hints[0]
