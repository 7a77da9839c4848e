"""Token rejection, one case a test (issue 15): LearnFlow's own tokens, and the identity provider's bearer
JWTs checked against a JWKS served by a local HTTP server (no internet). A small guarded app shows what a
route with ``allow(Role.teacher)`` answers to a student token, a teacher token and no token."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from jwt.algorithms import RSAAlgorithm

from learnflow.ai import OfflineProvider
from learnflow.auth.access import EVERYONE, CallerDep, allow
from learnflow.auth.identity import Role
from learnflow.auth.tokens import AUDIENCE, ISSUER, TokenSigner
from learnflow.bus import MemoryBus
from learnflow.config import AuthSettings
from learnflow.db.models import User
from learnflow.errors import Unauthenticated
from learnflow.runtime import Runtime
from learnflow.services.catalog import CATALOG
from learnflow.services.common import install_error_handlers
from tests.conftest import make_settings

KEY = "k" * 40
OIDC_ISSUER = "https://id.school.example/realms/learnflow"
OIDC_AUDIENCE = "learnflow-api"


# -- LearnFlow's own tokens ---------------------------------------------------------------------------
@pytest.fixture
def signer() -> TokenSigner:
    return TokenSigner(KEY, access_ttl_s=900, refresh_ttl_s=3600)


def local_claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "u-1",
        "role": "student",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "j-1",
        "typ": "access",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def rejected(signer: TokenSigner, token: str) -> str:
    with pytest.raises(Unauthenticated) as caught:
        signer.verify_access(token)
    return caught.value.message


def test_a_valid_local_token_names_its_caller(signer: TokenSigner) -> None:
    caller = signer.verify_access(signer.issue_access(user_id="u-7", username="ada", role=Role.teacher).token)
    assert (caller.id, caller.role, caller.username, caller.authenticated) == ("u-7", Role.teacher, "ada", True)


def test_local_expired(signer: TokenSigner) -> None:
    token = jwt.encode(local_claims(exp=int(time.time()) - 5), KEY, algorithm="HS256")
    assert "expired" in rejected(signer, token)


def test_local_wrong_issuer(signer: TokenSigner) -> None:
    assert "wrong issuer" in rejected(signer, jwt.encode(local_claims(iss="someone-else"), KEY, algorithm="HS256"))


def test_local_wrong_audience(signer: TokenSigner) -> None:
    assert "wrong audience" in rejected(signer, jwt.encode(local_claims(aud="other-api"), KEY, algorithm="HS256"))


def test_local_bad_signature(signer: TokenSigner) -> None:
    assert "bad signature" in rejected(signer, jwt.encode(local_claims(), "x" * 40, algorithm="HS256"))


def test_local_alg_none(signer: TokenSigner) -> None:
    unsigned = jwt.encode(local_claims(), None, algorithm="none")
    assert "algorithm not allowed" in rejected(signer, unsigned)


def test_local_missing_claims(signer: TokenSigner) -> None:
    for claim in ("exp", "sub", "jti", "aud"):
        message = rejected(signer, jwt.encode(local_claims(**{claim: None}), KEY, algorithm="HS256"))
        assert "missing" in message or "wrong audience" in message, (claim, message)


def test_local_unknown_role(signer: TokenSigner) -> None:
    assert "role" in rejected(signer, jwt.encode(local_claims(role="superuser"), KEY, algorithm="HS256"))


def test_local_refresh_token_is_no_access_token(signer: TokenSigner) -> None:
    assert "type" in rejected(signer, signer.issue_refresh(user_id="u-1").token)


# -- the identity provider's tokens -------------------------------------------------------------------
class Provider:
    """An identity provider's keys: a JWKS served over HTTP on localhost, and tokens signed with them."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}).encode()
        self.fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(provider.jwks)

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/certs"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": OIDC_ISSUER,
            "aud": OIDC_AUDIENCE,
            "sub": "idp-user-1",
            "preferred_username": "grace",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "realm_access": {"roles": ["offline_access", "student", "teacher"]},
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, *, key: Any = None, kid: str = "k1", algorithm: str = "RS256", **overrides: Any) -> str:
        return jwt.encode(self.claims(**overrides), key or self.key, algorithm=algorithm, headers={"kid": kid})


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    p = Provider()
    yield p
    p.server.shutdown()
    p.server.server_close()


