"""Application factory: one FastAPI app for one service, or for all of them."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from learnflow import __version__
from learnflow.observability import Observe
from learnflow.runtime import Runtime
from learnflow.services.accounts.routes import router as accounts_router
from learnflow.services.catalog import CATALOG
from learnflow.services.common import BodyLimit, health_router, install_error_handlers, storable_text
from learnflow.services.openapi import document_request_rules, document_security
from learnflow.services.web import resolve_web_dir, web_fallback


def create_app(
    services: Iterable[str] | None = None, *, runtime: Runtime | None = None, freeze_heap: bool = False
) -> FastAPI:
    """Build the app serving ``services`` (all the catalog's when None); the runtime starts and stops with it.

    ``freeze_heap`` (for a server process, not a test run) exempts what start-up built from the cyclic
    garbage collector.
    """
    rt = runtime or Runtime(CATALOG, services)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await rt.start()
        if freeze_heap:
            # The curriculum, the text models and the app are a quarter of a million objects that live
            # as long as the process. The collector went through all of them in each full collection,
            # a pause of up to 150 ms in the middle of requests (bench/load.py's p99); frozen, it does not.
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            await rt.stop()

    title = rt.declarations[0].title if len(rt.declarations) == 1 else "LearnFlow"
    # /docs and /redoc load Swagger UI and ReDoc from files fastapi-offline ships, not from a CDN: they work offline.
    app = FastAPIOffline(
        title=title,
        version=__version__,
        description="AI-assisted Python learning. Errors share one shape: `{error: {code, message, details}}`.",
        lifespan=lifespan,
        dependencies=[Depends(storable_text)],
        # Observe (below) makes each request's server span, metrics and log line. FastAPI's own
        # telemetry would add a second server span and one per dependency, endpoint and serialization
        # (five spans a request, 6% of a question's CPU time in bench/load.py) to every trace.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.runtime = rt
    app.openapi = document_security(  # type: ignore[method-assign]
        app, document_request_rules(app, list(rt.curriculum.topics)), scheme=_security_scheme(rt)
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=rt.settings.app.max_request_bytes)
    app.add_middleware(Observe)  # outermost: even a refused body has a request id, a trace and a latency
    app.include_router(health_router)
    transport_routes = rt.bus.routes()
    if transport_routes is not None:
        app.include_router(transport_routes)  # how the transport delivers to the app (Dapr's sidecar)
    if not all(d.is_runner for d in rt.declarations):
        # Every service a client reaches can sign it in and say who it is: they share the accounts'
        # database and the signing key. The runner alone is internal, holds no secrets, and has none.
        app.include_router(accounts_router)
    for declaration in rt.declarations:
        app.include_router(declaration.router)
    if rt.remote is not None:
        # This process sends code to the runner service, which accepts only the services' token: its
        # /api/execute and /api/grade forward a signed-in caller's runs there (and record them in this
        # database), so a browser never needs the runner's credentials (infrastructure/web routes here).
        for declaration in CATALOG:
            if declaration.is_runner and declaration.name not in rt.services:
                app.include_router(declaration.router)
    if services is None:
        # The embedded default serves the web app too; a service alone (a pod) leaves it to the web image.
        # The router's default answers only what no route matches.
        app.router.default = web_fallback(resolve_web_dir(rt.settings.app.web_dir))
    return app


def _security_scheme(rt: Runtime) -> dict[str, Any]:
    """How /docs signs in: the password form of the local accounts, or a bearer JWT of the identity provider."""
    if rt.auth.local:
        return {"type": "oauth2", "flows": {"password": {"tokenUrl": "/api/auth/token", "scopes": {}}}}
    return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
