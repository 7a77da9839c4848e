"""Tokens LearnFlow signs for its local accounts: short-lived access tokens and rotating refresh tokens.

Both are HS256 JWTs signed with ``AUTH_SECRET_KEY``, told apart by ``typ`` so a refresh token is never
accepted as an access token (nor the other way round). A refresh token's ``jti`` is stored in
``refresh_tokens``: that row, not the signature, decides whether it may still be used.
"""

from __future__ import annotations

import logging
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import jwt

from learnflow.auth.identity import Caller, Role
from learnflow.config import Settings
from learnflow.errors import Unauthenticated

log = logging.getLogger(__name__)

ISSUER = "learnflow"
AUDIENCE = "learnflow-api"
ALGORITHM = "HS256"
KEY_FILE = "auth-secret-key"
# HS256 is as strong as its key: 32 characters of `openssl rand -hex 32` are 128 bits.
MIN_KEY_CHARS = 32
REQUIRED = ["iss", "aud", "sub", "exp", "iat", "jti", "typ"]


class MissingSecretKey(RuntimeError):
    """Production without ``AUTH_SECRET_KEY``: refused at start rather than signing with a key nobody keeps."""


def secret_key(settings: Settings) -> str:
    """``AUTH_SECRET_KEY``; outside production, one generated at first start and kept in the data directory.

    The generated key survives restarts (tokens stay valid) and is readable only by its owner (0600).
    """
    configured = settings.auth.secret_key
    if configured is not None:
        key = configured.get_secret_value()
        if len(key) < MIN_KEY_CHARS:
            raise MissingSecretKey(
                f"AUTH_SECRET_KEY must have at least {MIN_KEY_CHARS} characters (`openssl rand -hex 32`)"
            )
        return key
    if settings.app.environment == "production":
        raise MissingSecretKey(
            "AUTH_SECRET_KEY is not set: production refuses to start without the key that signs sign-in tokens "
            "(set it in the backend-secrets Secret, e.g. `openssl rand -hex 32`)"
        )
    path = Path(settings.app.data_dir) / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: of two processes starting on one data directory, one writes and both read its key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32))
        log.warning("AUTH_SECRET_KEY is not set: generated one in %s (set it for any shared deployment)", path)
    key = path.read_text(encoding="ascii").strip()
    if len(key) < MIN_KEY_CHARS:
        raise MissingSecretKey(f"{path} holds no usable key: delete it to have a new one generated")
    return key


@dataclass(frozen=True)
class Issued:
    token: str
    jti: str
    expires_at: datetime
    expires_in: int


class TokenSigner:
    """Issues and verifies the local provider's tokens with one key."""

    def __init__(self, key: str, *, access_ttl_s: int, refresh_ttl_s: int) -> None:
        self._key = key
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s

    def _issue(
        self, kind: Literal["access", "refresh"], *, sub: str, ttl_s: int, extra: dict[str, Any], now: datetime
    ) -> Issued:
        jti = uuid.uuid4().hex
        expires = now + timedelta(seconds=ttl_s)
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": sub,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": jti,
            "typ": kind,
            **extra,
        }
        return Issued(jwt.encode(claims, self._key, algorithm=ALGORITHM), jti, expires, ttl_s)

    def issue_access(self, *, user_id: str, username: str, role: Role, now: datetime | None = None) -> Issued:
        """An access token for the account."""
        extra = {"role": str(role), "name": username}
        return self._issue("access", sub=user_id, ttl_s=self.access_ttl_s, extra=extra, now=now or datetime.now(UTC))

    def issue_refresh(self, *, user_id: str, now: datetime | None = None) -> Issued:
        """A refresh token for the account; the caller stores its ``jti``."""
        return self._issue("refresh", sub=user_id, ttl_s=self.refresh_ttl_s, extra={}, now=now or datetime.now(UTC))

    def _decode(self, token: str, kind: Literal["access", "refresh"]) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": REQUIRED},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired: sign in again or refresh it") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"the token is not valid ({token_problem(exc)})") from None
        if claims.get("typ") != kind:
            raise Unauthenticated(f"the token is not valid (not a token of type {kind})")
        return claims

    def verify_access(self, token: str) -> Caller:
        """The caller an access token names, or :class:`Unauthenticated`."""
        claims = self._decode(token, "access")
        try:
            role = Role(str(claims.get("role")))
        except ValueError:
            raise Unauthenticated("the token is not valid (no LearnFlow role)") from None
        return Caller(id=str(claims["sub"]), role=role, username=str(claims.get("name", "")))

    def verify_refresh(self, token: str) -> tuple[str, str]:
        """The (user id, jti) of a validly signed, unexpired refresh token; whether it is still usable is stored."""
        claims = self._decode(token, "refresh")
        return str(claims["sub"]), str(claims["jti"])


def token_problem(exc: jwt.InvalidTokenError) -> str:
    """A short reason safe to return and log: never the token itself."""
    reasons: list[tuple[type[jwt.InvalidTokenError], str]] = [
        (jwt.ExpiredSignatureError, "expired"),
        (jwt.InvalidIssuerError, "wrong issuer"),
        (jwt.InvalidAudienceError, "wrong audience"),
        (jwt.InvalidSignatureError, "bad signature"),
        (jwt.InvalidAlgorithmError, "algorithm not allowed"),
        (jwt.MissingRequiredClaimError, "a required claim is missing"),
        (jwt.ImmatureSignatureError, "not valid yet"),
        (jwt.InvalidIssuedAtError, "issued in the future"),
        (jwt.DecodeError, "malformed"),
    ]
    for kind, reason in reasons:
        if isinstance(exc, kind):
            if isinstance(exc, jwt.MissingRequiredClaimError):
                return f"the claim {exc.claim!r} is missing"
            return reason
    return "invalid"
