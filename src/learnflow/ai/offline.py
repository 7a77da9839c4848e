"""The provider used when no language model is configured: the offline tutor engine answers alone."""

from __future__ import annotations

from learnflow.ai.base import AIUnavailable, T


class OfflineProvider:
    """Deterministic and network-free: it declines every generation, so agents use their offline engine."""

    name = "offline"

    @property
    def is_llm(self) -> bool:
        return False

    async def generate(self, *, system: str, user: str, schema: type[T]) -> T:
        raise AIUnavailable("no language model is configured (set OPENAI_API_KEY to use one)")
