"""The one loop that turns fix candidates into an offered fix: each candidate is run in the sandbox.

Candidates come in a fixed order: the error's rule's own fixes, the bug patterns' fixes, the rule's
fallbacks, then (only when an expected output can judge them) its risky rewrites. The first that
runs cleanly (and prints the expected output, when there is one) is the fix.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

from learnflow.sandbox import CodeRunner
from learnflow.tutor import compare
from learnflow.tutor.debug import patterns
from learnflow.tutor.debug.registry import Case, rule_for
from learnflow.tutor.debug.traceback import ParsedError

MAX_FIX_CANDIDATES = 12

# A "fix" that prints a function or an object's address runs, but is not what the student meant
# (e.g. Python's suggestion turning print(Welcome) into print(welcome) for a function welcome).
MEANINGLESS = re.compile(r"<(?:function|bound method|built-in function|built-in method|class) [^>]*>|object at 0x")


def candidates(code: str, parsed: ParsedError, culprit: dict[str, Any] | None = None) -> Iterator[str]:
    """Corrected programs that keep the program's meaning, in the order they are tried (lazily)."""
    case = Case(parsed, code, culprit)
    found = rule_for(parsed.error_type)
    if found is not None:
        yield from found.fixes(case)
    for pattern in patterns.find(code):
        if pattern.fixed:
            yield pattern.fixed
    if found is not None:
        yield from found.fallback_fixes(case)


def risky_candidates(code: str, parsed: ParsedError) -> Iterator[str]:
    """Rewrites that may change what the program means: tried only against an expected output."""
    found = rule_for(parsed.error_type)
    if found is not None:
        yield from found.risky_fixes(Case(parsed, code))


async def verified_fix(
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
    meaning (``risky_candidates``) are tried too: the output decides. Without it they are never offered.
    """
    tried: set[str] = set()
    proposed = candidates(code, parsed, culprit)
    if expected is not None:
        proposed = itertools.chain(proposed, risky_candidates(code, parsed))
    for candidate in proposed:
        if candidate == code or candidate in tried:
            continue
        if len(tried) >= MAX_FIX_CANDIDATES:
            break  # each try is a sandbox run; a long program can propose many
        tried.add(candidate)
        result = await sandbox.run(candidate, stdin=stdin)
        if not result.ok or MEANINGLESS.search(result.stdout):
            continue
        if expected is None or compare.same_output(result.stdout, expected):
            return candidate
    return None
