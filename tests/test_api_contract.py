"""The API keeps its error contract under hostile input, the same on SQLite and on PostgreSQL (issue 14)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from learnflow.runtime import Runtime
from learnflow.services.app import create_app
from tests.test_progress import _alerts

UTC_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def error_of(resp: httpx.Response, status: int = 422) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    error: dict[str, Any] = resp.json()["error"]
    assert error["message"] and error["details"], error
    return error


def fields(error: dict[str, Any]) -> set[str]:
    return {d["field"] for d in error["details"]}


def triage(**extra: object) -> dict[str, object]:
    return {"student_id": "s-1", "session_id": "t-1", **extra}


EXERCISE = {
    "title": "Double it",
    "topic": "return-values",
    "difficulty": "beginner",
    "description": "Write double(n) returning twice n.",
    "starter_code": "def double(n):\n    pass\n",
    "solution": "def double(n):\n    return 2 * n\n",
    "tests": "def test_double():\n    assert double(2) == 4\n",
}


@pytest.mark.parametrize(
    ("method", "path", "payload", "field"),
    [
        ("POST", "/api/triage", triage(query="why\x00?"), "query"),
        ("POST", "/api/triage", triage(query="help", code="print(1)\x00"), "code"),
        (
            "POST",
            "/api/exercises",
            {**EXERCISE, "description": "Write double(n)\x00 returning twice n."},
            "description",
        ),
        ("POST", "/api/exercises/x/submissions", {"student_id": "s-1", "code": "x = '\x00'"}, "code"),
        ("POST", "/api/quizzes/attempts/a/answers", {"answers": {"q\x00": 1}}, "answers.q\x00"),
        (
            "POST",
            "/api/exercises",
            {**EXERCISE, "io_tests": [{"name": "a", "expected_stdout": "\x00"}]},
            "io_tests.0.expected_stdout",
        ),
    ],
)
async def test_nul_text_is_a_422_naming_the_field_on_both_databases(
    client: httpx.AsyncClient, method: str, path: str, payload: dict[str, Any], field: str
) -> None:
    error = error_of(await client.request(method, path, json=payload))
    assert error["code"] == "validation_error"
    assert field in fields(error)


async def test_nul_and_lone_surrogates_in_path_and_query_are_422(client: httpx.AsyncClient) -> None:
    assert fields(error_of(await client.get("/api/exercises/a%00b"))) == {"path.exercise_id"}
    assert fields(error_of(await client.get("/api/queries/%00"))) == {"path.query_id"}
    assert fields(error_of(await client.get("/api/alerts", params={"student_id": "a\x00"}))) == {"query.student_id"}
    body = b'{"student_id": "s-1", "session_id": "t-1", "query": "bad \\ud800 text"}'
    resp = await client.post("/api/triage", content=body, headers={"content-type": "application/json"})
    assert fields(error_of(resp)) == {"query"}


@pytest.mark.parametrize(
    "body",
    [
        b'{"student_id": "s", "session_id": "t", "query": "caf\xe9"}',  # Latin-1, not UTF-8
        b"[" * 5000 + b"]" * 5000,  # past the parser's recursion limit
        b'{"a":' * 100 + b"1" + b"}" * 100,  # parses, but deeper than the API walks
        b"{not json",
    ],
    ids=["not-utf8", "too-deep-for-the-parser", "too-deep", "malformed"],
)
async def test_undecodable_bodies_are_one_documented_422(client: httpx.AsyncClient, body: bytes) -> None:
    resp = await client.post("/api/triage", content=body, headers={"content-type": "application/json"})
    error = error_of(resp)
    assert error["code"] == "validation_error"
    assert fields(error) == {"body"}  # a field path, never a byte offset


async def test_validation_errors_share_one_code_and_always_have_details(client: httpx.AsyncClient) -> None:
    schema = error_of(await client.post("/api/triage", json=triage(query="")))
    domain = error_of(
        await client.post("/api/exercises", json={**EXERCISE, "solution": "def double(n):\n    return n\n"})
    )
    assert schema["code"] == domain["code"] == "validation_error"
    assert fields(domain) == {"solution"}


async def test_an_unknown_topic_is_422_in_every_route(client: httpx.AsyncClient) -> None:
    responses = [
        await client.get("/api/quizzes/no-such-topic"),
        await client.post("/api/quizzes/no-such-topic/attempts", json={"student_id": "s-1"}),
        await client.get("/api/exercises", params={"topic": "no-such-topic"}),
        await client.post("/api/exercises/generate", json={"student_id": "s-1", "topic": "no-such-topic"}),
        await client.post("/api/exercises", json={**EXERCISE, "topic": "no-such-topic"}),
    ]
    assert [fields(error_of(r)) for r in responses] == [
        {"path.topic"},
        {"path.topic"},
        {"query.topic"},
        {"topic"},
        {"topic"},
    ]


async def test_405_carries_allow(client: httpx.AsyncClient) -> None:
    resp = await client.delete("/api/triage")
    assert resp.status_code == 405
    assert resp.headers["allow"] == "POST"
    assert resp.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("given", [99, -1, True])
async def test_quiz_choice_outside_its_domain_is_refused(client: httpx.AsyncClient, runtime: Runtime, given: object):
    attempt = (await client.post("/api/quizzes/lists/attempts", json={"student_id": "s-q"})).json()
    pool = {q.id: q for q in runtime.curriculum.quizzes["lists"].questions}
    choice = next(q["question_id"] for q in attempt["questions"] if pool[q["question_id"]].kind == "choice")
    url = f"/api/quizzes/attempts/{attempt['attempt_id']}/answers"
    error = error_of(await client.post(url, json={"answers": {choice: given}}))
    assert fields(error) == {f"answers.{choice}"}
    # Refused, not graded: the attempt is still open for a valid answer.
    assert (await client.post(url, json={"answers": {choice: 0}})).status_code == 200


async def test_timestamps_are_utc_in_one_format(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/triage", params={"wait": 5}, json=triage(query="What is a for loop?"))
    data = resp.json()
    assert UTC_STAMP.match(data["timestamp"]), data["timestamp"]
    assert UTC_STAMP.match(data["response"]["created_at"])
    stored = (await client.get(f"/api/queries/{data['query_id']}")).json()  # read back from the database
    assert UTC_STAMP.match(stored["response"]["created_at"])
    assert UTC_STAMP.match((await client.get("/health")).json()["timestamp"])
    attempt = (await client.post("/api/quizzes/lists/attempts", json={"student_id": "s-alert"})).json()
    first = attempt["questions"][0]["question_id"]
    graded = await client.post(
        f"/api/quizzes/attempts/{attempt['attempt_id']}/answers", json={"answers": {first: "no"}}
    )
    assert graded.json()["struggle_detected"] is True  # a low score alerts teachers
    alerts = await _alerts(client, "s-alert", 1)
    assert alerts and all(UTC_STAMP.match(str(a["created_at"])) for a in alerts)


async def test_docs_work_offline(client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        html = (await client.get(page)).text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
        assert assets and not [a for a in assets if a.startswith(("http:", "https:", "//"))], assets
        for asset in assets:
            if asset.endswith((".js", ".css", ".png")):
                assert (await client.get(asset)).status_code == 200, asset


async def test_the_schema_states_the_cross_field_rules_and_the_quiz_conflict(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    components = schema["components"]["schemas"]
    assert {tuple(alt["required"]) for alt in components["TriageCreate"]["anyOf"]} == {
        ("query",),
        ("code",),
        ("error_message",),
    }
    assert {tuple(alt["required"]) for alt in components["ExerciseCreate"]["anyOf"]} == {("tests",), ("io_tests",)}
    assert "409" in schema["paths"]["/api/quizzes/attempts/{attempt_id}/answers"]["post"]["responses"]
    # JSON bodies carry examples; the one form body (the OAuth2 password grant) is the standard's own.
    content = [
        op["requestBody"]["content"] for item in schema["paths"].values() for op in item.values() if "requestBody" in op
    ]
    # An optional body (sign-out, refresh: a browser sends its cookie instead) is `anyOf: [model, null]`.
    schemas = [c["application/json"]["schema"] for c in content if "application/json" in c]
    refs = [s["$ref"] if "$ref" in s else next(a["$ref"] for a in s["anyOf"] if "$ref" in a) for s in schemas]
    bodies = [ref.rsplit("/", 1)[-1] for ref in refs]
    forms = [c for c in content if "application/json" not in c]
    assert bodies and [b for b in bodies if "examples" not in components[b]] == []
    assert [list(c) for c in forms] == [["application/x-www-form-urlencoded"]]


_broken = APIRouter()


@_broken.get("/broken/{kind}")
async def _raise(kind: str) -> None:
    orig = Exception("invalid byte sequence for encoding UTF8: 0x00 [secret student text]")
    raise {
        "data": DataError("INSERT ...", {"q": "secret student text"}, orig),
        "integrity": IntegrityError("INSERT ...", {"q": "secret student text"}, orig),
        "outage": OperationalError("SELECT 1", {}, ConnectionRefusedError()),
    }[kind]


@pytest.mark.parametrize(("kind", "status"), [("data", 422), ("integrity", 409), ("outage", 503)])
async def test_database_errors_caused_by_data_are_not_outages(
    runtime: Runtime, kind: str, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(runtime=runtime)
    app.include_router(_broken)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        resp = await c.get(f"/broken/{kind}")
    assert resp.status_code == status
    assert "secret student text" not in caplog.text and "secret student text" not in resp.text


async def test_every_example_in_the_schema_is_valid_against_its_own_schema(client: httpx.AsyncClient) -> None:
    from jsonschema import Draft202012Validator

    schema = (await client.get("/openapi.json")).json()
    components = schema["components"]["schemas"]
    checked = 0
    for name, component in components.items():
        # The component's own refs resolve within the document it came from.
        validator = Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": schema["components"]})
        for example in component.get("examples", []):
            errors = [e.message for e in validator.iter_errors(example)]
            assert errors == [], (name, example, errors)
            checked += 1
    assert checked >= 2


def _media_examples(media: dict[str, Any]) -> list[Any]:
    found = [media["example"]] if "example" in media else []
    return found + [e["value"] for e in media.get("examples", {}).values() if "value" in e]


def _component_examples(schema: dict[str, Any], components: dict[str, Any]) -> list[Any]:
    """Examples of the component a body's schema names, itself or as the items of a list."""
    target = schema.get("items", {}) if schema.get("type") == "array" else schema
    ref = target.get("$ref", "")
    component = components.get(ref.rsplit("/", 1)[-1], {}) if ref.startswith("#/components/schemas/") else {}
    examples: list[Any] = component.get("examples", [])
    return examples


