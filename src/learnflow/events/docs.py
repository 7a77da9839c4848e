"""Generate the JSON Schemas and the AsyncAPI document from the payload types.

Docs are never written by hand: ``learnflow docs generate`` writes them and a test fails when the
committed files differ from what the types produce.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from learnflow import __version__
from learnflow.events.envelope import event_model
from learnflow.events.payloads import PAYLOADS
from learnflow.events.topics import Topic, dlq

CONSUMERS: dict[Topic, list[str]] = {
    Topic.LEARNING_QUERY: ["concepts-service", "debug-service", "exercise-service"],
    Topic.LEARNING_RESPONSE: ["triage-service"],
    Topic.CODE_EXECUTION_REQUEST: ["runner"],
    Topic.CODE_EXECUTION_RESULT: [],
    Topic.EXERCISE_ASSIGNED: [],
    Topic.EXERCISE_SUBMITTED: ["exercise-service"],
    Topic.EXERCISE_GRADED: ["exercise-service"],
    Topic.STRUGGLE_DETECTED: ["exercise-service"],
    Topic.PROGRESS_UPDATED: [],
}


def schema_for(topic: Topic) -> dict[str, Any]:
    """JSON Schema of the full CloudEvent carrying ``topic``'s payload."""
    payload = PAYLOADS[topic]
    schema = event_model(payload).model_json_schema()
    schema["title"] = f"CloudEvent<{payload.__name__}>"
    schema["$id"] = f"https://learnflow.dev/schemas/{topic}.json"
    return schema


def asyncapi() -> dict[str, Any]:
    """AsyncAPI 3.0 document listing every topic, its DLQ and its message."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in Topic:
        payload = PAYLOADS[topic]
        key = topic.replace(".", "_")
        messages[payload.__name__] = {
            "name": payload.__name__,
            "title": payload.__name__,
            "summary": (payload.__doc__ or "").strip(),
            "contentType": "application/cloudevents+json",
            "payload": {"$ref": f"./events/{topic}.schema.json"},
        }
        channels[key] = {
            "address": str(topic),
            "messages": {payload.__name__: {"$ref": f"#/components/messages/{payload.__name__}"}},
            "x-consumers": CONSUMERS[topic],
        }
        channels[key + "_dlq"] = {
            "address": dlq(topic),
            "description": f"Events on {topic} that failed every retry or were dropped.",
            "messages": {payload.__name__: {"$ref": f"#/components/messages/{payload.__name__}"}},
        }
        operations["publish_" + key] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "LearnFlow events",
            "version": __version__,
            "description": "Events between the LearnFlow services, each a CloudEvents 1.0 envelope.",
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render() -> dict[str, str]:
    """Return every generated file as relative path -> text."""
    files = {
        f"events/{topic}.schema.json": json.dumps(schema_for(topic), indent=2, sort_keys=True) + "\n" for topic in Topic
    }
    files["asyncapi.json"] = json.dumps(asyncapi(), indent=2) + "\n"
    return files


def write(docs_dir: Path) -> list[Path]:
    """Write the generated files under ``docs_dir``."""
    written = []
    for rel, text in render().items():
        path = docs_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written
