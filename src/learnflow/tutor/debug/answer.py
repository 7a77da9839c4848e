"""Reproducing a student's error, explaining it, hinting, and offering only verified fixes."""

from __future__ import annotations

from typing import Any

from learnflow.ai import AIProvider
from learnflow.curriculum import Curriculum
from learnflow.sandbox import CodeRunner, ExecutionResult
from learnflow.tutor import compare, messages, pasted, probe
from learnflow.tutor.debug import fixes, llm, logic, source
from learnflow.tutor.debug.registry import specifics
from learnflow.tutor.debug.traceback import ParsedError, parse_traceback
from learnflow.tutor.localize import expected_output_case, localise
from learnflow.tutor.schemas import DebugAnswer


async def analyze(
    *,
    code: str | None,
    error_message: str | None,
    question: str,
    stdin: str,
    curriculum: Curriculum,
    sandbox: CodeRunner,
    ai: AIProvider,
    expected_output: str | None = None,
) -> DebugAnswer:
    """Reproduce, explain, hint, and fix (only if the fix runs).

    ``expected_output`` (or an expectation stated in ``question``, "it should print 15") turns a run
    without an exception into a logic-bug diagnosis: the two outputs are compared.
    """
    run: ExecutionResult | None = None
    parsed: ParsedError | None = None
    culprit: dict[str, Any] | None = None
    evidence: pasted.PastedEvidence | None = None
    if code and code.strip():
        run = await sandbox.run(code, stdin=stdin)
        if run.exit_code not in (0, None) or run.memory_exceeded:
            parsed = parse_traceback(run.stderr)
        if parsed is not None and parsed.error_type in ("IndexError", "KeyError"):
            # Which index against which length, which key against which keys: look at the values.
            culprit = probe.culprit(await probe.inspect_failure(sandbox, code, stdin=stdin), parsed.error_type)
    given = "\n\n".join(t for t in (error_message, question) if t and t.strip())
    if parsed is None and given and not (run is not None and _stopped(run)):
        # A traceback the student pasted is evidence even when the code alone runs clean: the failing
        # call came from a test or their own input. Never answer "no error" when an error was given.
        evidence = await pasted.from_pasted(text=given, code=code, sandbox=sandbox, stdin=stdin)
        if evidence is not None:
            parsed = ParsedError(evidence.error_type, evidence.message, evidence.line)
    if parsed is None and run is None and error_message:
        parsed = parse_traceback(error_message)
    answer = _offline_answer(
        code=code,
        run=run,
        parsed=parsed,
        error_message=error_message,
        curriculum=curriculum,
        culprit=culprit,
        evidence=evidence,
    )
    expected = expected_output if expected_output is not None else compare.expected_from_question(question)
    if run is not None and parsed is None and not _stopped(run) and run.exit_code == 0 and expected is not None:
        answer = await _wrong_output(answer, code=code or "", run=run, expected=expected, stdin=stdin, sandbox=sandbox)
    if run is not None:
        status = "stopped" if _stopped(run) else ("passed" if run.exit_code == 0 else "raised")
        answer = answer.model_copy(update={"run_status": status})
    if code and parsed and (evidence is None or evidence.reproduced):
        # With an expected output a fix must print it to be verified; without one, a fix that runs is
        # only a suggestion, and only rewrites that keep the program's meaning are tried.
        fix = await _fix(code, parsed, evidence, stdin=stdin, sandbox=sandbox, culprit=culprit, expected=expected)
        if fix:
            # A fix for a pasted error is checked only by its call no longer raising: a suggestion.
            kind = "verified" if expected is not None and evidence is None else "suggestion"
            answer = answer.model_copy(
                update={"corrected_code": fix, "fix_verified": kind == "verified", "fix_kind": kind}
            )
    if not ai.is_llm or not (code or error_message):
        return answer
    reference = curriculum.errors.get(answer.error_type or "")
    return await llm.with_llm(
        answer,
        code=code,
        error_message=error_message,
        question=question,
        stdin=stdin,
        sandbox=sandbox,
        ai=ai,
        expected=expected,
        reference=reference.explanation if reference else None,
    )


