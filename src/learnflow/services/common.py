"""What every service app shares: dependencies, the error shape, health, readiness and metrics."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from learnflow.auth.access import public
from learnflow.errors import LearnFlowError
from learnflow.observability import metrics as observability_metrics
from learnflow.runtime import Runtime
from learnflow.services.timestamps import UtcDateTime

log = logging.getLogger(__name__)


async def get_runtime(request: Request) -> Runtime:
    # async although it awaits nothing: FastAPI runs a plain-def dependency in its thread pool, a thread
    # hand-off (and a GIL hand-back) on every request that uses the runtime.
    runtime: Runtime = request.app.state.runtime  # set by the app's lifespan
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with runtime.db.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


class ErrorBody(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["exercise 'x' does not exist"])
    details: list[dict[str, Any]] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """The one error shape of every LearnFlow API."""

    error: ErrorBody


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ErrorResponse,
        "description": "No credentials, or credentials that do not prove who the caller is (`unauthenticated`); "
        "the `WWW-Authenticate` header names the scheme",
    },
    403: {
        "model": ErrorResponse,
        "description": "Signed in, but not allowed (`forbidden`): the wrong role, another student's work, or a "
        "student outside the teacher's classes",
    },
    404: {"model": ErrorResponse, "description": "Not found"},
    413: {"model": ErrorResponse, "description": "The request body is larger than the limit in `details`"},
    422: {
        "model": ErrorResponse,
        "description": "Invalid input (`validation_error`): the body is not JSON (malformed, not UTF-8, nested too "
        "deeply), breaks the schema or a cross-field rule, holds text that cannot be stored (NUL characters, lone "
        "surrogates), or names an unknown topic; every entry of `details` gives the `field` path and why",
        "content": {
            "application/json": {
                "example": {
                    "error": {
                        "code": "validation_error",
                        "message": "student_id: String should have at least 1 character",
                        "details": [
                            {"field": "student_id", "message": "String should have at least 1 character"},
                        ],
                    }
                }
            }
        },
    },
    429: {"model": ErrorResponse, "description": "Too many code runs waiting; retry after `Retry-After` seconds"},
    503: {
        "model": ErrorResponse,
        "description": "A dependency (database, event bus) is unavailable; retrying may help",
    },
}
CONFLICT_RESPONSE: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorResponse, "description": "The request conflicts with stored state; see `message`"},
}
# SQLSTATE classes that mean the server, not the request, is the problem: connection, resources, operator
# intervention, system errors, and a transaction rolled back to break a deadlock or serialization failure.
OUTAGE_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
# Deeper than this, a JSON body is refused before anything walks it.
MAX_JSON_DEPTH = 64


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details or []))
    return JSONResponse(status_code=status, content=body.model_dump(), headers=headers)


def field_path(loc: tuple[int | str, ...] | list[int | str]) -> str:
    """A validation location as a dotted field path: ``("body", "io_tests", 0, "stdin")`` -> ``io_tests.0.stdin``."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or "body"


def _detail(e: dict[str, Any]) -> dict[str, Any]:
    if e.get("type") == "json_invalid":
        # FastAPI puts the byte offset in the location; the offset belongs in the message, the field is the body.
        where = [p for p in e.get("loc", ()) if p != "body"]
        at = f" (at character {where[0]})" if where else ""
        return {"field": "body", "message": f"the body is not valid JSON{at}", "type": "json_invalid"}
    detail: dict[str, Any] = {
        "field": field_path(e.get("loc", ())),
        "message": e.get("msg", ""),
        "type": e.get("type", ""),
    }
    ctx = e.get("ctx")
    if isinstance(ctx, dict):
        limit = next((ctx[k] for k in ("max_length", "le", "ge", "lt", "gt", "min_length") if k in ctx), None)
        if limit is not None:
            detail["limit"] = limit
    return detail


def _unstorable(value: str) -> str | None:
    """Why the database cannot store ``value`` as text, or None when it can."""
    if "\x00" in value:
        return "must not contain NUL characters (\\u0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (no lone surrogates)"
    return None


