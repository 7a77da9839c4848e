"""The knowledge base: every note file valid and every example run as shown; retrieval finds the note."""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from learnflow.ai import OfflineProvider
from learnflow.curriculum import get_curriculum
from learnflow.curriculum.notes import NOTES_DIR, Note, load_notes
from learnflow.sandbox import Sandbox
from learnflow.tutor import concepts, datasets, evaluation, offtopic, pydocs
from learnflow.tutor.schemas import ConceptAnswer, LLMConceptText

NOTES = load_notes()
QUESTIONS = datasets.load_concept_questions()


def test_every_note_file_is_valid_with_unique_ids_and_known_topics():
    files = sorted(NOTES_DIR.glob("*.yaml"))
    assert files and len(NOTES) >= 50
    ids = [n.id for n in NOTES]
    assert len(ids) == len(set(ids))
    curriculum = get_curriculum()
    assert set(curriculum.notes) == set(ids)
    assert {n.topic for n in NOTES} <= set(curriculum.topics)


def test_duplicate_note_ids_across_files_are_refused(tmp_path: Path):
    note = (
        "notes:\n  - {id: same, topic: lists, questions: [a b, c d], answer: %s, terms: [x], "
        "example: 'print(1)', output: '1\n'}\n"
    )
    answer = "'" + "A long enough answer for the schema to accept it. " * 2 + "'"
    (tmp_path / "a.yaml").write_text(note % answer)
    (tmp_path / "b.yaml").write_text(note % answer)
    with pytest.raises(ValueError, match="same"):
        load_notes(tmp_path)


