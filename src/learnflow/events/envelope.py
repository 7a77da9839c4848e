"""CloudEvents 1.0 structured-mode envelope, generic over the payload model."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from learnflow.events.topics import Topic

T = TypeVar("T", bound=BaseModel)

EVENT_TYPE_PREFIX = "com.learnflow."


class CloudEvent(BaseModel, Generic[T]):
    """A CloudEvent whose ``data`` is one of the payload models.

    Extension attributes (lower-case, as the spec requires) are allowed so that transports can add
    their own, such as Dapr's ``pubsubname`` or our ``dlqreason``.
    """

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), min_length=1)
    source: str = Field(min_length=1, examples=["/learnflow/triage-service"])
    type: str = Field(min_length=1, examples=["com.learnflow.learning.query"])
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: Literal["application/json"] = "application/json"
    subject: str | None = Field(default=None, description="The student id: transports use it as the partition key.")
    # W3C trace context (the CloudEvents distributed-tracing extension), so one question is one trace.
    # Free text on purpose: a malformed value starts a new trace, it never makes the event invalid.
    traceparent: str | None = Field(
        default=None,
        description="W3C traceparent of the span that published the event.",
        examples=["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
    )
    tracestate: str | None = Field(default=None, description="W3C tracestate that goes with traceparent.")
    traceid: str | None = Field(
        default=None,
        description="The traceparent again: Dapr keeps an event's own traceparent only when traceid is set.",
    )
    data: T

    @property
    def topic(self) -> str:
        return self.type.removeprefix(EVENT_TYPE_PREFIX)


@functools.cache
def event_model(payload: type[T]) -> type[CloudEvent[T]]:
    """The envelope parametrised with a payload class known at run time, so pydantic validates ``data`` as it."""
    # Remembered: pydantic's own look-up of a parametrised generic is several calls deep, once per event.
    # mypy reads a subscript of a generic class as a type expression, where a variable cannot stand.
    return CloudEvent[payload]  # type: ignore[valid-type]


def new_event(
    topic: Topic | str, data: T, *, source: str, subject: str | None = None, event_id: str | None = None
) -> CloudEvent[T]:
    """Wrap a payload for ``topic`` in a new envelope, with ``event_id`` or a fresh id."""
    model = event_model(type(data))
    kind = EVENT_TYPE_PREFIX + str(topic)
    if event_id:
        return model(id=event_id, source=source, type=kind, subject=subject, data=data)
    return model(source=source, type=kind, subject=subject, data=data)


def to_wire(event: CloudEvent[Any]) -> dict[str, Any]:
    """Serialise an event to the JSON-able dict sent on the wire."""
    return event.model_dump(mode="json", exclude_none=True)
