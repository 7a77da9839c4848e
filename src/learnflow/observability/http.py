"""The HTTP side: a request id and a trace for every request, its latency by route, one log line."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from learnflow.observability import logs, metrics, tracing

log = logging.getLogger("learnflow.http")

REQUEST_ID_HEADER = "x-request-id"
# A caller's id is kept only when it is short and plain: it is written into every log line.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Probes and scrapes come every few seconds: log them only at DEBUG.
_QUIET = frozenset({"/health", "/ready", "/metrics"})


class Observe:
    """Outermost middleware: binds the request id and the trace, then measures and logs the request.

    The request id is the caller's ``X-Request-ID`` when it sent a safe one, else a new one, and is
    returned on the response. Latency is labelled with the route template (``/api/queries/{query_id}``),
    never the raw path, so ids do not multiply the series; paths no route matches share ``unmatched``.
    The log line names the method, route, status and duration: never the body or the query string.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or ()}
        offered = headers.get(REQUEST_ID_HEADER, "")
        request_id = offered if _SAFE_ID.fullmatch(offered) else uuid.uuid4().hex
        method = scope.get("method", "GET")
        status = 500  # unless the app starts a response

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())],
                }
            await send(message)

        started = time.perf_counter()
        with logs.bound(request_id=request_id), tracing.server_span(method, headers) as span:
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                seconds = time.perf_counter() - started
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                metrics.observe_request(method=method, route=route, status=status, seconds=seconds)
                span.update_name(f"{method} {route}")
                span.set_attribute("http.request.method", method)
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
                log.log(
                    logging.DEBUG if route in _QUIET and status < 400 else logging.INFO,
                    "%s %s %d %.1fms",
                    method,
                    route,
                    status,
                    seconds * 1000,
                    extra={"method": method, "route": route, "status": status, "duration_ms": round(seconds * 1000, 1)},
                )
