"""Reproducing a student's error, explaining it, hinting, and offering only verified fixes."""

from __future__ import annotations

import ast
import builtins
import difflib
import importlib
import io
import itertools
import json
import keyword
import logging
import re
import sys
import tokenize
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from learnflow.ai import AIProvider, AIUnavailable
from learnflow.curriculum import Curriculum
from learnflow.sandbox import CodeRunner, ExecutionResult
from learnflow.sandbox.grading import GradesCode, IOCase
from learnflow.tutor import compare, fixsafety, patterns, probe
from learnflow.tutor.prompts import DEBUG_SYSTEM, fence
from learnflow.tutor.schemas import DebugAnswer, LLMDebugText

log = logging.getLogger(__name__)

_LAST_LINE = re.compile(
    r"^(?P<type>[A-Za-z_][\w.]*(Error|Exception|Warning|Exit|Interrupt|Iteration)\w*)(?::\s?(?P<msg>.*))?$"
)
_GENERIC_LAST = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<msg>.*))?$")
_FILE_LINE = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')
_MAIN_FILES = ("main.py", "<string>", "<stdin>")
# Methods beginners borrow from other languages, and what Python calls them.
_METHOD_MIXUPS = {
    ("list", "push"): "append",
    ("list", "add"): "append",
    ("str", "toUpperCase"): "upper",
    ("str", "toLowerCase"): "lower",
    ("str", "uppercase"): "upper",
    ("str", "lowercase"): "lower",
    ("str", "trim"): "strip",
    ("set", "append"): "add",
    ("set", "push"): "add",
}


@dataclass(frozen=True)
class ParsedError:
    error_type: str
    message: str
    line: int | None


