"""Off-topic requests are redirected, and "I'm stuck" without a subject is asked about, never guessed at.

Through the HTTP API, on SQLite and PostgreSQL: the issue's three quoted messages, the session's last
topic, and the struggle alert's topic (named only when known). The labelled set is checked too.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from learnflow.curriculum import get_curriculum
from learnflow.tutor import datasets, evaluation, triage


async def ask(client: httpx.AsyncClient, query: str, *, session: str = "s-feel") -> dict[str, Any]:
    resp = await client.post(
        "/api/triage?wait=20", json={"student_id": "stu-feel", "session_id": session, "query": query}
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    assert body["status"] == "answered", body
    return body


async def alerts(client: httpx.AsyncClient, *, expected: int = 1) -> list[dict[str, Any]]:
    """The student's alerts once ``expected`` of them are stored.

    The alert is stored by the exercise service's consumer of `struggle.detected`, after the answer may
    already have reached the student: poll briefly instead of reading once.
    """
    found: list[dict[str, Any]] = []
    for _ in range(100):
        resp = await client.get("/api/alerts", params={"student_id": "stu-feel"})
        assert resp.status_code == 200, resp.text
        found = resp.json()
        if len(found) >= expected:
            break
        await asyncio.sleep(0.1)
    return found


@pytest.mark.parametrize("query", ["what's the weather in Paris?", "write me an essay about the French revolution"])
async def test_off_topic_is_redirected_without_a_lesson_or_an_exercise(client: httpx.AsyncClient, query: str):
    got = await ask(client, query)
    assert got["routed_to"] == "concepts" and "topic" not in got, got
    answer = got["response"]
    assert answer["agent"] == "concepts"
    assert answer["data"]["answer_kind"] == "off-topic" and answer["data"]["topic"] is None
    assert "Python tutor" in answer["content"]
    assert "## Exercise" not in answer["content"] and "**Example**" not in answer["content"]


async def test_stuck_without_a_topic_asks_what_the_student_works_on(client: httpx.AsyncClient):
    got = await ask(client, "I don't understand anything, I'm stuck")
    assert "topic" not in got, got  # no topic guessed from nothing
    answer = got["response"]
    assert answer["data"]["answer_kind"] == "clarify" and answer["data"]["topic"] is None
    content = answer["content"]
    assert "What are you working on?" in content
    assert "paste the code" in content and "error message" in content and "exercise" in content
    assert "ncapsulation" not in content and "**Example**" not in content
    [alert] = await alerts(client)
    assert alert["reason"] == "asked_for_help" and alert["topic"] is None


async def test_stuck_after_a_topic_continues_with_that_topic(client: httpx.AsyncClient):
    first = await ask(client, "How do for loops work?")
    assert first["topic"] == "for-loops"
    got = await ask(client, "I'm lost")
    assert got["topic"] == "for-loops"
    answer = got["response"]
    assert answer["data"]["topic"] == "for-loops" and answer["data"]["answer_kind"] == "topic"
    assert answer["content"].startswith("## Still on For Loops?"), answer["content"][:200]
    [alert] = await alerts(client)
    assert alert["topic"] == "for-loops"
    # Another session of the same student has no topic yet: it asks instead.
    other = await ask(client, "this is too hard", session="s-other")
    assert other["response"]["data"]["answer_kind"] == "clarify"


async def test_a_real_question_that_sounds_emotional_is_answered(client: httpx.AsyncClient):
    got = await ask(client, "I'm stuck on this recursion, why does it never stop?")
    assert got["routed_to"] == "debug"
    assert got["response"]["agent"] == "debug"


@pytest.mark.parametrize(
    ("text", "alone"),
    [
        ("I'm stuck", True),
        ("this is way too difficult for me", True),
        ("I'm stuck, what should I do?", True),
        ("I'm stuck on this recursion", False),
        ("I don't understand dictionaries", False),
        ("I'm lost, what is `x[1:]`?", False),
        ("how do for loops work", False),
    ],
)
def test_feelings_alone_name_no_subject(text: str, alone: bool):
    assert triage.feelings_only(text) is alone


def test_the_labelled_set_is_handled_better_than_before():
    messages = datasets.load_feelings()
    assert {m.label for m in messages} == set(evaluation.EXPECTED_HANDLING)
    scores = evaluation.evaluate_feelings(messages, get_curriculum())
    assert scores["now"].value >= 0.85, scores["now"].confusion
    assert scores["now"].value > scores["before"].value
    # Feelings are never lectured at, and real questions are never declined.
    assert scores["now/feelings"].value == 1.0 and scores["now/question"].value == 1.0
