"""Explaining Python concepts at the student's level, with examples that really run."""

from __future__ import annotations

import ast
import json
import logging
import re
from dataclasses import dataclass
from typing import Literal

from learnflow.ai import AIProvider, AIUnavailable
from learnflow.curriculum import Curriculum, Note, Topic
from learnflow.curriculum.models import Example
from learnflow.curriculum.notes import NoteHit, word_set
from learnflow.sandbox import CodeRunner
from learnflow.sandbox.grading import GradesCode, IOCase
from learnflow.tutor import offtopic, pydocs
from learnflow.tutor.prompts import CONCEPTS_SYSTEM, fence
from learnflow.tutor.schemas import ConceptAnswer, LLMConceptText

log = logging.getLogger(__name__)

Level = Literal["beginner", "intermediate"]


def from_topic(topic: Topic, level: Level, question: str = "") -> ConceptAnswer:
    """The curriculum's own answer for ``topic``, with the example nearest the question."""
    example = _nearest_example(topic, question)
    explanation = topic.explanation.beginner if level == "beginner" else topic.explanation.intermediate
    return ConceptAnswer(
        topic=topic.id,
        title=topic.title,
        explanation=explanation.strip(),
        code_example=example.code,
        example_output=example.output,
        example_stdin=example.stdin,
        key_points=list(topic.key_points),
        common_mistakes=list(topic.common_mistakes),
        related_topics=list(topic.related_topics),
        level=level,
        source="offline",
        answer_kind="topic",
    )


def _nearest_example(topic: Topic, question: str) -> Example:
    """The example sharing most words with the question (the first one on a tie, or with no question)."""
    wanted = word_set(question)
    return max(topic.examples, key=lambda e: len(wanted & word_set(e.title + " " + e.code)))


# A note must score at least this (BM25 plus the topic bonus) to be *the* answer; below it the topic page
# answers, or the closest note is offered as such. Chosen on data: the 95th percentile of the best note's
# score over the off-topic messages (data/off_topic.yaml: 6.5), rounded up, i.e. a score that a message about
# something else reaches one time in twenty.
NOTE_MIN = 7.0
# Added to a note's BM25 score when the topic model puts the note's topic first (or in its top three).
TOPIC_BONUS = (2.0, 1.0)


def rank_notes(question: str, curriculum: Curriculum, *, limit: int = 3) -> list[NoteHit]:
    """The notes that best answer ``question``: BM25 over the notes, plus the topic model's agreement."""
    hits = curriculum.note_index.search(_symbols(question), limit=10)
    if not hits:
        return []
    topics = [t.id for t in curriculum.rank_topics(question, limit=3)]
    rescored = [
        NoteHit(
            hit.note,
            hit.score
            + (TOPIC_BONUS[0] if topics[:1] == [hit.note.topic] else TOPIC_BONUS[1] if hit.note.topic in topics else 0),
        )
        for hit in hits
    ]
    return sorted(rescored, key=lambda h: -h.score)[:limit]


def _symbols(question: str) -> str:
    """Keep operators as words too: the notes' terms spell them both ways."""
    return question + " " + " ".join(re.findall(r"[*/%=:<>!^@]{1,3}", question))


def from_note(note: Note, curriculum: Curriculum, level: Level, *, closest: bool = False) -> ConceptAnswer:
    """A note's answer and example, with its topic page offered as more."""
    topic = curriculum.topics[note.topic]
    lead = "I have no answer for exactly that; here is the closest I know.\n\n" if closest else ""
    more = f"\n\nMore on this: the **{topic.title}** topic."
    related = [note.topic, *(t for t in topic.related_topics if t != note.topic)]
    return ConceptAnswer(
        topic=note.topic,
        title=_title(note.questions[0]),
        explanation=lead + note.answer.strip() + more,
        code_example=note.example,
        example_output=note.output,
        example_stdin=note.stdin,
        key_points=[],
        common_mistakes=[],
        related_topics=related,
        level=level,
        source="offline",
        note_id=note.id,
        answer_kind="closest" if closest else "note",
    )


def from_docs(doc: pydocs.DocAnswer, level: Level, *, topic: Topic | None = None) -> ConceptAnswer:
    """Python's own documentation, quoted and attributed; no example, since none was checked by running."""
    quoted = "\n".join(f"> {line}" if line else ">" for line in doc.text.splitlines())
    return ConceptAnswer(
        topic=topic.id if topic else None,
        title=f"`{doc.name}`",
        explanation=f"From Python's own documentation for `{doc.name}`:\n\n{quoted}",
        code_example="",
        example_output="",
        related_topics=[topic.id] if topic else [],
        level=level,
        source="offline",
        answer_kind="docs",
    )