def parse_traceback(text: str, *, files: tuple[str, ...] = _MAIN_FILES) -> ParsedError | None:
    """Find the exception type, message and the student's line in a traceback or error message."""
    lines = [ln.rstrip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return None
    found: ParsedError | None = None
    for candidate in reversed(lines):
        stripped = candidate.strip()
        match = _LAST_LINE.match(stripped)
        if match:
            found = ParsedError(match["type"].rsplit(".", 1)[-1], (match["msg"] or "").strip(), None)
            break
    if found is None:
        match = _GENERIC_LAST.match(lines[-1].strip())
        if not match or not lines[-1].strip()[0].isupper() or " " in match["type"]:
            return None
        found = ParsedError(match["type"].rsplit(".", 1)[-1], (match["msg"] or "").strip(), None)
    line: int | None = None
    for m in _FILE_LINE.finditer(text):
        if any(m["file"].endswith(f) for f in files) or not files:
            line = int(m["line"])
    if line is None:
        # A pasted message such as "NameError on line 3" or one frame from another file name.
        frames = list(_FILE_LINE.finditer(text))
        if frames:
            line = int(frames[-1]["line"])
        else:
            loose = re.search(r"\bline (\d+)\b", text)
            line = int(loose.group(1)) if loose else None
    return ParsedError(found.error_type, found.message, line)


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
    if code and code.strip():
        run = await sandbox.run(code, stdin=stdin)
        if run.exit_code not in (0, None) or run.memory_exceeded:
            parsed = parse_traceback(run.stderr)
        if parsed is not None and parsed.error_type in ("IndexError", "KeyError"):
            # Which index against which length, which key against which keys: look at the values.
            culprit = probe.culprit(await probe.inspect_failure(sandbox, code, stdin=stdin), parsed.error_type)
    if parsed is None and run is None and error_message:
        parsed = parse_traceback(error_message)
    answer = _offline_answer(
        code=code, run=run, parsed=parsed, error_message=error_message, curriculum=curriculum, culprit=culprit
    )
    expected = expected_output if expected_output is not None else compare.expected_from_question(question)
    if run is not None and parsed is None and not _stopped(run) and run.exit_code == 0 and expected is not None:
        difference = compare.explain(run.stdout, expected, code=code or "")
        explanation, hints = difference.explanation, difference.hints
        update: dict[str, object] = {}
        if difference.kind != "same":
            explanation, hints = with_patterns(explanation, hints, code or "")
            fix = await _verified_logic_fix(code or "", difference.kind, expected, stdin=stdin, sandbox=sandbox)
            if fix is not None:
                update = {"corrected_code": fix, "fix_verified": True, "fix_kind": "verified"}
        answer = answer.model_copy(update={"explanation": explanation, "hints": hints, **update})
    if run is not None:
        status = "stopped" if _stopped(run) else ("passed" if run.exit_code == 0 else "raised")
        answer = answer.model_copy(update={"run_status": status})
    if code and parsed:
        # With an expected output a fix must print it to be verified; without one, a fix that runs is
        # only a suggestion, and only rewrites that keep the program's meaning are tried.
        fix = await _verified_fix(code, parsed, stdin=stdin, sandbox=sandbox, culprit=culprit, expected=expected)
        if fix:
            kind = "verified" if expected is not None else "suggestion"
            answer = answer.model_copy(
                update={"corrected_code": fix, "fix_verified": kind == "verified", "fix_kind": kind}
            )
    if not ai.is_llm or not (code or error_message):
        return answer
    reference = curriculum.errors.get(answer.error_type or "")
    return await _with_llm(
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


def _offline_answer(
    *,
    code: str | None,
    run: ExecutionResult | None,
    parsed: ParsedError | None,
    error_message: str | None,
    curriculum: Curriculum,
    culprit: dict[str, Any] | None = None,
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
    specific, first_hint = _articles(specific), _articles(first_hint) if first_hint else first_hint
    where = f" on line {parsed.line}" if parsed.line else ""
    line_text = _line(code, parsed.line)
    article = "an" if parsed.error_type[0] in "AEIOU" else "a"
    parts = [f"Your program stopped with {article} **{parsed.error_type}**{where}"]
    if line_text:
        parts[0] += f":\n\n```python\n{line_text.strip()}\n```\n"
    else:
        parts[0] += "."
    parts.append(f"Python says: `{parsed.error_type}: {parsed.message}`" if parsed.message else "")
    if specific:
        parts.append(specific)
    if info:
        parts.append(info.explanation.strip())
        causes = "\n".join(f"- {c}" for c in info.common_causes[:4])
        parts.append(f"Common causes:\n{causes}")
    else:
        parts.append("Read the last line of the traceback: it names the error and says what Python could not do.")
    hints = (
        list(info.hints)
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


def with_patterns(explanation: str, hints: list[str], code: str) -> tuple[str, list[str]]:
    """Add the beginner bug patterns found in ``code`` to a confirmed logic bug's explanation and hints."""
    found = patterns.find(code)
    if not found:
        return explanation, hints
    causes = "\n".join(f"- line {p.line}: {p.text}" for p in found[:3])
    first = found[0]
    return (
        f"{explanation}\n\n**Likely cause{'s' if len(found) > 1 else ''}**\n\n{causes}",
        [hints[0], f"Look closely at line {first.line}: `{(_line(code, first.line) or '').strip()}`", first.hint],
    )


def _stopped(run: ExecutionResult) -> bool:
    """The sandbox ended the program: out of time, flooding its output, or killed at a resource limit.

    A program killed by a signal without a Python traceback (the CPU-time or memory limit) did not
    "finish without an error", whatever its output says.
    """
    killed = run.exit_code is not None and run.exit_code < 0 and "Traceback (most recent call last)" not in run.stderr
    return run.timed_out or (run.output_truncated and run.exit_code != 0) or killed


def _line(code: str | None, number: int | None) -> str | None:
    if not code or not number:
        return None
    lines = code.splitlines()
    return lines[number - 1] if 0 < number <= len(lines) else None


def _defined_names(code: str | None) -> list[str]:
    if not code:
        return []
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return sorted(set(re.findall(r"\b[A-Za-z_]\w*\b", code)) - set(keyword.kwlist))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return sorted(names)


def _subscript_specifics(kind: str, item: dict[str, Any]) -> tuple[str, str]:
    """Say which index met which length, or which key met which keys, from the probed values."""
    container, index, index_expr = item["container"], item["index"], item["index_expr"]
    value = f"`{index_expr}` is `{index}`" if index_expr != index else f"the index is `{index}`"
    if kind == "IndexError":
        length = int(item["length"])
        unit = "character" if item["type"] == "str" else "item"
        if length == 0:
            return (
                f"On that line {value}, but `{container}` is empty (length 0): there is no position to read.",
                f"Where should `{container}` get its items? Check that it is filled before this line.",
            )
        text = (
            f"On that line {value}, but `{container}` (a {item['type']}) has {length} {unit}"
            f"{'s' if length != 1 else ''}, so its valid positions are 0 to {length - 1} "
            f"(or -{length} to -1 from the end)."
        )
        if index == str(length):
            text += (
                f" Position {length} is one past the end: a classic off-by-one, often from `range(len(...) + 1)`, "
                "`<=` in a loop condition, or using the length itself as the last index."
            )
        return (
            text,
            f"`{container}` has {length} {unit}s; which values does `{index_expr}` take, and is the last one below "
            f"{length}?",
        )
    keys = item.get("keys") or []
    shown = ", ".join(keys) if keys else "none (it is empty)"
    more = f" (and {item['key_count'] - len(keys)} more)" if item.get("key_count", 0) > len(keys) else ""
    text = f"On that line {value}, but `{container}` has no such key. Its keys are: {shown}{more}."
    near = [k for k in keys if k.lower() == index.lower() and k != index]
    close = near or difflib.get_close_matches(index, keys, n=1, cutoff=0.75)
    if close:
        text += f" Did you mean {close[0]}?" + (" Keys are case-sensitive." if near else "")
    return (
        text,
        f"Compare {index} with the keys of `{container}`. If a key may be missing, test `{index_expr} in "
        f"{container}` first or use `{container}.get({index_expr})`.",
    )


def specifics(parsed: ParsedError, code: str | None, culprit: dict[str, Any] | None = None) -> tuple[str, str | None]:
    """A sentence about this very case and a first hint that points at it."""
    msg = parsed.message
    kind = parsed.error_type
    if culprit is not None and kind in ("IndexError", "KeyError"):
        return _subscript_specifics(kind, culprit)
    if kind in ("NameError", "UnboundLocalError"):
        m = re.search(r"(?:name|local variable) '([^']+)'", msg)
        if m:
            name = m.group(1)
            suggestion = re.search(r"Did you mean: '([^']+)'", msg)
            close = (
                [suggestion.group(1)]
                if suggestion
                else difflib.get_close_matches(name, [*_defined_names(code), *dir(__builtins__)], n=3, cutoff=0.75)
            )
            # A name of another kind (the builtin `id` for a variable) is not offered as the spelling.
            close = [c for c in close if c != name and (code is None or fixsafety.same_kind(code, name, c))]
            text = f"Python does not know any variable or function called `{name}` at that point."
            unbound = _unbound_specifics(code, name, parsed.line) if kind == "UnboundLocalError" else None
            if unbound is not None:
                return unbound
            if kind == "UnboundLocalError":
                text = (
                    f"`{name}` is assigned somewhere inside the function, which makes it local to the "
                    "whole function, but it is used before that assignment."
                )
            if close:
                text += " Names that do exist and look similar: " + ", ".join(f"`{c}`" for c in close) + "."
                return text, f"Check the spelling of `{name}`: did you mean `{close[0]}`?"
            return (
                text,
                f"Where do you give `{name}` a value? It must be assigned (or defined) before this line.",
            )
    if kind == "AttributeError":
        m = re.search(r"'(\w+)' object has no attribute '(\w+)'", msg)
        if m and m.group(1) != "NoneType":  # None is its own story (the table below)
            suggestion = re.search(r"Did you mean: '([^']+)'", msg)
            text = f"A value of type `{m.group(1)}` has no attribute or method called `{m.group(2)}`."
            if suggestion:
                text += f" Python suggests `{suggestion.group(1)}`."
            elif (m.group(1), m.group(2)) in _METHOD_MIXUPS:
                better = _METHOD_MIXUPS[(m.group(1), m.group(2))]
                text += f" In Python that method is called `{better}`."
                return (
                    text,
                    f"`{m.group(2)}` is what other languages call it; what does Python call it on a `{m.group(1)}`?",
                )
            return (
                text,
                f"Which methods does a `{m.group(1)}` have? Try `help({m.group(1)})` or `dir({m.group(1)})`.",
            )
    if kind == "TypeError":
        m = re.search(r"unsupported operand type\(s\) for (.+?): '(\w+)' and '(\w+)'", msg)
        if m:
            return (
                f"The operator `{m.group(1)}` was used between a `{m.group(2)}` and a `{m.group(3)}`, "
                "and Python does not know how to combine those two types.",
                f"Which value on that line is a `{m.group(3)}` when you expected a `{m.group(2)}` (or the reverse)?",
            )
        m = re.search(r'can only concatenate (\w+) \(not "(\w+)"\) to (\w+)', msg)
        if m:
            return (
                f"You tried to join a `{m.group(2)}` onto a `{m.group(1)}` with `+`; both sides must be text.",
                f"Convert the `{m.group(2)}` to text with `str(...)`, or use an f-string.",
            )
    if kind == "IndexError":
        return (
            "You asked for a position that does not exist. Positions start at 0, so the last valid index of a "
            "list of length n is n - 1.",
            "Print the length of the sequence and the index you use just before that line.",
        )
    if kind == "KeyError":
        return (
            f"The dictionary has no key {msg or '(the key shown above)'}.",
            f"Print the dictionary's keys (`print(d.keys())`) and compare them with {msg or 'the key'}.",
        )
    if kind == "ZeroDivisionError":
        return (
            "Something on that line was divided by zero.",
            "Which divisor on that line can be 0? Check it first.",
        )
    if kind == "ModuleNotFoundError":
        m = re.search(r"No module named '([^']+)'", msg)
        if m:
            return (
                f"The module `{m.group(1)}` is not installed where your program runs (student programs here "
                "can use only Python's standard library).",
                f"Is `{m.group(1)}` spelled right? If it is a third-party package, install it with pip in a venv.",
            )
    if kind in ("SyntaxError", "IndentationError", "TabError"):
        return _syntax_specifics(kind, msg), None
    for error_kind, pattern, explain in _MESSAGE_SPECIFICS:
        if error_kind == kind and (m := pattern.search(msg)):
            return explain(m)
    return "", None


def _unbound_specifics(code: str | None, name: str, line: int | None) -> tuple[str, str] | None:
    """Why this local variable has no value: a loop or branch that did not run, or a module name changed."""
    facts = fixsafety.unbound_local(code, name, line) if code and line else None
    if facts is None:
        return None
    if facts.updates_module_name:
        return (
            f"`{name}` is also a module-level variable, and `{facts.function}` assigns it, which makes `{name}` "
            f"local to the whole function: inside `{facts.function}` the module's `{name}` is not used. To "
            f"change the module's `{name}`, declare `global {name}` as the function's first line (or pass the "
            "value in and return the new one).",
            f"Does `{facts.function}` mean to change the module's `{name}`? Then say `global {name}` at its top.",
        )
    if facts.guard is None:
        return None
    where = f"the {facts.guard} on line {facts.guard_line}"
    start = f"`{name} = {facts.initial}`"
    if facts.only_augmented:
        return (
            f"`{name}` is only ever updated (`{name} += …`) in `{facts.function}`, never given a starting value, "
            f"so the first update has nothing to add to. Give it a starting value before {where}, such as {start}.",
            f"What should `{name}` be before {where} starts? Assign that before it.",
        )
    return (
        f"`{name}` is only given a value inside {where} of `{facts.function}`. When that "
        f"{'loop runs zero times' if 'loop' in facts.guard else 'code does not run'}, as it did here, `{name}` "
        f"has no value when line {line} uses it. Give it a starting value before {where} (for example {start}), "
        "or make sure every path assigns it. (`global` would not help: it is the function's own variable.)",
        f"What should `{name}` be when {where} does not run? Assign that before line {facts.guard_line}.",
    )


def _articles(text: str) -> str:
    """'a `int`' -> 'an `int`' in generated sentences."""
    text = re.sub(r"\ba (`[aeiouAEIOU])", r"an \1", text)
    return re.sub(r"\bA (`[aeiouAEIOU])", r"An \1", text)


def _file(path: str) -> str:
    # The sandbox's working folder is an implementation detail; the student knows the file's name.
    return path.rsplit("/", 1)[-1] if path.startswith("/tmp/") else path


def _none_value(attr_or_call: str) -> str:
    return (
        f"The value is `None`, so it has no {attr_or_call}. `None` usually comes from a function that has no "
        "`return` (it returns `None`), or from list methods like `.sort()` / `.append()`, which change the list "
        "and return `None`."
    )


# (exception type, message pattern, (explanation, first hint)) for the messages beginners meet most.
_Specific = Callable[[re.Match[str]], tuple[str, str]]
_MESSAGE_SPECIFICS: list[tuple[str, re.Pattern[str], _Specific]] = [
    (
        "TypeError",
        re.compile(r"'NoneType' object is not (callable|subscriptable|iterable)"),
        lambda m: (
            _none_value("way to be " + m.group(1).replace("callable", "called").replace("subscriptable", "indexed")),
            "Which expression on that line is `None`? Print it, then find where it got its value.",
        ),
    ),
    (
        "TypeError",
        re.compile(r"'(\w+)' object is not subscriptable"),
        lambda m: (
            f"You used `[...]` on a `{m.group(1)}`, but a `{m.group(1)}` has no items to pick from"
            + (
                ": a function is called with `( )`, not indexed with `[ ]`."
                if m.group(1) in ("function", "builtin_function_or_method", "method")
                else "."
            ),
            f"Which value on that line is a `{m.group(1)}`? Did you mean to index a list or string instead?",
        ),
    ),
    (
        "TypeError",
        re.compile(r"'(\w+)' object is not callable"),
        lambda m: (
            f"You put `(...)` after a `{m.group(1)}` value as if it were a function. This happens when a variable "
            "reuses a function's name (`list = [...]`, `sum = 0`, `input = ...`), hiding the function.",
            f"Which name on that line holds a `{m.group(1)}`? Was it assigned earlier with the same name as a "
            "function?",
        ),
    ),
    (
        "TypeError",
        re.compile(r"'(\w+)' object is not iterable|cannot unpack non-iterable (\w+) object"),
        lambda m: (
            f"A `{m.group(1) or m.group(2)}` is a single value, so it cannot be looped over or unpacked."
            + (" To repeat n times, loop over `range(n)`." if (m.group(1) or m.group(2)) == "int" else ""),
            "What are you looping over (or unpacking)? Print its value and type.",
        ),
    ),
    (
        "TypeError",
        re.compile(r"(\w+(?:\.\w+)?)\(\) missing (\d+) required positional arguments?: (.+)"),
        lambda m: (
            f"`{m.group(1)}()` needs {m.group(3).replace(' and ', ', ')} but the call does not pass "
            f"{'it' if m.group(2) == '1' else 'them'}.",
            f"Compare the call with the `def {m.group(1).split('.')[-1]}(...)` line: count the arguments.",
        ),
    ),
    (
        "TypeError",
        re.compile(r"(\w+(?:\.\w+)?)\(\) takes (\d+) positional arguments? but (\d+) (?:was|were) given"),
        lambda m: (
            f"`{m.group(1)}()` is defined with {m.group(2)} parameter(s) but was called with {m.group(3)}."
            + (
                " For a method, Python passes the object itself as the first argument: the `def` needs `self`."
                if "." in m.group(1) and int(m.group(3)) == int(m.group(2)) + 1
                else ""
            ),
            f"Compare the call with the `def {m.group(1).split('.')[-1]}(...)` line: count the parameters.",
        ),
    ),
    (
        "TypeError",
        re.compile(r"'(\w+)' object does not support item assignment"),
        lambda m: (
            f"A `{m.group(1)}` cannot be changed in place: it is immutable, so `x[i] = ...` is not allowed.",
            f"Build a new {m.group(1)} instead (for text: slicing and `+`, or convert to a list and back).",
        ),
    ),
    (
        "TypeError",
        re.compile(r"'(.+?)' not supported between instances of '(\w+)' and '(\w+)'"),
        lambda m: (
            f"`{m.group(1)}` was used to compare a `{m.group(2)}` with a `{m.group(3)}`; Python cannot order "
            "values of different kinds."
            + (" Text from `input()` is a `str`: convert it with `int(...)`." if "str" in m.group(0) else ""),
            f"Which side is the `{m.group(2)}` and which the `{m.group(3)}`? Convert one so both match.",
        ),
    ),
    (
        "TypeError",
        re.compile(r"object of type '(\w+)' has no len\(\)"),
        lambda m: (
            f"`len()` counts the items of a collection, but it got a `{m.group(1)}`.",
            f"Which value is the `{m.group(1)}`? For a number of digits, use `len(str(n))`.",
        ),
    ),
    (
        "TypeError",
        re.compile(r"can't multiply sequence by non-int of type '(\w+)'"),
        lambda m: (
            f"A list or string was multiplied by a `{m.group(1)}`; repeating needs a whole number, and the "
            "sequence may be text that should have been converted to a number first.",
            "Is one side of `*` text from `input()`? Convert it with `int()` or `float()`.",
        ),
    ),
    (
        "TypeError",
        re.compile(r"(list|tuple|string) indices must be integers(?: or slices)?, not (\w+)"),
        lambda m: (
            f"A {m.group(1)} position must be a whole number, but a `{m.group(2)}` was used"
            + (
                ": to look things up by name, use a dictionary."
                if m.group(2) == "str" and m.group(1) != "string"
                else "."
            ),
            f"Which value inside `[ ]` is a `{m.group(2)}`? Convert it with `int()` or use a dict.",
        ),
    ),
    (
        "TypeError",
        re.compile(r"unhashable type: '(\w+)'"),
        lambda m: (
            f"A `{m.group(1)}` can change, so it cannot be a dictionary key or a set item.",
            "Use a tuple instead of a list as the key, or rethink what the key should be.",
        ),
    ),
    (
        "ValueError",
        re.compile(r"invalid literal for int\(\) with base 10: (.+)"),
        lambda m: (
            f"`int()` was given the text {m.group(1)}, which is not a whole number"
            + (
                " (it has a decimal point: use `float()`, or `int(float(...))`)."
                if "." in m.group(1)
                else " (an empty text means the input was empty)."
                if m.group(1) in ("''", '""')
                else "."
            ),
            f"Print the text before converting it. What should happen when the user types {m.group(1)}?",
        ),
    ),
    (
        "ValueError",
        re.compile(r"could not convert string to float: (.+)"),
        lambda m: (
            f"`float()` was given the text {m.group(1)}, which is not a number.",
            "Print the text before converting it, and check for commas, units or spaces.",
        ),
    ),
    (
        "ValueError",
        re.compile(
            r"too many values to unpack \(expected (\d+)\)|not enough values to unpack \(expected (\d+), got (\d+)\)"
        ),
        lambda m: (
            f"The left side of `=` names {m.group(1) or m.group(2)} variable(s), but the value on the right has "
            + ("more items." if m.group(1) else f"only {m.group(3)}."),
            "Print the value on the right of `=`: how many items does it really have?",
        ),
    ),
    (
        "ValueError",
        re.compile(r"(.+) is not in list|list\.remove\(x\): x not in list"),
        lambda m: (
            "The list does not contain the value you asked for"
            + (f" ({m.group(1)})" if m.group(1) else "")
            + ": `.index()` and `.remove()` need it to be there.",
            "Check with `if value in my_list:` first, and print the list to compare.",
        ),
    ),
    (
        "ValueError",
        re.compile(r"math domain error"),
        lambda m: (
            "A math function got a value outside what it accepts, such as `math.sqrt` of a negative number or "
            "`math.log(0)`.",
            "Print the value passed to the math function on that line.",
        ),
    ),
    (
        "AttributeError",
        re.compile(r"'NoneType' object has no attribute '(\w+)'"),
        lambda m: (
            _none_value(f"`.{m.group(1)}`"),
            "Which variable on that line is `None`? Find where it got its value.",
        ),
    ),
    (
        "AttributeError",
        re.compile(r"module '(\w+)' has no attribute '(\w+)'"),
        lambda m: (
            f"The module `{m.group(1)}` has nothing called `{m.group(2)}`.",
            f"List what it offers with `print(dir({m.group(1)}))`, or check the spelling.",
        ),
    ),
    (
        "FileNotFoundError",
        re.compile(r"No such file or directory: '([^']+)'"),
        lambda m: (
            f"There is no file `{_file(m.group(1))}` where the program looked (the current folder, unless the "
            "path says otherwise). Opening with `'r'` needs the file to exist.",
            f"Is `{_file(m.group(1))}` spelled right, and is it in the folder the program runs in?",
        ),
    ),
    (
        "EOFError",
        re.compile(r"EOF when reading a line"),
        lambda m: (
            "`input()` waited for a line but there was no more input. When a program runs here, its input comes "
            "from the `stdin` you send; it had fewer lines than the program asks for.",
            "Count the `input()` calls and the lines of input you give; they must match.",
        ),
    ),
    (
        "RecursionError",
        re.compile(r"maximum recursion depth exceeded"),
        lambda m: (
            "A function kept calling itself without ever stopping: its base case is missing or never reached.",
            "Which `if` should stop the recursion, and does each call get closer to it?",
        ),
    ),
    (
        "ImportError",
        re.compile(r"cannot import name '(\w+)' from '([\w.]+)'"),
        lambda m: (
            f"The module `{m.group(2)}` exists but has nothing called `{m.group(1)}`.",
            f"Check the spelling, or list the names with `import {m.group(2)}; print(dir({m.group(2)}))`.",
        ),
    ),
    (
        "AssertionError",
        re.compile(r"^(.*)$"),
        lambda m: (
            "An `assert` checked a condition and it was False"
            + (f"; its message says: *{m.group(1)}*." if m.group(1) else ".")
            + " The program stops there on purpose: something is not what the code expects.",
            "Print the values used in the `assert` condition just before it.",
        ),
    ),
    (
        "JSONDecodeError",
        re.compile(r"(Expecting property name enclosed in double quotes|Expecting value).*?\(char (\d+)\)"),
        lambda m: (
            f"The text given to `json.loads` is not valid JSON ({m.group(1).lower()}, at character {m.group(2)})."
            + (
                " JSON needs double quotes around keys and strings; single quotes are Python, not JSON."
                if "double quotes" in m.group(1)
                else " An empty text, a trailing comma or a Python value like `None` or `True` is not JSON."
            ),
            f"Print the text and look at character {m.group(2)}.",
        ),
    ),
    (
        "IsADirectoryError",
        re.compile(r"Is a directory: '([^']+)'"),
        lambda m: (
            "`open()` was given a folder, not a file: the file name is missing from the path.",
            "Print the path you open; does it end with the file's name?",
        ),
    ),
    (
        "StopIteration",
        re.compile(r"^(.*)$"),
        lambda m: (
            "`next()` asked an iterator for another item but it had none left.",
            "Give `next()` a default (`next(it, None)`) or loop with `for` instead.",
        ),
    ),
    (
        "OverflowError",
        re.compile(r"(.+)"),
        lambda m: (
            "A float calculation produced a number too large to represent (floats top out near 1.8e308).",
            "Print the values just before that line; is something growing much faster than intended?",
        ),
    ),
    (
        "UnicodeDecodeError",
        re.compile(r"'([\w-]+)' codec can't decode"),
        lambda m: (
            f"A file was read as `{m.group(1)}` text but contains bytes that are not valid `{m.group(1)}`: it is "
            "binary or saved in another encoding.",
            "Open it with the right `encoding=...`, or in binary mode `'rb'` if it is not text.",
        ),
    ),
    (
        "RuntimeError",
        re.compile(r"(dictionary|Set|set) changed size during iteration"),
        lambda m: (
            f"The {m.group(1).lower()} was changed (items added or removed) while a loop was walking over it.",
            f"Loop over a copy, e.g. `for k in list(my_{m.group(1).lower()}):`, or collect changes and apply "
            "them after the loop.",
        ),
    ),
]


def _syntax_specifics(kind: str, msg: str) -> str:
    table = [
        (
            "expected ':'",
            "A line that starts a block (`if`, `for`, `while`, `def`, `class`, `else`) must end with a colon `:`.",
        ),
        ("was never closed", "A bracket or parenthesis is opened but never closed."),
        ("unterminated string", "A string starts with a quote but never ends: the closing quote is missing."),
        ("unterminated triple-quoted", "A triple-quoted string is never closed."),
        ("Maybe you meant '==' or ':='", "`=` stores a value; to compare two values use `==`."),
        (
            "expected an indented block",
            "After a line ending in `:` the next line must be indented (4 spaces).",
        ),
        (
            "unexpected indent",
            "This line is indented more than the code around it, but nothing opened a block.",
        ),
        ("unindent does not match", "This line's indentation does not line up with any earlier block."),
        ("inconsistent use of tabs", "Tabs and spaces are mixed for indentation; use spaces only."),
        ("Perhaps you forgot a comma", "Two values stand next to each other without a comma between them."),
        ("cannot assign to", "The left side of `=` must be a variable name, not a value or expression."),
        ("invalid syntax", "Python could not understand this line; look for a missing symbol or a typo."),
    ]
    for needle, text in table:
        if needle in msg:
            return text
    return f"Python could not read your program ({kind}); nothing ran."


async def _verified_fix(
    code: str,
    parsed: ParsedError,
    *,
    stdin: str,
    sandbox: CodeRunner,
    culprit: dict[str, Any] | None = None,
    expected: str | None = None,
) -> str | None:
    """Try the candidate fixes for this error; return the first that really runs without failing.

    With ``expected`` the fix must also print exactly that, and rewrites that may change the program's
    meaning (``_risky_candidates``) are tried too: the output decides. Without it they are never offered.
    """
    tried: set[str] = set()
    candidates = itertools.chain(_candidates(code, parsed), _probed_candidates(code, parsed, culprit))
    if expected is not None:
        candidates = itertools.chain(candidates, _risky_candidates(code, parsed))
    for candidate in candidates:
        if candidate == code or candidate in tried:
            continue
        if len(tried) >= MAX_FIX_CANDIDATES:
            break  # each try is a sandbox run; a long program can propose many
        tried.add(candidate)
        result = await sandbox.run(candidate, stdin=stdin)
        if not result.ok or _MEANINGLESS.search(result.stdout):
            continue
        if expected is None or compare.same_output(result.stdout, expected):
            return candidate
    return None


MAX_FIX_CANDIDATES = 12

# A "fix" that prints a function or an object's address runs, but is not what the student meant
# (e.g. Python's suggestion turning print(Welcome) into print(welcome) for a function welcome).
_MEANINGLESS = re.compile(r"<(?:function|bound method|built-in function|built-in method|class) [^>]*>|object at 0x")


def _probed_candidates(code: str, parsed: ParsedError, culprit: dict[str, Any] | None) -> Iterator[str]:
    """Fixes that need the failing line's values, or that the logic-bug patterns already know."""
    text = _line(code, parsed.line)
    if culprit and text is not None and parsed.line and parsed.error_type == "KeyError":
        index, expr, container = culprit["index"], culprit["index_expr"], culprit["container"]
        near = [k for k in culprit.get("keys") or [] if k.lower() == index.lower() and k != index]
        if near and expr == index:  # a literal key with the wrong capitals
            yield _replace_line(code, parsed.line, text.replace(f"{container}[{index}]", f"{container}[{near[0]}]"))
        elif near and index[:1] in "'\"":  # a key typed by the user: match the keys' capitals
            key = near[0][1:-1]
            for method in ("lower", "upper", "title", "capitalize"):
                if getattr(index[1:-1], method)() == key:
                    yield _replace_line(
                        code, parsed.line, text.replace(f"{container}[{expr}]", f"{container}[{expr}.{method}()]")
                    )
    if parsed.error_type == "TypeError" and "object is not iterable" in parsed.message and text is not None:
        m = re.match(r"(\s*for\s+\w+\s+in\s+)([A-Za-z_]\w*)(\s*:.*)$", text)
        if m and parsed.line:
            yield _replace_line(code, parsed.line, f"{m.group(1)}range({m.group(2)}){m.group(3)}")
    for found in patterns.find(code):
        if found.fixed:
            yield found.fixed
    yield from _mechanical_candidates(code, parsed)


# Standard modules whose names debug may look up to suggest a close function name; importing them in
# the service has no side effects (unlike, say, `antigravity` or `this`).
_LOOKUP_MODULES = frozenset(
    "math random string statistics datetime time json os sys itertools collections functools re".split()
)


def _literal_nodes(code: str) -> list[ast.Constant]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _rename_keyword(code: str, word: str) -> str | None:
    """Rename a keyword used as a variable (`class = ...`) to `word_`, outside strings and comments.

    Only where it stands as a plain name: not `class Foo:` and not `for`/`if` used as keywords.
    """
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError):
        return None
    lines = code.splitlines(keepends=True)
    edits = []
    for i, tok in enumerate(tokens):
        if tok.type != tokenize.NAME or tok.string != word:
            continue
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if following is not None and following.type == tokenize.NAME:
            continue  # `class Foo`: the keyword in its real role
        edits.append(tok.start)
    for row, col in reversed(edits):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + word + "_" + line[col + len(word) :]
    return "".join(lines) if edits else None


def _mechanical_candidates(code: str, parsed: ParsedError) -> Iterator[str]:
    """Fixes that keep the program's intent: each is offered only if it then runs without an error."""
    kind, msg, n = parsed.error_type, parsed.message, parsed.line
    text = _line(code, n)
    if kind == "ValueError" and text is not None and n and "invalid literal for int()" in msg and "." in msg:
        # '3.5' is a number with a fraction: keep the fraction (float) rather than dropping it.
        yield _replace_line(code, n, re.sub(r"\bint\(", "float(", text, count=1))
    if kind == "TypeError" and ("'str'" in msg or '"str"' in msg or "sequence by non-int" in msg):
        # A number written in quotes ("4", "2.50") used in arithmetic: write it as a number.
        for node in _literal_nodes(code):
            if re.fullmatch(r"-?\d+(\.\d+)?", node.value.strip()):
                fixed = patterns.replace_node(code, node, node.value.strip())
                if fixed:
                    yield fixed
    if kind == "AttributeError" and text is not None and n:
        m = re.search(r"'str' object has no attribute 'append'", msg)
        if m:
            yield _replace_line(code, n, re.sub(r"\b(\w+)\.append\((.*)\)\s*$", r"\1 += \2", text))
        m = re.search(r"'dict' object has no attribute '(\w+)'", msg)
        if m:
            yield _replace_line(code, n, re.sub(rf"\.{m.group(1)}\b(?!\s*\()", f'["{m.group(1)}"]', text))
    module_attr = re.search(r"module '(\w+)' has no attribute '(\w+)'|cannot import name '(\w+)' from '(\w+)'", msg)
    if kind in ("AttributeError", "ImportError") and module_attr:
        name = module_attr.group(2) or module_attr.group(3)
        module = module_attr.group(1) or module_attr.group(4)
        if module in _LOOKUP_MODULES:
            public = [a for a in dir(importlib.import_module(module)) if not a.startswith("_")]
            aliases = {"squareroot": "sqrt", "square_root": "sqrt", "power": "pow", "absolute": "fabs"}
            for close in [aliases.get(name, ""), *difflib.get_close_matches(name, public, n=2, cutoff=0.6)]:
                if close in public:
                    yield re.sub(rf"\b{re.escape(name)}\b", close, code)
    if kind == "SyntaxError" and text is not None and n:
        m = re.match(r"\s*([a-z]+)\s*=[^=]", text)
        if m and keyword.iskeyword(m.group(1)):
            renamed = _rename_keyword(code, m.group(1))
            if renamed:
                yield renamed
    if kind == "JSONDecodeError":
        # JSON text written as a Python literal (single quotes, trailing commas): make it real JSON.
        for node in _literal_nodes(code):
            if node.value.lstrip()[:1] in "{[":
                try:
                    value = ast.literal_eval(node.value)
                except (ValueError, SyntaxError):
                    continue
                fixed = patterns.replace_node(code, node, repr(json.dumps(value)))
                if fixed:
                    yield fixed
    if kind in ("UnicodeEncodeError", "UnicodeDecodeError"):
        yield re.sub(r"""\.encode\((['"])ascii\1\)""", '.encode("utf-8")', code)
        yield re.sub(r"\bopen\(([^()]*?)\)", lambda m: f'open({m.group(1)}, encoding="utf-8")', code)
    if kind == "FileExistsError":
        yield re.sub(r"\bos\.mkdir\(([^()]*)\)", r"os.makedirs(\1, exist_ok=True)", code)


MAX_LOGIC_CANDIDATES = 6


def _logic_candidates(code: str, kind: str) -> Iterator[str]:
    """Corrected programs to try for a logic bug: one per bug pattern found, then by the output's shape."""
    for found in patterns.find(code):
        if found.fixed:
            yield found.fixed
    lines = code.splitlines()
    for n, text in enumerate(lines, 1):
        if kind in ("range_end", "off_by_one", "stops_early"):
            for m in re.finditer(r"\brange\(([^()]*?)(-?\d+)\s*\)", text):
                yield _replace_line(code, n, text[: m.start(2)] + str(int(m.group(2)) + 1) + text[m.end(2) :])
        if kind == "floor_division" and "//" in text:
            yield _replace_line(code, n, text.replace("//", "/"))
        if kind == "joined_text" and "input(" in text and "int(input(" not in text:
            yield _replace_line(code, n, re.sub(r"\binput\(([^()]*)\)", r"int(input(\1))", text))


async def _verified_logic_fix(code: str, kind: str, expected: str, *, stdin: str, sandbox: CodeRunner) -> str | None:
    """The first candidate that runs and prints exactly the expected output, if any."""
    tried: set[str] = set()
    for candidate in _logic_candidates(code, kind):
        if candidate == code or candidate in tried:
            continue
        if len(tried) >= MAX_LOGIC_CANDIDATES:
            break
        tried.add(candidate)
        result = await sandbox.run(candidate, stdin=stdin)
        if result.ok and compare.same_output(result.stdout, expected):
            return candidate
    return None


def _replace_line(code: str, number: int, new: str) -> str:
    lines = code.splitlines()
    lines[number - 1] = new
    return "\n".join(lines) + ("\n" if code.endswith("\n") else "")


def _candidates(code: str, parsed: ParsedError) -> Iterator[str]:
    lines = code.splitlines()
    n = parsed.line
    text = lines[n - 1] if n and 0 < n <= len(lines) else None
    msg = parsed.message
    kind = parsed.error_type
    suggestion = re.search(r"Did you mean: '([^']+)'", msg)
    if kind == "NameError" and text is not None and n is not None:
        m = re.search(r"name '([^']+)'", msg)
        if m:
            for name in _close_names(code, m.group(1), suggestion.group(1) if suggestion else None):
                if fixsafety.same_kind(code, m.group(1), name):
                    yield _replace_line(code, n, re.sub(rf"\b{re.escape(m.group(1))}\b", name, text))
    if kind == "AttributeError" and text is not None and n is not None:
        m = re.search(r"'(\w+)' object has no attribute '(\w+)'", msg)
        if m:
            better = suggestion.group(1) if suggestion else _METHOD_MIXUPS.get((m.group(1), m.group(2)))
            if better:
                yield _replace_line(code, n, re.sub(rf"\.{re.escape(m.group(2))}\b", "." + better, text))
    if kind == "TypeError" and text is not None and n is not None and "input(" in text:
        yield _replace_line(code, n, re.sub(r"\binput\(([^()]*)\)", r"int(input(\1))", text))
    if kind == "TypeError" and text is not None and n is not None and "can only concatenate str" in msg:
        # Wrap bare names that are not strings in str(); verified by running.
        for name in re.findall(r"\+\s*([A-Za-z_]\w*)\b(?!\s*\()", text):
            yield _replace_line(code, n, re.sub(rf"\+\s*{re.escape(name)}\b(?!\s*\()", f"+ str({name})", text))
    if kind == "SyntaxError" and text is not None and n is not None:
        if "expected ':'" in msg:
            yield _replace_line(code, n, text.rstrip() + ":")
        if "Maybe you meant '==' or ':='" in msg:
            yield _replace_line(code, n, re.sub(r"(?<![=!<>])=(?!=)", "==", text, count=1))
        if "was never closed" in msg:
            opener = re.search(r"'(.)' was never closed", msg)
            closing = {"(": ")", "[": "]", "{": "}"}.get(opener.group(1) if opener else "(", ")")
            stripped = text.rstrip()
            if stripped.endswith(":"):
                yield _replace_line(code, n, stripped[:-1] + closing + ":")
            yield _replace_line(code, n, stripped + closing)
        if "unterminated string literal" in msg:
            quote = '"' if text.count('"') % 2 else "'"
            stripped = text.rstrip()
            # `print('Hello, + name)`: the string was meant to end before the `+`.
            joined = re.search(rf"{quote}([^{quote}]*?)(\s*\+\s*\w+)", stripped)
            if joined:
                end = joined.end(1)
                yield _replace_line(code, n, stripped[:end] + quote + stripped[end:])
            if stripped.endswith(")"):
                yield _replace_line(code, n, stripped[:-1] + quote + ")")
            yield _replace_line(code, n, stripped + quote)
        if "Perhaps you forgot a comma" in msg:
            yield _replace_line(code, n, re.sub(r"(['\"\w\]\)])\s+(['\"\w\[\(])", r"\1, \2", text))
    if kind == "IndentationError" and text is not None and n is not None:
        if "expected an indented block" in msg:
            prev = lines[n - 2] if n >= 2 else ""
            indent = len(prev) - len(prev.lstrip()) + 4
            yield _replace_line(code, n, " " * indent + text.lstrip())
        if "unexpected indent" in msg:
            prev = lines[n - 2] if n >= 2 else ""
            indent = len(prev) - len(prev.lstrip())
            if prev.rstrip().endswith(":"):
                indent += 4
            yield _replace_line(code, n, " " * indent + text.lstrip())
        if "unindent does not match" in msg:
            current = len(text) - len(text.lstrip())
            levels = sorted({len(ln) - len(ln.lstrip()) for ln in lines[: n - 1] if ln.strip()})
            for level in sorted(levels, key=lambda lv: abs(lv - current)):
                yield _replace_line(code, n, " " * level + text.lstrip())
    if kind == "TabError":
        yield code.expandtabs(4)
        yield code.expandtabs(8)
    yield from _more_candidates(code, lines, n, text, kind, msg)


_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))
_BUILTIN_NAMES = frozenset(dir(builtins))


def _more_candidates(
    code: str, lines: list[str], n: int | None, text: str | None, kind: str, msg: str
) -> Iterator[str]:
    """Fixes for the other frequent beginner errors; each is only offered if it really runs."""
    if kind == "NameError":
        m = re.search(r"name '([^']+)'", msg)
        if m and m.group(1) in _STDLIB:
            yield f"import {m.group(1)}\n" + code  # a module used without importing it
    if kind == "TypeError" and (
        "not supported between instances of 'str' and 'int'" in msg
        or "can only concatenate str" in msg
        or "for -: 'str' and 'int'" in msg
    ):
        # A number read with input() and never converted: convert it where it is read.
        for i, line in enumerate(lines, 1):
            if re.search(r"(?<!int\()(?<!float\()\binput\(", line):
                yield _replace_line(code, i, re.sub(r"\binput\(([^()]*)\)", r"int(input(\1))", line))
    if kind == "TypeError":
        m = re.search(r"(\w+)\.(\w+)\(\) takes 0 positional arguments but 1 was given", msg)
        if m:
            for i, line in enumerate(lines, 1):  # a method without self
                if re.match(rf"\s*def {re.escape(m.group(2))}\(\s*\)", line):
                    yield _replace_line(code, i, line.replace(f"def {m.group(2)}(", f"def {m.group(2)}(self", 1))
                elif re.match(rf"\s*def {re.escape(m.group(2))}\(", line):
                    yield _replace_line(code, i, line.replace(f"def {m.group(2)}(", f"def {m.group(2)}(self, ", 1))
        m = re.search(r"'int' object is not iterable", msg)
        if m and text is not None and n is not None:
            yield _replace_line(
                code, n, re.sub(r"\bin\s+(?!range\()([\w.]+(?:\([^()]*\))?)\s*:", r"in range(\1):", text)
            )
    if kind == "ModuleNotFoundError":
        m = re.search(r"No module named '([^']+)'", msg)
        if m:
            lowered = {name.lower(): name for name in _STDLIB}
            close = lowered.get(m.group(1).lower()) or next(
                iter(difflib.get_close_matches(m.group(1), sorted(_STDLIB), n=1, cutoff=0.75)), None
            )
            if close:
                yield re.sub(rf"\b{re.escape(m.group(1))}\b", close, code)
    if kind == "IndexError" and text is not None and n is not None:
        for i, line in enumerate(lines, 1):  # the classic off-by-one loops
            if re.search(r"range\(len\([^()]*\)\s*\+\s*1\)", line):
                yield _replace_line(code, i, re.sub(r"(range\(len\([^()]*\))\s*\+\s*1\)", r"\1)", line))
            if re.search(r"while\s+\w+\s*<=\s*len\(", line):
                yield _replace_line(code, i, line.replace("<=", "<", 1))
        if re.search(r"\[len\(([^()]*)\)\]", text):
            yield _replace_line(code, n, re.sub(r"\[len\(([^()]*)\)\]", r"[len(\1) - 1]", text))
    if kind == "KeyError" and text is not None and n is not None:
        counted = re.match(r"(\s*)([\w.]+)\[([^\]]+)\]\s*\+=\s*(.+)$", text)
        if counted:  # counting into a dict that has no entry yet
            indent, name, key, amount = counted.groups()
            yield _replace_line(code, n, f"{indent}{name}[{key}] = {name}.get({key}, 0) + {amount}")
    if kind == "SyntaxError" and text is not None and n is not None:
        if "Missing parentheses in call to 'print'" in msg:
            yield _replace_line(code, n, re.sub(r"\bprint\s+(.+?)\s*$", r"print(\1)", text))
        if re.match(r"\s*else\s+if\b", text):
            yield _replace_line(code, n, re.sub(r"\belse\s+if\b", "elif", text, count=1))
    if kind == "UnboundLocalError" and n is not None:
        m = re.search(r"local variable '(\w+)'", msg)
        facts = fixsafety.unbound_local(code, m.group(1), n) if m else None
        if facts is not None and facts.updates_module_name:
            # A function that updates a module-level counter: declare it global in that function.
            yield from _global_declared(code, lines, n, facts.name)
        elif facts is not None:
            # Assigned only in a loop or branch that did not run (or only ever `+=`): start it first.
            initialised = facts.initialised(code)
            if initialised:
                yield initialised


def _close_names(code: str, missing: str, suggested: str | None) -> list[str]:
    """Python's "Did you mean", else the program's own names that look alike."""
    if suggested:
        return [suggested]
    return difflib.get_close_matches(missing, _defined_names(code), n=2, cutoff=0.75)


def _global_declared(code: str, lines: list[str], n: int, name: str) -> Iterator[str]:
    """``code`` with ``global name`` as the first statement of the function holding line ``n``."""
    for i in range(n - 1, 0, -1):
        header = re.match(r"(\s*)def \w+\(.*\):\s*$", lines[i - 1])
        if header:
            body = lines[i] if i < len(lines) else ""
            indent = body[: len(body) - len(body.lstrip())] or header.group(1) + "    "
            yield "\n".join([*lines[:i], f"{indent}global {name}", *lines[i:]]) + "\n"
            return


def _risky_candidates(code: str, parsed: ParsedError) -> Iterator[str]:
    """Rewrites that may change what the program means: tried only against an expected output.

    A word turned into a string (`color = blue` → `"blue"`, but also a parameter `day` → `"day"`), a
    "Did you mean" to a name of another kind (a builtin function for a variable), and `global` for a
    variable that the function only assigns in a loop or branch.
    """
    kind, msg, n = parsed.error_type, parsed.message, parsed.line
    lines = code.splitlines()
    text = _line(code, n)
    if kind == "NameError" and text is not None and n is not None:
        m = re.search(r"name '([^']+)'", msg)
        if m and m.group(1) not in _STDLIB:
            suggestion = re.search(r"Did you mean: '([^']+)'", msg)
            for name in _close_names(code, m.group(1), suggestion.group(1) if suggestion else None):
                if not fixsafety.same_kind(code, m.group(1), name):
                    yield _replace_line(code, n, re.sub(rf"\b{re.escape(m.group(1))}\b", name, text))
            if (
                m.group(1) not in _BUILTIN_NAMES
                and len(m.group(1)) >= 3  # `x`, `n`, `i` are variables, not words
                and m.group(1).isalpha()
                and len(re.findall(rf"\b{re.escape(m.group(1))}\b", code)) == 1
            ):
                # A word used once and defined nowhere may have been meant as text: `color = blue`.
                yield _replace_line(
                    code, n, re.sub(rf"(?<![\w.'\"]){re.escape(m.group(1))}(?![\w'\"(])", f'"{m.group(1)}"', text)
                )
    if kind == "UnboundLocalError" and n is not None:
        m = re.search(r"local variable '(\w+)'", msg)
        facts = fixsafety.unbound_local(code, m.group(1), n) if m else None
        if m and (facts is None or not facts.updates_module_name):
            yield from _global_declared(code, lines, n, m.group(1))


async def _with_llm(
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


def _top_level_names(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set(re.findall(r"^(?:def|class)\s+([A-Za-z_]\w*)", code, re.M))
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}


def looks_like_attempt(code: str, *, starter: str, solution: str) -> bool:
    """Is ``code`` an attempt at the exercise with this starter and solution?

    It is when it defines a function or class the exercise asks for, or reads much like the starter
    or the solution (stdin/stdout exercises often define nothing).
    """
    wanted = _top_level_names(starter) or _top_level_names(solution)
    if wanted and wanted & _top_level_names(code):
        return True
    return any(
        difflib.SequenceMatcher(None, code, other).ratio() >= 0.6 for other in (starter, solution) if other.strip()
    )


_LONG_CODE_BLOCK = re.compile(r"```[\w-]*\n(?:[^\n]*\n){3,}?```")

WITHHELD = (
    "This is code for your exercise **{title}**, so I will not write the corrected program for you: that "
    "would be the solution. The hints lead you there step by step; submit when the tests pass."
)


async def against_exercise(
    answer: DebugAnswer,
    *,
    code: str,
    title: str,
    exercise_id: str,
    tests: str,
    io_tests: list[IOCase],
    hints: list[str],
    grader: GradesCode,
) -> DebugAnswer:
    """Check a run-clean attempt against the exercise's visible tests, and never hand over a solution."""
    update: dict[str, object] = {
        "corrected_code": None,
        "fix_verified": False,
        "fix_kind": None,
        "exercise_id": exercise_id,
    }
    explanation = answer.explanation
    if answer.source == "llm":
        # An LLM may slip a finished program into its prose; for an exercise, code longer than a
        # couple of lines stays out of the answer.
        explanation = _LONG_CODE_BLOCK.sub("*(code left out: this is your exercise)*", explanation)
    if answer.run_status == "passed" and (tests.strip() or io_tests):
        report = await grader.grade(code=code, tests=tests, io_tests=io_tests)
        failing = [t for t in report.tests if not t.passed]
        if not failing:
            explanation = (
                f"Your program runs and passes every visible test of **{title}**. Submit it: the hidden "
                "tests check a few more cases."
            )
        else:
            listed = "\n".join(f"- `{t.name}`: {t.message}" for t in failing[:3])
            more = f"\n- … and {len(failing) - 3} more" if len(failing) > 3 else ""
            explanation = (
                f"Your program runs without an error, but {len(failing)} of the {len(report.tests)} visible "
                f"tests of **{title}** fail, so this is a logic bug:\n\n{listed}{more}\n\n"
                "Each line says what your code gave and what the test expected."
            )
            generic = [
                "Take the first failing test and work out its expected value by hand.",
                "Call your function with that test's input and print what it returns.",
                "Find the step where your value and the expected one part ways.",
            ]
            # The exercise's own hints are progressive and written for it; patterns in the code
            # (a return inside the loop, ...) are named in the explanation without giving code.
            explanation, _ = with_patterns(explanation, generic, code)
            update["hints"] = [*hints, *generic][:3]
    update["explanation"] = explanation + "\n\n" + WITHHELD.format(title=title)
    return answer.model_copy(update=update)