@pytest.fixture
async def oidc_app(tmp_path: Path, provider: Provider) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """A guarded app on a runtime configured for the identity provider, its database migrated."""
    auth = AuthSettings(  # type: ignore[call-arg]
        LEARNFLOW_AUTH="on",
        AUTH_PROVIDER="oidc",
        AUTH_OIDC_ISSUER=OIDC_ISSUER,
        AUTH_OIDC_AUDIENCE=OIDC_AUDIENCE,
        AUTH_OIDC_JWKS_URL=provider.url,
        AUTH_ROLE_CLAIM="realm_access.roles",
    )
    rt = Runtime(
        CATALOG,
        ("triage",),
        settings=replace(make_settings(tmp_path), auth=auth),
        bus=MemoryBus(),
        ai=OfflineProvider(),
    )
    await rt.db.upgrade()
    async with guarded_client(rt) as client:
        yield rt, client
    await rt.db.dispose()


def guarded_client(rt: Runtime) -> httpx.AsyncClient:
    app = FastAPI()
    app.state.runtime = rt
    install_error_handlers(app)

    @app.get("/teachers-only", dependencies=[allow(Role.teacher)])
    async def teachers_only(caller: CallerDep) -> dict[str, str]:
        return {"id": caller.id, "role": str(caller.role)}

    @app.get("/anyone", dependencies=[allow(*EVERYONE)])
    async def anyone(caller: CallerDep) -> dict[str, str]:
        return {"id": caller.id, "role": str(caller.role), "username": caller.username}

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://guarded.test")


async def call(client: httpx.AsyncClient, token: str, path: str = "/anyone") -> httpx.Response:
    return await client.get(path, headers={"Authorization": f"Bearer {token}"})


def refused(resp: httpx.Response, fragment: str) -> None:
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"]["code"] == "unauthenticated"
    assert fragment in resp.json()["error"]["message"], resp.json()


async def test_oidc_valid_token_with_the_role_in_a_nested_claim(oidc_app, provider: Provider) -> None:
    rt, client = oidc_app
    resp = await call(client, provider.token())
    assert resp.status_code == 200, resp.text
    # The highest LearnFlow role listed wins; other roles of the realm are ignored.
    assert resp.json() == {"id": "idp-user-1", "role": "teacher", "username": "grace"}
    async with rt.db.session() as session:
        row = await session.get(User, "idp-user-1")
    assert row is not None and row.password_hash is None and row.role == "teacher"  # classes can name them


async def test_oidc_keys_are_cached(oidc_app, provider: Provider) -> None:
    _, client = oidc_app
    before = provider.fetches
    for _ in range(3):
        assert (await call(client, provider.token())).status_code == 200
    assert provider.fetches - before <= 1


async def test_oidc_expired(oidc_app, provider: Provider) -> None:
    refused(await call(oidc_app[1], provider.token(exp=int(time.time()) - 120)), "expired")


async def test_oidc_wrong_issuer(oidc_app, provider: Provider) -> None:
    refused(await call(oidc_app[1], provider.token(iss="https://evil.example")), "wrong issuer")


async def test_oidc_wrong_audience(oidc_app, provider: Provider) -> None:
    refused(await call(oidc_app[1], provider.token(aud="another-app")), "wrong audience")


async def test_oidc_bad_signature(oidc_app, provider: Provider) -> None:
    refused(await call(oidc_app[1], provider.token(key=provider.other)), "bad signature")


async def test_oidc_unknown_key_id(oidc_app, provider: Provider) -> None:
    refused(await call(oidc_app[1], provider.token(key=provider.other, kid="rotated-away")), "unknown signing key")


