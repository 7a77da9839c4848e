"""The services' credential at the runner: a shared token, accepted only by a process that serves the runner alone.

In the cluster concepts, debug and exercise send code to the runner (``RUNNER_URL``), whose ``/api/execute``
and ``/api/grade`` need a signed-in caller. The runner holds no user secrets (no ``AUTH_SECRET_KEY``), so
it cannot verify a user's token; the services prove themselves with ``RUNNER_API_TOKEN`` instead, sent in
:data:`RUNNER_TOKEN_HEADER` (never in ``Authorization``, which stays the user's, and never logged).

The runner turns a matching token into :data:`RUNNER_CLIENT`, an admin caller with a service id. Admin is
what keeps ``learnflow.auth.policy`` truthful without a fourth role: the runner's routes allow every role,
and a service queues each run as the student it runs code for (``queue_as``), which ``check_own`` lets
only staff do. Nothing else is reachable with it: a runner-only process serves no account, class or
student route (``create_app``), and every other process ignores the header altogether.
"""

from __future__ import annotations

import hmac
import logging

from fastapi import Request

from learnflow.auth.access import Authenticator
from learnflow.auth.identity import Caller, Role
from learnflow.config import Settings
from learnflow.errors import Unauthenticated

log = logging.getLogger(__name__)

RUNNER_TOKEN_HEADER = "X-Runner-Token"
RUNNER_CLIENT = Caller(id="service:runner-client", role=Role.admin, username="runner-client")
# As AUTH_SECRET_KEY: `openssl rand -hex 32` gives 64; 32 characters of it are 128 bits.
MIN_TOKEN_CHARS = 32
SHARED = ("staging", "production")
MIN_APP_TOKEN_CHARS = 24


class MissingRunnerToken(RuntimeError):
    """A shared deployment whose services could not reach their runner: refused at start, not at the first run."""


def runner_token(settings: Settings, *, needed_by: str) -> str | None:
    """``RUNNER_API_TOKEN`` when authentication needs it, checked at start; None when it is off or unset.

    Unset with authentication on: staging and production refuse to start (:class:`MissingRunnerToken`);
    development and tests log why code will not run and go on. ``needed_by`` says who needs it.
    """
    if not settings.auth.enabled:
        return None
    configured = settings.runner.api_token
    if configured is None:
        message = (
            f"RUNNER_API_TOKEN is not set: {needed_by} (set it in the runner-token Secret, `openssl rand -hex 32`)"
        )
        if settings.app.environment in SHARED:
            raise MissingRunnerToken(message)
        log.warning(message)
        return None
    token = configured.get_secret_value()
    if len(token) < MIN_TOKEN_CHARS:
        raise MissingRunnerToken(f"RUNNER_API_TOKEN must have at least {MIN_TOKEN_CHARS} characters")
    return token


class RunnerTokenAuthenticator:
    """The runner-only process's authenticator: the services' token, else whatever ``inner`` accepts.

    A request with :data:`RUNNER_TOKEN_HEADER` is decided by that header alone: the right token is
    :data:`RUNNER_CLIENT`, a wrong one (or any, when this runner has none) is a 401, never a fall-back
    to the user's credentials.
    """

    def __init__(self, inner: Authenticator, token: str | None) -> None:
        self.inner = inner
        self._token = token.encode() if token is not None else None

    async def authenticate(self, request: Request) -> Caller:
        sent = request.headers.get(RUNNER_TOKEN_HEADER)
        if sent is None:
            return await self.inner.authenticate(request)
        if self._token is None or not hmac.compare_digest(sent.encode(), self._token):
            client = request.client.host if request.client else "unknown"
            log.warning("authentication failed: client=%s path=%s reason=wrong runner token", client, request.url.path)
            raise Unauthenticated("the runner token is not valid")
        return RUNNER_CLIENT


class MissingAppToken(RuntimeError):
    """A shared deployment on Dapr whose delivery routes anyone reaching the pod could call: refused at start."""


def dapr_app_token(settings: Settings) -> None:
    """On Dapr, ``APP_API_TOKEN`` proves a delivery came from the sidecar; checked at start.

    Without it the delivery routes (``/dapr/events/...``) take events from whoever reaches the pod's
    port, and triage's port is reachable through the ingress: staging and production refuse to start
    (:class:`MissingAppToken`); development and tests log it and go on.
    """
    if settings.bus.backend != "dapr":
        return
    configured = settings.bus.dapr_app_token
    if configured is None:
        message = (
            "APP_API_TOKEN is not set: the Dapr delivery routes accept events from anyone who reaches this "
            "port (annotate the Deployment with dapr.io/app-token-secret: app-api-token; infrastructure/dapr/README.md)"
        )
        if settings.app.environment in SHARED:
            raise MissingAppToken(message)
        log.warning(message)
        return
    # Dapr's own guide makes it with `openssl rand 16 | base64`: 24 characters, 128 bits.
    if len(configured.get_secret_value()) < MIN_APP_TOKEN_CHARS:
        raise MissingAppToken(f"APP_API_TOKEN must have at least {MIN_APP_TOKEN_CHARS} characters")
