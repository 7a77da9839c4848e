"""Markdown for people, from the agents' structured answers."""

from __future__ import annotations

from learnflow.db.models import Exercise
from learnflow.services.exercise.schemas import QuizRead, SubmissionRead
from learnflow.tutor.schemas import ConceptAnswer, DebugAnswer


def concept(answer: ConceptAnswer) -> str:
    parts = [f"## {answer.title}", answer.explanation]
    if answer.code_example.strip():
        parts.append(f"**Example**\n\n```python\n{answer.code_example.rstrip()}\n```")
    if answer.code_example.strip() and answer.example_stdin:
        parts.append(f"Typed as its input:\n\n```\n{answer.example_stdin.rstrip()}\n```")
    if answer.code_example.strip() and answer.example_output.strip():
        parts.append(f"Output:\n\n```\n{answer.example_output.rstrip()}\n```")
    if answer.key_points:
        parts.append("**Key points**\n\n" + "\n".join(f"- {p}" for p in answer.key_points))
    if answer.common_mistakes:
        parts.append("**Common mistakes**\n\n" + "\n".join(f"- {m}" for m in answer.common_mistakes))
    if answer.related_topics:
        parts.append("Related: " + ", ".join(answer.related_topics))
    return "\n\n".join(parts)


def debug(answer: DebugAnswer) -> str:
    title = (
        f"## {answer.error_type}" + (f" on line {answer.line}" if answer.line else "")
        if answer.error_type
        else "## Your program"
    )
    parts = [title, answer.explanation]
    parts.append(
        "**Hints** (try them one at a time)\n\n" + "\n".join(f"{i}. {h}" for i, h in enumerate(answer.hints, 1))
    )
    if answer.corrected_code and answer.fix_verified:
        parts.append(
            "**A corrected version** (I ran it and it prints what you expected; try the hints first):\n\n"
            f"```python\n{answer.corrected_code.rstrip()}\n```"
        )
    elif answer.corrected_code and answer.fix_kind == "suggestion":
        parts.append(
            "**A possible fix** (a suggestion, not verified: I ran it and the error is gone, but I could not "
            "check that it does what you meant. Tell me the output you expect and I can check it; try the "
            "hints first):\n\n"
            f"```python\n{answer.corrected_code.rstrip()}\n```"
        )
    return "\n\n".join(parts)


def exercise(ex: Exercise) -> str:
    parts = [f"## Exercise: {ex.title}", f"*Topic: {ex.topic} · {ex.difficulty}*", ex.description.strip()]
    parts.append(f"**Starter code**\n\n```python\n{ex.starter_code.rstrip()}\n```")
    if ex.visible_tests.strip():
        parts.append(f"**Tests you can see**\n\n```python\n{ex.visible_tests.strip()}\n```")
    parts.append(f"Submit with `POST /api/exercises/{ex.id}/submissions`. Exercise id: `{ex.id}`")
    return "\n\n".join(parts)


def graded(title: str, result: SubmissionRead) -> str:
    head = f"## {title}: " + ("passed ✅" if result.passed else f"{round(result.score * 100)}% of tests passed")
    lines = [
        f"- {'✅' if t.passed else '❌'} `{t.name}`" + (f": {t.message}" if t.message else "") for t in result.tests
    ]
    parts = [head, result.feedback, "\n".join(lines)]
    if result.quality is not None:
        q = result.quality
        found = "\n".join(f"- line {f.line}: {f.message} (`{f.code}`)" for f in q.findings[:10])
        parts.append(f"**Code quality** {round(q.score * 100)}/100 (ruff)" + (f"\n\n{found}" if found else ": clean."))
    return "\n\n".join(parts)


def quiz(q: QuizRead) -> str:
    parts = [
        f"## Quiz: {q.title}",
        f"{len(q.questions)} questions. Answer what you can; each shows why once you submit.",
    ]
    for i, question in enumerate(q.questions, 1):
        block = [f"**{i}. {question.prompt}** (`{question.question_id}`)"]
        if question.code.strip():
            block.append(f"```python\n{question.code.rstrip()}\n```")
        if question.kind == "choice":
            block.append("\n".join(f"{n}. {choice}" for n, choice in enumerate(question.choices)))
        else:
            block.append("Type exactly what it prints.")
        parts.append("\n\n".join(block))
    parts.append(
        f"Answer once with `POST /api/quizzes/attempts/{q.attempt_id}/answers` and "
        '`{"answers": {"<question id>": <choice number or printed text>}}`.'
    )
    return "\n\n".join(parts)
