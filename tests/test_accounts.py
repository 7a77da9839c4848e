"""Local accounts over HTTP (issue 15): sign in, refresh with rotation and reuse detection, sign out, cookie
sessions with CSRF, lockout, the sign-in rate limit, account management, and what is (never) logged."""

from __future__ import annotations

import asyncio
import logging
import stat
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from learnflow.ai import OfflineProvider
from learnflow.auth.authenticators import CSRF_COOKIE, REFRESH_COOKIE, SESSION_COOKIE
from learnflow.auth.identity import Role
from learnflow.auth.tokens import KEY_FILE, MissingSecretKey
from learnflow.bus import MemoryBus
from learnflow.config import AppSettings, AuthSettings, RunnerSettings, Settings
from learnflow.runtime import Runtime
from learnflow.services.app import create_app
from learnflow.services.catalog import CATALOG
from tests.accounts import PASSWORD, create_account, sign_in
from tests.conftest import make_settings


def auth_settings(tmp_path: Path, database_url: str | None = None, **auth: object) -> Settings:
    db = {"DATABASE_URL": database_url} if database_url else {}
    base = make_settings(tmp_path, **db)
    # On unless the test says otherwise, whatever the generic fixtures' environment sets.
    return replace(base, auth=AuthSettings(**{"LEARNFLOW_AUTH": "on", **auth}))  # type: ignore[arg-type]


@pytest.fixture
async def make_client(tmp_path: Path) -> AsyncIterator[Callable[..., object]]:
    """An HTTP client on an app whose runtime has only its database (the account routes need nothing else)."""
    runtimes: list[Runtime] = []
    clients: list[httpx.AsyncClient] = []

    async def factory(
        database_url: str | None = None, base_url: str = "http://learnflow.test", **auth: object
    ) -> tuple[Runtime, httpx.AsyncClient]:
        rt = Runtime(
            CATALOG, settings=auth_settings(tmp_path, database_url, **auth), bus=MemoryBus(), ai=OfflineProvider()
        )
        await rt.db.upgrade()
        runtimes.append(rt)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime=rt)), base_url=base_url)
        clients.append(client)
        return rt, client

    yield factory
    for client in clients:
        await client.aclose()
    for rt in runtimes:
        await rt.db.dispose()


