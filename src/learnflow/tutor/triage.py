"""Deciding who answers a student's query.

Policy: **debug** when the student has code that fails, gives wrong output or hangs, shows or names an
error, or says in words that something does not work, with or without code ("it says syntax error",
"doesnt work", "wrong answer", "the autograder says test 3 failed"); **exercise** when they want
practice, a challenge, a quiz or their solution checked ("can u check my solution", "does it meet the
requirements", "will this pass"); **concepts** when they want to understand something (including
"explain this code" and "what does KeyError mean in general"). Unclear queries go to concepts.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field, replace
from typing import Literal

from pydantic import BaseModel

from learnflow.ai import AIProvider, AIUnavailable
from learnflow.specialists import Specialist
from learnflow.tutor import phrasing
from learnflow.tutor.prompts import TRIAGE_SYSTEM, fence

log = logging.getLogger(__name__)

Route = Specialist

_F = re.IGNORECASE


def _rx(*patterns: str) -> list[re.Pattern[str]]:
    return [re.compile(p, _F) for p in patterns]


# (pattern, weight) per route. Weights were tuned on the seed scenarios and hand-written queries;
# the tutor-quality issue replaces this with a classifier trained on a labelled dataset.
_DEBUG = [
    (_rx(r"\btraceback\b", r"\b[A-Z][a-zA-Z]*(Error|Exception)\b\s*:", r"\bline \d+\b"), 2.5),
    (
        _rx(
            r"\b(i'?m|i am|keep|keeps|getting|got|get|gives?|giving|throws?|throwing|raises?|raising)\b[^.?!]{0,40}"
            r"\b\w*(error|exception)s?\b"
        ),
        3.0,
    ),
    (
        _rx(
            r"\b(bug|buggy|crash\w*|broken|doesn'?t work|does not work|not working|isn'?t working|fails?|failing"
            r"|wrong (output|answer|result)|unexpected (output|result)|hangs?|hanging|freez\w*|stuck in a loop"
            r"|infinite loop|never (ends|stops|finishes)|won'?t run|can'?t run|fix (my|this|it))\b"
        ),
        2.5,
    ),
    (_rx(r"\b(my|this) (code|program|script|function|loop)\b"), 1.0),
    (_rx(r"\bwhy (does|is|do|am) (my|this|it|i)\b"), 1.5),
    (_rx(r"\b(debug|debugging)\b"), 1.5),
]
_EXERCISE = [
    (_rx(r"\b(exercises?|practi[cs]e (problem|question|task)s?|challenges?|quiz(zes)?|drills?|kata)\b"), 3.0),
    (
        _rx(r"\b(give|send|assign|want|need|get)\b[^.?!]{0,30}\b(problem|task|exercise|challenge|question)s?\b"),
        2.0,
    ),
    (
        _rx(
            r"\b(test|quiz) me\b",
            r"\bnext (one|exercise|problem|challenge)\b",
            r"\banother (one|exercise|problem)\b",
        ),
        3.0,
    ),
    (_rx(r"\b(check|grade|review|mark) (my|this) (solution|answer|submission|exercise)\b"), 3.5),
    (_rx(r"\b(practice|practise)\b"), 1.5),
    (_rx(r"\b(tasks?|puzzles?|problems? to solve|something to (code|solve|practice))\b"), 1.5),
    (_rx(r"\b(harder|easier)\b"), 1.0),
]
_CONCEPTS = [
    (_rx(r"^\s*(what|how|why|when|which)\b", r"\bexplain\b", r"\bwhat('?s| is| are| does)\b"), 1.5),
    (_rx(r"\b(difference|differences|compare|vs\.?|versus)\b", r"\bhow (do|does|to|can)\b"), 1.5),
    (
        _rx(r"\b(mean|meaning|concept|understand|learn|teach me|tell me about|in general|overview|syntax)\b"),
        1.5,
    ),
    (_rx(r"\bexplain (this|the|my) code\b", r"\bwhat does (this|the) code do\b"), 3.5),
    (_rx(r"\bexamples? of\b"), 2.0),
]

_HELP = _rx(
    r"\bi (really |still |just )?(don'?t|do not|dont) (understand|get it|get this|get them|get that)\b",
    r"\bi'?m (so |really |totally |completely )?(stuck|lost|confused)\b",
    r"\bim (so |really |totally |completely )?(stuck|lost|confused)\b",
    r"\bi am (so |really |totally |completely )?(stuck|lost|confused)\b",
    r"\b(makes no sense|no idea what|give up|giving up)\b",
    r"\b(way |much |far )?too (hard|difficult)\b",
    r"\bi (can'?t|cannot|cant) do (this|it)\b",
)

# What is left of a message once its feelings are taken out, when it names nothing to work on: "I'm stuck,
# what should I do?" and "this is way too difficult for me" leave only these words; "I'm stuck on this
# recursion" leaves "recursion", a subject.
_FEELING = _rx(
    r"\bi (really |still |just )?(don'?t|do not|dont) (understand|get)\b",
    r"\b(i'?m|im|i am)\b",
    r"\b(stuck|lost|confused|frustrated|discouraged|overwhelmed|hopeless|sad|tired|annoyed|upset)\b",
    r"\b(makes? no sense|no idea|give up|giving up|too (hard|difficult)|can'?t do|cannot do|cant do)\b",
)
_FILLER = frozenset(
    """a about again all am an and any anything at be been but can could did do does doing don dont
    else everything for from get go going got had has have help here honestly how i if in is it its just
    kind kinda literally lol me more much my no not nothing now of oh ok okay on one or please pls quite
    really right same should so some something sort still stuck sure than that the then there this to
    today totally ugh um very was way we what whatever where which who why will with work working would
    yeah yet you completely far sorry""".split()
)


@dataclass(frozen=True)
class Decision:
    routed_to: Route
    confidence: float
    scores: dict[str, float] = field(default_factory=dict)
    asks_for_help: bool = False
    decided_by: Literal["model", "rules", "llm", "history"] = "model"


def _score(text: str, rules: list[tuple[list[re.Pattern[str]], float]]) -> float:
    return sum(weight for patterns, weight in rules if any(p.search(text) for p in patterns))


def asks_for_help(text: str) -> bool:
    """True when the student says they are stuck or do not understand."""
    return any(p.search(text) for p in _HELP)


def feelings_only(text: str) -> bool:
    """The student says they are stuck or discouraged and names nothing to work on ("I'm lost")."""
    if not asks_for_help(text):
        return False
    rest = text.lower()
    for pattern in _FEELING:
        rest = pattern.sub(" ", rest)
    words = re.findall(r"[a-z_][a-z0-9_]*", rest.replace("'", ""))
    # Anything beyond feelings and filler ("recursion", "loop", "IndentationError", `x`) is a subject.
    return not re.search(r"[`()\[\]{}=<>:#]|\d", rest) and all(w in _FILLER for w in words)


def classify(query: str, *, code: str | None = None, error_message: str | None = None) -> Decision:
    """Route a query with the trained model (the hand-written rules when no dataset ships)."""
    from learnflow.tutor.router_model import get_model

    model = get_model()
    if model is None:
        return rule_classify(query, code=code, error_message=error_message)
    route, confidence, probabilities = model.predict(query, code, error_message)
    return Decision(
        routed_to=route,
        confidence=round(confidence, 3),
        scores={k: round(v, 3) for k, v in probabilities.items()},
        asks_for_help=asks_for_help(query),
    )


def rule_classify(query: str, *, code: str | None = None, error_message: str | None = None) -> Decision:
    """Route a query by hand-written rules; confidence is a softmax over the route scores."""
    text = query.strip()
    usual = phrasing.normalise(text)  # "excercise", "doesnt wrk" read as the words they mean
    scores: dict[Route, float] = {
        Specialist.CONCEPTS: 0.5 + _score(usual, _CONCEPTS),  # the default when nothing else is said
        Specialist.DEBUG: _score(usual, _DEBUG),
        Specialist.EXERCISE: _score(usual, _EXERCISE),
    }
    has_code = bool(code and code.strip())
    if error_message and error_message.strip():
        scores[Specialist.DEBUG] += 5.0
    if has_code:
        scores[Specialist.DEBUG] += 1.0
        scores[Specialist.EXERCISE] += 0.5 if scores[Specialist.EXERCISE] else 0.0
        if not text:
            scores[Specialist.DEBUG] += 2.0  # bare code: the student wants to know what is wrong with it
    if re.search(r"\bexplain (this|the|my) code\b|\bwhat does (this|the|my) code do\b", text, _F) and not error_message:
        scores[Specialist.CONCEPTS] += 3.0
    for marker in phrasing.markers(text, attached=has_code or bool(error_message and error_message.strip())):
        scores[marker.route] += marker.weight
    route = max(scores, key=lambda k: (scores[k], k == "concepts"))
    exp = {k: math.exp(v) for k, v in scores.items()}
    confidence = exp[route] / sum(exp.values())
    return Decision(
        routed_to=route,
        confidence=round(confidence, 3),
        scores={k: round(v, 2) for k, v in scores.items()},
        asks_for_help=asks_for_help(text),
        decided_by="rules",
    )


# Below this confidence, and with an LLM configured, the LLM is asked to route the query instead.
LLM_BELOW = 0.6


class LLMRoute(BaseModel):
    """The LLM's routing decision for a query the offline router was unsure about."""

    route: Route


