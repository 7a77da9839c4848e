"""The wrong-output path: a program that runs but prints something else than expected.

``compare`` says how the outputs differ; the bug patterns name likely causes; candidates from both are
verified by running them, and one is offered only if it prints exactly the expected output.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from learnflow.sandbox import CodeRunner
from learnflow.tutor import compare
from learnflow.tutor.debug import patterns, source

MAX_LOGIC_CANDIDATES = 6


def with_patterns(explanation: str, hints: list[str], code: str) -> tuple[str, list[str]]:
    """Add the beginner bug patterns found in ``code`` to a confirmed logic bug's explanation and hints."""
    found = patterns.find(code)
    if not found:
        return explanation, hints
    causes = "\n".join(f"- line {p.line}: {p.text}" for p in found[:3])
    first = found[0]
    return (
        f"{explanation}\n\n**Likely cause{'s' if len(found) > 1 else ''}**\n\n{causes}",
        [hints[0], f"Look closely at line {first.line}: `{(source.line(code, first.line) or '').strip()}`", first.hint],
    )


def candidates(code: str, kind: str) -> Iterator[str]:
    """Corrected programs to try for a logic bug: one per bug pattern found, then by the output's shape."""
    for found in patterns.find(code):
        if found.fixed:
            yield found.fixed
    lines = code.splitlines()
    for n, text in enumerate(lines, 1):
        if kind in ("range_end", "off_by_one", "stops_early"):
            for m in re.finditer(r"\brange\(([^()]*?)(-?\d+)\s*\)", text):
                yield source.replace_line(code, n, text[: m.start(2)] + str(int(m.group(2)) + 1) + text[m.end(2) :])
        if kind == "floor_division" and "//" in text:
            yield source.replace_line(code, n, text.replace("//", "/"))
        if kind == "joined_text" and "input(" in text and "int(input(" not in text:
            yield source.replace_line(code, n, re.sub(r"\binput\(([^()]*)\)", r"int(input(\1))", text))


async def verified_fix(code: str, kind: str, expected: str, *, stdin: str, sandbox: CodeRunner) -> str | None:
    """The first candidate that runs and prints exactly the expected output, if any."""
    tried: set[str] = set()
    for candidate in candidates(code, kind):
        if candidate == code or candidate in tried:
            continue
        if len(tried) >= MAX_LOGIC_CANDIDATES:
            break
        tried.add(candidate)
        result = await sandbox.run(candidate, stdin=stdin)
        if result.ok and compare.same_output(result.stdout, expected):
            return candidate
    return None
