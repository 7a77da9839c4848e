"""The evaluation datasets are data too: validated, and the debug tutor measured against them."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from learnflow.curriculum import get_curriculum
from learnflow.sandbox import Sandbox
from learnflow.tutor import datasets, evaluation

BUGGY = datasets.load_buggy()
# Programs that never end: each costs a full time limit, and has no output to compare.
HANGS = [p for p in BUGGY if p.id.startswith("hang-")]


def test_buggy_programs_cover_the_common_beginner_errors():
    kinds = Counter(p.error_type for p in BUGGY)
    assert len(BUGGY) >= 80
    assert len([k for k in kinds if k]) >= 30
    assert kinds[None] >= 10  # logic bugs and hangs
    assert len({p.id for p in BUGGY}) == len(BUGGY)


@pytest.mark.parametrize("program", BUGGY, ids=[p.id for p in BUGGY])
async def test_fixed_programs_run(program: datasets.BuggyProgram):
    result = await Sandbox().run(program.fixed_code, stdin=program.stdin)
    assert result.exit_code == 0, result.stderr
    if program.expected_output is not None:
        assert result.stdout == program.expected_output


async def test_debug_finds_every_exception_type_and_line():
    score = await evaluation.evaluate_debug(BUGGY, curriculum=get_curriculum(), sandbox=Sandbox())
    assert score.misses == []
    assert score.type_correct == score.line_correct == score.total == len(BUGGY)
    assert 0 < score.fixed <= score.total  # the share is reported by `learnflow eval`


async def test_router_is_measured_on_a_stable_held_out_split():
    path = datasets.DATA / "triage_dataset.jsonl"
    if not path.exists():
        pytest.fail("the triage dataset is missing")
    examples = datasets.load_triage()
    assert len(examples) >= 500
    held_out = [e for e in examples if datasets.split(e) == "test"]
    assert 0.15 < len(held_out) / len(examples) < 0.25
    result = await asyncio.to_thread(evaluation.evaluate_triage, examples)
    assert result["router"].total == len(held_out)
    assert result["router"].value >= 0.95 > result["keyword_baseline"].value


def test_concepts_dataset_and_topic_matching():
    curriculum = get_curriculum()
    rows = datasets.load_concepts()
    per_topic = Counter(r.topic for r in rows)
    assert set(per_topic) == set(curriculum.topics) and min(per_topic.values()) >= 10
    assert len({r.query.lower() for r in rows}) == len(rows)
    result = evaluation.evaluate_concepts(rows, curriculum)
    # The matcher is built from curriculum text only, so the whole dataset is held out.
    assert result["top1"].value >= 0.8 and result["top3"].value >= 0.9
    assert result["top1"].value > result["keywords"].value > result["baseline"].value


@pytest.mark.parametrize(
    "question", ["what is the capital of France", "hello", "tell me a joke", "how do I cook pasta"]
)
def test_off_topic_questions_match_no_topic(question: str):
    assert get_curriculum().best_topic(question) is None


async def test_every_logic_bug_gets_a_named_cause():
    logic = [p for p in BUGGY if p.error_type is None and p.expected_output is not None and p not in HANGS]
    score = await evaluation.evaluate_debug(logic, curriculum=get_curriculum(), sandbox=Sandbox())
    assert score.logic_total >= 15 and score.logic_named == score.logic_total, score.misses


async def test_logic_bug_fixes_print_the_expected_output():
    from learnflow.ai import OfflineProvider
    from learnflow.tutor import compare, debug

    logic = [p for p in BUGGY if p.error_type is None and p.expected_output is not None and p not in HANGS]
    fixed = ran = 0
    for program in logic:
        answer = await debug.analyze(
            code=program.code,
            error_message=None,
            question="",
            stdin=program.stdin,
            curriculum=get_curriculum(),
            sandbox=Sandbox(),
            ai=OfflineProvider(),
            expected_output=program.expected_output,
        )
        ran += answer.run_status == "passed"  # hangs are stopped by the sandbox: no output to compare
        if answer.corrected_code is None:
            continue
        assert answer.fix_verified
        run = await Sandbox().run(answer.corrected_code, stdin=program.stdin)
        assert run.ok and compare.same_output(run.stdout, program.expected_output or ""), program.id
        fixed += 1
    assert ran >= 15 and fixed >= 0.8 * ran


def test_separately_written_sets_are_valid_and_measured():
    curriculum = get_curriculum()
    triage_set, concepts_set = datasets.load_independent()
    assert len(triage_set) >= 150 and {e.label for e in triage_set} == {"concepts", "debug", "exercise"}
    assert Counter(r.topic for r in concepts_set).keys() == set(curriculum.topics)
    triage = evaluation.evaluate_triage_independent(triage_set)
    assert triage["router"].value >= 0.95 > triage["keyword_baseline"].value
    assert evaluation.evaluate_concepts(concepts_set, curriculum)["top1"].value >= 0.85


@pytest.mark.parametrize(
    ("question", "topic"),
    [("what does % do in python", "operators"), ("difference between / and //", "operators")],
)
def test_operator_symbols_count_as_words(question: str, topic: str):
    best = get_curriculum().best_topic(question)
    assert best is not None and best.id == topic
