"""One process's authentication, chosen from settings: its authenticator, token signer and login limit."""

from __future__ import annotations

import logging
from functools import cached_property

from learnflow.auth.access import Authenticator, OpenAccess
from learnflow.auth.authenticators import LocalAuthenticator, NoCredentials, OidcAuthenticator
from learnflow.auth.ratelimit import LoginRateLimit
from learnflow.auth.service import RunnerTokenAuthenticator, runner_token
from learnflow.auth.tokens import MissingSecretKey, TokenSigner, secret_key
from learnflow.config import Settings
from learnflow.db import Database
from learnflow.errors import Conflict

log = logging.getLogger(__name__)


class Authentication:
    """What the runtime and the account routes use to know callers.

    ``holds_secrets`` is False for a process that serves only the runner: it is never given
    ``AUTH_SECRET_KEY`` (the runner mounts no Secret), so in production it accepts no user credentials
    instead of refusing to start; with authentication on it accepts the services' ``RUNNER_API_TOKEN``
    (:mod:`learnflow.auth.service`), without which staging and production refuse to start.
    """

    def __init__(self, settings: Settings, db: Database, *, holds_secrets: bool = True) -> None:
        self.settings = settings.auth
        self._all = settings
        self.environment = settings.app.environment
        self.login_limit = LoginRateLimit(self.settings.login_attempts_per_minute)
        self.authenticator: Authenticator
        local = self.settings.provider == "local"
        if local and self.settings.secret_key is not None and holds_secrets:
            secret_key(settings)  # a configured key too short to sign with is refused at start
        if local and self.environment == "production" and self.settings.secret_key is None:
            if holds_secrets:
                # Checked here, at start: the first sign-in is too late to learn the key is missing.
                secret_key(settings)
            self.authenticator = NoCredentials()
        elif not self.settings.enabled:
            self.authenticator = OpenAccess()
        elif local:
            self.authenticator = LocalAuthenticator(lambda: self.signer)
        else:
            self.authenticator = OidcAuthenticator(self.settings, db)
        if not holds_secrets and self.settings.enabled:
            # The runner alone: the services that send it code sign in with their shared token.
            token = runner_token(settings, needed_by="the services cannot run code in this runner")
            self.authenticator = RunnerTokenAuthenticator(self.authenticator, token)

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    @property
    def local(self) -> bool:
        return self.settings.provider == "local"

    @cached_property
    def signer(self) -> TokenSigner:
        """The local provider's signer; its key is read (or first generated) when first needed."""
        if not self.local:
            raise Conflict("accounts sign in with the identity provider here (AUTH_PROVIDER=oidc), not with a password")
        try:
            key = secret_key(self._all)
        except MissingSecretKey as exc:
            raise Conflict(str(exc)) from None
        return TokenSigner(key, access_ttl_s=self.settings.access_ttl_s, refresh_ttl_s=self.settings.refresh_ttl_s)

    def secure_cookies(self, scheme: str) -> bool:
        """Cookies only over HTTPS when the request came that way or the deployment is a shared one."""
        return scheme == "https" or self.environment in ("staging", "production")

    def describe(self) -> str:
        if not self.enabled:
            return "off"
        return self.settings.provider
