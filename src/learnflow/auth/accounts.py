"""Accounts: create, list, sign in (with lockout), change password, disable; and their refresh tokens.

Plain functions over a session: they stage changes and never commit (the caller's unit of work does).
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from learnflow.auth import passwords
from learnflow.auth.identity import Role
from learnflow.auth.tokens import Issued, TokenSigner
from learnflow.config import AuthSettings
from learnflow.db.models import RefreshToken, User
from learnflow.errors import Conflict, NotFound, TooManyRequests, Unauthenticated, Unprocessable

log = logging.getLogger(__name__)

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
# One message for every wrong sign-in, so the answer never tells whether the account exists.
WRONG_CREDENTIALS = "wrong username or password"


class WrongCredentials(Unauthenticated):
    def __init__(self, reason: str) -> None:
        super().__init__(WRONG_CREDENTIALS)
        self.reason = reason  # for the log only


class AccountLocked(TooManyRequests):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            f"too many wrong passwords: this account is locked; try again in {retry_after_s} s",
            retry_after_s=retry_after_s,
        )


def normalize_username(username: str) -> str:
    """Usernames compare without case or surrounding blanks."""
    return username.strip().lower()


def check_username(username: str) -> str:
    """The normalised username, or a 422 naming the rule."""
    name = normalize_username(username)
    if not USERNAME.match(name):
        raise Unprocessable(
            "a username has 3 to 64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit",
            field="username",
        )
    return name


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored in UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


async def get(session: AsyncSession, *, user_id: str) -> User:
    """The account with ``user_id``."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id!r} does not exist")
    return user


async def get_by_username(session: AsyncSession, *, username: str) -> User | None:
    """The account named ``username``, if any."""
    found: User | None = await session.scalar(select(User).where(User.username == normalize_username(username)))
    return found


async def count(session: AsyncSession) -> int:
    """How many accounts exist."""
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def list_users(session: AsyncSession, *, roles: tuple[Role, ...] | None = None) -> list[User]:
    """Accounts by username, of ``roles`` when given."""
    query = select(User).order_by(User.username)
    if roles is not None:
        query = query.where(User.role.in_([str(r) for r in roles]))
    return list(await session.scalars(query))


async def create(
    session: AsyncSession, *, username: str, password: str, role: Role, user_id: str | None = None
) -> User:
    """Create a local account (its password checked against the policy and hashed)."""
    name = check_username(username)
    passwords.check_policy(password, username=name)
    if await get_by_username(session, username=name) is not None:
        raise Conflict(f"the username {name!r} is taken")
    if user_id is not None and await session.get(User, user_id) is not None:
        raise Conflict(f"the user id {user_id!r} is taken")
    hashed = await asyncio.to_thread(passwords.hash_password, password)
    user = User(
        id=user_id or uuid.uuid4().hex,
        username=name,
        role=str(role),
        password_hash=hashed,
        disabled=False,
        failed_logins=0,
    )
    session.add(user)
    await session.flush()
    return user


async def sign_in(
    session: AsyncSession, *, username: str, password: str, settings: AuthSettings, now: datetime | None = None
) -> User:
    """The account ``username`` if ``password`` is its password; counts failures and locks after too many.

    Raises :class:`WrongCredentials` (the same for an unknown user, a wrong password, a disabled or an
    identity-provider account) or :class:`AccountLocked`. The failure count is staged either way: the caller
    commits before it raises.
    """
    now = now or datetime.now(UTC)
    user = await get_by_username(session, username=username)
    locked_until = _aware(user.locked_until) if user is not None else None
    if user is not None and locked_until is not None and locked_until > now:
        # No verification while locked: a locked account answers nothing about its password.
        raise AccountLocked(int((locked_until - now).total_seconds()) + 1)
    ok, rehashed = await asyncio.to_thread(passwords.verify, password, user.password_hash if user else None)
    if user is None:
        raise WrongCredentials("unknown user")
    if user.password_hash is None:
        raise WrongCredentials("account signs in with the identity provider")
    if not ok:
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= settings.lockout_failures:
            user.failed_logins = 0
            user.locked_until = now + timedelta(seconds=settings.lockout_s)
            raise WrongCredentials(f"wrong password; account locked for {settings.lockout_s} s")
        raise WrongCredentials("wrong password")
    if user.disabled:
        raise WrongCredentials("account disabled")
    user.failed_logins = 0
    user.locked_until = None
    if rehashed is not None:
        user.password_hash = rehashed
    return user


