"""What a student's wording says about who should answer, shared by the trained router and the rules.

Students write "it says sintax eror", "doesnt wrk", "autograder says test 3 failed" and "does it meet
the requirements". Spelling variants are mapped to one form (a data table), then each marker below is
looked for; the model reads the markers as extra words and the rules add each marker's weight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import yaml
from pydantic import BaseModel

from learnflow.curriculum import DATA
from learnflow.specialists import Specialist

if TYPE_CHECKING:  # triage imports this module
    from learnflow.tutor.triage import Route

_F = re.IGNORECASE
_WORD = re.compile(r"[a-z']+")

# Long queries are mostly pasted tracebacks or code; the markers only need the student's own words.
MAX_CHARS = 4000


class SpellingTable(BaseModel):
    spelling: dict[str, str]


@cache
def spelling() -> dict[str, str]:
    """Variant spelling -> the form the markers and the model know."""
    table = SpellingTable.model_validate(yaml.safe_load((DATA / "triage_spelling.yaml").read_text()))
    return {k.lower(): v.lower() for k, v in table.spelling.items()}


def normalise(text: str) -> str:
    """Lowercase, with every known misspelling replaced by its usual form."""
    table = spelling()
    text = text[:MAX_CHARS].lower().replace("\u2019", "'").replace("`", "'")
    return _WORD.sub(lambda m: table.get(m.group(0), m.group(0)), text)


@dataclass(frozen=True)
class Marker:
    """A phrasing that points at one route; ``weight`` is what the hand-written rules add for it."""

    name: str
    pattern: re.Pattern[str]
    route: Route
    weight: float


_ERROR_PHRASES = (
    r"\w*(?:error|exception)s?\b|traceback|errno|"
    r"not (?:defined|callable|iterable|subscriptable)|(?:index|indices) out of range|out of range|"
    r"no attribute|no module named|invalid (?:syntax|literal|character)|unsupported operand|"
    r"can't (?:concatenate|unpack|convert|multiply)|unexpected (?:eof|indent)|eol while|unterminated|"
    r"indented block|maximum recursion|positional argument|too many values|not enough values|"
    r"does not support item|object is not|must be (?:str|int|integers)|division by zero|red text"
)

MARKERS: tuple[Marker, ...] = (
    # An exception or Python's error wording anywhere in the prose, with or without a traceback.
    Marker("zzerrornamed", re.compile(r"\b(?:" + _ERROR_PHRASES + r")", _F), Specialist.DEBUG, 2.0),
    Marker(
        "zznotworking",
        re.compile(
            r"\b(?:(?:doesn't|does not|didn't|did not|don't|do not|isn't|is not|won't|can't|never)"
            r" (?:even )?(?:work|works|working|run|running|start|stop|stops|print|prints|sort|change|count)\b|"
            # A bare "not" also says "and not print" in a question about ideas; only these verbs are trouble.
            r"(?:not|no) (?:work|works|working|run|running|start)\b|"
            r"stopped working|broken|broke|buggy|bug|crash\w*|mistake|what(?:'s| is)? wrong|what did i do wrong|"
            r"what am i doing wrong|fix (?:it|this|my|pls|please)|\bdebug\b|incorrect|messed up|goes crazy|complains|"
            r"not (?:giving|give|gives|showing|returning|printing) (?:me )?(?:the )?(?:right|correct|any|anything)|"
            r"(?:is|was|are|it's)(?: not|n't) (?:correct|right)|(?:doesn't|does not|don't) (?:return|print|do) what|"
            r"(?:problem|issue|something)(?: is)? (?:with|in|wrong with) (?:my|this|the) "
            r"(?:code|program|script|function)|"
            r"tests? (?:is|are) red)",
            _F,
        ),
        Specialist.DEBUG,
        2.5,
    ),
    Marker(
        "zzwrongoutput",
        re.compile(
            r"\b(?:wrong (?:answer|output|result|value|number|total|order)|output (?:is |was )?wrong|"
            r"should (?:be|print|return|output|give)|supposed to|instead of|expected\b.{0,30}\b(?:got|get|but)|"
            r"\bbut (?:it |i )?(?:get|got|prints|gives|returns|shows)|off by one|"
            r"always (?:0|zero|empty|none|false|true)|"
            r"(?:returns?|prints?|gives?) (?:none|nothing|0)\b|no output|nothing (?:happens|prints|shows)|"
            r"output mismatch|(?:prints|returns) the wrong)",
            _F,
        ),
        Specialist.DEBUG,
        2.5,
    ),
    Marker(
        "zztestsfail",
        re.compile(
            r"\b(?:auto-?grader|grader|checker|online judge|judge)\b.{0,40}\b(?:says?|said|gives?|fails?|failed|"
            r"wrong|error|rejects?|rejected|0 points)|"
            r"\btests?(?: case)?s?(?: \w+)?\s*#?\d*\s*(?:fail|fails|failed|failing)\b|"
            r"\b(?:fail|failed|failing|fails)\b.{0,20}\btests?\b|\b\d+\s*(?:/|of|out of)\s*\d+\s*tests?\b|"
            r"runtime error|time limit|timeout|wrong answer on|assert(?:ion)? ?(?:error|fails?)|submission rejected",
            _F,
        ),
        Specialist.DEBUG,
        3.0,
    ),
    Marker(
        "zzhangs",
        re.compile(
            r"\b(?:hangs?|hanging|freez\w*|froze|runs? forever|goes? forever|loops? forever|infinite|"
            r"never (?:ends|stops|finishes|returns)|"
            r"(?:not|doesn't|don't|didn't|isn't|won't|never) (?:terminat\w*|ending|end|stopping|exiting)|"
            r"stuck forever|stuck in a loop|keeps? (?:going|running))\b",
            _F,
        ),
        Specialist.DEBUG,
        2.5,
    ),
    Marker(
        "zzcheckme",
        re.compile(
            r"\b(?:(?:check|grade|mark|review|rate|score|verify|evaluate)(?: if| whether| over| quickly)?"
            r" (?:my|this|it|the)\b"
            r"(?! (?:error|code (?:doesn't|does not|isn't)))|"
            r"(?:meet|meets|meeting|satisfy|satisfies|fulfil\w*) (?:all )?(?:the |your |its )?"
            r"(?:requirements|task|spec)|"
            r"(?:will|would|does|can|could) (?:this|it|my \w+) (?:pass|get (?:accepted|full)|be accepted)|"
            r"(?:will|would) (?:the |all )?(?:tests?|checks?|autograder|grader) (?:pass|accept)|before i submit|"
            r"is (?:this|it|my (?:solution|answer|code|attempt)) (?:ok|okay|right|correct|good|fine|acceptable)|"
            r"(?:am i|did i (?:do|get|solve)(?: it| the task| this)?) (?:right|correct)|did i solve|"
            r"full marks|how many points|feedback on my|what the (?:task|exercise|assignment) (?:asks|wants|says)|"
            r"(?:run|test) (?:it|this|my (?:solution|answer|code|submission)) against|against the tests|"
            r"good enough to pass|tell me if (?:it's|it is|this is|my \w+ is|it) (?:correct|right|ok|okay|good)|"
            r"(?:right|correct)\?\s*$|(?:right|correct) or (?:wrong|not)|"
            r"do(?:es)? what (?:is|was|it's|the \w+) ask|what the (?:question|task) (?:asks|wants)|"
            r"(?:can|could) (?:it|this|my \w+) be (?:better|improved|shorter|cleaner)|"
            r"(?:can|could|do) i improve (?:my|this|it)|how did i do|better (?:solution|way|answer) than mine|"
            r"(?:here's|here is) my (?:solution|attempt|answer|code) (?:for|to) (?:the |this )?(?:exercise|task)|"
            r"any (?:comments|feedback|tips) (?:on|for|before)|(?:ready|ok|okay|good) to submit)",
            _F,
        ),
        Specialist.EXERCISE,
        3.5,
    ),
    # "What does KeyError mean" asks about the error in general: concepts, unless it is the student's own.
    Marker(
        "zzgeneralerror",
        re.compile(
            r"^(?!.*\b(?:my|i|i'm|im|me|mine|it says|says|this code|this program|here)\b)"
            r"(?:.*\b(?:mean|means|meaning|in general|usually|"
            r"what kind|types? of|difference|differences|kinds? of|common|when does python raise|what causes|"
            r"caused by)\b|"
            r"\s*(?:what|whats|what's) (?:is |are )?(?:an? |the )?(?:\w+ )?\w*(?:error|exception)s?\b)",
            _F,
        ),
        Specialist.CONCEPTS,
        4.0,
    ),
)


def markers(query: str, *, attached: bool = False) -> list[Marker]:
    """The markers the query's wording carries (looked for in its normalised form).

    ``attached``: code or an error message came with the query, so a question about an error is about
    the student's own, never one in general.
    """
    text = normalise(query)
    found = [m for m in MARKERS if m.pattern.search(text)]
    names = {m.name for m in found}
    if "zzgeneralerror" in names and ("zzerrornamed" not in names or attached):
        found = [m for m in found if m.name != "zzgeneralerror"]
    return found
