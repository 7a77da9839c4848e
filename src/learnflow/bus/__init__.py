"""Event bus transports behind one interface."""

from learnflow.bus.base import EventBus, Handler, Outcome, Subscription
from learnflow.bus.memory import MemoryBus
from learnflow.config import BusSettings


def create_bus(settings: BusSettings) -> EventBus:
    """Build the transport the settings select."""
    if settings.backend == "memory":
        return MemoryBus(max_attempts=settings.max_attempts, backoff_s=settings.retry_backoff_s)
    raise NotImplementedError(f"EVENT_BUS={settings.backend} is not available in this build; use EVENT_BUS=memory")


__all__ = ["EventBus", "Handler", "MemoryBus", "Outcome", "Subscription", "create_bus"]
