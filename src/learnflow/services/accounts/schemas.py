"""Account API models."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from learnflow.auth.identity import Role
from learnflow.auth.passwords import MAX_LENGTH
from learnflow.services.timestamps import UtcDateTime


class LoginCreate(BaseModel):
    """A username and its password."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"username": "ada", "password": "correct horse 42"}]})

    username: str = Field(min_length=1, max_length=64, examples=["ada"])
    password: str = Field(min_length=1, max_length=MAX_LENGTH, examples=["correct horse 42"])


USER_EXAMPLE: JsonDict = {
    "id": "3f2a9c41-7d0e-4b8a-9c65-1e2f3a4b5c6d",
    "username": "ada",
    "role": "student",
    "disabled": False,
    "created_at": "2026-01-31T09:00:12.482113Z",
}


class UserRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [USER_EXAMPLE]})

    id: str = Field(description="The account id; a student's work is stored under it.", examples=["3f2a9c"])
    username: str = Field(examples=["ada"])
    role: Role = Field(examples=["teacher"])
    disabled: bool = Field(default=False)
    created_at: UtcDateTime | None = None


class TokenRead(BaseModel):
    """A signed-in session: send `access_token` as `Authorization: Bearer …`, trade `refresh_token` for a new pair."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzZjJhOWM0MSJ9.c2lnbmF0dXJl",
                    "token_type": "bearer",
                    "expires_in": 900,
                    "refresh_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJqdGkiOiI4YjFlIn0.c2lnbmF0dXJl",
                    "refresh_expires_in": 1209600,
                    "user": USER_EXAMPLE,
                }
            ]
        }
    )

    access_token: str = Field(examples=["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…"])
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid.", examples=[900])
    refresh_token: str = Field(description="Single use: each refresh returns a new one.")
    refresh_expires_in: int = Field(description="Seconds the refresh token is valid.", examples=[1209600])
    user: UserRead


class RefreshCreate(BaseModel):
    """The refresh token to use (or revoke); a browser leaves it out and sends its refresh cookie instead."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"refresh_token": "eyJhbGciOiJIUzI1NiIs…"}, {}]})

    refresh_token: str | None = Field(default=None, max_length=4096)


class UserCreate(BaseModel):
    """A new local account: a teacher creates students; an administrator any role."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"username": "grace", "password": "a long passphrase", "role": "student"}]}
    )

    username: str = Field(
        min_length=3,
        max_length=64,
        # The rule of learnflow.auth.accounts.USERNAME, before case and surrounding blanks are dropped.
        pattern=r"^\s*[A-Za-z0-9][A-Za-z0-9._-]{2,63}\s*$",
        description="3 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit; compared without case.",
        examples=["grace"],
    )
    password: str = Field(min_length=10, max_length=MAX_LENGTH, description="At least 10 characters, not the username.")
    role: Role = Field(default=Role.student)


class PasswordChange(BaseModel):
    """Your current password and the new one; every other session of yours is signed out."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"current_password": "correct horse 42", "new_password": "battery staple 7"}]}
    )

    current_password: str = Field(min_length=1, max_length=MAX_LENGTH)
    new_password: str = Field(min_length=10, max_length=MAX_LENGTH)