def _named_topic(question: str, curriculum: Curriculum) -> Topic | None:
    """The topic a question does nothing but name ("what is a dictionary", "for loops?"): its page is the answer."""
    # "is" counts for retrieval ("is vs ==") but not here, where "what is a X" names X alone.
    asked = word_set(question) - {"is"}
    if not asked:
        return None
    for topic in curriculum.topics.values():
        if asked <= word_set(topic.title + " " + topic.id.replace("-", " ")):
            return topic
    return None


def _title(question: str) -> str:
    return question[:1].upper() + question[1:].rstrip("?") + "?"


def _about(note: Note, name: str) -> bool:
    """Whether ``name`` ("str.strip", "yield") is what ``note`` is mainly about: its first term or in its id."""
    short = name.rpartition(".")[2].lower()
    first = note.terms[0].strip("`().").lower()
    return first in (name.lower(), short) or short in note.id.split("-")


def answer_offline(
    question: str, curriculum: Curriculum, level: Level, *, topic_hint: str | None = None
) -> ConceptAnswer:
    """The most specific answer the knowledge base has: a note, Python's documentation, a topic page."""
    named = _named_topic(question, curriculum)
    if named is not None:
        return from_topic(named, level, question)
    hits = rank_notes(question, curriculum)
    best = hits[0] if hits and hits[0].score >= NOTE_MIN else None
    doc = pydocs.lookup(question)
    # A note that is about the very name asked for beats its docstring; otherwise the documentation does.
    if doc is not None and (best is None or not _about(best.note, doc.name)):
        return from_docs(doc, level, topic=curriculum.best_topic(question))
    if best is not None:
        return from_note(best.note, curriculum, level)
    topic = curriculum.best_topic(question) or curriculum.topics.get(topic_hint or "")
    if topic is not None:
        return from_topic(topic, level, question)
    if hits:
        return from_note(hits[0].note, curriculum, level, closest=True)
    return overview(curriculum, level)


def overview(curriculum: Curriculum, level: Level) -> ConceptAnswer:
    lines = ["I could not tell which Python topic you mean. Here is what I can explain:\n"]
    for module in curriculum.modules:
        lines.append(f"- **{module.title}**: " + ", ".join(t.title for t in module.topics))
    lines.append('\nAsk again naming one of these, for example *"How do for loops work?"*.')
    code = 'print("Hello, LearnFlow!")\n'
    return ConceptAnswer(
        topic=None,
        title="Python topics",
        explanation="\n".join(lines),
        code_example=code,
        example_output="Hello, LearnFlow!\n",
        key_points=["Name a concept (loops, lists, functions…) to get an explanation with a runnable example."],
        related_topics=[m.topics[0].id for m in curriculum.modules],
        level=level,
        answer_kind="overview",
    )


# Evidence that overrides the off-topic classifier: a curriculum keyword match this strong (a title or a
# phrase such as "for loop") or a note this close. The classifier alone declines some plain Python
# questions phrased like everyday ones ("how do slices work"); these say it is Python after all.
KEYWORD_EVIDENCE = 3.0


# Above this probability of "not Python" the classifier is overruled only by the question's own Python:
# words shared with a note or a topic ("capital" letters, "write" a file) are not enough evidence there.
SURE_OFF_TOPIC = 0.9
_PYTHONIC = re.compile(
    r"\bpython\b|`|\w\(|\.\w+|==|!=|\[|\]|\b(?:def|import|print|self|lambda|elif|none|true|false)\b|"
    r"\b\w+(?:error|exception)\b",
    re.I,
)


def is_off_topic(question: str, curriculum: Curriculum) -> bool:
    """Not a Python question, by the off-topic classifier's reading and no strong curriculum evidence."""
    p_other = offtopic.get_model(curriculum).p_other(question)  # one prediction, read against both bounds
    if p_other < offtopic.THRESHOLD:
        return False
    if p_other >= SURE_OFF_TOPIC:
        return not _PYTHONIC.search(question)
    keyword = curriculum.match_topics(question, limit=1)
    if keyword and keyword[0].score >= KEYWORD_EVIDENCE:
        return False
    hits = rank_notes(question, curriculum, limit=1)
    return not (hits and hits[0].score >= NOTE_MIN)


def redirect(curriculum: Curriculum, level: Level) -> ConceptAnswer:
    """A polite redirect for off-topic requests, with what the tutor can do instead."""
    answer = overview(curriculum, level)
    return answer.model_copy(
        update={
            "title": "Let's stick to Python",
            "answer_kind": "off-topic",
            # A redirect, not a lesson: the overview's hello-world example has nothing to do with the request.
            "code_example": "",
            "example_output": "",
            "key_points": [],
            "explanation": "That is outside what I can help with: I am a Python tutor. "
            + answer.explanation.replace("I could not tell which Python topic you mean. ", ""),
        }
    )


