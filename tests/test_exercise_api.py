"""Exercises: listing, generation, teacher authoring, grading, progress and alerts, over HTTP and events."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from learnflow.events import CodeExecutionRequest, ExerciseSubmitted, Topic
from learnflow.runtime import Runtime
from learnflow.tutor.progress import level_for

TEACHER = {
    "title": "Double it",
    "topic": "defining-functions",
    "difficulty": "beginner",
    "description": "Write `double(n)` returning twice `n`.",
    "starter_code": "def double(n):\n    pass\n",
    "solution": "def double(n):\n    return n * 2\n",
    "tests": "from solution import double\n\ndef test_two():\n    assert double(2) == 4\n\n"
    "def test_zero():\n    assert double(0) == 0\n",
}


async def test_list_and_get_never_reveal_solutions(client: httpx.AsyncClient):
    listed = (await client.get("/api/exercises", params={"topic": "for-loops"})).json()
    assert len(listed) == 3
    assert {e["difficulty"] for e in listed} == {"beginner", "intermediate", "advanced"}
    one = (await client.get(f"/api/exercises/{listed[0]['exercise_id']}")).json()
    assert "solution" not in one and "hidden_tests" not in one
    only = (await client.get("/api/exercises", params={"difficulty": "advanced"})).json()
    assert only and all(e["difficulty"] == "advanced" for e in only)
    assert (await client.get("/api/exercises", params={"difficulty": "impossible"})).status_code == 422


async def test_generate_assigns_without_repeats(client: httpx.AsyncClient):
    seen = []
    for _ in range(3):
        resp = await client.post("/api/exercises/generate", json={"student_id": "gen-1", "topic": "lists"})
        assert resp.status_code == 200
        seen.append(resp.json()["exercise_id"])
    assert len(set(seen)) == 3
    first = (await client.post("/api/exercises/generate", json={"student_id": "gen-2"})).json()
    assert first["difficulty"] == "beginner" and first["topic"] == "variables"
    bad = await client.post("/api/exercises/generate", json={"student_id": "gen-1", "topic": "cooking"})
    assert bad.status_code == 422


async def test_teacher_exercise_is_validated(client: httpx.AsyncClient):
    created = await client.post("/api/exercises", json=TEACHER)
    assert created.status_code == 201, created.text
    exercise_id = created.json()["exercise_id"]
    assert (await client.get(f"/api/exercises/{exercise_id}")).status_code == 200

    wrong = {**TEACHER, "solution": "def double(n):\n    return n + 2\n"}
    resp = await client.post("/api/exercises", json=wrong)
    assert resp.status_code == 422 and "does not pass" in resp.json()["error"]["message"]

    too_easy = {**TEACHER, "starter_code": TEACHER["solution"]}
    resp = await client.post("/api/exercises", json=too_easy)
    assert resp.status_code == 422 and "starter" in resp.json()["error"]["message"]

    no_tests = {k: v for k, v in TEACHER.items() if k != "tests"}
    assert (await client.post("/api/exercises", json=no_tests)).status_code == 422
    bad_tests = {**TEACHER, "tests": "def test_(:\n"}
    assert (await client.post("/api/exercises", json=bad_tests)).status_code == 422

    io = {
        **TEACHER,
        "solution": "print(int(input()) * 2)\n",
        "starter_code": "n = input()\n",
        "tests": None,
        "io_tests": [{"name": "doubles", "stdin": "4\n", "expected_stdout": "8\n"}],
    }
    assert (await client.post("/api/exercises", json=io)).status_code == 201


async def test_submission_grading_and_progress(client: httpx.AsyncClient):
    exercise_id = (await client.post("/api/exercises", json=TEACHER)).json()["exercise_id"]
    url = f"/api/exercises/{exercise_id}/submissions"
    wrong = (await client.post(url, json={"student_id": "p-1", "code": "def double(n):\n    return n\n"})).json()
    assert wrong["passed"] is False and wrong["score"] == 0.5
    assert any("got 2" in t["message"] for t in wrong["tests"] if not t["passed"])
    right = (await client.post(url, json={"student_id": "p-1", "code": TEACHER["solution"]})).json()
    assert right["passed"] is True and right["score"] == 1.0
    progress = (await client.get("/api/students/p-1/progress")).json()
    topic = next(t for t in progress["topics"] if t["topic"] == "defining-functions")
    assert topic["mastery"] > 0 and topic["level"] == level_for(topic["mastery"])
    assert progress["overall"] > 0
    missing = await client.post("/api/exercises/nope/submissions", json={"student_id": "p-1", "code": "x"})
    assert missing.status_code == 404


async def test_repeated_failures_and_help_requests_raise_alerts(client: httpx.AsyncClient):
    exercise_id = (await client.post("/api/exercises", json=TEACHER)).json()["exercise_id"]
    for _ in range(3):
        await client.post(f"/api/exercises/{exercise_id}/submissions", json={"student_id": "s-1", "code": "x = 1"})
    await client.post(
        "/api/triage", json={"student_id": "s-2", "session_id": "h", "query": "I'm stuck, I don't understand loops"}
    )
    for _ in range(100):
        alerts = (await client.get("/api/alerts")).json()
        if len(alerts) >= 2:
            break
        await asyncio.sleep(0.05)
    reasons = {a["reason"]: a for a in alerts}
    assert set(reasons) == {"failed_submissions", "asked_for_help"}
    alert_id = reasons["asked_for_help"]["alert_id"]
    resolved = (await client.post(f"/api/alerts/{alert_id}/resolve")).json()
    assert resolved["resolved"] is True
    open_alerts = (await client.get("/api/alerts", params={"resolved": False})).json()
    assert alert_id not in {a["alert_id"] for a in open_alerts}
    assert (await client.post("/api/alerts/nope/resolve")).status_code == 404


@pytest.mark.parametrize(
    ("level", "mastery"),
    [
        ("Beginner", 0),
        ("Beginner", 40),
        ("Learning", 40.01),
        ("Learning", 70),
        ("Proficient", 70.5),
        ("Proficient", 90),
        ("Mastered", 90.01),
        ("Mastered", 100),
    ],
)
def test_level_boundaries(level: str, mastery: float):
    assert level_for(mastery) == level


async def test_submission_over_the_bus_is_graded_and_progress_published(runtime: Runtime):
    exercise = runtime.curriculum.exercises_for(topic="for-loops", difficulty="beginner")[0]
    event = ExerciseSubmitted(
        submission_id="sub-1", exercise_id=exercise.id, student_id="bus-1", code=exercise.solution
    )
    await runtime.publish(Topic.EXERCISE_SUBMITTED, event, subject="bus-1")
    await runtime.publish(Topic.EXERCISE_SUBMITTED, event, subject="bus-1")  # a duplicate is graded once
    bus = runtime.bus
    for _ in range(200):
        topics = [t for t, _ in bus.published]  # type: ignore[attr-defined]
        if "progress.updated" in topics:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    graded = [w for t, w in bus.published if t == "exercise.graded"]  # type: ignore[attr-defined]
    progress = [w for t, w in bus.published if t == "progress.updated"]  # type: ignore[attr-defined]
    assert len({g["id"] for g in graded}) == 1
    assert graded[0]["data"]["passed"] is True
    assert progress[0]["data"]["student_id"] == "bus-1" and progress[0]["data"]["mastery"] > 0


async def test_code_execution_over_the_bus(runtime: Runtime):
    await runtime.publish(Topic.CODE_EXECUTION_REQUEST, CodeExecutionRequest(request_id="r-1", code="print(6 * 7)"))
    for _ in range(200):
        results = [w for t, w in runtime.bus.published if t == "code.execution.result"]  # type: ignore[attr-defined]
        if results:
            break
        await asyncio.sleep(0.02)
    assert results[0]["data"]["request_id"] == "r-1" and results[0]["data"]["stdout"] == "42\n"


async def test_execute_api(client: httpx.AsyncClient):
    resp = await client.post("/api/execute", json={"code": "print(input()[::-1])", "stdin": "abc\n"})
    assert resp.json()["stdout"] == "cba\n" and resp.json()["exit_code"] == 0
    slow = await client.post("/api/execute", json={"code": "while True: pass", "timeout_s": 0.5})
    assert slow.status_code == 200 and slow.json()["timed_out"] is True
    assert (await client.post("/api/execute", json={"code": "x", "timeout_s": 0})).status_code == 422
    assert (await client.post("/api/execute", json={"code": "x" * 50_001})).status_code == 422


async def test_exercise_query_then_harder_follow_up(client: httpx.AsyncClient):
    first = await client.post(
        "/api/triage",
        params={"wait": 5},
        json={"student_id": "h-1", "session_id": "hs", "query": "Give me an exercise on lists"},
    )
    data = first.json()["response"]["data"]
    assert data["topic"] == "lists" and data["difficulty"] == "beginner"
    second = await client.post(
        "/api/triage",
        params={"wait": 5},
        json={"student_id": "h-1", "session_id": "hs", "query": "another exercise like the last one but harder"},
    )
    assert second.json()["routed_to"] == "exercise"
    harder = second.json()["response"]["data"]
    assert harder["topic"] == "lists" and harder["difficulty"] == "intermediate"


async def test_concepts_api(client: httpx.AsyncClient):
    resp = await client.post(
        "/api/concepts/explain", json={"question": "what is a dictionary", "level": "intermediate"}
    )
    data = resp.json()
    assert data["topic"] == "dictionaries" and data["source"] == "offline"
    assert data["key_points"] and data["common_mistakes"] and data["related_topics"]
    code = await client.post(
        "/api/concepts/explain", json={"question": "explain this code", "code": "for i in range(2):\n    print(i)\n"}
    )
    assert "0\n1" in code.json()["explanation"] and code.json()["topic"] == "for-loops"
    assert (await client.post("/api/concepts/explain", json={"question": ""})).status_code == 422


async def test_bus_and_http_give_the_same_results(client: httpx.AsyncClient, runtime: Runtime):
    code = "import sys\nprint(input().upper())\nprint('warn', file=sys.stderr)\nraise SystemExit(3)\n"
    http = (await client.post("/api/execute", json={"code": code, "stdin": "hi\n"})).json()
    await runtime.publish(
        Topic.CODE_EXECUTION_REQUEST, CodeExecutionRequest(request_id="same-1", code=code, stdin="hi\n")
    )
    for _ in range(200):
        results = [w for t, w in runtime.bus.published if t == "code.execution.result"]  # type: ignore[attr-defined]
        if results:
            break
        await asyncio.sleep(0.02)
    over_bus = results[0]["data"]
    for key in ("stdout", "stderr", "exit_code", "timed_out", "memory_exceeded", "output_truncated"):
        assert over_bus[key] == http[key], key
    assert http["stdout"] == "HI\n" and http["exit_code"] == 3

    exercise = runtime.curriculum.exercises_for(topic="lists", difficulty="beginner")[0]
    wrong = "def nothing():\n    return None\n"
    graded_http = (
        await client.post(f"/api/exercises/{exercise.id}/submissions", json={"student_id": "same", "code": wrong})
    ).json()
    event = ExerciseSubmitted(submission_id="same-sub", exercise_id=exercise.id, student_id="same", code=wrong)
    await runtime.publish(Topic.EXERCISE_SUBMITTED, event, subject="same")
    for _ in range(200):
        graded = [
            w
            for t, w in runtime.bus.published
            if t == "exercise.graded" and w["data"]["submission_id"] == "same-sub"  # type: ignore[attr-defined]
        ]
        if graded:
            break
        await asyncio.sleep(0.02)
    assert graded[0]["data"]["tests"] == graded_http["tests"]
    assert graded[0]["data"]["score"] == graded_http["score"]


async def test_memory_is_configurable_per_call_within_the_maximum(client: httpx.AsyncClient):
    code = "x = bytearray(100 * 1024 * 1024)\nprint('ok')\n"
    default = (await client.post("/api/execute", json={"code": code})).json()
    assert default["memory_exceeded"]
    more = (await client.post("/api/execute", json={"code": code, "memory_mb": 200})).json()
    assert more["stdout"] == "ok\n"
    capped = await client.post("/api/execute", json={"code": "x = bytearray(400 * 1024 * 1024)", "memory_mb": 4096})
    assert capped.json()["memory_exceeded"]  # the server's maximum (256 MB) still applies


async def _alerts_for(client: httpx.AsyncClient, student_id: str, expected: int) -> list[dict[str, object]]:
    for _ in range(100):
        alerts = (await client.get("/api/alerts", params={"student_id": student_id})).json()
        if len(alerts) >= expected:
            return alerts  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    return alerts  # type: ignore[no-any-return]


async def test_the_same_error_three_times_raises_one_alert(client: httpx.AsyncClient):
    for i in range(4):  # the fourth NameError in a row continues the same streak: no second alert
        resp = await client.post("/api/debug/analyze", json={"code": f"print(undefined_{i})", "student_id": "rep-1"})
        assert resp.json()["run_status"] == "raised"
    alerts = await _alerts_for(client, "rep-1", 1)
    await asyncio.sleep(0.2)
    alerts = (await client.get("/api/alerts", params={"student_id": "rep-1"})).json()
    assert [a["reason"] for a in alerts] == ["repeated_error"]
    assert "NameError 3 times" in alerts[0]["details"]


async def test_five_failed_runs_in_a_row_raise_an_alert(client: httpx.AsyncClient):
    failing = ["1/0", "int('x')", "[][1]", "{}['k']", "None.x"]  # five different errors
    for code in failing:
        await client.post("/api/execute", json={"code": code, "student_id": "runs-1"})
    alerts = await _alerts_for(client, "runs-1", 1)
    assert [a["reason"] for a in alerts] == ["failed_runs"]
    ok = await client.post("/api/execute", json={"code": "print('fine')", "student_id": "runs-2"})
    assert ok.json()["exit_code"] == 0
    assert (await client.get("/api/alerts", params={"student_id": "runs-2"})).json() == []


async def test_terse_follow_ups_use_the_session_history(client: httpx.AsyncClient):
    async def ask(query: str) -> dict[str, object]:
        resp = await client.post(
            "/api/triage", params={"wait": 5}, json={"student_id": "fu-1", "session_id": "fu", "query": query}
        )
        return resp.json()

    first = await ask("Give me an exercise on dictionaries")
    assert first["routed_to"] == "exercise"
    harder = await ask("harder please")  # alone, the offline router would send this to concepts
    assert harder["routed_to"] == "exercise"
    data = harder["response"]["data"]  # type: ignore[index]
    assert data["topic"] == "dictionaries" and data["difficulty"] == "intermediate"
    explained = await ask("what is a tuple?")
    assert explained["routed_to"] == "concepts"
    again = await ask("explain that more simply")
    assert again["routed_to"] == "concepts" and again["topic"] == "tuples"
    assert again["response"]["data"]["topic"] == "tuples"  # type: ignore[index]


async def test_the_curriculum_outline_lists_modules_in_order_with_every_topic_of_the_bank(client: httpx.AsyncClient):
    resp = await client.get("/api/curriculum")
    assert resp.status_code == 200, resp.text
    modules = resp.json()["modules"]
    assert [m["order"] for m in modules] == sorted(m["order"] for m in modules)
    assert modules[0]["module"] == "basics" and modules[0]["topics"][0]["topic"] == "variables"
    outlined = [t["topic"] for m in modules for t in m["topics"]]
    assert len(outlined) == len(set(outlined)), "a topic belongs to one module"
    # Every exercise of the bank can be found under a module.
    bank = {e["topic"] for e in (await client.get("/api/exercises")).json()}
    assert bank and bank <= set(outlined)
    assert all(t["title"] and t["summary"] for m in modules for t in m["topics"])
