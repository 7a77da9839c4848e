"""Concepts logic shared by the HTTP route and the event handler."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from learnflow.bus import Outcome
from learnflow.db.models import Progress
from learnflow.db.session import core, table_of
from learnflow.events import CloudEvent, LearningQuery
from learnflow.runtime import Runtime
from learnflow.sandbox import queued_as_student
from learnflow.services import budget, render
from learnflow.services.answers import reply
from learnflow.tutor import concepts, exercises
from learnflow.tutor.concepts import Level
from learnflow.tutor.schemas import ConceptAnswer
from learnflow.tutor.triage import feelings_only


async def level_for(rt: Runtime, *, student_id: str | None, question: str, topic_hint: str | None = None) -> Level:
    """Intermediate once the student is past Beginner on the topic asked about."""
    if not student_id:
        return "beginner"
    topic = rt.curriculum.best_topic(question) or rt.curriculum.topics.get(topic_hint or "")
    if topic is None:
        return "beginner"
    async with rt.reading() as session:
        mastery = await (await core(session)).scalar(_MASTERY, {"student_id": student_id, "topic": topic.id})
    return "intermediate" if mastery is not None and mastery > 40 else "beginner"


# One column, built once (see ``db.session``): loading the whole ORM row was 5 % of a question's CPU time.
_progress = table_of(Progress).c
_MASTERY = select(_progress.mastery).where(
    _progress.student_id == bindparam("student_id"), _progress.topic == bindparam("topic")
)


@queued_as_student
async def explain(
    rt: Runtime,
    *,
    question: str,
    student_id: str | None,
    level: Level | None,
    code: str | None = None,
    topic_hint: str | None = None,
) -> ConceptAnswer:
    """``topic_hint`` is triage's topic (from the question or, for a follow-up, the session's last one)."""
    hinted = topic_hint in rt.curriculum.topics
    if not (code and code.strip()) and feelings_only(question):
        # Stuck, with nothing named: the session's topic if it has one, else a question back, never a guess.
        chosen = level or await level_for(rt, student_id=student_id, question="", topic_hint=topic_hint)
        if hinted:
            return concepts.still_on(rt.curriculum.topics[topic_hint or ""], chosen)
        return concepts.clarify(chosen)
    chosen = level or await level_for(rt, student_id=student_id, question=question, topic_hint=topic_hint)
    if not (code and code.strip()) and not hinted and concepts.is_off_topic(question, rt.curriculum):
        return concepts.redirect(rt.curriculum, chosen)  # no LLM call, nothing charged to the budget
    ai = await budget.ai_for(rt, student_id=student_id, agent="concepts")
    return await concepts.explain(
        question=question,
        level=chosen,
        code=code,
        curriculum=rt.curriculum,
        sandbox=rt.sandbox,
        ai=ai,
        guard=await _guard(rt, student_id) if ai.is_llm else None,
        topic_hint=topic_hint if hinted else None,
    )


async def _guard(rt: Runtime, student_id: str | None) -> concepts.SolutionGuard | None:
    """The student's open exercise, whose solution an LLM example must not be."""
    if not student_id:
        return None
    async with rt.db.session() as session:
        exercise = await exercises.open_assignment(session, student_id=student_id)
    if exercise is None:
        return None
    return concepts.SolutionGuard(
        description=exercise.description,
        tests=exercises.all_tests(exercise),
        io_tests=exercises.io_cases(exercise),
        grader=rt.grader,
    )


async def on_query(rt: Runtime, event: CloudEvent[LearningQuery]) -> Outcome:
    q = event.data
    answer = await explain(rt, question=q.query, student_id=q.student_id, level=None, code=q.code, topic_hint=q.topic)
    return await reply(
        rt,
        event,
        agent="concepts",
        content=render.concept(answer),
        data=answer.model_dump(mode="json"),
        source=answer.source,
    )