def clarify(level: Level) -> ConceptAnswer:
    """For a student who is stuck and says on what: ask, rather than guess a topic and lecture on it."""
    return ConceptAnswer(
        topic=None,
        title="What are you working on?",
        explanation=(
            "Getting stuck is a normal part of learning to program, and we can sort it out together. "
            "Tell me what you are working on so I can help with exactly that:\n\n"
            "- paste the code you have so far (even if it is unfinished),\n"
            "- the error message you see, copied as it is, or\n"
            "- the exercise or task you are trying to do."
        ),
        code_example="",
        example_output="",
        key_points=["One small piece at a time: the first line that does not do what you expect is a good start."],
        level=level,
        answer_kind="clarify",
    )


def still_on(topic: Topic, level: Level) -> ConceptAnswer:
    """For a stuck student whose session was on ``topic``: continue with it, and say so."""
    page = from_topic(topic, level)
    return page.model_copy(
        update={
            "title": f"Still on {topic.title}?",
            "explanation": f"Still on {topic.title.lower()}? Let's go over it again, step by step. If you are stuck "
            "on something else, paste your code, the error or the exercise and I will look at that instead.\n\n"
            + page.explanation,
        }
    )


@dataclass(frozen=True)
class SolutionGuard:
    """The student's open exercise: code that passes its tests is its solution and is never shown."""

    description: str
    tests: str
    io_tests: list[IOCase]
    grader: GradesCode

    async def solved_by(self, code: str) -> bool:
        if not self.tests.strip() and not self.io_tests:
            return False
        report = await self.grader.grade(code=code, tests=self.tests, io_tests=self.io_tests)
        return report.passed


async def explain(
    *,
    question: str,
    level: Level,
    curriculum: Curriculum,
    sandbox: CodeRunner,
    ai: AIProvider,
    code: str | None = None,
    guard: SolutionGuard | None = None,
    topic_hint: str | None = None,
) -> ConceptAnswer:
    """Answer a concept question; with code attached and asked to explain it, explain that code.

    ``topic_hint`` is used when the question itself names no topic ("explain that more simply").

    ``guard`` is the student's open exercise: an LLM example that would solve it is not shown.
    """
    if code and code.strip():
        answer = await explain_code(code=code, question=question, curriculum=curriculum, sandbox=sandbox, level=level)
    else:
        answer = answer_offline(question, curriculum, level, topic_hint=topic_hint)
    if not ai.is_llm:
        return answer
    return await _with_llm(
        answer, question=question, curriculum=curriculum, code=code, sandbox=sandbox, ai=ai, guard=guard
    )


async def _with_llm(
    answer: ConceptAnswer,
    *,
    question: str,
    curriculum: Curriculum,
    code: str | None,
    sandbox: CodeRunner,
    ai: AIProvider,
    guard: SolutionGuard | None = None,
) -> ConceptAnswer:
    grounding = answer.model_dump_json(include={"topic", "title", "explanation", "key_points", "common_mistakes"})
    notes = [hit.note for hit in rank_notes(question, curriculum, limit=3) if hit.score >= NOTE_MIN]
    if notes:
        # The knowledge base's specific answers, best first, so the model answers this question and not the topic.
        grounding += "\nReference notes: " + json.dumps(
            [{"answer": n.answer, "example": n.example, "output": n.output} for n in notes]
        )
    user = (
        f"Student level: {answer.level}\nStudent question: {fence(question)}\n"
        + (f"Student code: {fence(code)}\n" if code else "")
        + f"Curriculum reference (ground your answer in it): {grounding}"
        + (
            f"\nThe student is working on this assigned exercise; do NOT solve it: {fence(guard.description)}"
            if guard
            else ""
        )
    )
    try:
        generated = await ai.generate(system=CONCEPTS_SYSTEM, user=user, schema=LLMConceptText)
    except AIUnavailable as exc:
        log.info("concepts fell back to the offline answer: %s", exc)
        return answer.model_copy(update={"source": "offline-fallback"})
    # Never show a student an example we have not seen run.
    run = await sandbox.run(generated.code_example)
    if not run.ok:
        log.info("LLM example failed in the sandbox; using the curriculum's")
        return answer.model_copy(update={"source": "offline-fallback"})
    if guard is not None and await guard.solved_by(generated.code_example):
        log.info("LLM example would solve the student's assigned exercise; using the curriculum's")
        return answer.model_copy(update={"source": "offline-fallback"})
    return answer.model_copy(
        update={
            "explanation": generated.explanation,
            "code_example": generated.code_example,
            "example_output": run.stdout,
            "example_stdin": "",
            "key_points": generated.key_points or answer.key_points,
            "source": "llm",
        }
    )


