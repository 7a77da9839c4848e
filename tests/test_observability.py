"""Operating LearnFlow: /metrics moves with requests, events, sandbox runs and LLM calls; logs carry ids and
no secrets; one question is one trace from the HTTP request through its events."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from learnflow.ai import AIUnavailable, OfflineProvider
from learnflow.ai.openai_provider import OpenAIProvider
from learnflow.bus import MemoryBus, Outcome, Subscription
from learnflow.config import AISettings, AppSettings, DatabaseSettings, Settings
from learnflow.db.models import DeadLetter
from learnflow.events import CloudEvent, LearningResponse, ProgressUpdated, Topic
from learnflow.observability import configure_logging
from learnflow.runtime import Runtime
from learnflow.sandbox import SandboxBusy, SandboxUnavailable
from learnflow.services.app import create_app
from learnflow.tutor.triage import LLMRoute
from tests.conftest import RuntimeFactory, make_settings

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"
API_KEY = "sk-test-0123456789abcdefghijklmnop"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: what is measured here does not depend on the database."""
    return f"sqlite+inloop:///{tmp_path / 'learnflow.db'}"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = await client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(resp.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def wait_until(predicate, limit_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + limit_s
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def ask(query: str, **extra: str) -> dict[str, str]:
    return {"student_id": "obs-student", "session_id": "obs-session", "query": query, **extra}


# -- /metrics ------------------------------------------------------------------------------------
async def test_metrics_count_a_request_by_route_template_and_its_events_by_topic_and_service(
    client: httpx.AsyncClient,
):
    before = await scrape(client)
    resp = await client.post("/api/triage", params={"wait": 5}, json=ask("Can you explain how Python loops work?"))
    assert resp.json()["status"] == "answered", resp.text
    query_id = resp.json()["query_id"]
    assert (await client.get(f"/api/queries/{query_id}")).status_code == 200
    assert (await client.get("/api/queries/no-such-query")).status_code == 404
    assert (await client.get("/no/such/path")).status_code == 404
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    latency = "learnflow_http_request_duration_seconds_count"
    assert delta(latency, method="POST", route="/api/triage", status="200") == 1
    # The template, not the path: two query ids, one series per status.
    assert delta(latency, method="GET", route="/api/queries/{query_id}", status="200") == 1
    assert delta(latency, method="GET", route="/api/queries/{query_id}", status="404") == 1
    assert delta(latency, method="GET", route="unmatched", status="404") == 1
    assert not any(query_id in str(labels) for _, labels in after)
    handled = "learnflow_events_handled_total"
    assert delta(handled, topic="learning.query", service="concepts", outcome="done") == 1
    # triage stores the answer; the acknowledgement, stored with the query, is skipped unopened
    assert delta(handled, topic="learning.response", service="triage", outcome="done") == 1
    assert delta(handled, topic="learning.response", service="triage", outcome="skipped") == 1
    assert delta("learnflow_events_published_total", topic="learning.query") == 1
    assert delta("learnflow_answers_total", agent="concepts", source="offline") == 1


async def test_a_failing_consumer_counts_its_attempts_retries_and_one_dead_letter(make_runtime: RuntimeFactory):
    rt = make_runtime(("triage",))

    async def broken(event: CloudEvent[ProgressUpdated]) -> Outcome:
        raise RuntimeError("boom")

    rt.consume(Topic.PROGRESS_UPDATED, "progress-watcher", broken, payload=ProgressUpdated)
    await rt.start()
    app = create_app(runtime=rt)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        before = await scrape(client)
        payload = ProgressUpdated(student_id="s", topic="lists", mastery=50, level="Learning", overall=2)
        await rt.publish(Topic.PROGRESS_UPDATED, payload, subject="s")

        async def recorded() -> bool:
            async with rt.db.session() as session:
                return (await session.scalar(select(DeadLetter.id))) is not None

        await wait_until(recorded)
        after = await scrape(client)
    labels = {"topic": "progress.updated", "service": "progress-watcher"}
    attempts = 4  # MemoryBus' default max_attempts

    def delta(name: str, **extra: str) -> float:
        return value(after, name, **labels, **extra) - value(before, name, **labels, **extra)

    assert delta("learnflow_events_handled_total", outcome="error") == attempts
    assert delta("learnflow_events_retried_total") == attempts - 1
    assert delta("learnflow_events_dead_lettered_total") == 1


# -- the sandbox ---------------------------------------------------------------------------------
async def test_sandbox_runs_are_counted_by_outcome_with_durations_and_gauges(runtime: Runtime):
    if not runtime.sandbox.available:
        pytest.skip(f"no sandbox here: {runtime.sandbox.isolation_reason}")
    app = create_app(runtime=runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        before = await scrape(client)
        assert (await runtime.sandbox.run("print(1)")).ok
        assert (await runtime.sandbox.run("raise SystemExit(3)")).exit_code == 3
        assert (await runtime.sandbox.run("while True:\n    pass\n", timeout_s=0.5)).timed_out
        slow = asyncio.create_task(runtime.sandbox.run("import time\ntime.sleep(1.5)\n"))

        async def running() -> bool:
            return runtime.sandbox.gate.in_use == 1

        await wait_until(running)
        during = await scrape(client)
        await slow
        after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("learnflow_sandbox_runs_total", outcome="ok") == 2
    assert delta("learnflow_sandbox_runs_total", outcome="error") == 1
    assert delta("learnflow_sandbox_runs_total", outcome="timed_out") == 1
    assert delta("learnflow_sandbox_run_duration_seconds_count", outcome="timed_out") == 1
    assert delta("learnflow_sandbox_run_duration_seconds_sum", outcome="timed_out") >= 0.4
    assert value(during, "learnflow_sandbox_runs_in_progress") >= 1
    assert value(after, "learnflow_sandbox_runs_in_progress") == 0
    assert value(after, "learnflow_sandbox_queue_depth") == 0


async def test_refused_and_busy_runs_are_counted(runtime: Runtime, tmp_path: Path):
    from learnflow.config import SandboxSettings
    from learnflow.sandbox import Sandbox, owner_scope

    refusing = Sandbox(SandboxSettings(SANDBOX_BWRAP=str(tmp_path / "no-bwrap")))  # type: ignore[call-arg]
    full = Sandbox(
        SandboxSettings(SANDBOX_MAX_CONCURRENCY=1, SANDBOX_MAX_QUEUE=0)  # type: ignore[call-arg]
    )
    app = create_app(runtime=runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        before = await scrape(client)
        with pytest.raises(SandboxUnavailable):
            await refusing.run("print(1)")
        with owner_scope("a"):
            holder = asyncio.create_task(full.run("import time\ntime.sleep(1)\n"))

            async def busy() -> bool:
                return full.gate.in_use == 1

            await wait_until(busy)
            with pytest.raises(SandboxBusy):
                await full.run("print(1)")
            await holder
        after = await scrape(client)
    for outcome in ("busy", "refused"):
        metric = "learnflow_sandbox_runs_total"
        assert value(after, metric, outcome=outcome) - value(before, metric, outcome=outcome) == 1


# -- the LLM -------------------------------------------------------------------------------------
class DecliningLLM(OfflineProvider):
    """An LLM that is configured but never answers: every answer falls back to the offline tutor."""

    name = "declining"

    @property
    def is_llm(self) -> bool:
        return True

    async def generate(self, *, system: str, user: str, schema: type[Any]) -> Any:
        raise AIUnavailable("the model is down")


async def test_llm_calls_failures_and_fallbacks_are_counted(make_runtime: RuntimeFactory):
    rt = make_runtime(ai=DecliningLLM())
    await rt.start()
    app = create_app(runtime=rt)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=30) as client:
        before = await scrape(client)
        resp = await client.post("/api/triage", params={"wait": 10}, json=ask("Can you explain how Python loops work?"))
        assert resp.json()["response"]["source"] == "offline-fallback", resp.text

        replies = iter([httpx.Response(200, json=_completion('{"route": "concepts"}')), httpx.Response(500)])
        provider = OpenAIProvider(AISettings(OPENAI_API_KEY=API_KEY, OPENAI_MAX_RETRIES=0))  # type: ignore[call-arg]
        provider.client = openai.AsyncOpenAI(
            api_key=API_KEY,
            max_retries=0,
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(lambda _: next(replies))),
        )
        assert (await provider.generate(system="s", user="u", schema=LLMRoute)).route == "concepts"
        with pytest.raises(AIUnavailable):
            await provider.generate(system="s", user="u", schema=LLMRoute)
        after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("learnflow_llm_fallbacks_total", agent="concepts") == 1
    assert delta("learnflow_answers_total", agent="concepts", source="offline-fallback") == 1
    assert delta("learnflow_llm_calls_total", provider="openai", schema="LLMRoute", outcome="ok") == 1
    assert delta("learnflow_llm_calls_total", provider="openai", schema="LLMRoute", outcome="error") == 1
    assert delta("learnflow_llm_call_duration_seconds_count", provider="openai") == 2


def _completion(content: str) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o-mini",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}},
        ],
    }