def _walk(value: Any, path: tuple[int | str, ...], depth: int = 0) -> list[dict[str, Any]]:
    if depth > MAX_JSON_DEPTH:
        return [{"loc": ("body",), "msg": f"nested deeper than {MAX_JSON_DEPTH} levels", "type": "json_too_deep"}]
    found: list[dict[str, Any]] = []
    if isinstance(value, str):
        why = _unstorable(value)
        if why:
            found.append({"loc": path, "msg": why, "type": "string_unstorable"})
    elif isinstance(value, dict):
        for key, item in value.items():
            why = _unstorable(key)
            if why:
                found.append(
                    {
                        "loc": (*path, key.encode("utf-8", "backslashreplace").decode()),
                        "msg": "key " + why,
                        "type": "string_unstorable",
                    }
                )
            else:
                found.extend(_walk(item, (*path, key), depth + 1))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_walk(item, (*path, index), depth + 1))
    return found[:20]


async def storable_text(request: Request) -> None:
    """Refuse text no database can store the same way (NUL, lone surrogates) in the path, query or JSON body.

    SQLite keeps a NUL that PostgreSQL rejects: refusing it up front answers the same 422 on both.
    """
    errors = [
        {"loc": (where, name), "msg": why, "type": "string_unstorable"}
        for where, params in (("path", request.path_params), ("query", request.query_params))
        for name, value in params.items()
        if isinstance(value, str) and (why := _unstorable(value))
    ]
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()  # FastAPI parsed it already; this reads its cached copy
        except Exception:
            body = None  # FastAPI reports an unparseable body itself
        errors.extend(_walk(body, ("body",)))
    if errors:
        raise RequestValidationError(errors)


def _sqlstate(exc: BaseException) -> str:
    seen: BaseException | None = getattr(exc, "orig", None) or exc
    while seen is not None:
        state = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(state, str):
            return state
        seen = seen.__cause__
    return ""


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LearnFlowError)
    async def _domain(_: Request, exc: LearnFlowError) -> JSONResponse:
        return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [_detail(e) for e in exc.errors()] or [{"field": "body", "message": "invalid request"}]
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
        return error_response(422, "validation_error", summary, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's only 400: a body it could not decode (not UTF-8, or nested past the parser's limit).
            message = "the body is not valid JSON (it must be UTF-8 and not nested too deeply)"
            details = [{"field": "body", "message": message, "type": "json_invalid"}]
            return error_response(422, "validation_error", message, details)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        # 405 carries `Allow` (set by the router): the headers go through.
        return error_response(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))

    @app.exception_handler(RecursionError)
    async def _too_deep(_: Request, exc: RecursionError) -> JSONResponse:
        message = f"the body is nested too deeply (at most {MAX_JSON_DEPTH} levels)"
        return error_response(
            422, "validation_error", message, [{"field": "body", "message": message, "type": "json_too_deep"}]
        )

    async def _database(_: Request, exc: Exception) -> JSONResponse:
        state = _sqlstate(exc)
        kind = type(getattr(exc, "orig", None) or exc).__name__
        # Never the exception's text: SQLAlchemy's includes the statement's parameters, the student's own text.
        if isinstance(exc, IntegrityError) or state.startswith("23"):
            log.info("database refused the data: %s (sqlstate %s)", kind, state or "-")
            return error_response(409, "conflict", "the request conflicts with stored data")
        if isinstance(exc, DataError) or state.startswith("22"):
            log.info("database refused the data: %s (sqlstate %s)", kind, state or "-")
            message = "the database cannot store this input as given"
            return error_response(422, "validation_error", message, [{"field": "body", "message": message}])
        outage = (
            not isinstance(exc, DBAPIError)  # pool timeouts, refused connections
            or isinstance(exc, (OperationalError, InterfaceError))
            or exc.connection_invalidated
            or state[:2] in OUTAGE_SQLSTATE_CLASSES
        )
        if not outage:
            log.error("database error: %s (sqlstate %s)", kind, state or "-")
            return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")
        log.warning("database unavailable: %s (sqlstate %s)", kind, state or "-")
        return error_response(503, "database_unavailable", "the database is unavailable; try again shortly")

    # asyncpg raises plain ConnectionError/TimeoutError while connecting, before SQLAlchemy wraps.
    for kind in (OperationalError, DBAPIError, PoolTimeout, ConnectionError, TimeoutError):
        app.add_exception_handler(kind, _database)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")


