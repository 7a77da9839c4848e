"""The specialists a query can be routed to: the one list every payload, schema and router names."""

from __future__ import annotations

from enum import StrEnum


class Specialist(StrEnum):
    """A tutor that answers routed queries; each is a service that declares itself with this name."""

    CONCEPTS = "concepts"
    DEBUG = "debug"
    EXERCISE = "exercise"

    @classmethod
    def _missing_(cls, value: object) -> Specialist | None:
        # Models validate against the members they saw when built; a member added later (a specialist
        # declared by a plugin, or by a test) must still validate, so look it up in the live table.
        found = cls._value2member_map_.get(value) if isinstance(value, str) else None
        return found if isinstance(found, cls) else None