def undocumented_responses(schema: dict[str, Any]) -> list[str]:
    """Every route and 2xx status whose body has no example: a media-type one, or its schema's component's."""
    components = schema.get("components", {}).get("schemas", {})
    missing = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status, response in operation.get("responses", {}).items():
                if not status.startswith("2") or status == "204":
                    continue
                where = f"{method.upper()} {path} {status}"
                content = response.get("content")
                if not content:
                    missing.append(f"{where}: no body documented (give `responses={{{status}: {{'content': ...}}}}`)")
                for media_type, media in (content or {}).items():
                    if _media_examples(media) or _component_examples(media.get("schema", {}), components):
                        continue
                    ref = media.get("schema", {}).get("$ref") or media.get("schema", {}).get("items", {}).get("$ref")
                    model = f"to {ref.rsplit('/', 1)[-1]}'s model_config, or " if ref else ""
                    missing.append(
                        f"{where} ({media_type}): no example; add json_schema_extra={{'examples': [...]}} {model}"
                        f"responses={{{status}: {{'content': {{'{media_type}': {{'example': ...}}}}}}}} to the route"
                    )
    return missing


def test_every_success_response_has_an_example() -> None:
    """A new route fails here until its 2xx body has an example; the message names each route and status."""
    missing = undocumented_responses(create_app().openapi())
    assert missing == [], "\n".join(["success responses without an example:", *missing])