async def refine(
    decision: Decision, query: str, *, code: str | None, error_message: str | None, ai: AIProvider
) -> Decision:
    """Ask the LLM when the offline router is unsure; keep the offline decision when it cannot answer."""
    if decision.confidence >= LLM_BELOW or not ai.is_llm:
        return decision
    user = f"Student query: {fence(query)}\nAttached code: {fence(code)}\nAttached error: {fence(error_message)}"
    try:
        answer = await ai.generate(system=TRIAGE_SYSTEM, user=user, schema=LLMRoute)
    except AIUnavailable as exc:
        log.info("triage kept the offline route: %s", exc)
        return decision
    return replace(decision, routed_to=answer.route, decided_by="llm")


# Short replies that only make sense after an earlier answer in the same session.
_FOLLOW_UP = re.compile(
    r"^\W*(?:(?:ok(?:ay)?|thanks?|great|cool|nice)[\s,!.]*)?(?:"
    r"(?:can you |could you |please |now )?(?:make it |give me )?(?:a |an )?(?:bit )?"
    r"(?:harder|easier|simpler|tougher|more difficult|more challenging)(?: one| please| version)?|"
    r"(?:give me |can i have |i want )?(?:another|one more|the next|next|a similar|something similar)"
    r"(?: one| please| exercise| question| example| like (?:that|this|the last one))?|"
    r"(?:again|more|same but \w+(?: \w+)?)|"
    r"(?:can you )?explain (?:that|it|this) (?:again|more simply|differently|in simpler words)|"
    r"(?:i )?(?:still )?don'?t get (?:it|that)"
    r")[\s?!.]*$",
    re.I,
)


def is_follow_up(query: str) -> bool:
    """A short reply that refers back to the previous answer ("harder please", "another one")."""
    return len(query) <= 80 and bool(_FOLLOW_UP.match(query.strip()))
