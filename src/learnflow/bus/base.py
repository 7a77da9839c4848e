"""The event bus interface every transport implements."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from fastapi import APIRouter
from pydantic import BaseModel, RootModel, ValidationError

from learnflow import observability
from learnflow.events.envelope import CloudEvent

log = logging.getLogger(__name__)


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
    transport with server-side routing (Dapr's routing rules) can be given the same rule. ``skip`` names,
    the same way, events the handler has nothing to do for (``{"kind": "ack"}``): they are acknowledged
    as done unopened, before their payload is validated, traced or given a transaction.
    """

    topic: str
    group: str
    handler: Handler
    payload: type[BaseModel]
    match: Mapping[str, str] = field(default_factory=dict)
    skip: Mapping[str, str] = field(default_factory=dict)

    def matches(self, data: object) -> bool:
        if not isinstance(data, Mapping):  # a malformed payload matches only unfiltered subscriptions
            return not self.match
        return all(str(data.get(k)) == v for k, v in self.match.items())

    def skips(self, data: object) -> bool:
        # A malformed payload is never skipped: the handler's validation dead-letters it.
        if not self.skip or not isinstance(data, Mapping):
            return False
        return all(str(data.get(k)) == v for k, v in self.skip.items())


class RawPayload(RootModel[Any]):
    """Whatever an event carried, valid or not: what a dead-letter consumer must accept."""


@runtime_checkable
class Settling(Protocol):
    """A bus whose publish only queues an event in this process, and that says when it is done with it.

    A broker keeps what it accepted; this bus (the in-memory one) would lose an event it has queued but
    not yet delivered if the process died. So the outbox keeps the event's row until ``settled`` is
    called: once every subscription has finished with the event (done, or dead-lettered and that
    recorded).
    """

    def on_settled(self, event_id: str, settled: Callable[[], None]) -> None:
        """Call ``settled`` once the event ``event_id``, published next, is finished with."""
        ...

    def forget(self, event_id: str) -> None:
        """Drop the callback of an event that could not be published after all."""
        ...


class EventBus(Protocol):
    """Publish events and deliver them to subscriptions, at least once, with retries and a DLQ."""

    name: str

    def subscribe(self, subscription: Subscription) -> None: ...

    async def publish(self, topic: str, event: CloudEvent[Any]) -> None: ...

    async def publish_wire(self, topic: str, wire: dict[str, Any]) -> None:
        """Publish an already serialised event (as stored in the outbox)."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ping(self) -> str | None:
        """Return None when the transport answers, else the reason it does not."""
        ...

    def routes(self) -> APIRouter | None:
        """The HTTP routes through which the transport delivers to the app (Dapr's), or None (it pulls)."""
        ...


DeadLetter = Callable[[Subscription, dict[str, Any], str], Awaitable[None]]


async def deliver(
    sub: Subscription,
    wire: dict[str, Any],
    *,
    max_attempts: int,
    backoff_s: float,
    dead_letter: DeadLetter,
    failed_attempts: int = 0,
) -> Outcome:
    """Give one event to a subscription's handler: retry with exponential backoff, then dead-letter.

    The same policy for every transport: a handler that raises or answers RETRY is tried again up to
    ``max_attempts`` times; DROP, an invalid payload, or the last failed attempt sends the event to
    ``<topic>.dlq`` with the reason. The returned outcome says what happened. ``failed_attempts`` are
    attempts already made elsewhere (a Dapr delivery finished in the background); they count.
    """
    if sub.skips(wire.get("data")):
        observability.record_skipped(topic=sub.topic, service=sub.group)
        return Outcome.DONE
    try:
        # A payload class held in a variable cannot be a type argument for mypy (see envelope.event_model).
        event = CloudEvent[sub.payload].model_validate(wire)  # type: ignore[name-defined]
    except ValidationError as exc:
        await dead_letter(sub, wire, f"invalid payload: {exc.errors()[:3]}")
        return Outcome.DROP
    reason = "handler asked to retry" if failed_attempts else ""
    if failed_attempts:
        await asyncio.sleep(backoff_s * 2 ** (failed_attempts - 1))
    for attempt in range(failed_attempts + 1, max_attempts + 1):
        with observability.handling(sub.topic, sub.group, event) as handled:
            try:
                outcome = await sub.handler(event)
            except Exception as exc:
                log.warning("handler %s failed on %s (attempt %d): %r", sub.group, event.id, attempt, exc)
                outcome, reason = Outcome.RETRY, f"{type(exc).__name__}: {exc}"
            else:
                handled.outcome = outcome
        if outcome is Outcome.DONE:
            return outcome
        if outcome is Outcome.DROP:
            await dead_letter(sub, wire, reason or "dropped by handler")
            return outcome
        reason = reason or "handler asked to retry"
        if attempt < max_attempts:
            observability.record_retry(topic=sub.topic, service=sub.group)
            await asyncio.sleep(backoff_s * 2 ** (attempt - 1))
    await dead_letter(sub, wire, f"gave up after {max_attempts} attempts: {reason}")
    return Outcome.RETRY
