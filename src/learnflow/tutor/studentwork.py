"""One student's work as their teachers read it: submissions with results, questions, recent code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from learnflow.db.models import Exercise, Query, Response, StruggleAlert, Submission
from learnflow.sandbox.grading import test_names

# A teacher reads the code on an alert card; a pasted novel would swamp the page.
MAX_RECENT_CODE_CHARS = 4000


@dataclass(frozen=True)
class GradedSubmission:
    submission: Submission
    title: str
    visible: list[dict[str, Any]]
    hidden_passed: int
    hidden_total: int


async def submissions(session: AsyncSession, *, student_id: str, limit: int) -> list[GradedSubmission]:
    """The student's latest submissions, newest first, each split into visible and hidden test results."""
    rows = (
        await session.execute(
            select(Submission, Exercise)
            .join(Exercise, Exercise.id == Submission.exercise_id)
            .where(Submission.student_id == student_id)
            .order_by(Submission.created_at.desc(), Submission.id)
            .limit(limit)
        )
    ).all()
    hidden_names: dict[str, set[str]] = {}
    found = []
    for sub, exercise in rows:
        if exercise.id not in hidden_names:
            hidden_names[exercise.id] = _hidden(exercise)
        hidden = hidden_names[exercise.id]
        # Hidden tests stay hidden from teachers' pages too: only how many passed (the student sees the same).
        visible = [r for r in sub.results if r.get("name") not in hidden]
        secret = [r for r in sub.results if r.get("name") in hidden]
        found.append(
            GradedSubmission(
                submission=sub,
                title=exercise.title,
                visible=visible,
                hidden_passed=sum(1 for r in secret if r.get("passed")),
                hidden_total=len(secret),
            )
        )
    return found


def _hidden(exercise: Exercise) -> set[str]:
    # The grader names a hidden test like any other; the exercise's hidden source says which they are.
    # A hidden test named like a visible one replaces it when graded: it is hidden (as the grader says).
    return set(test_names(exercise.hidden_tests)) if (exercise.hidden_tests or "").strip() else set()


@dataclass(frozen=True)
class AskedQuery:
    query: Query
    answer: Response | None


async def recent_queries(session: AsyncSession, *, student_id: str, limit: int) -> list[AskedQuery]:
    """The student's latest questions, newest first, each with its answer (or error) when it has arrived."""
    asked = list(
        (
            await session.execute(
                select(Query)
                .where(Query.student_id == student_id)
                .order_by(Query.created_at.desc(), Query.id)
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )
    answers: dict[str, Response] = {}
    if asked:
        responses = await session.execute(
            select(Response)
            .where(Response.query_id.in_([q.id for q in asked]), Response.kind != "ack")
            .order_by(Response.seq)
        )
        # Ascending seq: the last one stored per query wins, as ``queries.answer_for`` picks it.
        answers = {r.query_id: r for r in responses.scalars()}
    return [AskedQuery(query=q, answer=answers.get(q.id)) for q in asked]


async def recent_code(session: AsyncSession, *, alert: StruggleAlert) -> str | None:
    """The code the student last submitted before the alert (on its topic when it has one), truncated.

    Runs are not stored with their code (only whether they failed), so submissions are the code there is.
    """
    stmt = (
        select(Submission.code)
        .where(Submission.student_id == alert.student_id, Submission.created_at <= alert.created_at)
        .order_by(Submission.created_at.desc())
        .limit(1)
    )
    if alert.topic is not None:
        stmt = stmt.join(Exercise, Exercise.id == Submission.exercise_id).where(Exercise.topic == alert.topic)
    code = (await session.execute(stmt)).scalar_one_or_none()
    if code is None:
        return None
    return code if len(code) <= MAX_RECENT_CODE_CHARS else code[:MAX_RECENT_CODE_CHARS] + "\n# … (truncated)\n"