class Health(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "healthy",
                    "service": "learnflow",
                    "timestamp": "2026-01-31T09:15:02.123456Z",
                    "services": ["triage", "concepts", "debug", "exercise", "runner"],
                }
            ]
        }
    )

    status: str = Field(examples=["healthy"])
    service: str = Field(examples=["triage-service"])
    timestamp: UtcDateTime
    services: list[str] = Field(default_factory=list)


# What the database's ping says when the server refuses connections.
DB_DOWN = "database unavailable: ConnectionRefusedError: [Errno 111] Connect call failed ('10.0.3.7', 5432)"


class Readiness(BaseModel):
    """What `/ready` answers, ready (200) or not (503): the same shape, so a probe or a person reads one body."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ready",
                    "service": "learnflow",
                    "checks": {"database": "ok", "event_bus": "ok", "sandbox": "ok"},
                    "details": {
                        "sandbox_isolation": "bwrap",
                        "sandbox_note": "namespaces through system bwrap (/usr/bin/bwrap)",
                        "ai_provider": "offline",
                        "event_bus": "memory",
                    },
                },
                {
                    "status": "unavailable",
                    "service": "learnflow",
                    "reasons": [
                        "database: " + DB_DOWN,
                    ],
                    "checks": {"database": DB_DOWN, "event_bus": "ok", "sandbox": "ok"},
                    "details": {
                        "sandbox_isolation": "bwrap",
                        "sandbox_note": "namespaces through system bwrap (/usr/bin/bwrap)",
                        "ai_provider": "openai",
                        "event_bus": "kafka",
                    },
                },
            ]
        }
    )

    status: Literal["ready", "unavailable"]
    service: str
    reasons: list[str] | None = Field(
        default=None, description="Only when unavailable: each failing check as `name: state`, or `starting`."
    )
    checks: dict[str, str] = Field(description="Each dependency and its state: `ok`, or why not.")
    details: dict[str, str] = Field(description="How this process runs: sandbox isolation, AI provider, event bus.")


# Probes and Prometheus carry no user's credentials; nothing here names a student.
health_router = APIRouter(tags=["health"], dependencies=[public()])


@health_router.get("/health", response_model=Health)
async def health(runtime: RuntimeDep) -> Health:
    """Liveness: the process answers."""
    return Health(status="healthy", service=runtime.name, timestamp=datetime.now(UTC), services=list(runtime.services))


@health_router.get(
    "/ready",
    response_model=None,
    responses={
        200: {"model": Readiness, "description": "The database, the event bus and the sandbox answer"},
        503: {"model": Readiness, "description": "A dependency does not answer, or the process is still starting"},
    },
)
async def ready(runtime: RuntimeDep) -> JSONResponse:
    """Readiness: the database and the event bus answer."""
    checks = await runtime.ready()
    reasons = [f"{name}: {state}" for name, state in checks.items() if state != "ok"]
    details = {
        "sandbox_isolation": runtime.sandbox.isolation,
        "sandbox_note": runtime.sandbox.isolation_reason,
        "ai_provider": runtime.ai.name,
        "event_bus": runtime.bus.name,
    }
    if reasons or not runtime.started:
        return JSONResponse(
            status_code=503,
            content={
                "status": "unavailable",
                "service": runtime.name,
                "reasons": reasons or ["starting"],
                "checks": checks,
                "details": details,
            },
        )
    return JSONResponse(content={"status": "ready", "service": runtime.name, "checks": checks, "details": details})


@health_router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Prometheus metrics of this process (every service it runs shares one registry)."""
    body, content_type = observability_metrics.render()
    return Response(content=body, media_type=content_type)


class BodyLimit:
    """Refuses a request body over ``limit`` bytes with a 413 before the app reads any of it.

    A declared ``Content-Length`` over the limit is answered at once; a body streamed without one is
    counted as it arrives and refused at the limit, so no oversized body is ever held in memory.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(send)
            return
        # Read the body here, up to the limit, then hand it to the app as it arrived.
        chunks: list[Message] = []
        size = 0
        while True:
            message = await receive()
            chunks.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._refuse(send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return chunks.pop(0) if chunks else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        message = f"the request body is larger than {self.limit} bytes"
        details = [{"field": "body", "message": message, "limit": self.limit}]
        response = error_response(413, "payload_too_large", message, details)
        await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})
