"""The exception hierarchy behind the API's single error shape.

Every error response is ``{"error": {"code": ..., "message": ..., "details": [...]}}``; the handlers in
``learnflow.services.common`` turn these exceptions (and validation errors) into it. One kind of
problem has one code: every invalid input is ``validation_error`` (422) with at least one detail
naming the field, whether the schema, a cross-field rule or a domain rule refused it.
"""

from __future__ import annotations

from typing import Any


class LearnFlowError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or ([{"field": field, "message": message}] if field is not None else [])
        self.headers: dict[str, str] = {}


class NotFound(LearnFlowError):
    status_code = 404
    code = "not_found"


class Unprocessable(LearnFlowError):
    status_code = 422
    code = "validation_error"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None, field: str = "body") -> None:
        # A client fixes its input from `details`: a 422 always names at least one field.
        super().__init__(message, details=details, field=field)


class Conflict(LearnFlowError):
    status_code = 409
    code = "conflict"


class Unavailable(LearnFlowError):
    status_code = 503
    code = "unavailable"


class Unauthenticated(LearnFlowError):
    """No credentials, or credentials that do not prove who the caller is (expired, forged, unknown key)."""

    status_code = 401
    code = "unauthenticated"

    def __init__(self, message: str = "sign in first: this endpoint needs a bearer token or a session") -> None:
        super().__init__(message)
        # RFC 6750: a 401 names the scheme the client should use.
        self.headers = {"WWW-Authenticate": 'Bearer realm="learnflow"'}


class Forbidden(LearnFlowError):
    """The caller is known but may not do this (wrong role, another student's data, not their class)."""

    status_code = 403
    code = "forbidden"


class TooManyRequests(LearnFlowError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(max(1, retry_after_s))}