# -- trace context -------------------------------------------------------------------------------
def trace_of(traceparent: str) -> tuple[str, str]:
    version, trace_id, span_id, _flags = traceparent.split("-")
    assert version == "00" and len(trace_id) == 32 and len(span_id) == 16
    return trace_id, span_id


async def test_one_question_is_one_trace_from_the_request_to_the_answer(client: httpx.AsyncClient, runtime: Runtime):
    traceparent = f"00-{TRACE_ID}-{PARENT_SPAN}-01"
    resp = await client.post(
        "/api/triage",
        params={"wait": 5},
        json=ask("Can you explain how Python loops work?"),
        headers={"traceparent": traceparent},
    )
    assert resp.json()["status"] == "answered", resp.text
    query_id = resp.json()["query_id"]
    assert isinstance(runtime.bus, MemoryBus)
    events = [(topic, wire) for topic, wire in runtime.bus.published if wire["data"].get("query_id") == query_id]
    query = next(wire for topic, wire in events if topic == "learning.query")
    answer = next(wire for topic, wire in events if topic == "learning.response" and wire["data"]["kind"] == "answer")
    # Published while handling the request: the request's trace, a span of our own.
    assert trace_of(query["traceparent"])[0] == TRACE_ID
    assert trace_of(query["traceparent"])[1] != PARENT_SPAN
    assert query["traceid"] == query["traceparent"]  # what daprd needs to keep it
    # Published by the concepts consumer: the same trace, the consumer's span.
    assert trace_of(answer["traceparent"])[0] == TRACE_ID
    assert trace_of(answer["traceparent"])[1] not in (PARENT_SPAN, trace_of(query["traceparent"])[1])
    assert CloudEvent[ProgressUpdated].model_fields["traceparent"].default is None


