"""The debug tutor: reproduce a student's error, explain it, hint, and offer only verified fixes.

Layout: ``traceback`` reads an error; ``registry`` and ``rules/`` (one module per error family)
explain it and propose fixes; ``fixes`` verifies crash fixes in the sandbox; ``logic`` handles a
program that runs but prints the wrong thing; ``patterns/`` (one detector per module) names beginner
bug patterns; ``llm`` is the LLM path; ``exercise`` is the exercise guard; ``answer`` puts them together.
"""

from __future__ import annotations

from learnflow.tutor.debug.answer import _stopped as _stopped  # the tests check it directly
from learnflow.tutor.debug.answer import analyze
from learnflow.tutor.debug.exercise import WITHHELD, against_exercise, looks_like_attempt
from learnflow.tutor.debug.logic import with_patterns
from learnflow.tutor.debug.registry import specifics
from learnflow.tutor.debug.traceback import ParsedError, parse_traceback
from learnflow.tutor.schemas import DebugAnswer

__all__ = [
    "WITHHELD",
    "DebugAnswer",
    "ParsedError",
    "against_exercise",
    "analyze",
    "looks_like_attempt",
    "parse_traceback",
    "specifics",
    "with_patterns",
]
