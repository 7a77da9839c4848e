"""Test helper: create an account in the test database and sign it in, for suites that run with auth on.

    account = await sign_in(client, runtime, role=Role.teacher)
    await client.get("/api/auth/me", headers=account.headers)

The account's id is the student id its work is stored under (pass ``user_id`` to choose it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx

from learnflow.auth import accounts
from learnflow.auth.identity import Role
from learnflow.runtime import Runtime

PASSWORD = "a long test passphrase"


@dataclass(frozen=True)
class Account:
    id: str
    username: str
    role: Role
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def create_account(
    runtime: Runtime,
    *,
    username: str | None = None,
    role: Role = Role.student,
    password: str = PASSWORD,
    user_id: str | None = None,
) -> str:
    """Create a local account straight in the runtime's database; return its id."""
    name = username or f"{role}-{uuid.uuid4().hex[:8]}"
    async with runtime.unit_of_work() as work:
        user = await accounts.create(work.session, username=name, password=password, role=role, user_id=user_id)
        return user.id


async def sign_in(
    client: httpx.AsyncClient,
    runtime: Runtime,
    *,
    username: str | None = None,
    role: Role = Role.student,
    password: str = PASSWORD,
    user_id: str | None = None,
    keep_cookies: bool = False,
) -> Account:
    """Create an account and sign it in through ``POST /api/auth/login``.

    The session cookies the login sets are dropped unless ``keep_cookies``: the bearer header is then the
    request's only credential, so a test sees exactly what it sends.
    """
    name = username or f"{role}-{uuid.uuid4().hex[:8]}"
    account_id = await create_account(runtime, username=name, role=role, password=password, user_id=user_id)
    resp = await client.post("/api/auth/login", json={"username": name, "password": password})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    if not keep_cookies:
        client.cookies.clear()
    return Account(
        id=account_id,
        username=name,
        role=role,
        password=password,
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
    )
