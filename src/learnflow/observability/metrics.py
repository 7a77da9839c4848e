"""Prometheus metrics: one registry per process, whatever services it runs.

Every metric is defined here and changed through the small functions below, so that call sites say
what happened (``record_sandbox_run(result, seconds)``) and the names and labels stay in one place.
Labels have few values on purpose: route templates rather than paths, consumer groups, outcomes.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from learnflow.sandbox import ExecutionResult, Sandbox

SandboxOutcome = Literal["ok", "error", "timed_out", "memory_exceeded", "refused", "busy"]
SANDBOX_OUTCOMES: tuple[SandboxOutcome, ...] = ("ok", "error", "timed_out", "memory_exceeded", "refused", "busy")

HTTP_REQUEST_DURATION = Histogram(
    "learnflow_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status code.",
    ("method", "route", "status"),
)
EVENTS_HANDLED = Counter(
    "learnflow_events_handled_total",
    "Handler attempts on delivered events, by topic, consuming service (consumer group) and outcome "
    "(done, retry, drop, error = the handler raised, skipped = acknowledged unopened).",
    ("topic", "service", "outcome"),
)
EVENTS_RETRIED = Counter(
    "learnflow_events_retried_total",
    "Deliveries tried again after a failed attempt (on Dapr: answered RETRY, daprd retries), by topic and service.",
    ("topic", "service"),
)
EVENTS_DEAD_LETTERED = Counter(
    "learnflow_events_dead_lettered_total",
    "Events a consumer gave up on, recorded from its dead-letter topic (once per event), by topic and service.",
    ("topic", "service"),
)
EVENTS_PUBLISHED = Counter(
    "learnflow_events_published_total", "Events staged for publishing (through the outbox), by topic.", ("topic",)
)
SANDBOX_RUNS = Counter(
    "learnflow_sandbox_runs_total",
    "Programs run (or refused) by the sandbox, by outcome: ok, error, timed_out, memory_exceeded, "
    "refused (no isolation works), busy (queue full).",
    ("outcome",),
)
SANDBOX_RUN_DURATION = Histogram(
    "learnflow_sandbox_run_duration_seconds",
    "How long a program ran in the sandbox, from its start to its end, by outcome.",
    ("outcome",),
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0),
)
LLM_CALLS = Counter(
    "learnflow_llm_calls_total",
    "Calls to the LLM, by provider, requested answer schema and outcome (ok, error, invalid_output).",
    ("provider", "schema", "outcome"),
)
LLM_CALL_DURATION = Histogram(
    "learnflow_llm_call_duration_seconds",
    "Time an LLM call took, retries included, by provider.",
    ("provider",),
    buckets=(0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 40.0, 80.0),
)
LLM_FALLBACKS = Counter(
    "learnflow_llm_fallbacks_total",
    "Answers that fell back to the offline tutor because the LLM failed, was over budget or its code did not run.",
    ("agent",),
)
ANSWERS = Counter(
    "learnflow_answers_total",
    "Answers published, by agent and source (offline, llm, offline-fallback).",
    ("agent", "source"),
)


def render() -> tuple[bytes, str]:
    """The registry in Prometheus' text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# -- HTTP and events ------------------------------------------------------------------------------
def observe_request(*, method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUEST_DURATION.labels(method, route, str(status)).observe(seconds)


def record_handled(*, topic: str, service: str, outcome: str) -> None:
    EVENTS_HANDLED.labels(topic, service, outcome).inc()


def record_skipped(*, topic: str, service: str) -> None:
    """An event the subscription skips (``Subscription.skip``): done without a handler attempt."""
    EVENTS_HANDLED.labels(topic, service, "skipped").inc()


def record_retry(*, topic: str, service: str) -> None:
    EVENTS_RETRIED.labels(topic, service).inc()


def record_dead_letter(*, topic: str, service: str) -> None:
    EVENTS_DEAD_LETTERED.labels(topic, service).inc()


def record_published(*, topic: str) -> None:
    EVENTS_PUBLISHED.labels(topic).inc()


# -- AI ------------------------------------------------------------------------------------------
def record_llm_call(*, provider: str, schema: str, outcome: str, seconds: float) -> None:
    LLM_CALLS.labels(provider, schema, outcome).inc()
    LLM_CALL_DURATION.labels(provider).observe(seconds)


def record_answer(*, agent: str, source: str) -> None:
    ANSWERS.labels(agent, source).inc()
    if source == "offline-fallback":
        LLM_FALLBACKS.labels(agent).inc()


# -- the sandbox ---------------------------------------------------------------------------------
def sandbox_outcome(result: ExecutionResult) -> SandboxOutcome:
    if result.timed_out:
        return "timed_out"
    if result.memory_exceeded:
        return "memory_exceeded"
    return "ok" if result.exit_code == 0 else "error"


def record_sandbox_run(result: ExecutionResult, seconds: float) -> None:
    """Count one program the sandbox ran, and how long it ran."""
    outcome = sandbox_outcome(result)
    SANDBOX_RUNS.labels(outcome).inc()
    SANDBOX_RUN_DURATION.labels(outcome).observe(seconds)


def record_sandbox_refused(outcome: Literal["refused", "busy"], programs: int = 1) -> None:
    """Count programs the sandbox did not run: no isolation works (refused), or its queue is full (busy)."""
    SANDBOX_RUNS.labels(outcome).inc(programs)


class _SandboxGauges(Collector):
    """Runs in progress and waiting, read from each live sandbox's gate when Prometheus scrapes."""

    def __init__(self) -> None:
        self.sandboxes: weakref.WeakSet[Any] = weakref.WeakSet()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        running, queued = 0, 0
        for sandbox in list(self.sandboxes):
            gate = getattr(sandbox, "gate", None)
            running += int(getattr(gate, "in_use", 0))
            queued += int(getattr(gate, "queued", 0))
        yield GaugeMetricFamily("learnflow_sandbox_runs_in_progress", "Sandbox runs holding a slot now.", value=running)
        yield GaugeMetricFamily(
            "learnflow_sandbox_queue_depth", "Sandbox runs waiting for a slot now (all students).", value=queued
        )


_GAUGES = _SandboxGauges()
REGISTRY.register(_GAUGES)


def sandbox_gauges(sandbox: Sandbox) -> None:
    """Report ``sandbox``'s runs in progress and queue depth (its ``gate.in_use`` / ``gate.queued``)."""
    _GAUGES.sandboxes.add(sandbox)
