"""Accounts HTTP API: sign in (JSON, or the OAuth2 password form for Swagger UI), refresh, sign out, who am I,
and managing accounts. Served by every service but the runner (see ``learnflow.services.app``)."""

from __future__ import annotations

import logging
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm

from learnflow.auth import accounts
from learnflow.auth.access import EVERYONE, STAFF, CallerDep, allow, public
from learnflow.auth.authenticators import CSRF_COOKIE, REFRESH_COOKIE, SESSION_COOKIE, check_csrf, client_address
from learnflow.auth.identity import Role
from learnflow.db.models import User
from learnflow.errors import Conflict, Forbidden, LearnFlowError, TooManyRequests, Unauthenticated
from learnflow.runtime import Runtime
from learnflow.services.accounts.schemas import (
    LoginCreate,
    PasswordChange,
    RefreshCreate,
    TokenRead,
    UserCreate,
    UserRead,
)
from learnflow.services.common import CONFLICT_RESPONSE, ERROR_RESPONSES, ErrorResponse, RuntimeDep, error_response

log = logging.getLogger(__name__)

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ErrorResponse,
        "description": "No credentials, or credentials that prove nothing (wrong password, expired or forged token); "
        "`WWW-Authenticate` names the scheme",
    },
    403: {
        "model": ErrorResponse,
        "description": "Signed in, but not allowed (role, or a cookie session without the CSRF header)",
    },
    429: {
        "model": ErrorResponse,
        "description": "Too many sign-in attempts from this address, or the account is locked after repeated wrong "
        "passwords; retry after `Retry-After` seconds",
    },
}
router = APIRouter(prefix="/api", tags=["accounts"], responses={**ERROR_RESPONSES, **AUTH_RESPONSES})


def _read(user: User) -> UserRead:
    return UserRead(
        id=user.id, username=user.username, role=Role(user.role), disabled=user.disabled, created_at=user.created_at
    )


def _session_read(opened: accounts.Session) -> TokenRead:
    return TokenRead(
        access_token=opened.access.token,
        expires_in=opened.access.expires_in,
        refresh_token=opened.refresh.token,
        refresh_expires_in=opened.refresh.expires_in,
        user=_read(opened.user),
    )


def _set_cookies(runtime: Runtime, request: Request, response: Response, opened: accounts.Session) -> None:
    secure = runtime.auth.secure_cookies(request.url.scheme)
    cookies = (
        (SESSION_COOKIE, opened.access.token, opened.access.expires_in, True, "/"),
        # Sent only to the sign-in routes: the long-lived token never travels with ordinary requests.
        (REFRESH_COOKIE, opened.refresh.token, opened.refresh.expires_in, True, "/api/auth"),
        # Readable by the page's script (not HttpOnly): it echoes it in X-CSRF-Token, which another site cannot.
        (CSRF_COOKIE, secrets.token_urlsafe(32), opened.refresh.expires_in, False, "/"),
    )
    for name, value, max_age, httponly, path in cookies:
        response.set_cookie(name, value, max_age=max_age, httponly=httponly, samesite="lax", secure=secure, path=path)


def _clear_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(REFRESH_COOKIE, path="/api/auth")
    response.delete_cookie(CSRF_COOKIE, path="/")


async def _sign_in(runtime: Runtime, request: Request, *, username: str, password: str) -> accounts.Session:
    signer = runtime.auth.signer
    client = client_address(request)
    try:
        runtime.auth.login_limit.hit(client)
    except TooManyRequests:
        log.warning("sign-in refused: username=%r client=%s reason=rate limited", username[:64], client)
        raise
    failure: LearnFlowError | None = None
    async with runtime.unit_of_work() as work:
        try:
            user = await accounts.sign_in(
                work.session, username=username, password=password, settings=runtime.auth.settings
            )
        except accounts.WrongCredentials as exc:
            failure, reason = exc, exc.reason
        except accounts.AccountLocked as exc:
            failure, reason = exc, "account locked"
        else:
            opened = await accounts.open_session(work.session, user=user, signer=signer)
    # The failure count and any lock commit with the unit above; only then is the failure answered.
    if failure is not None:
        log.warning("sign-in refused: username=%r client=%s reason=%s", username[:64], client, reason)
        raise failure
    return opened


@router.post("/auth/login", response_model=TokenRead, dependencies=[public()], responses=CONFLICT_RESPONSE)
async def login(body: LoginCreate, request: Request, response: Response, runtime: RuntimeDep) -> TokenRead:
    """Sign in with a username and password: the tokens in the body, and a browser session in cookies."""
    opened = await _sign_in(runtime, request, username=body.username, password=body.password)
    _set_cookies(runtime, request, response, opened)
    return _session_read(opened)


@router.post("/auth/token", response_model=TokenRead, dependencies=[public()], responses=CONFLICT_RESPONSE)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, runtime: RuntimeDep
) -> TokenRead:
    """OAuth 2.0 password grant (a form): what Swagger UI's Authorize button and OAuth2 clients call."""
    return _session_read(await _sign_in(runtime, request, username=form.username, password=form.password))


