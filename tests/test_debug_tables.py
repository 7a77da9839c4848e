"""The debug tutor's plain tables are data: validated by their schema, and used by the rules and detectors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from learnflow.tutor.debug import tables
from learnflow.tutor.debug.registry import specifics
from learnflow.tutor.debug.traceback import ParsedError


def test_packaged_tables_validate() -> None:
    loaded = tables.load()
    assert loaded == tables.tables()
    assert loaded.mixups[("list", "push")] == "append"
    assert {"append", "sort"} <= loaded.mutating_methods
    assert loaded.syntax_hints[-1].contains == "invalid syntax"  # the catch-all is searched last


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t["method_mixups"].append(dict(t["method_mixups"][0])),  # the same pair twice
        lambda t: t["method_mixups"].append({"type": "list", "wrong": "push()", "right": "append"}),
        lambda t: t["syntax_hints"].append({"contains": "", "hint": "empty"}),
        lambda t: t.update(extra_table=[]),
        lambda t: t.pop("new_string_methods"),
    ],
)
def test_schema_refuses_broken_tables(tmp_path: Path, change: object) -> None:
    data = yaml.safe_load(tables.PATH.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path = tmp_path / "debug_tables.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ValidationError):
        tables.load(path)


def test_rules_read_the_tables() -> None:
    for hint in tables.tables().syntax_hints:
        assert specifics(ParsedError("SyntaxError", f"... {hint.contains} ...", 1), "x")[0] == hint.hint
    for (kind, wrong), right in tables.method_mixups().items():
        text, _ = specifics(ParsedError("AttributeError", f"'{kind}' object has no attribute '{wrong}'", 1), None)
        assert f"called `{right}`" in text
