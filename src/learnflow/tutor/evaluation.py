"""Measuring the tutor: routing accuracy, debug accuracy, and the exercise bank's soundness.

`learnflow eval` prints these numbers; the datasets are data files beside the curriculum.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from learnflow.ai import OfflineProvider
from learnflow.curriculum import Curriculum
from learnflow.sandbox import CodeRunner, Sandbox
from learnflow.sandbox.grading import Grader, GradesCode
from learnflow.specialists import Specialist
from learnflow.tutor import bankcheck, compare, concepts, debug, intent, pasted
from learnflow.tutor.datasets import (
    BuggyProgram,
    ConceptQuery,
    FactQuestion,
    FeelingMessage,
    PastedCase,
    Route,
    TriageExample,
    split,
)
from learnflow.tutor.debug import patterns
from learnflow.tutor.localize_eval import LocalisationScore
from learnflow.tutor.schemas import ConceptAnswer
from learnflow.tutor.triage import classify, rule_classify

_KEYWORDS: list[tuple[Route, re.Pattern[str]]] = [
    (
        Specialist.DEBUG,
        re.compile(r"error|bug|traceback|exception|fix|wrong|crash|broken|not working|doesn'?t work", re.I),
    ),
    (Specialist.EXERCISE, re.compile(r"exercise|practi[cs]e|quiz|challenge|problem|task|test me", re.I)),
]


def keyword_route(example: TriageExample) -> Route:
    """The plain keyword router, as a baseline."""
    for route, pattern in _KEYWORDS:
        if pattern.search(example.query):
            return route
    return Specialist.CONCEPTS


@dataclass
class Accuracy:
    correct: int = 0
    total: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, expected: str, got: str) -> None:
        self.total += 1
        self.correct += expected == got
        if expected != got:
            self.confusion[(expected, got)] += 1

    @property
    def value(self) -> float:
        return self.correct / self.total if self.total else 0.0


def evaluate_triage(examples: list[TriageExample]) -> dict[str, Accuracy]:
    """Accuracy of the router, of the hand-written rules and of a keyword baseline on the held-out split."""
    router, rules, baseline = Accuracy(), Accuracy(), Accuracy()
    for ex in examples:
        if split(ex) != "test":
            continue
        router.add(ex.label, classify(ex.query, code=ex.code, error_message=ex.error_message).routed_to)
        rules.add(ex.label, rule_classify(ex.query, code=ex.code, error_message=ex.error_message).routed_to)
        baseline.add(ex.label, keyword_route(ex))
    return {"router": router, "rules": rules, "keyword_baseline": baseline}


def title_route(curriculum: Curriculum, query: str) -> str | None:
    """Baseline topic matcher: the first topic whose title or id appears verbatim in the query."""
    text = " " + re.sub(r"[^a-z0-9]+", " ", query.lower()) + " "
    for topic in curriculum.topics.values():
        for name in (topic.title, topic.id.replace("-", " ")):
            if " " + re.sub(r"[^a-z0-9]+", " ", name.lower()).strip() + " " in text:
                return topic.id
    return None


def evaluate_concepts(rows: list[ConceptQuery], curriculum: Curriculum) -> dict[str, Accuracy]:
    """Topic matching on concept questions: top-1, top-3, the keyword scorer alone, and a title baseline.

    None of these queries is used to build the matcher (it is built from the curriculum's own text),
    so the whole dataset is held out.
    """
    top1, top3, keywords, baseline = Accuracy(), Accuracy(), Accuracy(), Accuracy()
    for row in rows:
        matched = curriculum.match_topics(row.query, limit=1)
        keywords.add(row.topic, matched[0].topic.id if matched and matched[0].score >= 1.5 else "none")
        ranked = [t.id for t in curriculum.rank_topics(row.query, limit=3)]
        top1.add(row.topic, ranked[0] if ranked else "none")
        top3.add(row.topic, row.topic if row.topic in ranked else (ranked[0] if ranked else "none"))
        baseline.add(row.topic, title_route(curriculum, row.query) or "none")
    return {"top1": top1, "top3": top3, "keywords": keywords, "baseline": baseline}


def evaluate_triage_independent(examples: list[TriageExample]) -> dict[str, Accuracy]:
    """The router, the rules and the keyword baseline on a separately written set (all of it is test)."""
    router, rules, baseline = Accuracy(), Accuracy(), Accuracy()
    for ex in examples:
        router.add(ex.label, classify(ex.query, code=ex.code, error_message=ex.error_message).routed_to)
        rules.add(ex.label, rule_classify(ex.query, code=ex.code, error_message=ex.error_message).routed_to)
        baseline.add(ex.label, keyword_route(ex))
    return {"router": router, "rules": rules, "keyword_baseline": baseline}


# The routers measured on the students' set, by the name their numbers are reported under.
ROUTERS: dict[str, Callable[[TriageExample], Route]] = {
    "router": lambda ex: classify(ex.query, code=ex.code, error_message=ex.error_message).routed_to,
    "rules": lambda ex: rule_classify(ex.query, code=ex.code, error_message=ex.error_message).routed_to,
    "keyword_baseline": keyword_route,
}


def evaluate_triage_students(examples: list[TriageExample]) -> dict[str, Accuracy]:
    """Every router in ROUTERS on the students'-style set (all of it is test), overall and per expected label.

    Keys are the router's name ("router", "rules", "keyword_baseline") and "<name>/<label>" for the
    accuracy on the examples of that label (the recall of that route).
    """
    result = {name: Accuracy() for name in ROUTERS}
    result |= {f"{name}/{label}": Accuracy() for name in ROUTERS for label in Route}
    for ex in examples:
        for name, route in ROUTERS.items():
            got = route(ex)
            result[name].add(ex.label, got)
            result[f"{name}/{ex.label}"].add(ex.label, got)
    return result


def misroutes(examples: list[TriageExample], router: str = "router") -> list[tuple[TriageExample, Route]]:
    """The examples one of ROUTERS sends elsewhere than their label, with where it sent them."""
    route = ROUTERS[router]
    return [(ex, got) for ex in examples if (got := route(ex)) != ex.label]


@dataclass
class DebugScore:
    total: int = 0
    type_correct: int = 0
    line_correct: int = 0
    with_exception: int = 0
    fixed: int = 0
    logic_total: int = 0
    logic_named: int = 0
    specific: int = 0
    fix_matches_reference: int = 0  # verified fixes printing what the reference fix prints
    suggested: int = 0  # fixes offered as a suggestion: nothing (no expected output) to verify them against
    suggestion_matches_reference: int = 0
    logic_fixed: int = 0
    misses: list[str] = field(default_factory=list)


async def evaluate_debug(
    programs: list[BuggyProgram], *, curriculum: Curriculum, sandbox: Sandbox, compare_reference: bool = False
) -> DebugScore:
    """Exception type and line accuracy, and the share of programs that get a verified fix.

    ``compare_reference`` also runs every verified fix beside the reference fix (two more runs each).
    """
    score = DebugScore()
    provider = OfflineProvider()
    # One analysis per core at a time: each may run the program several times (probe, fix candidates),
    # and a starved machine would push runs past their time limit.
    slots = asyncio.Semaphore(max(os.cpu_count() or 1, 1))

    async def one(program: BuggyProgram) -> None:
        async with slots:
            answer = await debug.analyze(
                code=program.code, error_message=None, question="", stdin=program.stdin,
                curriculum=curriculum, sandbox=sandbox, ai=provider, expected_output=program.expected_output,
            )  # fmt: skip
        score.total += 1
        score.type_correct += answer.error_type == program.error_type
        score.line_correct += answer.line == program.line
        score.fixed += answer.fix_verified
        score.suggested += answer.fix_kind == "suggestion"
        if compare_reference and answer.corrected_code:
            # A fix that runs is not necessarily the fix the student needed: compare its output with
            # the reference fix's.
            async with slots:
                ours = await sandbox.run(answer.corrected_code, stdin=program.stdin)
                reference = await sandbox.run(program.fixed_code, stdin=program.stdin)
            same = ours.stdout == reference.stdout
            score.fix_matches_reference += answer.fix_verified and same
            score.suggestion_matches_reference += answer.fix_kind == "suggestion" and same
        if program.error_type:
            score.with_exception += 1
            # Case-specific: a sentence about this very program (names, values, types), beyond the
            # general text on the error type. IndexError needs the probed index and length.
            parsed = debug.ParsedError(answer.error_type or "", answer.message or "", answer.line)
            if program.error_type == "IndexError":
                score.specific += "valid positions" in answer.explanation or "is empty" in answer.explanation
            else:
                score.specific += bool(debug.specifics(parsed, program.code)[0])
        elif program.expected_output is not None and answer.run_status == "passed":
            # A logic bug: does the answer name a cause, from the output's shape or the code's patterns?
            score.logic_total += 1
            kind = compare.explain(answer.output or "", program.expected_output, code=program.code).kind
            named = kind not in ("same", "number", "other") or bool(patterns.find(program.code))
            score.logic_named += named
            score.logic_fixed += answer.fix_verified
            if not named:
                score.misses.append(f"{program.id}: logic bug without a named cause")
        if answer.error_type != program.error_type or answer.line != program.line:
            score.misses.append(f"{program.id}: got {answer.error_type}@{answer.line}")

    await asyncio.gather(*(one(p) for p in programs))
    return score


@dataclass
class PastedScore:
    total: int = 0
    type_correct: int = 0
    line_correct: int = 0
    message_correct: int = 0
    all_correct: int = 0
    with_call: int = 0  # cases whose failing call raises by itself (no SyntaxError, no test assertion)
    reproduced: int = 0
    # The debug answer end to end (debug.analyze) on the same code and text: before pasted tracebacks
    # were used it got 12 of 140 (the SyntaxErrors only).
    answer_type: int = 0
    answer_line: int = 0
    misses: list[str] = field(default_factory=list)


async def evaluate_pasted(
    cases: list[PastedCase], *, sandbox: CodeRunner, curriculum: Curriculum | None = None
) -> PastedScore:
    """Type, line and message read from a pasted traceback, and how often the failing call reproduces it.

    With ``curriculum`` the debug answer (``debug.analyze``, end to end) is scored on the same cases too.
    """
    score = PastedScore()
    slots = asyncio.Semaphore(max(os.cpu_count() or 1, 1))
    provider = OfflineProvider()

    async def one(case: PastedCase) -> None:
        async with slots:
            got = await pasted.from_pasted(text=case.text, code=case.code, sandbox=sandbox)
        score.total += 1
        kind = got is not None and got.error_type == case.error_type
        line = got is not None and got.line == case.line
        message = got is not None and got.message == case.message
        score.type_correct += kind
        score.line_correct += line
        score.message_correct += message
        score.all_correct += kind and line and message
        # A test's own failed assertion raises nothing when the call is rerun alone: not counted.
        if case.call is not None and not (case.error_type == "AssertionError" and case.line is None):
            score.with_call += 1
            score.reproduced += bool(got and got.reproduced)
        if not (kind and line and message):
            score.misses.append(
                f"{case.id}: got {got.error_type if got else None}@{got.line if got else None} "
                f"{(got.message if got else '')[:60]!r}"
            )
        if curriculum is not None:
            async with slots:
                answer = await debug.analyze(
                    code=case.code, error_message=case.text, question=case.text, stdin="",
                    curriculum=curriculum, sandbox=sandbox, ai=provider,
                )  # fmt: skip
            score.answer_type += answer.error_type == case.error_type
            score.answer_line += answer.error_type == case.error_type and answer.line == case.line

    await asyncio.gather(*(one(c) for c in cases))
    return score


async def check_bank(curriculum: Curriculum, grader: Grader) -> tuple[int, list[str]]:
    """Every reference solution passes all its tests and every starter fails one; return (checked, problems)."""
    problems: list[str] = []
    slots = asyncio.Semaphore(4)

    async def one(ex_id: str) -> None:
        ex = curriculum.exercises[ex_id]
        tests = ex.visible_tests + "\n\n" + ex.hidden_tests
        cases = list(ex.io_tests)
        async with slots:
            solution = await grader.grade(code=ex.solution, tests=tests, io_tests=cases)
            starter = await grader.grade(code=ex.starter_code, tests=tests, io_tests=cases)
        if not solution.passed:
            problems.append(f"{ex_id}: solution fails: {solution.feedback[:200]}")
        if starter.passed:
            problems.append(f"{ex_id}: starter passes every test")

    await asyncio.gather(*(one(i) for i in sorted(curriculum.exercises)))
    return len(curriculum.exercises), problems


@dataclass
class BankMutation:
    """The bank's tests against single-fault mutants of its reference solutions."""

    reports: list[bankcheck.MutationReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def mutants(self) -> int:
        return sum(r.mutants for r in self.reports)

    @property
    def killed(self) -> int:
        return sum(r.killed for r in self.reports)

    @property
    def equivalent(self) -> int:
        return sum(len(r.equivalent) for r in self.reports)

    @property
    def missed(self) -> int:
        return sum(len(r.missed) for r in self.reports)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.reports)

    @property
    def kill_rate(self) -> float:
        judged = self.killed + self.missed
        return self.killed / judged if judged else 1.0

    def misses(self) -> list[str]:
        return [
            f"{r.exercise_id} line {s.mutant.line} {s.mutant.description}: {s.evidence}"
            for r in self.reports
            for s in r.missed
        ]


async def evaluate_bank_mutants(
    curriculum: Curriculum, grader: GradesCode, runner: CodeRunner, *, limit: int | None = None
) -> BankMutation:
    """Mutation check of every exercise (``limit`` mutants each at most), one exercise after another."""
    started = asyncio.get_running_loop().time()
    result = BankMutation()
    for ex_id in sorted(curriculum.exercises):
        exercise = bankcheck.CheckedExercise.of(curriculum.exercises[ex_id])
        result.reports.append(await bankcheck.mutation_check(exercise, grader, runner=runner, limit=limit))
    result.seconds = asyncio.get_running_loop().time() - started
    return result


@dataclass
class AnswerScore:
    """Does the concepts answer answer: its facts present, and its example printing what is shown."""

    total: int = 0
    answered: int = 0
    examples: int = 0
    examples_as_shown: int = 0
    misses: list[str] = field(default_factory=list)
    broken_examples: list[str] = field(default_factory=list)

    @property
    def answered_share(self) -> float:
        return self.answered / self.total if self.total else 0.0

    @property
    def examples_share(self) -> float:
        return self.examples_as_shown / self.examples if self.examples else 0.0


Answerer = Callable[[str], Awaitable[ConceptAnswer]]


async def evaluate_answers(questions: list[FactQuestion], answer: Answerer, sandbox: CodeRunner) -> AnswerScore:
    """Ask every question; an answer counts when its explanation and example hold all the question's facts,
    and its example counts when running it (with the input it shows) prints exactly the output it shows."""
    score = AnswerScore()
    for question in questions:
        got = await answer(question.q)
        score.total += 1
        missing = question.missing(got.explanation + "\n" + got.code_example)
        if missing:
            score.misses.append(f"{question.q!r} lacks {missing} (answered with {got.note_id or got.topic})")
        else:
            score.answered += 1
        if got.code_example.strip():
            score.examples += 1
            run = await sandbox.run(got.code_example, stdin=got.example_stdin)
            if run.exit_code == 0 and not run.timed_out and run.stdout == got.example_output:
                score.examples_as_shown += 1
            else:
                score.broken_examples.append(f"{question.q!r}: example of {got.note_id or got.topic}")
    return score


# Today's engine before the knowledge base, kept as the baseline the answers are measured against: a
# programming-word list for off-topic, then the best topic's page with its first example.
_BASELINE_PROGRAMMING = re.compile(
    r"\b(python|code|coding|program\w*|script|function|variable|syntax|error|bug|debug\w*|module|library|"
    r"import|class|object|loop|list|string|integer|float|dict\w*|method|compile\w*|interpreter|pip|ide|"
    r"terminal|algorithm|recursion|lambda|generator|decorator|async|thread)s?\b",
    re.I,
)


def topic_page_answerer(curriculum: Curriculum) -> Answerer:
    """The baseline: one of the fixed topic pages, chosen by the question's wording."""

    async def answer(question: str) -> ConceptAnswer:
        topic = curriculum.best_topic(question)
        if topic is None and not _BASELINE_PROGRAMMING.search(question):
            return concepts.redirect(curriculum, "beginner")
        if topic is None:
            return concepts.overview(curriculum, "beginner")
        # Today's pages showed the example without the input it reads.
        return concepts.from_topic(topic, "beginner").model_copy(update={"example_stdin": ""})

    return answer


def knowledge_answerer(curriculum: Curriculum) -> Answerer:
    """The offline engine as the concepts service runs it (off-topic check, then explain)."""

    async def answer(question: str) -> ConceptAnswer:
        if concepts.is_off_topic(question, curriculum):
            return concepts.redirect(curriculum, "beginner")
        return concepts.answer_offline(question, curriculum, "beginner")

    return answer


def summary_json(
    triage: dict[str, Accuracy],
    score: DebugScore,
    bank: tuple[int, list[str]],
    concepts: dict[str, Accuracy],
    independent: dict[str, dict[str, Accuracy]],
    students: dict[str, Accuracy],
    *,
    localisation: LocalisationScore | None = None,
    pasted_score: PastedScore | None = None,
    mutation: BankMutation | None = None,
    answers: dict[str, AnswerScore] | None = None,
    feelings: dict[str, Accuracy] | None = None,
) -> str:
    extra: dict[str, object] = {}
    if pasted_score is not None:
        n = max(pasted_score.total, 1)
        extra = {
            "pasted_cases": pasted_score.total,
            "pasted_type_accuracy": round(pasted_score.type_correct / n, 4),
            "pasted_line_accuracy": round(pasted_score.line_correct / n, 4),
            "pasted_message_accuracy": round(pasted_score.message_correct / n, 4),
            "pasted_all_three_accuracy": round(pasted_score.all_correct / n, 4),
            "pasted_reproduced_share": round(pasted_score.reproduced / max(pasted_score.with_call, 1), 4),
            "pasted_debug_answer_type_accuracy": round(pasted_score.answer_type / n, 4),
            "pasted_debug_answer_type_and_line_accuracy": round(pasted_score.answer_line / n, 4),
        }
    mutation_numbers = (
        {
            "bank_mutants": mutation.mutants,
            "bank_mutants_killed": mutation.killed,
            "bank_mutants_equivalent": mutation.equivalent,
            "bank_mutants_missed": mutation.missed,
            "bank_mutants_grader_errors": mutation.errors,
            "bank_mutant_kill_rate": round(mutation.kill_rate, 4),
        }
        if mutation is not None
        else {}
    )
    return json.dumps(
        {
            **(localisation.as_dict() if localisation is not None else {}),
            **{
                f"concepts_answers_{engine}_{measure}": value
                for engine, got in (answers or {}).items()
                for measure, value in (
                    ("answered", round(got.answered_share, 4)),
                    ("examples_as_shown", round(got.examples_share, 4)),
                    ("questions", got.total),
                )
            },
            **{
                f"triage_intent_{name.replace('/', '_').replace('-', '_')}": round(got.value, 4)
                for name, got in (feelings or {}).items()
            },
            "triage_students_accuracy": round(students["router"].value, 4),
            "triage_students_rules": round(students["rules"].value, 4),
            "triage_students_keyword_baseline": round(students["keyword_baseline"].value, 4),
            **{f"triage_students_{label}": round(students[f"router/{label}"].value, 4) for label in Route},
            "triage_students_size": students["router"].total,
            "triage_independent_accuracy": round(independent["triage"]["router"].value, 4),
            "triage_independent_keyword_baseline": round(independent["triage"]["keyword_baseline"].value, 4),
            "triage_independent_size": independent["triage"]["router"].total,
            "concepts_independent_top1": round(independent["concepts"]["top1"].value, 4),
            "concepts_independent_keyword_scorer": round(independent["concepts"]["keywords"].value, 4),
            "concepts_independent_size": independent["concepts"]["top1"].total,
            "concepts_topic_top1": round(concepts["top1"].value, 4),
            "concepts_topic_top3": round(concepts["top3"].value, 4),
            "concepts_keyword_scorer": round(concepts["keywords"].value, 4),
            "concepts_title_baseline": round(concepts["baseline"].value, 4),
            "concepts_questions": concepts["top1"].total,
            "triage_accuracy": round(triage["router"].value, 4),
            "rules_accuracy": round(triage["rules"].value, 4),
            "keyword_baseline_accuracy": round(triage["keyword_baseline"].value, 4),
            "triage_test_size": triage["router"].total,
            "debug_type_accuracy": round(score.type_correct / max(score.total, 1), 4),
            "debug_line_accuracy": round(score.line_correct / max(score.total, 1), 4),
            "debug_verified_fix_share": round(score.fixed / max(score.total, 1), 4),
            "debug_fixes_matching_reference_output": round(score.fix_matches_reference / max(score.fixed, 1), 4),
            "debug_suggested_fix_share": round(score.suggested / max(score.total, 1), 4),
            "debug_suggestions_matching_reference_output": round(
                score.suggestion_matches_reference / max(score.suggested, 1), 4
            ),
            "debug_programs": score.total,
            "logic_bugs_with_named_cause": round(score.logic_named / max(score.logic_total, 1), 4),
            "logic_bugs": score.logic_total,
            "logic_bugs_verified_fix_share": round(score.logic_fixed / max(score.logic_total, 1), 4),
            "debug_case_specific_share": round(score.specific / max(score.with_exception, 1), 4),
            "bank_exercises": bank[0],
            "bank_problems": len(bank[1]),
            **extra,
            **mutation_numbers,
        },
        indent=2,
    )


Handling = Literal["clarify", "redirect", "answer"]
# What each label of triage_feelings.yaml should get: a question back, a redirect, or a real answer.
EXPECTED_HANDLING: dict[str, Handling] = {
    "feelings": "clarify",
    "feelings-topic": "answer",
    "off-topic": "redirect",
    "homework": "redirect",
    "question": "answer",
}


_HANDLED_AS: dict[intent.Intent, Handling] = {"feelings": "clarify", "off-topic": "redirect", "question": "answer"}


def handling_before(text: str, curriculum: Curriculum) -> Handling:
    """Triage before intents: routed by the router, redirected only by concepts' own off-topic check."""
    decision = classify(text)
    if decision.routed_to != "concepts":
        return "answer"
    hinted = curriculum.best_topic(text) is not None  # triage's topic went along as a hint
    return "redirect" if not hinted and concepts.is_off_topic(text, curriculum) else "answer"


def handling(text: str, curriculum: Curriculum) -> Handling:
    """Triage as it runs: the message's intent decides before any specialist does."""
    kind = intent.read(text, code=None, error_message=None, curriculum=curriculum)
    return _HANDLED_AS[kind]


def evaluate_feelings(messages: list[FeelingMessage], curriculum: Curriculum) -> dict[str, Accuracy]:
    """How often each message gets the handling its label asks for, now and before intents, per label."""
    scores: dict[str, Accuracy] = {"now": Accuracy(), "before": Accuracy()}
    for message in messages:
        want = EXPECTED_HANDLING[message.label]
        now = handling(message.text, curriculum)
        scores["now"].add(want, now)
        scores["before"].add(want, handling_before(message.text, curriculum))
        scores.setdefault(f"now/{message.label}", Accuracy()).add(want, now)
    return scores