async def _fix(
    code: str,
    parsed: ParsedError,
    evidence: pasted.PastedEvidence | None,
    *,
    stdin: str,
    sandbox: CodeRunner,
    culprit: dict[str, Any] | None,
    expected: str | None,
) -> str | None:
    """A fix of ``code`` for ``parsed``; for a pasted error, checked with the failing call it came from."""
    if evidence is None or not evidence.failing_call:
        return await fixes.verified_fix(code, parsed, stdin=stdin, sandbox=sandbox, culprit=culprit, expected=expected)
    # The call goes after the code (as pasted.reproduce ran it), so line numbers stay the student's; a
    # candidate counts only if the call then runs, and the call is taken off again before it is shown.
    # With an expected output for the whole program there is nothing to compare the call's output with.
    tail = "\n\n" + evidence.failing_call.strip() + "\n"
    target = code.rstrip("\n") + tail
    fix = await fixes.verified_fix(target, parsed, stdin=stdin, sandbox=sandbox, culprit=culprit, expected=None)
    if fix is None or not fix.endswith(tail):
        return None
    return fix[: -len(tail)] + "\n"


async def _wrong_output(
    answer: DebugAnswer, *, code: str, run: ExecutionResult, expected: str, stdin: str, sandbox: CodeRunner
) -> DebugAnswer:
    """A run without an exception that printed something else than expected: find the line, then a fix."""
    difference = compare.explain(run.stdout, expected, code=code)
    explanation, hints = difference.explanation, difference.hints
    update: dict[str, object] = {}
    if difference.kind != "same":
        explanation, hints = logic.with_patterns(explanation, hints, code)
        fix = await logic.verified_fix(code, difference.kind, expected, stdin=stdin, sandbox=sandbox)
        found = await localise(code, expected_output_case(expected, stdin=stdin), sandbox, fix=fix is None)
        top = found.ranking[0] if found.status == "localised" and found.ranking else None
        # One expected output is one case: every line it ran is equally suspicious by the spectrum, so a
        # line is named only when a change there was verified to print the expected output.
        if top is not None and found.fix is not None and found.fix.verified and found.fix.line == top.line:
            explanation += f"\n\nThe line to look at is line {top.line}:\n\n```python\n{top.text}\n```"
            hints = [*found.hints[:2], *hints][:3]
            if fix is None:
                fix = found.fix.code
        if fix is not None:
            update = {"corrected_code": fix, "fix_verified": True, "fix_kind": "verified"}
    return answer.model_copy(update={"explanation": explanation, "hints": hints, **update})


