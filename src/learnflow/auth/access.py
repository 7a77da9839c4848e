"""How a route states who may call it, and how it gets its caller.

Every API route carries exactly one access rule as a dependency: ``dependencies=[allow(Role.teacher,
Role.admin)]`` on the route or its router, or ``public()`` for the few that need no credentials. The
authorisation matrix in the tests reads the rule back from each route (:func:`rule_of`), so a new route
without a rule fails the tests instead of being open by accident. Rules about *whose* data (a student's
own, a teacher's class) are checked in the route, with the caller from :data:`CallerDep`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from learnflow.auth.identity import OPEN_ACCESS, Caller, Role
from learnflow.errors import Forbidden


class Authenticator(Protocol):
    """Turns a request's credentials into a caller, or raises :class:`learnflow.errors.Unauthenticated`."""

    async def authenticate(self, request: Request) -> Caller: ...


class OpenAccess:
    """``LEARNFLOW_AUTH=off``: every request is :data:`OPEN_ACCESS`, ids come from the request."""

    async def authenticate(self, request: Request) -> Caller:
        return OPEN_ACCESS


async def current_caller(request: Request) -> Caller:
    """The request's caller, authenticated once per request by the runtime's authenticator."""
    cached: Caller | None = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    authenticator: Authenticator = request.app.state.runtime.authenticator
    caller = await authenticator.authenticate(request)
    request.state.caller = caller
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]


@dataclass(frozen=True)
class Rule:
    """Who may call a route: ``roles`` (any authenticated caller of these roles), or nobody needs to sign in."""

    roles: frozenset[Role]
    public: bool = False


RULE_ATTRIBUTE = "__learnflow_rule__"


def allow(*roles: Role) -> Any:
    """A route dependency: the caller must be signed in with one of ``roles`` (403 otherwise, 401 unsigned)."""
    if not roles:
        raise ValueError("allow() needs at least one role; use public() for routes without credentials")
    rule = Rule(roles=frozenset(roles))

    async def check(caller: CallerDep) -> Caller:
        if caller.authenticated and caller.role not in rule.roles:
            allowed = ", ".join(sorted(rule.roles))
            raise Forbidden(f"this needs the role {allowed}; you are signed in as a {caller.role}")
        return caller

    setattr(check, RULE_ATTRIBUTE, rule)
    return Depends(check)


def public() -> Any:
    """A route dependency for routes anyone may call without credentials (health, readiness, sign-in)."""

    async def check() -> None:
        return None

    setattr(check, RULE_ATTRIBUTE, Rule(roles=frozenset(Role), public=True))
    return Depends(check)


EVERYONE = (Role.student, Role.teacher, Role.admin)
STAFF = (Role.teacher, Role.admin)


def api_routes(app: FastAPI) -> list[RouteContext]:
    """Every API route the app serves, as included: its full path and the router's dependencies too.

    FastAPI keeps included routers as they are and builds each route's effective form (prefix, the
    router's and the app's dependencies) on demand; a rule declared on a router is only seen there.
    """
    return [ctx for ctx in iter_route_contexts(app.routes) if isinstance(ctx.original_route, APIRoute)]


def rule_of(route: APIRoute | RouteContext) -> Rule | None:
    """The access rule a route declares (its own or its router's), or None when it declares none.

    Give the route as served (from :func:`api_routes`) to see rules declared on its router.
    """

    def walk(calls: Iterable[Callable[..., Any] | None]) -> Iterable[Rule]:
        for call in calls:
            rule = getattr(call, RULE_ATTRIBUTE, None)
            if isinstance(rule, Rule):
                yield rule

    found = list(walk(d.call for d in route.dependant.dependencies))
    if len(found) > 1:
        raise ValueError(f"{route.path} declares {len(found)} access rules; declare exactly one")
    return found[0] if found else None


def check_own(caller: Caller, student_id: str) -> None:
    """A student may only name themselves; staff and open access pass (their own checks come after)."""
    if caller.authenticated and caller.role is Role.student and student_id != caller.id:
        raise Forbidden("you can only see and change your own work")


def check_acting_as(caller: Caller, student_id: str | None) -> None:
    """Work counted for a student (a submission, a run, a quiz) is only ever sent by that student.

    Staff pass only when they name nobody: a teacher does not submit or run code as one of their students.
    """
    if caller.authenticated and student_id is not None and student_id != caller.id:
        raise Forbidden("you can only act as yourself: the student id must be your own")


def acting_student(caller: Caller, student_id: str | None) -> str | None:
    """The student a request acts for: the checked id, or a signed-in student's own id when none is given."""
    check_acting_as(caller, student_id)
    if student_id is None and caller.authenticated and caller.role is Role.student:
        return caller.id
    return student_id