async def test_oidc_alg_none(oidc_app, provider: Provider) -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT","kid":"k1"}').rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(json.dumps(provider.claims()).encode()).rstrip(b"=").decode()
    refused(await call(oidc_app[1], f"{header}.{body}."), "algorithm not allowed")


async def test_oidc_hs256_signed_with_the_public_key_is_refused(oidc_app, provider: Provider) -> None:
    # Algorithm confusion: the public key (anyone can fetch it) used as an HMAC secret.
    public_pem = provider.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged = _hmac_token(provider.claims(realm_access={"roles": ["admin"]}), public_pem)
    refused(await call(oidc_app[1], forged), "algorithm not allowed")


def _hmac_token(claims: dict[str, Any], secret: bytes) -> str:
    # PyJWT refuses to HMAC-sign with a PEM key; an attacker is not so polite: sign by hand.
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(b'{"alg":"HS256","typ":"JWT","kid":"k1"}') + "." + b64(json.dumps(claims).encode())
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud", "sub"])
async def test_oidc_missing_claims(oidc_app, provider: Provider, claim: str) -> None:
    refused(await call(oidc_app[1], provider.token(**{claim: None})), f"the claim '{claim}' is missing")


async def test_oidc_nbf_is_checked_only_when_present(oidc_app, provider: Provider) -> None:
    """Keycloak and Entra ID often omit `nbf`: such a token is accepted; one not valid yet is still refused."""
    _, client = oidc_app
    assert (await call(client, provider.token(nbf=None))).status_code == 200
    now = int(time.time())
    refused(await call(client, provider.token(nbf=now + 3600)), "not valid yet")
    # Within the leeway (AUTH_OIDC_LEEWAY_S) a provider's clock slightly ahead is tolerated.
    assert (await call(client, provider.token(nbf=now + 5))).status_code == 200


async def test_oidc_token_without_a_learnflow_role_is_403(oidc_app, provider: Provider) -> None:
    resp = await call(oidc_app[1], provider.token(realm_access={"roles": ["offline_access"]}))
    assert resp.status_code == 403
    assert "realm_access.roles" in resp.json()["error"]["message"]


async def test_oidc_student_token_on_a_teacher_route_is_403_and_no_token_401(oidc_app, provider: Provider) -> None:
    _, client = oidc_app
    student = provider.token(sub="idp-student", preferred_username="sam", realm_access={"roles": ["student"]})
    assert (await call(client, student, "/teachers-only")).status_code == 403
    assert (await call(client, provider.token(), "/teachers-only")).status_code == 200
    none = await client.get("/teachers-only")
    assert none.status_code == 401 and none.headers["www-authenticate"].startswith("Bearer")


async def test_oidc_ignores_the_session_cookie(oidc_app, provider: Provider) -> None:
    _, client = oidc_app
    client.cookies.set("learnflow_session", provider.token())
    resp = await client.get("/anyone")
    assert resp.status_code == 401


async def test_local_student_token_on_a_teacher_route_is_403_and_no_token_401(tmp_path: Path) -> None:
    settings = replace(make_settings(tmp_path), auth=AuthSettings(LEARNFLOW_AUTH="on"))  # type: ignore[call-arg]
    rt = Runtime(CATALOG, ("triage",), settings=settings, bus=MemoryBus(), ai=OfflineProvider())
    student = rt.auth.signer.issue_access(user_id="s-1", username="sam", role=Role.student).token
    teacher = rt.auth.signer.issue_access(user_id="t-1", username="tia", role=Role.teacher).token
    async with guarded_client(rt) as client:
        assert (await call(client, student, "/teachers-only")).status_code == 403
        assert (await call(client, teacher, "/teachers-only")).json() == {"id": "t-1", "role": "teacher"}
        assert (await client.get("/teachers-only")).status_code == 401
    await rt.db.dispose()