async def test_a_request_without_traceparent_starts_a_trace_its_events_share(
    client: httpx.AsyncClient, runtime: Runtime
):
    resp = await client.post("/api/triage", params={"wait": 5}, json=ask("Give me a Python exercise on loops"))
    query_id = resp.json()["query_id"]
    assert isinstance(runtime.bus, MemoryBus)
    traces = {
        trace_of(wire["traceparent"])[0]
        for topic, wire in runtime.bus.published
        if topic.startswith("learning.") and wire["data"].get("query_id") == query_id
    }
    assert len(traces) == 1 and TRACE_ID not in traces


async def test_a_malformed_traceparent_neither_fails_the_request_nor_the_event(client: httpx.AsyncClient):
    resp = await client.post(
        "/api/triage", params={"wait": 5}, json=ask("What is a list?"), headers={"traceparent": "garbage"}
    )
    assert resp.status_code == 200 and resp.json()["status"] == "answered"


# -- logs ----------------------------------------------------------------------------------------
def json_settings(tmp_path: Path, **app: str) -> Settings:
    base = make_settings(tmp_path)
    return Settings(
        app=AppSettings(LEARNFLOW_DATA_DIR=str(tmp_path), **app),  # type: ignore[arg-type]
        db=DatabaseSettings(POSTGRES_PASSWORD="pg-secret-password"),  # type: ignore[call-arg]
        bus=base.bus,
        ai=AISettings(AI_PROVIDER="offline", OPENAI_API_KEY=API_KEY),  # type: ignore[call-arg]
        sandbox=base.sandbox,
    )


