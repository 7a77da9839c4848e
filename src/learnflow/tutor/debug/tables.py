"""The debug tutor's plain tables (method mix-ups, syntax hints, ...), read once from ``debug_tables.yaml``."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from learnflow.curriculum import DATA

PATH = DATA / "debug_tables.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_Identifier = Field(pattern=r"^[A-Za-z_]\w*$")


class MethodMixup(_Strict):
    type: str = _Identifier
    wrong: str = _Identifier
    right: str = _Identifier


class SyntaxHint(_Strict):
    contains: str = Field(min_length=1, description="A piece of Python's error message.")
    hint: str = Field(min_length=1)


class DebugTables(_Strict):
    method_mixups: list[MethodMixup] = Field(min_length=1)
    module_function_aliases: dict[str, str] = Field(min_length=1)
    syntax_hints: list[SyntaxHint] = Field(min_length=1)
    mutating_methods: frozenset[str] = Field(min_length=1)
    new_string_methods: frozenset[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_answer_each(self) -> DebugTables:
        # Two entries for one (type, method) would make the answer depend on the file's order.
        seen = [(m.type, m.wrong) for m in self.method_mixups]
        if len(seen) != len(set(seen)):
            raise ValueError("method_mixups: a (type, wrong) pair is listed twice")
        needles = [h.contains for h in self.syntax_hints]
        if len(needles) != len(set(needles)):
            raise ValueError("syntax_hints: a message piece is listed twice")
        return self

    @property
    def mixups(self) -> dict[tuple[str, str], str]:
        return {(m.type, m.wrong): m.right for m in self.method_mixups}


def load(path: Path = PATH) -> DebugTables:
    return DebugTables.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@cache
def tables() -> DebugTables:
    """The packaged tables, loaded once per process."""
    return load()


@cache
def method_mixups() -> dict[tuple[str, str], str]:
    return tables().mixups
