"""The seed scenarios end to end through the HTTP API, on the embedded default."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from learnflow.ai import OfflineProvider
from learnflow.bus import MemoryBus
from learnflow.config import AuthSettings
from learnflow.runtime import Runtime
from learnflow.services.app import create_app
from learnflow.services.catalog import CATALOG
from tests.accounts import sign_in
from tests.conftest import make_settings

SEED = [
    ({"query": "Can you explain how Python loops work?"}, "concepts"),
    ({"query": "I am getting a NameError in my code"}, "debug"),
    ({"query": "Give me a Python exercise on loops"}, "exercise"),
]


def body(**extra: str) -> dict[str, str]:
    return {"student_id": "student-1", "session_id": "session-1", **extra}


@pytest.fixture
async def secured(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """Every service in one process with authentication on, as deployed (conftest turns it off elsewhere)."""
    base = make_settings(tmp_path, DATABASE_URL=database_url)
    settings = replace(base, auth=AuthSettings(LEARNFLOW_AUTH="on"))  # type: ignore[call-arg]
    rt = Runtime(CATALOG, settings=settings, bus=MemoryBus(backoff_s=0.01), ai=OfflineProvider())
    await rt.start()
    try:
        transport = httpx.ASGITransport(app=create_app(runtime=rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://learnflow.test", timeout=30) as client:
            yield client, rt
    finally:
        await rt.stop()


@pytest.mark.parametrize(("fields", "route"), SEED)
async def test_seed_scenarios_route_and_answer_inline(
    secured: tuple[httpx.AsyncClient, Runtime], fields: dict[str, str], route: str
):
    client, runtime = secured
    assert runtime.auth.enabled
    # Without credentials the question is refused: authentication is really on here.
    unsigned = await client.post("/api/triage", params={"wait": 5}, json=body(**fields))
    assert unsigned.status_code == 401, unsigned.text
    # As a signed-in student whose account id is the student id; every request carries the token.
    student = await sign_in(client, runtime, user_id="student-1")
    client.headers.update(student.headers)
    me = await client.get("/api/auth/me")
    assert me.status_code == 200 and me.json()["id"] == "student-1" and me.json()["role"] == "student"
    resp = await client.post("/api/triage", params={"wait": 5}, json=body(**fields))
    assert resp.status_code == 200, resp.text
    data = resp.json()
    assert data["routed_to"] == route
    assert 0 < data["confidence"] <= 1
    assert data["status"] == "answered"
    answer = data["response"]
    assert answer["agent"] == route
    assert answer["source"] == "offline"
    assert answer["content"].strip()
    # The same answer can be read back.
    got = await client.get(f"/api/queries/{data['query_id']}")
    assert got.status_code == 200
    assert got.json()["status"] == "answered"
    assert got.json()["response"]["content"] == answer["content"]


async def test_concept_answer_is_about_loops(client: httpx.AsyncClient):
    resp = await client.post(
        "/api/triage", params={"wait": 5}, json=body(query="Can you explain how Python loops work?")
    )
    data = resp.json()["response"]["data"]
    assert data["topic"] in ("for-loops", "while-loops")
    assert data["code_example"] and data["example_output"]


async def test_exercise_answer_assigns_a_loop_exercise(client: httpx.AsyncClient):
    resp = await client.post("/api/triage", params={"wait": 5}, json=body(query="Give me a Python exercise on loops"))
    data = resp.json()["response"]["data"]
    assert data["topic"] in ("for-loops", "while-loops")
    assert data["exercise_id"] and data["starter_code"]
    assert "solution" not in data


async def test_debug_seed_names_nameerror_line_1(client: httpx.AsyncClient):
    resp = await client.post(
        "/api/triage",
        params={"wait": 5},
        json=body(query="", code="print(x)", error_message="NameError: name 'x' is not defined"),
    )
    data = resp.json()
    assert data["routed_to"] == "debug"
    answer = data["response"]["data"]
    assert answer["error_type"] == "NameError"
    assert answer["line"] == 1
    assert "x" in answer["explanation"]
    assert len(answer["hints"]) == 3


async def test_without_wait_the_query_is_pending_then_answered(client: httpx.AsyncClient):
    resp = await client.post("/api/triage", json=body(query="What is a dictionary?"))
    assert resp.status_code == 200
    data = resp.json()
    assert "response" not in data
    for _ in range(100):
        got = (await client.get(f"/api/queries/{data['query_id']}")).json()
        if got["status"] == "answered":
            break
        await asyncio.sleep(0.05)
    assert got["status"] == "answered"
    assert got["response"]["agent"] == "concepts"
    assert got["response"]["data"]["topic"] == "dictionaries"


async def test_session_stream_delivers_ack_then_answer(client: httpx.AsyncClient, live_url: str):
    sent = await client.post(
        "/api/triage", params={"wait": 5}, json=body(session_id="stream-1", query="How do while loops work?")
    )
    query_id = sent.json()["query_id"]
    events = []

    async def read() -> None:
        async with (
            httpx.AsyncClient(base_url=live_url) as live,
            live.stream("GET", "/api/sessions/stream-1/stream") as resp,
        ):
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            async for line in resp.aiter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
                    if len(events) == 2:
                        return

    await asyncio.wait_for(read(), timeout=10)
    assert [e["kind"] for e in events] == ["ack", "answer"]
    assert {e["query_id"] for e in events} == {query_id}
    assert events[1]["agent"] == "concepts"


async def test_stream_delivers_live_answers(client: httpx.AsyncClient, live_url: str):
    events: list[dict[str, object]] = []

    async def read() -> None:
        async with (
            httpx.AsyncClient(base_url=live_url) as live,
            live.stream("GET", "/api/sessions/live-1/stream") as resp,
        ):
            async for line in resp.aiter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
                    if len(events) == 2:
                        return

    reader = asyncio.create_task(read())
    await asyncio.sleep(0.2)
    await client.post("/api/triage", json=body(session_id="live-1", query="Explain tuples"))
    await asyncio.wait_for(reader, timeout=10)
    assert [e["kind"] for e in events] == ["ack", "answer"]


async def test_health_and_ready(client: httpx.AsyncClient):
    health = (await client.get("/health")).json()
    assert health["status"] == "healthy"
    assert health["service"] == "learnflow"
    assert "T" in health["timestamp"]
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


async def test_ready_is_503_with_reason_when_database_is_gone(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
):
    from learnflow.db import Database

    await runtime.db.dispose()
    # A directory where the database file should be: every connection attempt fails.
    runtime.db = Database(f"sqlite+inloop:///{tmp_path}")
    ready = await client.get("/ready")
    assert ready.status_code == 503
    assert any("database" in r for r in ready.json()["reasons"])
    resp = await client.get("/api/queries/whatever")
    assert resp.status_code == 503
    assert resp.json()["error"]["code"] == "database_unavailable"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"student_id": "s", "session_id": "t", "query": ""}, "body"),
        ({"student_id": "s", "session_id": "t", "query": "   "}, "body"),
        ({"student_id": "s", "session_id": "t", "query": "x" * 4001}, "query"),
        ({"student_id": "", "session_id": "t", "query": "hi"}, "student_id"),
        ({"session_id": "t", "query": "hi"}, "student_id"),
        ({"student_id": "s", "session_id": "t", "query": "hi", "code": "x" * 50_001}, "code"),
    ],
)
async def test_bad_triage_input_is_422_with_reason(client: httpx.AsyncClient, payload: dict[str, str], field: str):
    resp = await client.post("/api/triage", json=payload)
    assert resp.status_code == 422
    err = resp.json()["error"]
    assert err["code"] == "validation_error"
    assert err["message"]
    assert any(field in (d["field"] or "body") for d in err["details"])


async def test_oversized_query_reports_the_limit(client: httpx.AsyncClient):
    resp = await client.post("/api/triage", json={"student_id": "s", "session_id": "t", "query": "x" * 4001})
    assert resp.json()["error"]["details"][0]["limit"] == 4000


async def test_wait_out_of_range_and_malformed_json(client: httpx.AsyncClient):
    resp = await client.post("/api/triage", params={"wait": 31}, json=body(query="hi"))
    assert resp.status_code == 422
    resp = await client.post("/api/triage", content=b"{not json", headers={"content-type": "application/json"})
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "validation_error"


async def test_unknown_ids_are_404_in_the_error_shape(client: httpx.AsyncClient):
    for path in ("/api/queries/nope", "/api/exercises/nope", "/api/students/nobody/progress", "/api/nothing"):
        resp = await client.get(path)
        assert resp.status_code == 404, path
        assert resp.json()["error"]["code"] == "not_found"


async def test_session_belongs_to_one_student(client: httpx.AsyncClient):
    await client.post("/api/triage", json={"student_id": "a", "session_id": "shared", "query": "What is a set?"})
    resp = await client.post("/api/triage", json={"student_id": "b", "session_id": "shared", "query": "What is a set?"})
    assert resp.status_code == 422
    assert "another student" in resp.json()["error"]["message"]


async def test_openapi_docs_are_served(client: httpx.AsyncClient):
    spec = (await client.get("/openapi.json")).json()
    for path in ("/api/triage", "/api/concepts/explain", "/api/debug/analyze", "/api/execute", "/api/alerts"):
        assert path in spec["paths"]
    assert (await client.get("/docs")).status_code == 200
