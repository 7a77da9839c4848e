"""The nine topics events travel on."""

from __future__ import annotations

from enum import StrEnum


class Topic(StrEnum):
    LEARNING_QUERY = "learning.query"
    LEARNING_RESPONSE = "learning.response"
    CODE_EXECUTION_REQUEST = "code.execution.request"
    CODE_EXECUTION_RESULT = "code.execution.result"
    EXERCISE_ASSIGNED = "exercise.assigned"
    EXERCISE_SUBMITTED = "exercise.submitted"
    EXERCISE_GRADED = "exercise.graded"
    STRUGGLE_DETECTED = "struggle.detected"
    PROGRESS_UPDATED = "progress.updated"


DLQ_SUFFIX = ".dlq"


def dlq(topic: str) -> str:
    """Name of the dead-letter topic for ``topic``."""
    return topic + DLQ_SUFFIX
