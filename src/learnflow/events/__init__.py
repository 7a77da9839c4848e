"""Event contracts: topics, payload models and the CloudEvents 1.0 envelope."""

from learnflow.events.envelope import CloudEvent, new_event
from learnflow.events.payloads import (
    PAYLOADS,
    CodeExecutionRequest,
    CodeExecutionResult,
    ExerciseAssigned,
    ExerciseGraded,
    ExerciseSubmitted,
    LearningQuery,
    LearningResponse,
    ProgressUpdated,
    StruggleDetected,
)
from learnflow.events.topics import Topic, dlq

__all__ = [
    "PAYLOADS",
    "CloudEvent",
    "CodeExecutionRequest",
    "CodeExecutionResult",
    "ExerciseAssigned",
    "ExerciseGraded",
    "ExerciseSubmitted",
    "LearningQuery",
    "LearningResponse",
    "ProgressUpdated",
    "StruggleDetected",
    "Topic",
    "dlq",
    "new_event",
]
