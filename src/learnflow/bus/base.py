"""The event bus interface every transport implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel

from learnflow.events.envelope import CloudEvent


class Outcome(StrEnum):
    """What a handler did with an event; the names are Dapr's delivery statuses."""

    DONE = "SUCCESS"  # processed (or already processed): acknowledge it
    RETRY = "RETRY"  # transient failure: deliver again later
    DROP = "DROP"  # can never succeed (bad payload): dead-letter it, don't retry


Handler = Callable[[CloudEvent[Any]], Awaitable[Outcome]]


@dataclass(frozen=True)
class Subscription:
    """A consumer group's interest in one topic.

    ``match`` selects events by payload fields (``{"routed_to": "debug"}``) declaratively, so that a
    transport with server-side routing (Dapr's routing rules) can be given the same rule.
    """

    topic: str
    group: str
    handler: Handler
    payload: type[BaseModel]
    match: Mapping[str, str] = field(default_factory=dict)

    def matches(self, data: Mapping[str, Any]) -> bool:
        return all(str(data.get(k)) == v for k, v in self.match.items())


class EventBus(Protocol):
    """Publish events and deliver them to subscriptions, at least once, with retries and a DLQ."""

    name: str

    def subscribe(self, subscription: Subscription) -> None: ...

    async def publish(self, topic: str, event: CloudEvent[Any]) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ping(self) -> str | None:
        """Return None when the transport answers, else the reason it does not."""
        ...