def test_a_route_without_an_example_is_named() -> None:
    from fastapi import FastAPI
    from pydantic import BaseModel

    class Plain(BaseModel):
        name: str

    app = FastAPI()

    @app.get("/plain", response_model=Plain)
    async def _plain() -> Plain:
        return Plain(name="x")

    @app.post("/plains", response_model=list[Plain], status_code=201)
    async def _plains() -> list[Plain]:
        return []

    missing = undocumented_responses(app.openapi())
    assert [m.split(":")[0] for m in missing] == [
        "GET /plain 200 (application/json)",
        "POST /plains 201 (application/json)",
    ]
    assert "to Plain's model_config" in missing[0]


def test_every_media_type_example_is_valid_against_its_schema() -> None:
    from jsonschema import Draft202012Validator

    schema = create_app().openapi()
    checked = 0
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status, response in operation.get("responses", {}).items():
                for media_type, media in response.get("content", {}).items():
                    validator = Draft202012Validator({**media.get("schema", {}), "components": schema["components"]})
                    for example in _media_examples(media):
                        errors = [e.message for e in validator.iter_errors(example)]
                        assert errors == [], (method, path, status, media_type, errors)
                        checked += 1
    assert checked >= 3  # the two lists and the event stream, at least


def test_the_event_stream_example_is_an_answer_as_the_stream_sends_it() -> None:
    import json

    from learnflow.services.triage.schemas import ResponseRead

    stream = create_app().openapi()["paths"]["/api/sessions/{session_id}/stream"]["get"]["responses"]["200"]
    example = stream["content"]["text/event-stream"]["example"]
    event = dict(line.split(": ", 1) for line in example.split("\r\n\r\n")[0].split("\r\n"))
    assert event["event"] == "learning.response" and event["id"].isdigit()
    ResponseRead.model_validate(json.loads(event["data"]))


def threaded_dependencies(app: Any) -> list[str]:
    """The routes' plain-``def`` dependencies and endpoints: FastAPI runs each in its thread pool."""
    import inspect

    from learnflow.auth.access import api_routes

    found: set[str] = set()

    def walk(dependant: Any, path: str) -> None:
        call = dependant.call
        # A class is a request form, built from the body.
        plain = call is not None and not inspect.isclass(call)
        if plain and not (inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)):
            found.add(f"{path}: {getattr(call, '__qualname__', call)}")
        for sub in dependant.dependencies:
            walk(sub, path)

    for route in api_routes(app):  # as included: with the routers' and the app's dependencies
        walk(route.dependant, f"{sorted(route.methods)} {route.path}")
    return sorted(found)


def test_no_route_runs_a_dependency_in_the_thread_pool() -> None:
    """A plain ``def`` dependency costs every request a thread hand-off (it was the runtime's getter)."""
    assert threaded_dependencies(create_app()) == []


def test_a_plain_def_dependency_is_named() -> None:
    from fastapi import Depends, FastAPI

    def plain() -> int:
        return 1

    app = FastAPI()

    @app.get("/x")
    async def _x(value: int = Depends(plain)) -> int:
        return value

    assert threaded_dependencies(app) == ["['GET'] /x: test_a_plain_def_dependency_is_named.<locals>.plain"]
