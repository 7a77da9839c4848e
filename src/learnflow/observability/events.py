"""The event side: what one handler attempt carries (ids, trace) and what it counts."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from learnflow.observability import logs, metrics, tracing


@dataclass
class Attempt:
    """One handler attempt; the delivery path sets ``outcome`` to what the handler answered."""

    topic: str
    service: str
    outcome: str = "error"


@contextlib.contextmanager
def handling(topic: str, service: str, event: Any) -> Iterator[Attempt]:
    """Around one handler call: bind the event's ids to the logs, continue its trace, count the outcome.

    Every transport's handler calls go through here (``bus.base.deliver`` for memory, Kafka and Dapr's
    background path, ``DaprBus._call`` for Dapr's direct deliveries), so the counts and the trace do
    not depend on the transport. An exception leaving the block counts as ``error``.
    """
    attempt = Attempt(topic=topic, service=service)
    data = getattr(event, "data", None)
    query_id = getattr(data, "query_id", None)
    with (
        logs.bound(
            event_id=str(getattr(event, "id", "")),
            topic=topic,
            consumer=service,
            query_id=query_id if isinstance(query_id, str) else None,
        ),
        tracing.consumer_span(topic, service, event) as span,
    ):
        try:
            yield attempt
        finally:
            outcome = str(getattr(attempt.outcome, "name", attempt.outcome)).lower()
            span.set_attribute("learnflow.outcome", outcome)
            metrics.record_handled(topic=topic, service=service, outcome=outcome)
