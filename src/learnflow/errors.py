"""The exception hierarchy behind the API's single error shape.

Every error response is ``{"error": {"code": ..., "message": ..., "details": [...]}}``; the handlers in
``learnflow.services.common`` turn these exceptions (and validation errors) into it.
"""

from __future__ import annotations

from typing import Any


class LearnFlowError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.headers: dict[str, str] = {}


class NotFound(LearnFlowError):
    status_code = 404
    code = "not_found"


class Unprocessable(LearnFlowError):
    status_code = 422
    code = "unprocessable"


class Conflict(LearnFlowError):
    status_code = 409
    code = "conflict"


class Unavailable(LearnFlowError):
    status_code = 503
    code = "unavailable"