def test_log_format_is_json_in_the_cluster_and_text_locally():
    assert AppSettings(ENVIRONMENT="production").resolved_log_format == "json"  # type: ignore[call-arg]
    assert AppSettings(ENVIRONMENT="staging").resolved_log_format == "json"  # type: ignore[call-arg]
    assert AppSettings(ENVIRONMENT="development").resolved_log_format == "text"  # type: ignore[call-arg]
    assert AppSettings(ENVIRONMENT="production", LOG_FORMAT="TEXT").resolved_log_format == "text"  # type: ignore[call-arg]
    assert AppSettings(LOG_FORMAT="json").resolved_log_format == "json"  # type: ignore[call-arg]


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_secrets_are_redacted_from_log_lines(tmp_path: Path, restore_logging: None, log_format: str):
    stream = io.StringIO()
    configure_logging(json_settings(tmp_path, LOG_FORMAT=log_format), stream=stream)
    log = logging.getLogger("learnflow.test")
    log.warning("calling the model with key %s", API_KEY)
    log.warning("connecting to postgresql://learnflow:pg-secret-password@db:5432/learnflow")
    log.warning("the password setting is %r", "pg-secret-password")  # known only as a SecretStr setting
    log.warning("header Authorization: Bearer %s", "another-token-value-123")
    try:
        raise ValueError(f"bad key {API_KEY}")
    except ValueError:
        log.exception("failed")
    log.info("extra field", extra={"detail": f"key={API_KEY}"})
    written = stream.getvalue()
    assert API_KEY not in written and "pg-secret-password" not in written and "another-token-value" not in written
    assert written.count("[REDACTED]") >= 5
    assert "the password setting is '[REDACTED]'" in written
    assert "calling the model with key [REDACTED]" in written
    if log_format == "json":
        lines = [json.loads(line) for line in written.splitlines() if line.startswith("{")]
        assert [line["level"] for line in lines] == ["WARNING"] * 4 + ["ERROR", "INFO"]
        assert "[REDACTED]" in lines[4]["exception"] and lines[5]["detail"] == "key=[REDACTED]"


@pytest.fixture
async def json_client(
    make_runtime: RuntimeFactory, tmp_path: Path, restore_logging: None
) -> AsyncIterator[tuple[httpx.AsyncClient, io.StringIO, Runtime]]:
    stream = io.StringIO()
    configure_logging(json_settings(tmp_path, LOG_FORMAT="json"), stream=stream, level=logging.INFO)
    rt = make_runtime()
    await rt.start()
    app = create_app(runtime=rt)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=30) as client:
        yield client, stream, rt


async def test_a_requests_log_lines_carry_its_request_id_and_never_its_body(
    json_client: tuple[httpx.AsyncClient, io.StringIO, Runtime],
):
    client, stream, _ = json_client
    marker = "STUDENT_CODE_MARKER_7731"
    resp = await client.post(
        "/api/triage",
        params={"wait": 5},
        json=ask("why does this fail?", code=f"{marker} = 1\nprint(y)\n", error_message="NameError: y"),
        headers={"X-Request-ID": "req-obs-1", "traceparent": f"00-{TRACE_ID}-{PARENT_SPAN}-01"},
    )
    assert resp.status_code == 200 and resp.headers["x-request-id"] == "req-obs-1"
    generated = await client.get("/health")
    assert len(generated.headers["x-request-id"]) == 32
    bad = await client.get("/health", headers={"X-Request-ID": "x" * 500})
    assert bad.headers["x-request-id"] != "x" * 500
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == "req-obs-1"]
    access = [line for line in mine if line["logger"] == "learnflow.http"]
    assert len(access) == 1
    assert access[0]["route"] == "/api/triage" and access[0]["status"] == 200 and access[0]["method"] == "POST"
    assert access[0]["trace_id"] == TRACE_ID and access[0]["query_id"] == resp.json()["query_id"]
    assert all(line["service"] == "learnflow" for line in lines)
    assert marker not in stream.getvalue()


