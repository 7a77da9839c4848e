"""The API's one timestamp format: time-zone aware UTC, ISO 8601 with microseconds and a ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer, WithJsonSchema


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive value is taken as UTC (SQLite hands back what was stored as UTC without its zone)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_utc(value: datetime) -> str:
    """One fixed width, whatever the value: clients may compare timestamps as strings."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


UtcDateTime = Annotated[
    datetime,
    AfterValidator(as_utc),
    PlainSerializer(format_utc, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "examples": ["2026-01-31T09:15:02.123456Z"]}, mode="serialization"
    ),
]
