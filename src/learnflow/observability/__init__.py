"""Operating LearnFlow: structured logs, Prometheus metrics and W3C trace context, in one place.

- :mod:`.logs`: ``configure_logging`` (JSON lines or text, ids from the context, secrets redacted).
- :mod:`.metrics`: every metric, ``/metrics`` rendering, and the functions call sites use to count.
- :mod:`.tracing`: OpenTelemetry spans, carried in events' ``traceparent``; exported only when configured.
- :mod:`.http`: the ``Observe`` middleware; :mod:`.events`: ``handling`` around each handler attempt.
"""

from learnflow.observability.events import handling
from learnflow.observability.http import Observe
from learnflow.observability.logs import bind, bound, configure_logging
from learnflow.observability.metrics import (
    record_answer,
    record_dead_letter,
    record_llm_call,
    record_published,
    record_retry,
    record_sandbox_refused,
    record_sandbox_run,
    record_skipped,
    sandbox_gauges,
)
from learnflow.observability.tracing import current_trace_context, setup_tracing

__all__ = [
    "Observe",
    "bind",
    "bound",
    "configure_logging",
    "current_trace_context",
    "handling",
    "record_answer",
    "record_dead_letter",
    "record_llm_call",
    "record_published",
    "record_retry",
    "record_sandbox_refused",
    "record_sandbox_run",
    "record_skipped",
    "sandbox_gauges",
    "setup_tracing",
]
