"""Mastery (40% completion + 30% quiz + 20% code quality + 10% consistency), quizzes, code quality and
the struggle triggers that come from them (quiz under 50%, stuck on an exercise over 10 minutes)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from learnflow.db.models import Assignment, StruggleAlert, Student, Submission
from learnflow.runtime import Runtime
from learnflow.services.exercise import service as exercise_service
from learnflow.tutor import quality, studentwork
from learnflow.tutor.progress import MasteryParts, level_for


@pytest.mark.parametrize(
    ("parts", "mastery", "level"),
    [
        ((0, 0, 0, 0), 0.0, "Beginner"),
        ((1, 0, 0, 0), 40.0, "Beginner"),  # every exercise passed, nothing else: still a beginner
        ((1, 0, 0.0005, 0), 40.01, "Learning"),  # the smallest step over 40
        ((1 / 3, 1, 0, 0), 43.33, "Learning"),
        ((1, 1, 0, 0), 70.0, "Learning"),
        ((1, 1, 0.025, 0), 70.5, "Proficient"),
        ((1, 1, 1, 0), 90.0, "Proficient"),
        ((1, 1, 1, 1 / 3), 93.33, "Mastered"),
        ((1, 1, 1, 1), 100.0, "Mastered"),
        ((2, 1.5, -1, 1), 80.0, "Proficient"),  # out-of-range parts are clamped, never over 100
    ],
)
def test_mastery_formula_and_level_boundaries(parts: tuple[float, float, float, float], mastery: float, level: str):
    found = MasteryParts(*parts).mastery
    assert found == mastery
    assert level_for(found) == level


async def test_quality_comes_from_ruff():
    clean = await quality.analyse("def add(a, b):\n    return a + b\n")
    assert clean is not None and clean.score == 1.0 and clean.findings == []
    messy = await quality.analyse("import os\ndef Add(a, b):\n    unused = 1\n    if a == None:\n        return b\n")
    assert messy is not None
    assert {f.code for f in messy.findings} == {"F401", "N802", "F841", "E711"}
    assert messy.score == pytest.approx(0.6)
    assert [f.line for f in messy.findings] == [1, 2, 3, 4]  # in line order
    assert await quality.analyse("def broken(:\n    pass\n") is None  # no style verdict on unparsable code
    assert quality.score_for(0) == 1.0 and quality.score_for(3) == 0.7 and quality.score_for(25) == 0.0
    tangled = "def f(x):\n" + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(12)) + "    return -1\n"
    report = await quality.analyse(tangled)
    assert report is not None and any(f.code == "C901" for f in report.findings)


async def start_quiz(client: httpx.AsyncClient, topic: str, student_id: str) -> dict[str, Any]:
    resp = await client.post(f"/api/quizzes/{topic}/attempts", json={"student_id": student_id})
    assert resp.status_code == 201, resp.text
    return resp.json()


def right_answers(runtime: Runtime, topic: str, attempt: dict[str, Any]) -> dict[str, int | str]:
    """The right answer to each drawn question: choices by index or by text, outputs without the final newline."""
    pool = {q.id: q for q in runtime.curriculum.quizzes[topic].questions}
    answers: dict[str, int | str] = {}
    for drawn in attempt["questions"]:
        q = pool[drawn["question_id"]]
        if q.kind == "choice":
            answers[q.id] = q.answer if len(answers) % 2 else q.choices[q.answer or 0]  # type: ignore[assignment]
        else:
            answers[q.id] = (q.output or "").rstrip("\n")
    return answers


async def test_quiz_attempt_draws_questions_without_answers_and_grades_once(
    client: httpx.AsyncClient, runtime: Runtime
):
    info = (await client.get("/api/quizzes/lists")).json()
    assert info["pool_size"] >= 5 and info["questions_per_attempt"] == 5
    attempt = await start_quiz(client, "lists", "quiz-1")
    assert attempt["topic"] == "lists" and len(attempt["questions"]) == 5
    assert all("answer" not in q and "output" not in q and "explanation" not in q for q in attempt["questions"])
    answers = right_answers(runtime, "lists", attempt)
    url = f"/api/quizzes/attempts/{attempt['attempt_id']}/answers"
    resp = await client.post(url, json={"answers": answers})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["score"] == 1.0 and body["correct"] == body["total"] == 5
    assert body["struggle_detected"] is False
    # 30 for the quiz + 10 * 1/3 for one success in a row; nothing for exercises yet.
    assert body["mastery"] == 33.33 and body["level"] == "Beginner"
    progress = (await client.get("/api/students/quiz-1/progress")).json()
    row = next(t for t in progress["topics"] if t["topic"] == "lists")
    assert row["quiz"] == 1.0 and row["completion"] == 0 and row["consistency"] == pytest.approx(1 / 3, abs=1e-3)
    # The same answers again (a retried request) give the same result; other answers are refused.
    again = await client.post(url, json={"answers": answers})
    assert again.status_code == 200 and again.json()["score"] == 1.0
    changed = await client.post(url, json={"answers": {next(iter(answers)): "something else"}})
    assert changed.status_code == 409


async def test_a_retake_draws_the_questions_met_least(client: httpx.AsyncClient, runtime: Runtime):
    pool = len(runtime.curriculum.quizzes["sets"].questions)
    first = await start_quiz(client, "sets", "retaker")
    second = await start_quiz(client, "sets", "retaker")
    first_ids = {q["question_id"] for q in first["questions"]}
    second_ids = {q["question_id"] for q in second["questions"]}
    assert len(first_ids | second_ids) == min(pool, 10)  # no question comes back before the pool is used
    # An open attempt does not count towards mastery until it is answered.
    progress = (await client.get("/api/students/retaker/progress")).json()
    assert all(t["quiz"] == 0 for t in progress["topics"])


async def test_quiz_errors(client: httpx.AsyncClient):
    # An unknown topic is invalid input, the same 422 as in every other route that takes a topic.
    assert (await client.get("/api/quizzes/no-such-topic")).status_code == 422
    assert (await client.post("/api/quizzes/nowhere/attempts", json={"student_id": "q"})).status_code == 422
    attempt = await start_quiz(client, "lists", "q")
    url = f"/api/quizzes/attempts/{attempt['attempt_id']}/answers"
    bad = await client.post(url, json={"answers": {"nope-q9": 1}})
    assert bad.status_code == 422 and "nope-q9" in bad.json()["error"]["message"]
    assert (await client.post(url, json={"answers": {}})).status_code == 422
    missing = await client.post("/api/quizzes/attempts/no-such-attempt/answers", json={"answers": {"x": 1}})
    assert missing.status_code == 404


async def test_low_quiz_score_alerts_teachers(client: httpx.AsyncClient, runtime: Runtime):
    attempt = await start_quiz(client, "dictionaries", "quiz-low")
    pool = {q.id: q for q in runtime.curriculum.quizzes["dictionaries"].questions}
    first = pool[attempt["questions"][0]["question_id"]]
    wrong: int | str = ((first.answer or 0) + 1) % len(first.choices) if first.kind == "choice" else "surely not"
    body = (
        await client.post(f"/api/quizzes/attempts/{attempt['attempt_id']}/answers", json={"answers": {first.id: wrong}})
    ).json()
    assert body["score"] == 0.0 and body["struggle_detected"] is True
    assert sum(not r["answered"] for r in body["results"]) == 4
    alerts = await _alerts(client, "quiz-low", 1)
    assert [a["reason"] for a in alerts] == ["low_quiz"] and alerts[0]["topic"] == "dictionaries"


async def _alerts(client: httpx.AsyncClient, student_id: str, want: int) -> list[dict[str, object]]:
    alerts: list[dict[str, object]] = []
    for _ in range(100):
        alerts = (await client.get("/api/alerts", params={"student_id": student_id})).json()
        if len(alerts) >= want:
            break
        await asyncio.sleep(0.05)
    return alerts


async def test_full_mastery_from_exercises_quiz_quality_and_streak(client: httpx.AsyncClient, runtime: Runtime):
    student = "master-1"
    bank = runtime.curriculum.exercises_for(topic="for-loops")
    assert len(bank) == 3
    for i, ex in enumerate(bank):
        # The last solution carries two lint findings: quality 0.8 for it, mean (1 + 1 + 0.8) / 3.
        code = ex.solution if i < 2 else "import os\nimport sys\n" + ex.solution
        sub = await client.post(f"/api/exercises/{ex.id}/submissions", json={"student_id": student, "code": code})
        body = sub.json()
        assert body["passed"] is True, body
        if i == 2:
            assert {f["code"] for f in body["quality"]["findings"]} >= {"F401"}
    attempt = await start_quiz(client, "for-loops", student)
    answers = right_answers(runtime, "for-loops", attempt)
    await client.post(f"/api/quizzes/attempts/{attempt['attempt_id']}/answers", json={"answers": answers})
    progress = (await client.get(f"/api/students/{student}/progress")).json()
    row = next(t for t in progress["topics"] if t["topic"] == "for-loops")
    assert row["completion"] == 1.0 and row["quiz"] == 1.0 and row["consistency"] == 1.0
    assert 0 < row["quality"] < 1
    expected = MasteryParts(1.0, 1.0, row["quality"], 1.0).mastery
    assert row["mastery"] == pytest.approx(expected, abs=0.01)
    assert row["level"] == level_for(row["mastery"])
    # A failed submission breaks the streak: consistency drops to 0, completion stays.
    await client.post(f"/api/exercises/{bank[0].id}/submissions", json={"student_id": student, "code": "x = 1\n"})
    row = next(
        t for t in (await client.get(f"/api/students/{student}/progress")).json()["topics"] if t["topic"] == "for-loops"
    )
    assert row["consistency"] == 0 and row["completion"] == 1.0
    assert row["mastery"] == pytest.approx(expected - 10, abs=0.01)


async def test_stuck_on_an_exercise_for_over_ten_minutes(client: httpx.AsyncClient, runtime: Runtime):
    student = "stuck-1"
    ex = (await client.post("/api/exercises/generate", json={"student_id": student, "topic": "lists"})).json()
    url = f"/api/exercises/{ex['exercise_id']}/submissions"
    # A failed submission within the first 10 minutes is not "stuck".
    await client.post(url, json={"student_id": student, "code": "x = 1\n"})
    assert await exercise_service.flag_stuck(runtime) == 0
    async with runtime.db.session() as session:
        await session.execute(
            update(Assignment)
            .where(Assignment.student_id == student)
            .values(assigned_at=datetime.now(UTC) - timedelta(minutes=11))
        )
        await session.commit()
    # The scheduled sweep finds the student between submissions, once.
    assert await exercise_service.flag_stuck(runtime) == 1
    assert await exercise_service.flag_stuck(runtime) == 0
    await client.post(url, json={"student_id": student, "code": "x = 2\n"})  # still failing: no second alert
    alerts = await _alerts(client, student, 1)
    assert [a["reason"] for a in alerts] == ["stuck_on_exercise"]
    assert "11 minutes" in str(alerts[0]["details"]) and alerts[0]["topic"] == "lists"


async def test_stuck_is_raised_by_a_late_failed_submission_and_not_after_a_pass(
    client: httpx.AsyncClient, runtime: Runtime
):
    later = datetime.now(UTC) + timedelta(minutes=12)
    solved = (await client.post("/api/exercises/generate", json={"student_id": "ok-1", "topic": "sets"})).json()
    solution = runtime.curriculum.exercises[solved["exercise_id"]].solution
    await client.post(f"/api/exercises/{solved['exercise_id']}/submissions", json={"student_id": "ok-1", "code": "x"})
    await client.post(
        f"/api/exercises/{solved['exercise_id']}/submissions", json={"student_id": "ok-1", "code": solution}
    )
    never = (await client.post("/api/exercises/generate", json={"student_id": "idle-1", "topic": "sets"})).json()
    assert never["exercise_id"]
    # Twelve minutes on: the solver and the student who never submitted are not stuck.
    assert await exercise_service.flag_stuck(runtime, now=later) == 0
    late = (await client.post("/api/exercises/generate", json={"student_id": "late-1", "topic": "sets"})).json()
    async with runtime.db.session() as session:
        await session.execute(
            update(Assignment)
            .where(Assignment.student_id == "late-1")
            .values(assigned_at=datetime.now(UTC) - timedelta(minutes=30))
        )
        await session.commit()
    url = f"/api/exercises/{late['exercise_id']}/submissions"
    await client.post(url, json={"student_id": "late-1", "code": "print('no idea')\n"})
    alerts = await _alerts(client, "late-1", 1)
    assert [a["reason"] for a in alerts] == ["stuck_on_exercise"] and "30 minutes" in str(alerts[0]["details"])


async def test_asking_for_a_quiz_gets_the_topics_quiz_without_answers(client: httpx.AsyncClient):
    resp = await client.post(
        "/api/triage",
        params={"wait": 5},
        json={"student_id": "ask-quiz", "session_id": "s", "query": "can you quiz me on dictionaries?"},
    )
    data = resp.json()
    assert data["routed_to"] == "exercise", data
    answer = data["response"]
    assert answer["data"]["topic"] == "dictionaries" and len(answer["data"]["questions"]) == 5
    assert f"/api/quizzes/attempts/{answer['data']['attempt_id']}/answers" in answer["content"]
    assert all("answer" not in q and "output" not in q for q in answer["data"]["questions"])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_alerts_recent_code_is_the_last_submission_on_its_topic_before_it_truncated(
    client: httpx.AsyncClient, runtime: Runtime
):
    bank = {e["topic"]: e["exercise_id"] for e in (await client.get("/api/exercises")).json()}
    start = datetime(2026, 1, 1, 9, tzinfo=UTC)
    long_code = "x = 1\n" * 2000
    async with runtime.unit_of_work() as work:
        work.session.add(Student(id="rc-1"))
        for i, (topic, code) in enumerate([("lists", "old = 1\n"), ("lists", long_code), ("variables", "other = 1\n")]):
            work.session.add(
                Submission(
                    id=f"rc-{i}",
                    exercise_id=bank[topic],
                    student_id="rc-1",
                    code=code,
                    created_at=start + timedelta(minutes=i),
                )
            )
        # A later lists submission: after the alert, so not the code that raised it.
        work.session.add(
            Submission(
                id="rc-late",
                exercise_id=bank["lists"],
                student_id="rc-1",
                code="late = 1\n",
                created_at=start + timedelta(hours=1),
            )
        )
    at = start + timedelta(minutes=5)
    async with runtime.reading() as session:
        on_lists = StruggleAlert(id="a", student_id="rc-1", topic="lists", reason="low_quiz", details="", created_at=at)
        anywhere = StruggleAlert(id="b", student_id="rc-1", topic=None, reason="failed_runs", details="", created_at=at)
        nothing = StruggleAlert(
            id="c", student_id="rc-1", topic="functions", reason="low_quiz", details="", created_at=at
        )
        code = await studentwork.recent_code(session, alert=on_lists)
        assert code is not None and code.startswith("x = 1\n") and code.endswith("(truncated)\n")
        assert len(code) < studentwork.MAX_RECENT_CODE_CHARS + 40
        assert await studentwork.recent_code(session, alert=anywhere) == "other = 1\n"
        assert await studentwork.recent_code(session, alert=nothing) is None
