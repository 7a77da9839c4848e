"""The authenticators a runtime chooses from settings: local accounts, the platform's OIDC provider, or off.

* :class:`LocalAuthenticator`: a bearer access token LearnFlow signed, or the browser's session cookie
  (then an unsafe method must also echo the CSRF cookie in ``X-CSRF-Token``).
* :class:`OidcAuthenticator`: a bearer JWT of the identity provider, checked against its issuer, audience
  and JWKS; the role comes from a configurable claim.
* :class:`learnflow.auth.access.OpenAccess`: ``LEARNFLOW_AUTH=off``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Callable
from typing import Any

import jwt
from fastapi import Request
from sqlalchemy.exc import IntegrityError

from learnflow.auth import accounts
from learnflow.auth.identity import Caller, Role
from learnflow.auth.tokens import TokenSigner, token_problem
from learnflow.config import AuthSettings
from learnflow.db import Database
from learnflow.errors import Forbidden, Unauthenticated, Unavailable

log = logging.getLogger(__name__)

SESSION_COOKIE = "learnflow_session"
REFRESH_COOKIE = "learnflow_refresh"
CSRF_COOKIE = "learnflow_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Highest first: a token listing several LearnFlow roles acts with the strongest.
ROLE_ORDER = (Role.admin, Role.teacher, Role.student)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header; None without the header; 401 for another scheme."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be `Bearer <token>`")
    return token.strip()


def check_csrf(request: Request) -> None:
    """A cookie-authenticated unsafe request must echo the CSRF cookie in the header (double submit)."""
    if request.method.upper() in SAFE_METHODS:
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    header = request.headers.get(CSRF_HEADER, "")
    if not cookie or not header or not hmac.compare_digest(cookie.encode(), header.encode()):
        raise Forbidden("CSRF token missing or wrong")


def _refused(request: Request, reason: str, exc: Exception) -> Exception:
    # Never the token: the reason names what was wrong with it.
    log.warning("authentication failed: client=%s path=%s reason=%s", client_address(request), request.url.path, reason)
    return exc


class LocalAuthenticator:
    """Accounts kept by LearnFlow: its own signed access tokens, as a bearer header or a session cookie."""

    def __init__(self, signer: Callable[[], TokenSigner]) -> None:
        # Asked for on first use: a process nobody signs in to (`learnflow ask`) never reads or makes a key.
        self._signer = signer

    async def authenticate(self, request: Request) -> Caller:
        token = bearer_token(request)
        from_cookie = token is None
        if token is None:
            token = request.cookies.get(SESSION_COOKIE)
        if not token:
            raise Unauthenticated()
        try:
            caller = self._signer().verify_access(token)
        except Unauthenticated as exc:
            raise _refused(request, exc.message, exc) from None
        if from_cookie:
            # A browser sends cookies on requests other sites make it send; a bearer header it never adds.
            try:
                check_csrf(request)
            except Forbidden as exc:
                raise _refused(request, "CSRF token missing or wrong", exc) from None
        return caller


def claim_at(claims: dict[str, Any], path: str) -> Any:
    """The value at a dotted claim path (``realm_access.roles``), or None."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def role_of(value: Any) -> Role | None:
    """The highest LearnFlow role in a claim value (a string, a list, or space-separated words)."""
    if isinstance(value, str):
        names = set(value.replace(",", " ").split())
    elif isinstance(value, list):
        names = {v for v in value if isinstance(v, str)}
    else:
        return None
    return next((role for role in ROLE_ORDER if str(role) in names), None)


