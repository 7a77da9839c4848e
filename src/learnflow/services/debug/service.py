"""Debug logic shared by the HTTP route and the event handler."""

from __future__ import annotations

from learnflow.bus import Outcome
from learnflow.db.models import Exercise
from learnflow.errors import NotFound
from learnflow.events import CloudEvent, LearningQuery
from learnflow.runtime import Runtime
from learnflow.sandbox import queued_as_student
from learnflow.services import budget, render
from learnflow.services.answers import reply
from learnflow.services.struggle import record_run
from learnflow.tutor import debug, exercises
from learnflow.tutor.schemas import DebugAnswer


@queued_as_student
async def analyze(
    rt: Runtime,
    *,
    code: str | None,
    error_message: str | None,
    question: str,
    stdin: str,
    student_id: str | None = None,
    expected_output: str | None = None,
    exercise_id: str | None = None,
    strict_exercise: bool = True,
) -> DebugAnswer:
    """Analyse the code; a student's run counts towards struggle detection.

    Code for an exercise (named, or recognisably the student's open assignment) is also run against
    the exercise's visible tests, and never gets a corrected program: that would be the solution.
    """
    exercise = await _exercise_context(
        rt, student_id=student_id, exercise_id=exercise_id, code=code, strict=strict_exercise
    )
    answer = await debug.analyze(
        code=code,
        error_message=error_message,
        question=question,
        stdin=stdin,
        curriculum=rt.curriculum,
        sandbox=rt.sandbox,
        # Nothing to run or read means no LLM call, so nothing is charged to the budget.
        ai=await budget.ai_for(rt, student_id=student_id, agent="debug") if (code or error_message) else rt.ai,
        expected_output=expected_output,
    )
    if exercise is not None and code:
        answer = await debug.against_exercise(
            answer,
            code=code,
            title=exercise.title,
            exercise_id=exercise.id,
            tests=exercise.visible_tests,
            io_tests=exercises.io_cases(exercise),
            hints=list(exercise.hints or []),
            grader=rt.grader,
            sandbox=rt.sandbox,
            reference=exercise.solution,
        )
    if student_id and answer.run_status != "not_run":
        await record_run(rt, student_id=student_id, ok=answer.run_status == "passed", error_type=answer.error_type)
    return answer


async def _exercise_context(
    rt: Runtime, *, student_id: str | None, exercise_id: str | None, code: str | None, strict: bool
) -> Exercise | None:
    """The exercise this code is for: the one named, else the student's open assignment if the code is for it.

    An unknown ``exercise_id`` is a NotFound when ``strict`` (HTTP), else ignored (an event cannot be fixed).
    """
    async with rt.reading() as session:
        if exercise_id:
            named = await session.get(Exercise, exercise_id)
            if named is not None:
                return named
            if strict:
                raise NotFound(f"exercise {exercise_id!r} does not exist")
        if not student_id or not code:
            return None
        exercise = await exercises.open_assignment(session, student_id=student_id)
    if exercise is None or not debug.looks_like_attempt(
        code, starter=exercise.starter_code, solution=exercise.solution
    ):
        return None
    return exercise


async def on_query(rt: Runtime, event: CloudEvent[LearningQuery]) -> Outcome:
    q = event.data
    answer = await analyze(
        rt,
        code=q.code,
        error_message=q.error_message,
        question=q.query,
        stdin=q.stdin or "",
        student_id=q.student_id,
        expected_output=q.expected_output,
        exercise_id=q.exercise_id,
        strict_exercise=False,
    )
    return await reply(
        rt,
        event,
        agent="debug",
        content=render.debug(answer),
        data=answer.model_dump(mode="json"),
        source=answer.source,
    )