async def explain_code(
    *, code: str, question: str, curriculum: Curriculum, sandbox: CodeRunner, level: Level
) -> ConceptAnswer:
    """Walk through ``code`` statement by statement and show what it really prints."""
    run = await sandbox.run(code)
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        tree = None
        syntax = f"Python cannot read this code yet: {exc.msg} on line {exc.lineno}."
    lines: list[str] = ["Here is what this code does, step by step:\n"]
    if tree is None:
        lines.append(syntax)
    else:
        for node in tree.body:
            lines.append(f"- **Line {node.lineno}**: {_describe(node, code)}")
    if run.timed_out:
        lines.append("\nWhen I ran it, it did not finish within the time limit (it may loop forever).")
    elif run.exit_code == 0:
        shown = run.stdout if run.stdout.strip() else "(nothing)"
        lines.append(f"\nWhen I ran it, it printed:\n\n```\n{shown.rstrip()}\n```")
    else:
        last = (run.stderr.strip().splitlines() or ["an error"])[-1]
        lines.append(f"\nWhen I ran it, it stopped with `{last}`. Ask the debug tutor for help fixing it.")
    topic = curriculum.best_topic(question + " " + " ".join(_features(tree)) if tree else question)
    base = from_topic(topic, level, question) if topic else None
    return ConceptAnswer(
        topic=topic.id if topic else None,
        title=f"Explaining your code{f' ({topic.title})' if topic else ''}",
        explanation="\n".join(lines),
        code_example=code,
        example_output=run.stdout,
        key_points=list(base.key_points) if base else [],
        common_mistakes=list(base.common_mistakes) if base else [],
        related_topics=list(base.related_topics) if base else [],
        level=level,
        answer_kind="code",
    )


def _features(tree: ast.Module | None) -> list[str]:
    """Words naming the constructs used, to find the topic the code is about."""
    if tree is None:
        return []
    names = {
        ast.For: "for loop",
        ast.While: "while loop",
        ast.If: "conditionals if",
        ast.FunctionDef: "function def",
        ast.ClassDef: "class",
        ast.Try: "try except",
        ast.ListComp: "list",
        ast.Dict: "dictionary",
        ast.List: "list",
        ast.Set: "set",
        ast.Tuple: "tuple",
        ast.Break: "break",
        ast.Continue: "continue",
    }
    found: list[str] = []
    for node in ast.walk(tree):
        word = names.get(type(node))
        if word and word not in found:
            found.append(word)
    return found


def _describe(node: ast.stmt, code: str) -> str:
    src = ast.get_source_segment(code, node) or ""
    first = src.splitlines()[0] if src else ""
    shown = f"`{first.strip()}`" if first else ""
    match node:
        case ast.Assign(targets=targets):
            names = ", ".join(ast.unparse(t) for t in targets)
            return f"{shown} stores the value of `{ast.unparse(node.value)}` in `{names}`."
        case ast.AugAssign(target=target, op=op):
            return f"{shown} updates `{ast.unparse(target)}` in place ({type(op).__name__.lower()})."
        case ast.AnnAssign(target=target):
            return f"{shown} declares `{ast.unparse(target)}` with a type hint."
        case ast.For(target=target, iter=it):
            return (
                f"{shown} repeats the indented block once for each item of `{ast.unparse(it)}`, "
                f"naming the current item `{ast.unparse(target)}`."
            )
        case ast.While(test=test):
            return f"{shown} repeats the indented block as long as `{ast.unparse(test)}` is true."
        case ast.If(test=test):
            extra = " with an `else` branch" if node.orelse else ""
            return f"{shown} runs the indented block only when `{ast.unparse(test)}` is true{extra}."
        case ast.FunctionDef(name=name, args=args):
            params = ", ".join(a.arg for a in args.args) or "no parameters"
            return f"{shown} defines a function `{name}` ({params}); its body runs only when it is called."
        case ast.ClassDef(name=name):
            return f"{shown} defines a class `{name}`, a blueprint for creating objects."
        case ast.Import() | ast.ImportFrom():
            return f"{shown} imports code from another module so it can be used here."
        case ast.Try():
            return f"{shown} runs the block and, if an error happens, handles it in the `except` part."
        case ast.Return():
            return f"{shown} sends a value back to the caller."
        case ast.Expr(value=ast.Call(func=ast.Name(id="print"))):
            return f"{shown} prints its arguments to the screen."
        case ast.Expr(value=ast.Call()):
            return f"{shown} calls a function."
        case _:
            return f"{shown} ({type(node).__name__})."