def _offline_answer(
    *,
    code: str | None,
    run: ExecutionResult | None,
    parsed: ParsedError | None,
    error_message: str | None,
    curriculum: Curriculum,
    culprit: dict[str, Any] | None = None,
    evidence: pasted.PastedEvidence | None = None,
) -> DebugAnswer:
    output = run.stdout if run else None
    if run is not None and _stopped(run):
        if run.timed_out:
            what = "did not finish within the time limit, so it was stopped"
        elif run.output_truncated:
            what = "printed far more output than allowed, so it was stopped"
        elif run.memory_exceeded:
            what = "used more memory than allowed, so it was stopped"
        else:
            what = "used more CPU time than allowed, so it was stopped"
        return DebugAnswer(
            error_type=None,
            line=None,
            message=None,
            output=output[:2000] if output else output,
            corrected_code=None,
            fix_verified=False,
            explanation=(
                f"Your program {what}. The most common "
                "cause is a loop that never ends: a `while` condition that never becomes false, or a "
                "loop variable that is never updated."
            ),
            hints=[
                "Find the loop that keeps running. Which condition decides when it stops?",
                "Check that something inside the loop changes the value that condition tests.",
                "Add a `print()` inside the loop to watch the variable; make sure it moves towards the exit.",
            ],
        )
    if parsed is None:
        if run is not None:
            shown = run.stdout.rstrip() or "(nothing)"
            explanation = (
                "I ran your program and it finished without an error. It printed:\n\n"
                f"```\n{shown[:2000]}\n```\n\nIf that is not what you expected, the bug is in the logic rather "
                "than a crash. Tell me what output you expected and I can compare."
            )
            hints = [
                "Write down what you expected the program to print, line by line.",
                "Find the first line where the real output differs from what you expected.",
                "Add `print()` calls just before that point to see the values of your variables.",
            ]
        else:
            explanation = (
                "I could not find a Python error in what you sent. Paste the full error message (the last "
                "lines of the traceback) and, if you can, the code that produced it."
            )
            hints = [
                "Copy the whole traceback, from `Traceback (most recent call last):` to the last line.",
                "The last line names the error type, such as `NameError` or `TypeError`.",
                "Include your code so I can run it and see the error myself.",
            ]
        return DebugAnswer(
            error_type=None,
            line=None,
            message=None,
            explanation=explanation,
            hints=hints,
            corrected_code=None,
            fix_verified=False,
            output=output,
        )
    info = curriculum.errors.get(parsed.error_type)
    specific, first_hint = specifics(parsed, code, culprit)
    specific, first_hint = source.articles(specific), source.articles(first_hint) if first_hint else first_hint
    where = f" on line {parsed.line}" if parsed.line else ""
    line_text = source.line(code, parsed.line)
    article = "an" if parsed.error_type[0] in "AEIOU" else "a"
    if evidence is not None and run is not None and run.exit_code == 0:
        parts = [f"The traceback you pasted shows {article} **{parsed.error_type}**{where} of your code"]
    else:
        parts = [f"Your program stopped with {article} **{parsed.error_type}**{where}"]
    if line_text:
        parts[0] += f":\n\n```python\n{line_text.strip()}\n```\n"
    else:
        parts[0] += "."
    if evidence is not None and run is not None and run.exit_code == 0:
        parts.append(_evidence_note(evidence))
    parts.append(f"Python says: `{parsed.error_type}: {parsed.message}`" if parsed.message else "")
    if specific:
        parts.append(specific)
    # What this message means (max() of an empty sequence, pop from an empty list, ...) before what the
    # exception type means in general.
    said = messages.explain_message(parsed.error_type, parsed.message or "")
    if said is not None:
        parts.append(said.explanation.strip())
        causes = "\n".join(f"- {c}" for c in said.causes[:4])
        parts.append(f"Common causes:\n{causes}")
    elif info:
        parts.append(info.explanation.strip())
        causes = "\n".join(f"- {c}" for c in info.common_causes[:4])
        parts.append(f"Common causes:\n{causes}")
    else:
        parts.append("Read the last line of the traceback: it names the error and says what Python could not do.")
    hints = (
        list(said.hints)
        if said is not None
        else list(info.hints)
        if info
        else [
            "Look at the line the traceback points to.",
            "Check the values of the variables used on that line (print them).",
            "Compare what the line expects with what it actually receives.",
        ]
    )
    if first_hint:
        hints = [first_hint, *hints[1:]]
    return DebugAnswer(
        error_type=parsed.error_type,
        line=parsed.line,
        message=parsed.message or None,
        explanation="\n\n".join(p for p in parts if p),
        hints=hints[:3],
        corrected_code=None,
        fix_verified=False,
        output=output,
    )


def _evidence_note(evidence: pasted.PastedEvidence) -> str:
    """How the pasted error relates to the run of the code alone (which finished without one)."""
    call = evidence.failing_call
    if call and evidence.reproduced:
        return (
            f"Your code on its own runs without an error; I called `{call}` as your traceback shows and got the "
            "same error."
        )
    if call:
        return (
            f"Your code on its own runs without an error, and calling `{call}` did not raise it here either: the "
            "code you sent may differ from the code that failed, or the failing call used other values."
        )
    return (
        "Your code on its own runs without an error: the error happens when your code is called, as in the "
        "traceback (by a test or with your input), so look at what that call passes in."
    )


def _stopped(run: ExecutionResult) -> bool:
    """The sandbox ended the program: out of time, flooding its output, or killed at a resource limit.

    A program killed by a signal without a Python traceback (the CPU-time or memory limit) did not
    "finish without an error", whatever its output says.
    """
    killed = run.exit_code is not None and run.exit_code < 0 and "Traceback (most recent call last)" not in run.stderr
    return run.timed_out or (run.output_truncated and run.exit_code != 0) or killed
