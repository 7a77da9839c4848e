"""What every service app shares: dependencies, the error shape, health, readiness and metrics."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from learnflow.errors import LearnFlowError
from learnflow.observability import metrics as observability_metrics
from learnflow.runtime import Runtime

log = logging.getLogger(__name__)


def get_runtime(request: Request) -> Runtime:
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
    404: {"model": ErrorResponse, "description": "Not found"},
    413: {"model": ErrorResponse, "description": "The request body is larger than the limit in `details`"},
    422: {"model": ErrorResponse, "description": "Invalid input; `details` says which field and why"},
    429: {"model": ErrorResponse, "description": "Too many code runs waiting; retry after `Retry-After` seconds"},
    503: {"model": ErrorResponse, "description": "A dependency (database, event bus) is unavailable"},
}


def _error(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details or []))
    return JSONResponse(status_code=status, content=body.model_dump())


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LearnFlowError)
    async def _domain(_: Request, exc: LearnFlowError) -> JSONResponse:
        response = _error(exc.status_code, exc.code, exc.message, exc.details)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
                "message": e.get("msg", ""),
                "type": e.get("type", ""),
            }
            | (
                {"limit": e["ctx"].get("max_length") or e["ctx"].get("le") or e["ctx"].get("ge")}
                if isinstance(e.get("ctx"), dict) and any(k in e["ctx"] for k in ("max_length", "le", "ge"))
                else {}
            )
            for e in exc.errors()
        ]
        summary = "; ".join(f"{d['field'] or 'body'}: {d['message']}" for d in details)
        return _error(422, "validation_error", summary or "invalid request", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))

    async def _database(_: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", exc)
        return _error(503, "database_unavailable", "the database is unavailable; try again shortly")

    # asyncpg raises plain ConnectionError/TimeoutError while connecting, before SQLAlchemy wraps.
    for kind in (OperationalError, DBAPIError, PoolTimeout, ConnectionError, TimeoutError):
        app.add_exception_handler(kind, _database)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return _error(500, "internal_error", "an unexpected error occurred; it has been logged")


class Health(BaseModel):
    status: str = Field(examples=["healthy"])
    service: str = Field(examples=["triage-service"])
    timestamp: datetime
    services: list[str] = Field(default_factory=list)


health_router = APIRouter(tags=["health"])


@health_router.get("/health", response_model=Health)
async def health(runtime: RuntimeDep) -> Health:
    """Liveness: the process answers."""
    return Health(status="healthy", service=runtime.name, timestamp=datetime.now(UTC), services=list(runtime.services))


@health_router.get("/ready", responses={503: {"description": "A dependency does not answer"}})
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
        response = _error(413, "payload_too_large", message, details)
        await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})
