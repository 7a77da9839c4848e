"""Application factory: one FastAPI app for one service, or for all of them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from learnflow import __version__
from learnflow.observability import Observe
from learnflow.runtime import SERVICES, Runtime
from learnflow.services import registry
from learnflow.services.common import BodyLimit, health_router, install_error_handlers

_TITLES = {
    "triage": "LearnFlow triage service",
    "concepts": "LearnFlow concepts service",
    "debug": "LearnFlow debug service",
    "exercise": "LearnFlow exercise service",
    "runner": "LearnFlow code runner",
}


def create_app(services: Iterable[str] = SERVICES, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the app serving ``services``; the runtime starts and stops with it."""
    rt = runtime or Runtime(services)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await rt.start()
        try:
            yield
        finally:
            await rt.stop()

    title = _TITLES[rt.services[0]] if len(rt.services) == 1 else "LearnFlow"
    app = FastAPI(
        title=title,
        version=__version__,
        description="AI-assisted Python learning. Errors share one shape: `{error: {code, message, details}}`.",
        lifespan=lifespan,
    )
    app.state.runtime = rt
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=rt.settings.app.max_request_bytes)
    app.add_middleware(Observe)  # outermost: even a refused body has a request id, a trace and a latency
    app.include_router(health_router)
    transport_routes = getattr(rt.bus, "router", None)
    if callable(transport_routes):
        app.include_router(transport_routes())  # Dapr's subscription discovery and deliveries
    for service in rt.services:
        for router in registry.routers(service):
            app.include_router(router)
    return app
