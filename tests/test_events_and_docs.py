"""Event contracts: envelope, one model per topic, and generated docs that stay current."""

from __future__ import annotations

from pathlib import Path

from learnflow.events import PAYLOADS, CloudEvent, LearningQuery, Topic, dlq, docs, new_event

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_nine_topics_each_with_a_payload_model():
    assert [str(t) for t in Topic] == [
        "learning.query",
        "learning.response",
        "code.execution.request",
        "code.execution.result",
        "exercise.assigned",
        "exercise.submitted",
        "exercise.graded",
        "struggle.detected",
        "progress.updated",
    ]
    assert set(PAYLOADS) == set(Topic)
    assert dlq(Topic.LEARNING_QUERY) == "learning.query.dlq"


def test_envelope_is_cloudevents_1_0_and_round_trips():
    payload = LearningQuery(
        query_id="q", student_id="s", session_id="t", query="hi", routed_to="concepts", confidence=0.9
    )
    event = new_event(Topic.LEARNING_QUERY, payload, source="/learnflow/triage-service", subject="s")
    wire = event.model_dump(mode="json", exclude_none=True)
    for attr in ("specversion", "id", "source", "type", "time", "datacontenttype", "data"):
        assert attr in wire
    assert wire["specversion"] == "1.0" and wire["type"] == "com.learnflow.learning.query"
    back = CloudEvent[LearningQuery].model_validate(wire)
    assert back.data == payload and back.id == event.id and back.topic == "learning.query"


def test_generated_docs_are_current():
    """Run `learnflow docs generate` when this fails after changing an event model."""
    for rel, text in docs.render().items():
        path = DOCS / rel
        assert path.exists(), f"missing {path}"
        assert path.read_text() == text, f"{path} is stale: run `learnflow docs generate`"


def test_asyncapi_lists_every_topic_and_dlq():
    spec = docs.asyncapi()
    addresses = {c["address"] for c in spec["channels"].values()}
    for topic in Topic:
        assert str(topic) in addresses and dlq(topic) in addresses