def _refresh_token_of(request: Request, body: RefreshCreate | None) -> tuple[str, bool]:
    if body is not None and body.refresh_token:
        return body.refresh_token, False
    cookie = request.cookies.get(REFRESH_COOKIE)
    if not cookie:
        raise Unauthenticated("send `refresh_token` in the body, or the refresh cookie")
    return cookie, True


@router.post("/auth/refresh", response_model=TokenRead, dependencies=[public()], responses=CONFLICT_RESPONSE)
async def refresh(
    request: Request, response: Response, runtime: RuntimeDep, body: RefreshCreate | None = None
) -> TokenRead | JSONResponse:
    """Trade a refresh token for new tokens; the one sent is used up. Using one twice ends every session."""
    signer = runtime.auth.signer
    token, from_cookie = _refresh_token_of(request, body)
    if from_cookie:
        check_csrf(request)
    failure: Unauthenticated | None = None
    async with runtime.unit_of_work() as work:
        try:
            opened = await accounts.rotate(work.session, token=token, signer=signer)
        except Unauthenticated as exc:
            failure = exc  # a detected reuse revokes every session: that must commit before the 401
    if failure is not None:
        log.warning("refresh refused: client=%s reason=%s", client_address(request), failure.message)
        if not from_cookie:
            raise failure
        # A raised error would drop this response's cookies: answer here, so the dead session is cleared too.
        answer = error_response(failure.status_code, failure.code, failure.message, failure.details, failure.headers)
        _clear_cookies(answer)
        return answer
    if from_cookie:
        _set_cookies(runtime, request, response, opened)
    return _session_read(opened)


@router.post("/auth/logout", status_code=204, dependencies=[public()], responses=CONFLICT_RESPONSE)
async def logout(request: Request, runtime: RuntimeDep, body: RefreshCreate | None = None) -> Response:
    """Sign out: revoke the refresh token (body or cookie) and clear the session cookies."""
    # No CSRF check: the worst another site can do is sign a browser out.
    token = body.refresh_token if body is not None and body.refresh_token else request.cookies.get(REFRESH_COOKIE)
    if token and runtime.auth.local:
        async with runtime.unit_of_work() as work:
            await accounts.revoke(work.session, token=token, signer=runtime.auth.signer)
    response = Response(status_code=204)
    _clear_cookies(response)
    return response


@router.get("/auth/me", response_model=UserRead, dependencies=[allow(*EVERYONE)])
async def me(caller: CallerDep, runtime: RuntimeDep) -> UserRead:
    """Who the credentials belong to (with LEARNFLOW_AUTH=off: an anonymous administrator)."""
    if caller.authenticated:
        async with runtime.reading() as session:
            user = await session.get(User, caller.id)
        if user is not None:
            return _read(user)
    return UserRead(id=caller.id, username=caller.username, role=caller.role)


@router.post(
    "/users", response_model=UserRead, status_code=201, dependencies=[allow(*STAFF)], responses=CONFLICT_RESPONSE
)
async def create_user(body: UserCreate, caller: CallerDep, runtime: RuntimeDep) -> UserRead:
    """Create a local account: a teacher creates student accounts; an administrator any role."""
    if not runtime.auth.local:
        raise Conflict("accounts come from the identity provider here (AUTH_PROVIDER=oidc)")
    if caller.role is Role.teacher and body.role is not Role.student:
        raise Forbidden("a teacher creates student accounts only; ask an administrator for other roles")
    async with runtime.unit_of_work() as work:
        user = await accounts.create(work.session, username=body.username, password=body.password, role=body.role)
        read = _read(user)
    log.info("account created: username=%s role=%s by=%s", read.username, read.role, caller.username or "open access")
    return read


@router.get("/users", response_model=list[UserRead], dependencies=[allow(*STAFF)])
async def list_users(
    caller: CallerDep,
    runtime: RuntimeDep,
    role: Annotated[Role | None, Query(description="Only accounts of this role.")] = None,
) -> list[UserRead]:
    """Accounts: an administrator sees all; a teacher sees students."""
    roles: tuple[Role, ...] | None = (role,) if role is not None else None
    if caller.role is Role.teacher:
        roles = (Role.student,) if role in (None, Role.student) else ()
    async with runtime.reading() as session:
        return [_read(u) for u in await accounts.list_users(session, roles=roles)]


@router.post("/users/me/password", status_code=204, dependencies=[allow(*EVERYONE)], responses=CONFLICT_RESPONSE)
async def change_password(body: PasswordChange, caller: CallerDep, runtime: RuntimeDep) -> Response:
    """Change your password; every refresh token of yours is revoked (sign in again on other devices)."""
    if not caller.authenticated:
        raise Conflict("nobody is signed in (LEARNFLOW_AUTH=off): there is no password to change")
    async with runtime.unit_of_work() as work:
        user = await accounts.get(work.session, user_id=caller.id)
        await accounts.change_password(work.session, user=user, current=body.current_password, new=body.new_password)
    return Response(status_code=204)
