"""AI providers behind one interface."""

from learnflow.ai.base import AIProvider, AIUnavailable
from learnflow.ai.offline import OfflineProvider
from learnflow.config import AISettings


def create_provider(settings: AISettings) -> AIProvider:
    """The provider the settings select: openai when a key is present, unless overridden."""
    if settings.resolved_provider == "openai":
        from learnflow.ai.openai_provider import OpenAIProvider

        return OpenAIProvider(settings)
    return OfflineProvider()


__all__ = ["AIProvider", "AIUnavailable", "OfflineProvider", "create_provider"]