@pytest.mark.parametrize("note", NOTES, ids=lambda n: n.id)
def test_note_example_runs_exactly_as_shown(note: Note, tmp_path: Path):
    if "input(" in note.example:
        assert note.stdin, "an example that reads input must carry the stdin it is shown with"
    run = subprocess.run(
        [sys.executable, "-I", "-c", note.example],
        input=note.stdin,
        capture_output=True,
        text=True,
        timeout=10,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == note.output


@pytest.mark.parametrize("note", NOTES, ids=lambda n: n.id)
def test_note_terms_are_what_the_note_is_about(note: Note):
    # A term is retrieval's strongest evidence: it must be said in the note, not merely hoped for.
    said = (note.answer + "\n" + note.example + "\n" + "\n".join(note.questions)).lower()
    missing = [t for t in note.terms if t.lower() not in said]
    assert not missing, f"terms in neither the answer, the example nor the questions: {missing}"


def test_question_set_is_large_and_apart_from_the_notes():
    asked = [q.q.lower().strip() for q in QUESTIONS]
    assert len(asked) >= 200 and len(set(asked)) == len(asked)
    forms = [form.lower().strip() for note in NOTES for form in note.questions]
    close = [(q, f) for q in asked for f in forms if q == f or difflib.SequenceMatcher(None, q, f).ratio() >= 0.9]
    assert not close


def test_facts_are_checked_as_text_or_regex():
    question = datasets.FactQuestion(q="reverse", facts=["reversed", r"re:\[::-1\]"])
    assert question.missing("use reversed(x) or x[::-1]") == []
    assert question.missing("use REVERSED(x)") == [r"re:\[::-1\]"]


@pytest.mark.parametrize(
    ("question", "note_id", "fact"),
    [
        ("how can i go over my list from the back", "reverse-sequence", "reversed("),
        ("*args and **kwargs", "args-kwargs", "**kwargs"),
        ("self inside a method, what is it", "self-parameter", "self"),
        ("raise, what is it for", "raise-statement", "raise"),
        ("why does 0.1 + 0.2 print a long ugly number", "float-inaccuracy", "binary"),
        ("recursion", "recursion-basics", "base case"),
        ("how do decorators work", "decorator-basics", "wrapper"),
        ("generators", "generator-yield", "yield"),
    ],
)
def test_the_note_that_answers_is_found(question: str, note_id: str, fact: str):
    curriculum = get_curriculum()
    assert not concepts.is_off_topic(question, curriculum)
    answer = concepts.answer_offline(question, curriculum, "beginner")
    assert answer.note_id == note_id and answer.answer_kind == "note"
    assert fact in answer.explanation + answer.code_example
    assert answer.related_topics[0] == answer.topic  # the topic page is offered as more


def test_what_does_x_do_quotes_pythons_documentation():
    curriculum = get_curriculum()
    # Names no note covers (a note, with its example that runs, answers the names it does cover).
    answer = concepts.answer_offline("what does str.zfill do", curriculum, "beginner")
    assert answer.answer_kind == "docs" and answer.code_example == ""
    assert answer.explanation.startswith("From Python's own documentation for `str.zfill`")
    assert "zeros" in answer.explanation
    keyword = concepts.answer_offline("what does the await keyword do", curriculum, "beginner")
    assert keyword.answer_kind == "docs" and "coroutine" in keyword.explanation
    covered = concepts.answer_offline("what does str.split do", curriculum, "beginner")
    assert covered.answer_kind == "note" and "split(" in covered.code_example
    method = pydocs.lookup("what does .strip() do")
    assert method is not None and method.name == "str.strip"


@pytest.mark.parametrize("name", ["this.s", "antigravity.geohash", "subprocess.run", "shutil.rmtree", "__import__"])
def test_doc_lookup_never_imports_or_evaluates_what_the_student_names(name: str):
    before = set(sys.modules)
    assert pydocs.lookup(f"what does {name} do") is None
    assert set(sys.modules) - before <= {"pydoc_data", "pydoc_data.topics"}


def test_nothing_fitting_gets_an_honest_closest_answer():
    curriculum = get_curriculum()
    overview = concepts.answer_offline("zzqx", curriculum, "beginner")
    assert overview.answer_kind == "overview" and overview.note_id is None
    closest = concepts.from_note(NOTES[0], curriculum, "beginner", closest=True)
    assert closest.explanation.startswith("I have no answer for exactly that; here is the closest I know.")


def test_topic_examples_carry_the_input_they_read():
    curriculum = get_curriculum()
    for topic in curriculum.topics.values():
        for example in topic.examples:
            answer = concepts.from_topic(topic, "beginner", example.title)
            if "input(" in answer.code_example:
                assert answer.example_stdin, f"{topic.id}: {answer.code_example[:40]}"


@pytest.mark.parametrize(
    ("message", "off"),
    [
        ("self inside a method, what is it", False),
        ("why would i use raise", False),
        ("floating point numbers seem imprecise", False),
        ("How do for loops work?", False),
        ("what's the weather in Paris?", True),
        ("write me an essay about the French revolution", True),
        ("what is the capital of France?", True),
        ("how do I cook pasta", True),
    ],
)
def test_off_topic_by_meaning(message: str, off: bool):
    assert concepts.is_off_topic(message, get_curriculum()) is off


def test_off_topic_model_never_declines_the_evaluation_questions():
    curriculum = get_curriculum()
    declined = [q.q for q in QUESTIONS if concepts.is_off_topic(q.q, curriculum)]
    assert not declined
    assert offtopic.get_model(curriculum).model.classes == [offtopic.OTHER, offtopic.PYTHON]


async def test_knowledge_base_answers_most_questions_specifically():
    curriculum = get_curriculum()
    answer = evaluation.knowledge_answerer(curriculum)
    baseline = evaluation.topic_page_answerer(curriculum)
    answered = [not q.missing(_text(await answer(q.q))) for q in QUESTIONS]
    before = [not q.missing(_text(await baseline(q.q))) for q in QUESTIONS]
    assert sum(answered) / len(answered) >= 0.85
    assert sum(answered) > sum(before) + len(QUESTIONS) // 4


def _text(answer: ConceptAnswer) -> str:
    return answer.explanation + "\n" + answer.code_example


async def test_evaluate_answers_runs_the_examples_as_shown():
    curriculum = get_curriculum()
    sample = [q for q in QUESTIONS if "input" in q.q][:2]
    score = await evaluation.evaluate_answers(sample, evaluation.knowledge_answerer(curriculum), Sandbox())
    assert score.total == 2 and score.examples == 2 and score.examples_as_shown == 2


class GroundedLLM(OfflineProvider):
    """A configured LLM that records its prompt and answers with a fixed, runnable example."""

    name = "grounded"

    def __init__(self, code: str) -> None:
        self.code = code
        self.prompts: list[str] = []

    @property
    def is_llm(self) -> bool:
        return True

    async def generate(self, *, system: str, user: str, schema: type[Any]) -> Any:
        self.prompts.append(system + "\n" + user)
        return LLMConceptText(explanation="Use reversed().", code_example=self.code, key_points=["reversed"])


async def test_llm_is_grounded_in_the_notes_and_its_example_is_run():
    curriculum = get_curriculum()
    ai = GroundedLLM("print(list(reversed([1, 2])))\n")
    question = "how can i go over my list from the back"
    answer = await concepts.explain(
        question=question, level="beginner", curriculum=curriculum, sandbox=Sandbox(), ai=ai
    )
    assert "Reference notes" in ai.prompts[0] and curriculum.notes["reverse-sequence"].answer[:40] in ai.prompts[0]
    assert "answer what was asked" in ai.prompts[0]
    assert answer.source == "llm" and answer.example_output == "[2, 1]\n"
    broken = GroundedLLM("raise SystemExit(3)\n")
    fallback = await concepts.explain(
        question=question, level="beginner", curriculum=curriculum, sandbox=Sandbox(), ai=broken
    )
    assert fallback.source == "offline-fallback" and fallback.note_id == "reverse-sequence"


def test_summary_reports_both_engines_answers():
    accuracy = {k: evaluation.Accuracy() for k in ("router", "rules", "keyword_baseline")}
    students = {**accuracy, **{f"router/{r}": evaluation.Accuracy() for r in ("concepts", "debug", "exercise")}}
    topics = {k: evaluation.Accuracy() for k in ("top1", "top3", "keywords", "baseline")}
    answers = {
        "topic_pages": evaluation.AnswerScore(total=4, answered=1, examples=4, examples_as_shown=3),
        "knowledge_base": evaluation.AnswerScore(total=4, answered=3, examples=2, examples_as_shown=2),
    }
    summary = json.loads(
        evaluation.summary_json(
            accuracy,
            evaluation.DebugScore(),
            (0, []),
            topics,
            {"triage": accuracy, "concepts": topics},
            students,
            answers=answers,
        )
    )
    assert summary["concepts_answers_topic_pages_answered"] == 0.25
    assert summary["concepts_answers_topic_pages_examples_as_shown"] == 0.75
    assert summary["concepts_answers_knowledge_base_answered"] == 0.75
    assert summary["concepts_answers_knowledge_base_examples_as_shown"] == 1.0
    assert summary["concepts_answers_knowledge_base_questions"] == 4
