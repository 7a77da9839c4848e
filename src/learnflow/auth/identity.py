"""Roles and the authenticated caller that every route receives."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    student = "student"
    teacher = "teacher"
    admin = "admin"


@dataclass(frozen=True)
class Caller:
    """Who made this request.

    ``id`` is the account id; for a student it is also the student id that their data is stored under.
    With ``LEARNFLOW_AUTH=off`` the caller is :data:`OPEN_ACCESS`: not authenticated, allowed everything,
    and ids are taken from the request as before accounts existed.
    """

    id: str
    role: Role
    username: str = ""
    authenticated: bool = True

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.teacher, Role.admin)


# The caller of every request when authentication is off (local experiments, unauthenticated scripts).
OPEN_ACCESS = Caller(id="", role=Role.admin, username="", authenticated=False)