async def change_password(session: AsyncSession, *, user: User, current: str | None, new: str) -> None:
    """Set a new password (``current`` must match unless None: an administrator's reset) and end every session."""
    if user.password_hash is None:
        raise Conflict("this account signs in with the identity provider; its password is not kept here")
    if current is not None:
        ok, _ = await asyncio.to_thread(passwords.verify, current, user.password_hash)
        if not ok:
            raise Unprocessable("the current password is wrong", field="current_password")
    passwords.check_policy(new, username=user.username)
    user.password_hash = await asyncio.to_thread(passwords.hash_password, new)
    user.failed_logins = 0
    user.locked_until = None
    await revoke_all(session, user_id=user.id)


async def disable(session: AsyncSession, *, user: User) -> None:
    """Disable the account: it can no longer sign in or refresh."""
    user.disabled = True
    await revoke_all(session, user_id=user.id)


async def ensure_external(session: AsyncSession, *, user_id: str, username: str, role: Role) -> User:
    """The row of an identity-provider user (created on first sight, role kept current), for classes to name."""
    user = await session.get(User, user_id)
    if user is None:
        name = normalize_username(username)[:64] or user_id[:64]
        if await get_by_username(session, username=name) is not None:
            name = user_id[:64]  # the provider's name is taken here: the id is unique
        user = User(id=user_id, username=name, role=str(role), password_hash=None, disabled=False, failed_logins=0)
        session.add(user)
        await session.flush()
    elif user.role != str(role):
        user.role = str(role)
    return user


@dataclass(frozen=True)
class Session:
    """What a sign-in or a refresh hands out."""

    user: User
    access: Issued
    refresh: Issued


async def open_session(session: AsyncSession, *, user: User, signer: TokenSigner) -> Session:
    """Issue an access token and a refresh token (its id stored) for ``user``."""
    access = signer.issue_access(user_id=user.id, username=user.username, role=Role(user.role))
    refresh = signer.issue_refresh(user_id=user.id)
    session.add(RefreshToken(id=refresh.jti, user_id=user.id, expires_at=refresh.expires_at))
    return Session(user=user, access=access, refresh=refresh)


async def rotate(session: AsyncSession, *, token: str, signer: TokenSigner) -> Session:
    """Trade a refresh token for a new pair; the old one is revoked.

    A refresh token used twice was stolen or replayed: every refresh token of its user is revoked, so
    whoever holds one must sign in again.
    """
    user_id, jti = signer.verify_refresh(token)
    now = datetime.now(UTC)
    # One conditional UPDATE: of two concurrent uses of one token, exactly one wins.
    claimed = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == jti, RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result has a row count
        stored = await session.get(RefreshToken, jti)
        if stored is not None:
            await revoke_all(session, user_id=user_id)
            log.warning("refresh token reused: every session of user %s revoked", user_id)
            raise Unauthenticated("this refresh token was already used: every session has been ended; sign in again")
        raise Unauthenticated("the refresh token is not known: sign in again")
    user = await session.get(User, user_id)
    if user is None or user.disabled:
        raise Unauthenticated("this account cannot sign in")
    return await open_session(session, user=user, signer=signer)


async def revoke(session: AsyncSession, *, token: str, signer: TokenSigner) -> None:
    """Revoke one refresh token (signing out); an invalid or already revoked one is ignored."""
    try:
        _, jti = signer.verify_refresh(token)
    except Unauthenticated:
        return
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == jti, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


async def revoke_all(session: AsyncSession, *, user_id: str) -> None:
    """Revoke every refresh token of ``user_id``."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
