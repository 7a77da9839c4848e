"""Explanations keyed by the exception's message, not only its type.

The entries live in ``curriculum/data/error_messages.yaml``. Each has a regular expression that must match the
whole message (``re.fullmatch``) as the interpreter prints it on the traceback's last line. When several entries
of the same exception type match, the most specific wins: the one whose pattern demands the most literal
characters in every match (see :func:`specificity`); ties go to the entry listed first in the file, and the
schema test forbids ties between entries whose examples would both match.

Values captured from the student's message (names, types, keys) are data from an adversary: they are cleaned
and shortened before they are put into the explanation, never interpreted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from learnflow.curriculum import DATA

# The stdlib's own regex parser: the only exact way to measure a pattern. typeshed describes it under
# its old public name only (importing that one warns of its deprecation).
if TYPE_CHECKING:
    import sre_parse
else:
    import re._parser as sre_parse

MESSAGES_FILE = DATA / "error_messages.yaml"
# Longer messages are cut before matching: a pasted wall of text must not cost more than a real message.
MAX_MESSAGE_CHARS = 2000
# A captured value longer than this is shortened: it goes into a sentence, not into a dump.
MAX_VALUE_CHARS = 80

# `{name}` is a placeholder; `{{` and `}}` stand for literal braces (an f-string in a hint), as in str.format.
_PLACEHOLDER = re.compile(r"(?P<brace>\{\{|\}\})|\{(?P<name>[A-Za-z_]\w*)\}")
# Characters that could end a Markdown code span, start a new line or hide text in a terminal.
_UNSAFE = re.compile(r"[`\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class MessageEntry(BaseModel):
    """One message the interpreter prints, what it means, and how to lead a beginner to the fix."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    error_type: str = Field(pattern=r"^[A-Z]\w*$", description="Exception class name as printed, without module.")
    pattern: str = Field(description="Regex that must match the whole message (fullmatch); empty: no message.")
    explanation: str = Field(min_length=60, description="2-4 sentences on what THIS message means.")
    causes: list[str] = Field(min_length=1)
    hints: list[str] = Field(min_length=3, max_length=3, description="A question, a pointer, a near-fix.")
    example: str = Field(min_length=1, description="A short program that raises exactly this message.")
    fixed: str = Field(min_length=1, description="The same program corrected; it runs without an exception.")
    variants: list[str] = Field(
        default_factory=list, description="The message as other Python versions print it; each must match."
    )

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"pattern does not compile: {exc}") from exc
        return value

    @field_validator("hints")
    @classmethod
    def _question_first(cls, value: list[str]) -> list[str]:
        if "?" not in value[0]:
            raise ValueError("the first hint must ask a question that sends the student to look at something")
        return value

    @model_validator(mode="after")
    def _placeholders_always_captured(self) -> MessageEntry:
        required = _mandatory_groups(self.pattern)
        for text in (self.explanation, *self.causes, *self.hints):
            for found in _PLACEHOLDER.finditer(text):
                name = found["name"]
                if name is not None and name not in required:
                    raise ValueError(f"{self.id}: placeholder {{{name}}} is not a group every match captures")
        for variant in self.variants:
            if not re.fullmatch(self.pattern, variant):
                raise ValueError(f"{self.id}: variant {variant!r} does not match the pattern")
        return self


class MessageFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[MessageEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> MessageFile:
        ids = [m.id for m in self.messages]
        if len(set(ids)) != len(ids):
            raise ValueError("message ids must be unique")
        patterns = [(m.error_type, m.pattern) for m in self.messages]
        if len(set(patterns)) != len(patterns):
            raise ValueError("two entries have the same error type and pattern")
        return self


class MessageExplanation(BaseModel):
    """An entry applied to one student's message: placeholders filled with cleaned values from it."""

    model_config = ConfigDict(frozen=True)

    id: str
    error_type: str
    explanation: str
    causes: list[str]
    hints: list[str]
    example: str
    fixed: str
    captured: dict[str, str] = Field(description="Named groups from the message, cleaned and shortened.")


def clean_value(value: str, limit: int = MAX_VALUE_CHARS) -> str:
    """A value from the student's message made safe to quote in a sentence: one line, no backticks, short."""
    flat = _UNSAFE.sub(" ", value).strip()
    flat = re.sub(r" {2,}", " ", flat)
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _walk(parsed: sre_parse.SubPattern) -> tuple[int, set[str]]:
    """(literal characters every match contains, group names every match captures) for a parsed pattern."""
    literal = 0
    groups: set[str] = set()
    names = {index: name for name, index in parsed.state.groupdict.items()}
    arg: Any  # an opcode's argument: its shape depends on the opcode, which typeshed's union does not tell
    for op, arg in parsed.data:  # what iterating the SubPattern yields
        if op is sre_parse.LITERAL:
            literal += 1
        elif op is sre_parse.SUBPATTERN:
            index, _, _, inner = arg
            n, g = _walk(inner)
            literal += n
            groups |= g
            if index in names:
                groups.add(names[index])
        elif op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, sre_parse.POSSESSIVE_REPEAT):
            low, _, inner = arg
            if low > 0:
                n, g = _walk(inner)
                literal += n * low
                groups |= g
        elif op is sre_parse.BRANCH:
            branches = [_walk(b) for b in arg[1]]
            literal += min(n for n, _ in branches)
            groups |= set.intersection(*(g for _, g in branches))
        elif op is sre_parse.ATOMIC_GROUP:
            n, g = _walk(arg)
            literal += n
            groups |= g
    return literal, groups


def specificity(pattern: str) -> int:
    """How specific a pattern is: the number of literal characters that every message it matches contains.

    ``'(?P<type>\\w+)' object is not subscriptable`` demands 30 fixed characters, ``'NoneType' object is not
    subscriptable`` demands 38, so a message about ``NoneType`` gets the entry written for ``None``.
    """
    return _walk(sre_parse.parse(pattern))[0]


def _mandatory_groups(pattern: str) -> set[str]:
    return _walk(sre_parse.parse(pattern))[1]


@dataclass(frozen=True)
class _Compiled:
    entry: MessageEntry
    regex: re.Pattern[str]
    rank: int
    order: int


def load_messages(path: Path = MESSAGES_FILE) -> list[MessageEntry]:
    return MessageFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))).messages


@cache
def _index() -> dict[str, tuple[_Compiled, ...]]:
    """Entries grouped by exception type, most specific first (ties: file order)."""
    by_type: dict[str, list[_Compiled]] = {}
    for order, entry in enumerate(load_messages()):
        compiled = _Compiled(entry, re.compile(entry.pattern), specificity(entry.pattern), order)
        by_type.setdefault(entry.error_type, []).append(compiled)
    return {t: tuple(sorted(cs, key=lambda c: (-c.rank, c.order))) for t, cs in by_type.items()}


def _competitors(error_type: str, message: str) -> tuple[tuple[_Compiled, ...], str]:
    """The entries of this exception type, best first, and the message as they are matched against."""
    return _index().get(error_type.strip().rsplit(".", 1)[-1], ()), message.strip()[:MAX_MESSAGE_CHARS]


def candidates(error_type: str, message: str) -> list[MessageEntry]:
    """Every entry whose pattern matches, in the order :func:`explain_message` prefers them."""
    competitors, text = _competitors(error_type, message)
    return [c.entry for c in competitors if c.regex.fullmatch(text)]


def explain_message(error_type: str, message: str) -> MessageExplanation | None:
    """The explanation written for this exact message, or None when no entry matches it.

    ``error_type`` may carry a module prefix (``json.decoder.JSONDecodeError``); ``message`` is the text after
    ``Type: `` on the traceback's last line (empty for a bare ``AssertionError``).
    """
    competitors, text = _competitors(error_type, message)
    for compiled in competitors:
        match = compiled.regex.fullmatch(text)
        if match is None:
            continue
        captured = {name: clean_value(value) for name, value in match.groupdict().items() if value is not None}
        entry = compiled.entry

        def fill(template: str, captured: dict[str, str] = captured) -> str:
            # One pass over our own template: a captured value containing "{x}" is never expanded again.
            return _PLACEHOLDER.sub(lambda m: m["brace"][0] if m["brace"] else captured[m["name"]], template)

        return MessageExplanation(
            id=entry.id,
            error_type=entry.error_type,
            explanation=fill(entry.explanation).strip(),
            causes=[fill(c) for c in entry.causes],
            hints=[fill(h) for h in entry.hints],
            example=entry.example,
            fixed=entry.fixed,
            captured=captured,
        )
    return None
