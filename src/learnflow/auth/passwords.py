"""Password hashing (argon2 through pwdlib) and the password policy."""

from __future__ import annotations

from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from learnflow.errors import Unprocessable

MIN_LENGTH = 10
# Far above any real passphrase; bounds the work one login request can ask of argon2.
MAX_LENGTH = 1024


@lru_cache
def _hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(),))


@lru_cache
def _dummy_hash() -> str:
    # Verified against when the user is unknown, so an unknown name costs what a wrong password costs.
    return _hasher().hash("learnflow-no-such-account-placeholder")


def check_policy(password: str, *, username: str) -> None:
    """Refuse a password that is too short, too long, or the username itself."""
    if len(password) < MIN_LENGTH:
        raise Unprocessable(f"the password needs at least {MIN_LENGTH} characters", field="password")
    if len(password) > MAX_LENGTH:
        raise Unprocessable(f"the password may have at most {MAX_LENGTH} characters", field="password")
    if password.strip().casefold() == username.strip().casefold():
        raise Unprocessable("the password must not be the username", field="password")


def hash_password(password: str) -> str:
    """Hash ``password`` with the current argon2 parameters."""
    return _hasher().hash(password)


def verify(password: str, stored: str | None) -> tuple[bool, str | None]:
    """Whether ``password`` matches ``stored``, and a new hash when the parameters changed since.

    ``stored`` None (an unknown user, an identity-provider account) still costs one argon2 verification and
    never matches.
    """
    if stored is None or len(password) > MAX_LENGTH:
        _hasher().verify(password[:MAX_LENGTH], _dummy_hash())
        return False, None
    return _hasher().verify_and_update(password, stored)