async def test_login_returns_tokens_and_sets_the_session_cookies(make_client) -> None:
    rt, client = await make_client()
    user_id = await create_account(rt, username="ada", role=Role.teacher)
    resp = await client.post("/api/auth/login", json={"username": "Ada ", "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    assert body["user"] == {**body["user"], "id": user_id, "username": "ada", "role": "teacher"}
    cookies = {c.split("=", 1)[0]: c.lower() for c in resp.headers.get_list("set-cookie")}
    assert "httponly" in cookies[SESSION_COOKIE] and "samesite=lax" in cookies[SESSION_COOKIE]
    assert "path=/;" in cookies[SESSION_COOKIE] + ";"
    assert "httponly" in cookies[REFRESH_COOKIE] and "path=/api/auth" in cookies[REFRESH_COOKIE]
    assert "httponly" not in cookies[CSRF_COOKIE]  # the page's script reads it
    assert not any("secure" in c for c in cookies.values())  # plain http in development
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["id"] == user_id


async def test_cookies_are_secure_over_https_and_in_production(make_client) -> None:
    rt, client = await make_client(base_url="https://learnflow.test")
    await create_account(rt, username="sec-user")
    resp = await client.post("/api/auth/login", json={"username": "sec-user", "password": PASSWORD})
    assert all("secure" in c.lower() for c in resp.headers.get_list("set-cookie"))
    assert rt.auth.secure_cookies("http") is False
    assert secure_cookies_in(rt.settings, environment="production") is True
    assert secure_cookies_in(rt.settings, environment="staging") is True


def secure_cookies_in(settings: Settings, *, environment: str) -> bool:
    """Whether cookies set over plain http are Secure in ``environment``."""
    from learnflow.auth.setup import Authentication
    from learnflow.db import Database

    app = settings.app.model_copy(update={"environment": environment})
    secured = replace(settings, app=app, auth=settings.auth.model_copy(update={"secret_key": SecretStr("k" * 40)}))
    return Authentication(secured, Database(settings.database_url)).secure_cookies("http")


async def test_wrong_credentials_say_the_same_whether_or_not_the_user_exists(make_client) -> None:
    rt, client = await make_client()
    await create_account(rt, username="known-user")
    unknown = await client.post("/api/auth/login", json={"username": "nobody-here", "password": PASSWORD})
    wrong = await client.post("/api/auth/login", json={"username": "known-user", "password": "not the password"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert wrong.headers["www-authenticate"].startswith("Bearer")


async def test_no_token_is_401_and_a_garbage_token_is_401(make_client) -> None:
    _, client = await make_client()
    assert (await client.get("/api/auth/me")).status_code == 401
    resp = await client.get("/api/auth/me", headers={"Authorization": "Bearer not.a.token"})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthenticated"
    basic = await client.get("/api/auth/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401


async def test_refresh_rotates_and_a_reused_token_ends_every_session(make_client, database_url: str) -> None:
    rt, client = await make_client(database_url)
    account = await sign_in(client, rt, username="rota")
    first = await client.post("/api/auth/refresh", json={"refresh_token": account.refresh_token})
    assert first.status_code == 200, first.text
    second_token = first.json()["refresh_token"]
    assert second_token != account.refresh_token
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {first.json()['access_token']}"})
    assert me.json()["username"] == "rota"
    # The used token again: a replay. It fails, and so does the newer token it was traded for.
    replay = await client.post("/api/auth/refresh", json={"refresh_token": account.refresh_token})
    assert replay.status_code == 401 and "already used" in replay.json()["error"]["message"]
    revoked = await client.post("/api/auth/refresh", json={"refresh_token": second_token})
    assert revoked.status_code == 401
    # Signing in again works: the account is not locked, only its sessions ended.
    again = await client.post("/api/auth/login", json={"username": "rota", "password": PASSWORD})
    assert again.status_code == 200


async def test_concurrent_refreshes_of_one_token_let_exactly_one_through(make_client, database_url: str) -> None:
    rt, client = await make_client(database_url)
    account = await sign_in(client, rt, username="racer")
    results = await asyncio.gather(
        *(client.post("/api/auth/refresh", json={"refresh_token": account.refresh_token}) for _ in range(3))
    )
    assert sorted(r.status_code for r in results)[0] == 200
    assert [r.status_code for r in results].count(200) == 1


async def test_an_access_token_is_not_a_refresh_token_and_vice_versa(make_client) -> None:
    rt, client = await make_client()
    account = await sign_in(client, rt, username="types")
    assert (await client.post("/api/auth/refresh", json={"refresh_token": account.access_token})).status_code == 401
    resp = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {account.refresh_token}"})
    assert resp.status_code == 401


async def test_logout_revokes_the_refresh_token_and_clears_the_cookies(make_client) -> None:
    rt, client = await make_client()
    account = await sign_in(client, rt, username="leaver")
    resp = await client.post("/api/auth/logout", json={"refresh_token": account.refresh_token})
    assert resp.status_code == 204
    cleared = {c.split("=", 1)[0] for c in resp.headers.get_list("set-cookie")}
    assert cleared == {SESSION_COOKIE, REFRESH_COOKIE, CSRF_COOKIE}
    assert (await client.post("/api/auth/refresh", json={"refresh_token": account.refresh_token})).status_code == 401


async def test_cookie_session_needs_the_csrf_header_on_unsafe_methods(make_client) -> None:
    rt, client = await make_client()
    await sign_in(client, rt, username="browser-teacher", role=Role.teacher, keep_cookies=True)
    assert (await client.get("/api/auth/me")).json()["username"] == "browser-teacher"  # safe: no header needed
    student = {"username": "new-pupil", "password": "another long one", "role": "student"}
    missing = await client.post("/api/users", json=student)
    wrong = await client.post("/api/users", json=student, headers={"X-CSRF-Token": "guess"})
    for resp in (missing, wrong):
        assert resp.status_code == 403
        assert resp.json()["error"] == {"code": "forbidden", "message": "CSRF token missing or wrong", "details": []}
    right = await client.post("/api/users", json=student, headers={"X-CSRF-Token": client.cookies[CSRF_COOKIE]})
    assert right.status_code == 201, right.text


async def test_a_bearer_request_needs_no_csrf_header(make_client) -> None:
    rt, client = await make_client()
    teacher = await sign_in(client, rt, username="api-teacher", role=Role.teacher)
    body = {"username": "api-pupil", "password": "another long one"}
    assert (await client.post("/api/users", json=body, headers=teacher.headers)).status_code == 201


async def test_the_refresh_cookie_refreshes_with_the_csrf_header(make_client) -> None:
    rt, client = await make_client()
    await sign_in(client, rt, username="cookie-refresh", keep_cookies=True)
    assert (await client.post("/api/auth/refresh")).status_code == 403  # cookie without the header
    resp = await client.post("/api/auth/refresh", headers={"X-CSRF-Token": client.cookies[CSRF_COOKIE]})
    assert resp.status_code == 200, resp.text
    assert {c.split("=", 1)[0] for c in resp.headers.get_list("set-cookie")} >= {SESSION_COOKIE, REFRESH_COOKIE}


async def test_lockout_after_repeated_failures_with_retry_after(make_client) -> None:
    rt, client = await make_client(AUTH_LOCKOUT_FAILURES=3, AUTH_LOCKOUT_S=2)
    await create_account(rt, username="target")
    for _ in range(3):
        resp = await client.post("/api/auth/login", json={"username": "target", "password": "wrong guess 1"})
        assert resp.status_code == 401
    locked = await client.post("/api/auth/login", json={"username": "target", "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "rate_limited" and "locked" in locked.json()["error"]["message"]
    assert 1 <= int(locked.headers["retry-after"]) <= 3
    await asyncio.sleep(2.1)
    assert (await client.post("/api/auth/login", json={"username": "target", "password": PASSWORD})).status_code == 200


async def test_success_resets_the_failure_count(make_client) -> None:
    rt, client = await make_client(AUTH_LOCKOUT_FAILURES=2)
    await create_account(rt, username="forgetful")
    for password in ("wrong guess 1", PASSWORD, "wrong guess 2", PASSWORD):
        resp = await client.post("/api/auth/login", json={"username": "forgetful", "password": password})
        assert resp.status_code == (200 if password == PASSWORD else 401)


async def test_sign_in_attempts_are_rate_limited_per_client(make_client) -> None:
    _, client = await make_client(AUTH_LOGIN_ATTEMPTS_PER_MINUTE=3)
    for _ in range(3):
        assert (await client.post("/api/auth/login", json={"username": "x-nobody", "password": "p"})).status_code == 401
    limited = await client.post("/api/auth/login", json={"username": "x-nobody", "password": "p"})
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
    form = await client.post("/api/auth/token", data={"username": "x-nobody", "password": "p"})
    assert form.status_code == 429  # the OAuth2 form counts against the same limit


async def test_the_oauth2_password_form_signs_in_and_is_documented(make_client) -> None:
    rt, client = await make_client()
    await create_account(rt, username="swagger-user")
    resp = await client.post("/api/auth/token", data={"username": "swagger-user", "password": PASSWORD})
    assert resp.status_code == 200 and resp.json()["token_type"] == "bearer"
    schema = (await client.get("/openapi.json")).json()
    assert schema["components"]["securitySchemes"]["LearnFlowBearer"]["flows"]["password"]["tokenUrl"] == (
        "/api/auth/token"
    )
    assert schema["paths"]["/api/auth/me"]["get"]["security"] == [{"LearnFlowBearer": []}]
    assert "security" not in schema["paths"]["/api/auth/login"]["post"]


async def test_passwords_and_tokens_never_reach_the_log(make_client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="learnflow")
    rt, client = await make_client(AUTH_LOCKOUT_FAILURES=2)
    account = await sign_in(client, rt, username="private-person")
    await client.post("/api/auth/login", json={"username": "private-person", "password": "my secret guess 1"})
    await client.post("/api/auth/refresh", json={"refresh_token": account.refresh_token})
    await client.post("/api/auth/refresh", json={"refresh_token": account.refresh_token})  # reuse
    await client.get("/api/auth/me", headers={"Authorization": f"Bearer {account.access_token}x"})
    text = caplog.text
    for secret in (PASSWORD, "my secret guess 1", account.access_token, account.refresh_token):
        assert secret not in text
    assert account.access_token.split(".")[1] not in text  # not even the claims part
    refused = [m for r in caplog.records if r.levelno == logging.WARNING and "sign-in refused" in (m := r.getMessage())]
    assert any("private-person" in m and "client=127.0.0.1" in m and "wrong password" in m for m in refused), refused


async def test_a_teacher_creates_and_lists_students_only(make_client) -> None:
    rt, client = await make_client()
    teacher = await sign_in(client, rt, username="teach-1", role=Role.teacher)
    admin = await sign_in(client, rt, username="admin-1", role=Role.admin)
    student = await sign_in(client, rt, username="pupil-1")
    other_teacher = {"username": "teach-2", "password": "long enough pass", "role": "teacher"}
    assert (await client.post("/api/users", json=other_teacher, headers=teacher.headers)).status_code == 403
    assert (await client.post("/api/users", json=other_teacher, headers=admin.headers)).status_code == 201
    assert (await client.post("/api/users", json=other_teacher, headers=student.headers)).status_code == 403
    seen_by_teacher = (await client.get("/api/users", headers=teacher.headers)).json()
    assert {u["role"] for u in seen_by_teacher} == {"student"}
    seen_by_admin = (await client.get("/api/users", headers=admin.headers)).json()
    assert {u["username"] for u in seen_by_admin} >= {"teach-1", "teach-2", "admin-1", "pupil-1"}
    assert (await client.get("/api/users", headers=student.headers)).status_code == 403


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("short-pass", "too short", "password"),
        ("same-as-name", "Same-As-Name", "password"),
        ("bad name!", "long enough pass", "username"),
    ],
)
async def test_account_rules_are_422_naming_the_field(make_client, username: str, password: str, field: str) -> None:
    rt, client = await make_client()
    admin = await sign_in(client, rt, username="rules-admin", role=Role.admin)
    resp = await client.post("/api/users", json={"username": username, "password": password}, headers=admin.headers)
    assert resp.status_code == 422
    assert field in {d["field"] for d in resp.json()["error"]["details"]}


async def test_a_taken_username_is_409(make_client) -> None:
    rt, client = await make_client()
    admin = await sign_in(client, rt, username="dup-admin", role=Role.admin)
    body = {"username": "DUP-ADMIN", "password": "long enough pass"}
    assert (await client.post("/api/users", json=body, headers=admin.headers)).status_code == 409


async def test_changing_the_password_ends_other_sessions(make_client) -> None:
    rt, client = await make_client()
    account = await sign_in(client, rt, username="changer")
    wrong = {"current_password": "not my password", "new_password": "brand new passphrase"}
    assert (await client.post("/api/users/me/password", json=wrong, headers=account.headers)).status_code == 422
    body = {"current_password": PASSWORD, "new_password": "brand new passphrase"}
    assert (await client.post("/api/users/me/password", json=body, headers=account.headers)).status_code == 204
    assert (await client.post("/api/auth/refresh", json={"refresh_token": account.refresh_token})).status_code == 401
    old = await client.post("/api/auth/login", json={"username": "changer", "password": PASSWORD})
    new = await client.post("/api/auth/login", json={"username": "changer", "password": "brand new passphrase"})
    assert (old.status_code, new.status_code) == (401, 200)


def test_production_refuses_auth_off() -> None:
    with pytest.raises(ValueError, match="LEARNFLOW_AUTH=off is refused when ENVIRONMENT=production"):
        Settings(
            app=AppSettings(ENVIRONMENT="production"),  # type: ignore[call-arg]
            auth=AuthSettings(LEARNFLOW_AUTH="off"),  # type: ignore[call-arg]
        )


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    settings = auth_settings(tmp_path)
    production = replace(settings, app=settings.app.model_copy(update={"environment": "production"}))
    with pytest.raises(MissingSecretKey, match="AUTH_SECRET_KEY is not set"):
        Runtime(CATALOG, ("triage",), settings=production, bus=MemoryBus(), ai=OfflineProvider())
    # The runner mounts no user secret, only the services' token: it starts, and accepts no user credentials.
    with_token = replace(production, runner=RunnerSettings(RUNNER_API_TOKEN="t" * 64))  # type: ignore[call-arg]
    runner = Runtime(CATALOG, ("runner",), settings=with_token, bus=MemoryBus(), ai=OfflineProvider())
    assert type(runner.authenticator).__name__ == "RunnerTokenAuthenticator"
    assert type(runner.authenticator.inner).__name__ == "NoCredentials"  # type: ignore[attr-defined]
    assert not (tmp_path / KEY_FILE).exists()  # production never writes a key of its own


def test_a_short_secret_key_is_refused_at_start(tmp_path: Path) -> None:
    settings = auth_settings(tmp_path, AUTH_SECRET_KEY="short")
    with pytest.raises(MissingSecretKey, match="at least 32 characters"):
        Runtime(CATALOG, ("triage",), settings=settings, bus=MemoryBus(), ai=OfflineProvider())


def test_oidc_refuses_symmetric_and_none_algorithms() -> None:
    for algorithms in ("HS256", "none", "RS256,HS512"):
        with pytest.raises(ValueError, match="never none, never HS"):
            AuthSettings(AUTH_OIDC_ALGORITHMS=algorithms)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="AUTH_OIDC_ISSUER"):
        AuthSettings(LEARNFLOW_AUTH="on", AUTH_PROVIDER="oidc")  # type: ignore[call-arg]


async def test_the_generated_key_is_private_and_survives_restarts(make_client, tmp_path: Path) -> None:
    rt, client = await make_client()
    account = await sign_in(client, rt, username="keeper")
    key = tmp_path / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    _, restarted = await make_client()  # a new process on the same data directory
    assert (await restarted.get("/api/auth/me", headers=account.headers)).status_code == 200


async def test_auth_off_is_logged_at_every_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    rt = Runtime(
        CATALOG,
        ("triage",),
        settings=auth_settings(tmp_path, LEARNFLOW_AUTH="off"),
        bus=MemoryBus(),
        ai=OfflineProvider(),
    )
    await rt.start()
    try:
        assert any("LEARNFLOW_AUTH=off" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
        caller = await rt.authenticator.authenticate(None)  # type: ignore[arg-type]  # open access reads nothing
        assert caller.authenticated is False
    finally:
        await rt.stop()


def test_every_service_but_the_runner_signs_in(tmp_path: Path) -> None:
    def paths(service: str, **auth: object) -> dict[str, object]:
        rt = Runtime(
            CATALOG, (service,), settings=auth_settings(tmp_path, **auth), bus=MemoryBus(), ai=OfflineProvider()
        )
        return dict(create_app(runtime=rt).openapi())

    for service in ("triage", "concepts", "debug", "exercise"):
        assert "/api/auth/login" in paths(service)["paths"]  # type: ignore[operator]
    assert "/api/auth/login" not in paths("runner")["paths"]  # type: ignore[operator]
    oidc = paths(
        "triage",
        AUTH_PROVIDER="oidc",
        AUTH_OIDC_ISSUER="https://id.example",
        AUTH_OIDC_AUDIENCE="learnflow-api",
        AUTH_OIDC_JWKS_URL="https://id.example/certs",
    )
    schemes = oidc["components"]["securitySchemes"]  # type: ignore[index]
    assert schemes == {"LearnFlowBearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}


async def test_with_oidc_there_is_no_password_sign_in(make_client) -> None:
    _, client = await make_client(
        AUTH_PROVIDER="oidc",
        AUTH_OIDC_ISSUER="https://id.example",
        AUTH_OIDC_AUDIENCE="learnflow-api",
        AUTH_OIDC_JWKS_URL="https://id.example/certs",
    )
    resp = await client.post("/api/auth/login", json={"username": "ada", "password": PASSWORD})
    assert resp.status_code == 409 and "identity provider" in resp.json()["error"]["message"]


async def test_a_refused_refresh_cookie_clears_the_browsers_session(make_client) -> None:
    rt, client = await make_client()
    await sign_in(client, rt, username="cookie-reuse", keep_cookies=True)
    csrf = client.cookies[CSRF_COOKIE]
    used = client.cookies[REFRESH_COOKIE]
    assert (await client.post("/api/auth/refresh", headers={"X-CSRF-Token": csrf})).status_code == 200
    # The rotated-away token again, from the cookie: a reuse, so 401, and the cookies go with it.
    client.cookies.set(REFRESH_COOKIE, used, path="/api/auth")
    resp = await client.post("/api/auth/refresh", headers={"X-CSRF-Token": client.cookies[CSRF_COOKIE]})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthenticated"
    cleared = {c.split("=", 1)[0] for c in resp.headers.get_list("set-cookie")}
    assert cleared == {SESSION_COOKIE, REFRESH_COOKIE, CSRF_COOKIE}