class OidcAuthenticator:
    """Bearer JWTs of the platform's identity provider (cluster); the first sight of a user adds its row."""

    # Rows of users seen this recently (with this role) are not looked up again.
    SEEN_TTL_S = 60.0

    def __init__(self, settings: AuthSettings, db: Database, *, jwks: jwt.PyJWKClient | None = None) -> None:
        if not (settings.oidc_jwks_url and settings.oidc_issuer and settings.oidc_audience):
            raise ValueError("the OIDC provider needs AUTH_OIDC_ISSUER, AUTH_OIDC_AUDIENCE and AUTH_OIDC_JWKS_URL")
        self.settings = settings
        self.db = db
        self.algorithms = settings.oidc_algorithms
        self.jwks = jwks or jwt.PyJWKClient(
            settings.oidc_jwks_url,
            cache_keys=True,
            cache_jwk_set=settings.oidc_jwks_cache_s > 0,
            lifespan=max(settings.oidc_jwks_cache_s, 1),
            timeout=10,
        )
        self._seen: dict[str, tuple[Role, float]] = {}

    async def authenticate(self, request: Request) -> Caller:
        token = bearer_token(request)
        if token is None:
            raise Unauthenticated()
        try:
            claims = await self.verify(token)
        except (Unauthenticated, Forbidden) as exc:
            raise _refused(request, exc.message, exc) from None
        caller = self.caller_of(claims)
        await self._remember(caller)
        return caller

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims once signature, algorithm, issuer, audience and times check out."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"the token is not valid ({token_problem(exc)})") from None
        # Checked before any key is fetched: `none` and HS* (a JWKS's public key used as an HMAC secret)
        # are refused outright.
        if header.get("alg") not in self.algorithms:
            raise Unauthenticated("the token is not valid (algorithm not allowed)")
        try:
            # PyJWKClient fetches over blocking urllib; its cache makes this a lookup after the first call.
            key = await asyncio.to_thread(self.jwks.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientConnectionError:
            log.error("cannot fetch the identity provider's keys from %s", self.settings.oidc_jwks_url)
            raise Unavailable("the identity provider's signing keys cannot be fetched; try again shortly") from None
        except (jwt.PyJWKClientError, jwt.PyJWKError, jwt.InvalidTokenError):
            raise Unauthenticated("the token is not valid (unknown signing key)") from None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=self.algorithms,
                audience=self.settings.oidc_audience,
                issuer=self.settings.oidc_issuer,
                leeway=self.settings.oidc_leeway_s,
                # Not `nbf`: Keycloak and Entra ID often omit it. PyJWT still checks it whenever it is present.
                options={"require": ["exp", "iat", "iss", "aud", self.settings.user_claim]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired: get a new one from the identity provider") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"the token is not valid ({token_problem(exc)})") from None
        return claims

    def caller_of(self, claims: dict[str, Any]) -> Caller:
        """The caller the verified ``claims`` name (403 when they carry no LearnFlow role)."""
        user_id = claims.get(self.settings.user_claim)
        if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 128:
            raise Unauthenticated(f"the token is not valid (the claim {self.settings.user_claim!r} is no user id)")
        role = role_of(claim_at(claims, self.settings.role_claim))
        if role is None:
            raise Forbidden(
                f"your token carries no LearnFlow role in the claim {self.settings.role_claim!r}: ask your "
                "administrator for one of student, teacher or admin"
            )
        name = claim_at(claims, self.settings.username_claim)
        return Caller(id=user_id, role=role, username=name if isinstance(name, str) else user_id)

    async def _remember(self, caller: Caller) -> None:
        seen = self._seen.get(caller.id)
        if seen is not None and seen[0] is caller.role and time.monotonic() - seen[1] < self.SEEN_TTL_S:
            return
        for attempt in (1, 2):
            try:
                async with self.db.session() as session:
                    user = await accounts.ensure_external(
                        session, user_id=caller.id, username=caller.username, role=caller.role
                    )
                    disabled = user.disabled
                    await session.commit()
                break
            except IntegrityError:
                if attempt == 2:
                    raise
                # A concurrent first request of the same user added the row: read it on the second try.
        if disabled:
            raise Unauthenticated("this account is disabled")
        if len(self._seen) > 10_000:
            self._seen.clear()  # a bound, not an LRU: re-reading a row now and then is cheap
        self._seen[caller.id] = (caller.role, time.monotonic())


class NoCredentials:
    """A process that holds no signing key (the runner in production): it accepts no user credentials."""

    async def authenticate(self, request: Request) -> Caller:
        raise Unauthenticated("this service accepts no user credentials")
