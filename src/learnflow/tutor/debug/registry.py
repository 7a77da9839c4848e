"""The error rules: one per error family, each declared with ``@rule(...)`` in its own module under ``rules/``.

A rule explains a parsed error about this very program (a sentence and a first hint) and proposes
fix candidates; ``fixes.verified_fix`` runs the candidates and offers only one that works. Every
error type has at most one rule, so which rule answers is never a question of import order.
"""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, TypeVar

from learnflow.tutor.debug import source
from learnflow.tutor.debug.traceback import ParsedError

# A sentence about this very case, and a first hint that points at it (None: keep the table's first hint).
Explained = tuple[str, str | None]

_SUGGESTION = re.compile(r"Did you mean: '([^']+)'")
# "Bad example::" followed by an indented block, in reStructuredText's literal-block form.
_EXAMPLE = re.compile(r"^Bad example::\n\n((?:(?: {4}.*)?\n)+)", re.M)


@dataclass(frozen=True)
class Case:
    """One error of one program, as the rules see it."""

    parsed: ParsedError
    code: str | None
    # The probed values at the failing subscript (probe.culprit), for IndexError and KeyError.
    culprit: dict[str, Any] | None = None

    @property
    def kind(self) -> str:
        return self.parsed.error_type

    @property
    def message(self) -> str:
        return self.parsed.message

    @property
    def line(self) -> int | None:
        return self.parsed.line

    @property
    def source(self) -> str:
        """The program (fix candidates are only asked for when there is one)."""
        return self.code or ""

    @cached_property
    def lines(self) -> list[str]:
        return self.source.splitlines()

    @cached_property
    def text(self) -> str | None:
        """The failing line, if the program has it."""
        return source.line(self.code, self.line)

    @cached_property
    def suggestion(self) -> str | None:
        """Python's own "Did you mean: '...'" in the message."""
        m = _SUGGESTION.search(self.message)
        return m.group(1) if m else None

    def replace(self, number: int, new: str) -> str:
        """The program with line ``number`` replaced by ``new``."""
        return source.replace_line(self.source, number, new)

    def with_line(self, new: str) -> str:
        """The program with the failing line replaced by ``new``."""
        assert self.line is not None
        return self.replace(self.line, new)


class Rule:
    """What one error family knows. Override the parts the family has; the rest offer nothing."""

    name: ClassVar[str]
    handles: ClassVar[tuple[str, ...]]
    # Programs that raise the errors this rule handles, from its module's docstring.
    examples: ClassVar[tuple[str, ...]]

    def explain(self, case: Case) -> Explained | None:
        """A sentence about this very case and a first hint, or None when the message is not one it knows."""
        return None

    def fixes(self, case: Case) -> Iterator[str]:
        """Corrected programs that keep the program's meaning, tried first."""
        return iter(())

    def fallback_fixes(self, case: Case) -> Iterator[str]:
        """Corrected programs tried after the bug patterns' own fixes."""
        return iter(())

    def risky_fixes(self, case: Case) -> Iterator[str]:
        """Rewrites that may change what the program means: tried only against an expected output."""
        return iter(())


_RULES: dict[str, Rule] = {}
R = TypeVar("R", bound=type[Rule])


def examples_in(doc: str | None) -> tuple[str, ...]:
    """The programs under each "Bad example::" of a module docstring (tabs kept: a TabError needs them)."""
    return tuple(textwrap.dedent(m.group(1)).strip("\n") + "\n" for m in _EXAMPLE.finditer(doc or ""))


def rule(*error_types: str) -> Callable[[R], R]:
    """Register a rule class for these exception types (the last part of the name, as Python prints it).

    The rule's module docstring must hold at least one "Bad example::" program; the tests run each one.
    """
    if not error_types:
        raise ValueError("a rule handles at least one error type")

    def register(cls: R) -> R:
        examples = examples_in(sys.modules[cls.__module__].__doc__)
        if not examples:
            raise ValueError(f"rule {cls.__qualname__} has no 'Bad example::' in its module's docstring")
        taken = [t for t in error_types if t in _RULES]
        if taken:
            raise ValueError(f"rule {cls.__qualname__}: {', '.join(taken)} already handled by another rule")
        cls.name = cls.__module__.rsplit(".", 1)[-1]
        cls.handles = error_types
        cls.examples = examples
        instance = cls()
        for error_type in error_types:
            _RULES[error_type] = instance
        return cls

    return register


def rule_for(error_type: str) -> Rule | None:
    _load()
    return _RULES.get(error_type)


def all_rules() -> list[Rule]:
    """Every registered rule, once each, in catalog order."""
    _load()
    return list({id(r): r for r in _RULES.values()}.values())


def _load() -> None:
    # The catalog imports every rule module, and each registers itself.
    from learnflow.tutor.debug import rules  # noqa: F401


def specifics(parsed: ParsedError, code: str | None, culprit: dict[str, Any] | None = None) -> Explained:
    """A sentence about this very case and a first hint that points at it ("", None when no rule knows it)."""
    found = rule_for(parsed.error_type)
    explained = found.explain(Case(parsed, code, culprit)) if found is not None else None
    return explained if explained is not None else ("", None)
