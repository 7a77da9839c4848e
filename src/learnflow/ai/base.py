"""The AI provider interface."""

from __future__ import annotations

from typing import Protocol, TypeVar

from pydantic import BaseModel

T = TypeVar("T", bound=BaseModel)


class AIUnavailable(Exception):
    """The provider could not produce an answer (no model configured, error, timeout, bad output)."""


class AIProvider(Protocol):
    """Turns a system prompt and a user message into an instance of a pydantic model."""

    name: str

    @property
    def is_llm(self) -> bool: ...

    async def generate(self, *, system: str, user: str, schema: type[T]) -> T:
        """Return ``schema`` filled in by the model; raise :class:`AIUnavailable` when it cannot."""
        ...
