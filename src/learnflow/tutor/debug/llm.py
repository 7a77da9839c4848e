"""The LLM path: the model rewrites the offline diagnosis; any code it proposes is run before it is offered."""

from __future__ import annotations

import logging

from learnflow.ai import AIProvider, AIUnavailable
from learnflow.sandbox import CodeRunner
from learnflow.tutor import compare
from learnflow.tutor.prompts import DEBUG_SYSTEM, fence
from learnflow.tutor.schemas import DebugAnswer, LLMDebugText

log = logging.getLogger(__name__)


async def with_llm(
    answer: DebugAnswer,
    *,
    code: str | None,
    error_message: str | None,
    question: str,
    stdin: str,
    sandbox: CodeRunner,
    ai: AIProvider,
    expected: str | None = None,
    reference: str | None = None,
) -> DebugAnswer:
    facts = answer.model_dump_json(include={"error_type", "line", "message", "run_status", "output"})
    user = (
        f"Student question: {fence(question)}\nStudent code: {fence(code)}\n"
        f"Error the student reported: {fence(error_message)}\n"
        f"What really happened when we ran it: {facts}\n"
        f"Output the student expected: {fence(expected)}\n"
        f"Our diagnosis so far (correct, build on it): {fence(answer.explanation)}\n"
        f"Curriculum reference for this error: {fence(reference)}"
    )
    try:
        generated = await ai.generate(system=DEBUG_SYSTEM, user=user, schema=LLMDebugText)
    except AIUnavailable as exc:
        log.info("debug fell back to the offline answer: %s", exc)
        return answer.model_copy(update={"source": "offline-fallback"})
    update: dict[str, object] = {"explanation": generated.explanation, "source": "llm"}
    if len(generated.hints) >= 3:
        update["hints"] = generated.hints[:3]
    # The LLM's fix replaces no verified fix, and no suggestion when it could only be a suggestion too.
    if generated.corrected_code and not answer.fix_verified and (expected is not None or not answer.corrected_code):
        result = await sandbox.run(generated.corrected_code, stdin=stdin)
        # "Runs" makes a suggestion; printing what the student expected makes it verified.
        if result.ok and expected is None:
            update.update(corrected_code=generated.corrected_code, fix_verified=False, fix_kind="suggestion")
        elif result.ok and expected is not None and compare.same_output(result.stdout, expected):
            update.update(corrected_code=generated.corrected_code, fix_verified=True, fix_kind="verified")
    return answer.model_copy(update=update)
