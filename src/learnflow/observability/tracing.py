"""One question is one trace: W3C trace context from the HTTP request, through every event, to the answer.

OpenTelemetry's SDK makes the spans (a consumer's span has a new span id and its publisher's trace id);
they are exported over OTLP/HTTP only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the traces-specific
variable) is set, and otherwise only carried: in the ``traceparent``/``tracestate`` extension
attributes of every CloudEvent, and in the logs' ``trace_id``. The exporter honours the standard
``OTEL_*`` variables (headers, timeout, ``OTEL_SERVICE_NAME``); ``OTEL_SDK_DISABLED=true`` turns spans off.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger(__name__)

_PROPAGATOR = TraceContextTextMapPropagator()
_tracer = trace.get_tracer("learnflow")
_configured = False


def exporter_endpoint() -> str | None:
    """Where spans are exported, or None when they are not."""
    return os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None


def setup_tracing(service: str) -> None:
    """Install the SDK's tracer provider once per process (unless something else installed one first)."""
    global _configured
    if _configured:
        return
    _configured = True
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return  # an agent such as opentelemetry-instrument owns tracing: use its provider
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": service}
    provider = TracerProvider(resource=Resource.create(attributes))
    endpoint = exporter_endpoint()
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        log.info("tracing: exporting spans over OTLP/HTTP to %s", endpoint)
    trace.set_tracer_provider(provider)


def _extract(carrier: Mapping[str, str]) -> otel_context.Context:
    return _PROPAGATOR.extract({k: v for k, v in carrier.items() if v})


def current_trace_context() -> dict[str, str]:
    """``traceparent`` (and ``tracestate``, when there is one) of the current span; empty outside any span."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier


def trace_id() -> str | None:
    span = trace.get_current_span().get_span_context()
    return format(span.trace_id, "032x") if span.is_valid else None


@contextlib.contextmanager
def server_span(method: str, headers: Mapping[str, str]) -> Iterator[Span]:
    """A span for one HTTP request, continuing the caller's ``traceparent`` when it sent one."""
    parent = _extract({k: headers.get(k, "") for k in ("traceparent", "tracestate")})
    with _tracer.start_as_current_span(
        method, context=parent, kind=SpanKind.SERVER, record_exception=False, set_status_on_exception=False
    ) as span:
        yield span


@contextlib.contextmanager
def consumer_span(topic: str, group: str, event: Any) -> Iterator[Span]:
    """A span for one handler attempt on ``event``, a child of the span that published it."""
    carrier = {
        "traceparent": str(getattr(event, "traceparent", None) or ""),
        "tracestate": str(getattr(event, "tracestate", None) or ""),
    }
    with _tracer.start_as_current_span(
        f"{topic} process",
        context=_extract(carrier),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "learnflow",
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            "messaging.consumer.group.name": group,
            "messaging.message.id": str(getattr(event, "id", "")),
        },
    ) as span:
        yield span
