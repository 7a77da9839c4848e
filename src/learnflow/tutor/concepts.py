"""Explaining Python concepts at the student's level, with examples that really run."""

from __future__ import annotations

import ast
import logging
import re
from dataclasses import dataclass
from typing import Literal

from learnflow.ai import AIProvider, AIUnavailable
from learnflow.curriculum import Curriculum, Topic
from learnflow.sandbox import CodeRunner
from learnflow.sandbox.grading import GradesCode, IOCase
from learnflow.tutor.prompts import CONCEPTS_SYSTEM, fence
from learnflow.tutor.schemas import ConceptAnswer, LLMConceptText

log = logging.getLogger(__name__)

Level = Literal["beginner", "intermediate"]


def from_topic(topic: Topic, level: Level) -> ConceptAnswer:
    """The curriculum's own answer for ``topic``."""
    example = topic.examples[0]
    explanation = topic.explanation.beginner if level == "beginner" else topic.explanation.intermediate
    return ConceptAnswer(
        topic=topic.id,
        title=topic.title,
        explanation=explanation.strip(),
        code_example=example.code,
        example_output=example.output,
        key_points=list(topic.key_points),
        common_mistakes=list(topic.common_mistakes),
        related_topics=list(topic.related_topics),
        level=level,
        source="offline",
    )


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
    )


# Words that make a question about programming even when no curriculum topic matches it.
_PROGRAMMING = re.compile(
    r"\b(python|code|coding|program\w*|script|function|variable|syntax|error|bug|debug\w*|module|library|"
    r"import|class|object|loop|list|string|integer|float|dict\w*|method|compile\w*|interpreter|pip|ide|"
    r"terminal|algorithm|recursion|lambda|generator|decorator|async|thread)s?\b",
    re.I,
)


def is_off_topic(question: str, curriculum: Curriculum) -> bool:
    """Not about Python or programming at all: no curriculum topic and no programming vocabulary."""
    return curriculum.best_topic(question) is None and not _PROGRAMMING.search(question)


def redirect(curriculum: Curriculum, level: Level) -> ConceptAnswer:
    """A polite redirect for off-topic requests, with what the tutor can do instead."""
    answer = overview(curriculum, level)
    return answer.model_copy(
        update={
            "title": "Let's stick to Python",
            "explanation": "That is outside what I can help with: I am a Python tutor. "
            + answer.explanation.replace("I could not tell which Python topic you mean. ", ""),
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
        topic = curriculum.best_topic(question) or curriculum.topics.get(topic_hint or "")
        answer = from_topic(topic, level) if topic else overview(curriculum, level)
    if not ai.is_llm:
        return answer
    return await _with_llm(answer, question=question, code=code, sandbox=sandbox, ai=ai, guard=guard)


async def _with_llm(
    answer: ConceptAnswer,
    *,
    question: str,
    code: str | None,
    sandbox: CodeRunner,
    ai: AIProvider,
    guard: SolutionGuard | None = None,
) -> ConceptAnswer:
    grounding = answer.model_dump_json(include={"topic", "title", "explanation", "key_points", "common_mistakes"})
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
    base = from_topic(topic, level) if topic else None
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