async def test_an_event_handlers_log_lines_carry_the_event_topic_query_and_trace(
    json_client: tuple[httpx.AsyncClient, io.StringIO, Runtime],
):
    client, stream, rt = json_client
    handler_log = logging.getLogger("learnflow.test.handler")
    seen: list[str] = []

    async def on_response(event: CloudEvent[Any]) -> Outcome:
        handler_log.info("handling a response")
        seen.append(event.id)
        return Outcome.DONE

    # A consumer registered after start still gets its workers on the in-memory bus.
    rt.bus.subscribe(Subscription("learning.response", "log-watcher", on_response, LearningResponse))
    resp = await client.post(
        "/api/triage",
        params={"wait": 5},
        json=ask("Can you explain how Python loops work?"),
        headers={"traceparent": f"00-{TRACE_ID}-{PARENT_SPAN}-01"},
    )
    query_id = resp.json()["query_id"]

    async def both_seen() -> bool:
        return len(seen) >= 2

    await wait_until(both_seen)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    handled = [line for line in lines if line["message"] == "handling a response"]
    assert len(handled) >= 2
    for line in handled:
        assert line["topic"] == "learning.response" and line["consumer"] == "log-watcher"
        assert line["event_id"] in seen and line["query_id"] == query_id
        assert line["trace_id"] == TRACE_ID and line["span_id"] != PARENT_SPAN
        assert "request_id" not in line  # a delivery is not the request, though it continues its trace


async def test_through_dapr_the_query_and_its_answer_share_the_callers_trace(tmp_path: Path, database_url: str):
    from tests.test_dapr import dapr_world

    async with dapr_world(tmp_path, database_url) as world, httpx.AsyncClient(timeout=30) as client:
        resp = await client.post(
            world.app_url + "/api/triage",
            params={"wait": 10},
            json=ask("How do for loops work?"),
            headers={"traceparent": f"00-{TRACE_ID}-{PARENT_SPAN}-01"},
        )
        assert resp.json()["status"] == "answered", resp.text
        query_id = resp.json()["query_id"]
        sent = [(t, e) for t, e in world.emulator.published if e.get("data", {}).get("query_id") == query_id]
        delivered = {t for t, _ in sent}
        assert {"learning.query", "learning.response"} <= delivered
        # The emulator, like daprd's FromCloudEvent, replaces traceparent unless traceid is set.
        assert {trace_of(e["traceparent"])[0] for _, e in sent} == {TRACE_ID}
        async with httpx.AsyncClient(base_url=world.app_url) as app_client:
            samples = await scrape(app_client)
        labels = {"topic": "learning.query", "service": "concepts", "outcome": "done"}
        assert value(samples, "learnflow_events_handled_total", **labels) >= 1


def test_spans_are_exported_only_when_an_otlp_endpoint_is_set():
    import os
    import subprocess
    import sys

    probe = (
        "from opentelemetry import trace\n"
        "from learnflow.observability import setup_tracing\n"
        "setup_tracing('triage-service')\n"
        "p = trace.get_tracer_provider()\n"
        "procs = p._active_span_processor._span_processors\n"
        "print(type(p).__name__, p.resource.attributes['service.name'],"
        " [type(s.span_exporter).__name__ for s in procs])\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    off = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert off.stdout.split() == ["TracerProvider", "triage-service", "[]"], off.stderr
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9"  # never reached: no span is ended
    on = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert on.stdout.split() == ["TracerProvider", "triage-service", "['OTLPSpanExporter']"], on.stderr
