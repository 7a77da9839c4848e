"""Who may do what: the one table of every API route's access decision.

Each route declares its role rule where it is defined (``allow(...)`` / ``public()``); this table says
the same thing once more, next to *whose* data the route touches, so the decision can be read in one
place and the authorisation matrix in ``tests/test_authorization.py`` can compute, for every route and
every kind of caller, whether the request must be refused (401, 403) or let through. The test fails
when a route has no entry here, when an entry names no route, and when a route's declared rule and its
entry disagree.

Scopes (whose data a route touches; checked in the route with the caller from ``CallerDep``):

``public``
    No credentials: liveness, readiness, metrics and the Dapr sidecar's delivery routes (see below).
``anyone``
    Every signed-in caller with one of the roles, whatever the ids in the request (the exercise bank,
    quizzes' pools; listing classes filters to the caller's own).
``self``
    The request names a student (``student_id`` in the body or query) whose work it creates or counts
    towards: only that student may send it. Staff never act as a student ("teachers do not submit as
    students"); where ``student_id`` is optional (runs, debug, concepts) staff simply leave it out.
``student``
    The request reaches one student's data (a path id, or a stored query/session/attempt/alert that
    belongs to a student): the student themselves, a teacher of one of their classes, or an admin;
    the role rule may narrow this further (only students answer their own quiz attempts; only staff
    resolve alerts).
``class``
    The request reaches a class: its teacher or an admin.

Student ids in bodies stay *required* where they were (``POST /api/triage``, submissions, quiz
attempts, exercise generation): existing clients keep working and the OpenAPI schema stays truthful.
With authentication on the id must be the caller's own (403 otherwise); with it off (``OPEN_ACCESS``)
ids are taken from the request as before. Where ``student_id`` is optional (``/api/execute``,
``/api/debug/analyze``, ``/api/concepts/explain``) a signed-in student's own id is filled in when it is
missing, so their runs count towards struggle detection as they would from the tutor.

The runner's ``/api/execute`` and ``/api/grade`` are also called by services: concepts, debug and exercise
send their runs to the runner service (``RUNNER_URL``) with ``RUNNER_API_TOKEN``, which a runner-only
process turns into ``service:runner-client``, an admin (``learnflow.auth.service``). As staff it names no
``student_id`` (nothing it sends counts towards struggle detection twice) and may queue a run as the
student it runs code for (``queue_as``). Students reach these routes where the runner shares the signing
key (the all-in-one process); the cluster's runner has no key, so there only the services reach it.

Events: every route that publishes or stores a student id takes it from the value checked here (the
body's id after the ``self`` check, or the stored row's owner), so the events on the bus carry the id
that was authenticated at the edge; consumers trust the bus, never a payload from outside it.

The Dapr delivery routes (``/dapr/subscribe``, ``/dapr/events/...``) carry no user's credentials: the
sidecar calls them over the pod's localhost. They are ``public`` as far as users go, and refuse a call
without the sidecar's app token (``dapr-api-token``, Dapr's ``APP_API_TOKEN``) when one is configured;
within the cluster the NetworkPolicy keeps every service's port but triage's unreachable from other
pods, and the app token is what keeps triage's delivery routes closed to a caller from outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from learnflow.auth.identity import Role


class Scope(StrEnum):
    public = "public"
    anyone = "anyone"
    self = "self"
    student = "student"
    school_class = "class"


@dataclass(frozen=True)
class Access:
    """A route's decision: the roles that may call it, and whose data it reaches."""

    roles: frozenset[Role]
    scope: Scope
    why: str


ALL = frozenset(Role)
STUDENTS = frozenset({Role.student})
STAFF_ONLY = frozenset({Role.teacher, Role.admin})


def _public(why: str) -> Access:
    return Access(ALL, Scope.public, why)


ACCESS: dict[tuple[str, str], Access] = {
    # Probes and scraping: kubelet and Prometheus carry no user's credentials; no student data in them.
    ("GET", "/health"): _public("liveness probe"),
    ("GET", "/ready"): _public("readiness probe"),
    ("GET", "/metrics"): _public("Prometheus scrape: counts and latencies, never a student id or text"),
    ("GET", "/dapr/subscribe"): _public("the sidecar reads the subscriptions (app token when configured)"),
    ("POST", "/dapr/events/{group}/{topic}"): _public("the sidecar delivers events (app token when configured)"),
    # Triage: the student's own questions, sessions and their stream.
    ("POST", "/api/triage"): Access(STUDENTS, Scope.self, "a student asks as themselves, in their own sessions"),
    ("GET", "/api/queries/{query_id}"): Access(ALL, Scope.student, "the query's student, their teachers, admins"),
    ("GET", "/api/sessions/{session_id}/stream"): Access(
        ALL, Scope.student, "the session's student (a new session is theirs), their teachers, admins"
    ),
    # Tools: any signed-in caller may use them; naming a student is only for that student.
    ("POST", "/api/concepts/explain"): Access(ALL, Scope.self, "student_id, if given, is the caller's own"),
    ("POST", "/api/debug/analyze"): Access(ALL, Scope.self, "student_id, if given, is the caller's own"),
    ("POST", "/api/execute"): Access(
        ALL, Scope.self, "student_id and queue_as, if given, are the caller's own; services (admin) queue as a student"
    ),
    ("POST", "/api/grade"): Access(
        ALL, Scope.anyone, "grades code against given tests; stores nothing; services (admin) queue as a student"
    ),
    # Exercises and quizzes.
    ("GET", "/api/exercises"): Access(ALL, Scope.anyone, "the bank, without solutions"),
    ("GET", "/api/exercises/{exercise_id}"): Access(ALL, Scope.anyone, "one exercise, without its solution"),
    ("POST", "/api/exercises"): Access(STAFF_ONLY, Scope.anyone, "teachers author; the author's passes never count"),
    ("POST", "/api/exercises/generate"): Access(STUDENTS, Scope.self, "assigns the caller their next exercise"),
    ("POST", "/api/exercises/{exercise_id}/submissions"): Access(
        STUDENTS, Scope.self, "a student submits as themselves; teachers do not submit as students"
    ),
    ("GET", "/api/curriculum"): Access(ALL, Scope.anyone, "modules and topics, no student data"),
    ("GET", "/api/quizzes/{topic}"): Access(ALL, Scope.anyone, "a quiz's pool size, no questions"),
    ("POST", "/api/quizzes/{topic}/attempts"): Access(STUDENTS, Scope.self, "a student starts their own attempt"),
    ("POST", "/api/quizzes/attempts/{attempt_id}/answers"): Access(
        STUDENTS, Scope.student, "only the attempt's student answers it"
    ),
    ("GET", "/api/students/{student_id}/progress"): Access(ALL, Scope.student, "the student, their teachers, admins"),
    ("GET", "/api/students/{student_id}/progress/history"): Access(
        ALL, Scope.student, "the student, their teachers, admins"
    ),
    ("GET", "/api/students/{student_id}/submissions"): Access(
        ALL, Scope.student, "the student, their teachers, admins"
    ),
    ("GET", "/api/students/{student_id}/queries"): Access(ALL, Scope.student, "the student, their teachers, admins"),
    ("GET", "/api/alerts"): Access(STAFF_ONLY, Scope.student, "teachers: their classes' students; admins: all"),
    ("POST", "/api/alerts/{alert_id}/resolve"): Access(
        STAFF_ONLY, Scope.student, "the alert's student's teacher, or an admin"
    ),
    # Accounts: signing in needs no credentials (the request carries them); the rest is the caller's own.
    ("POST", "/api/auth/login"): _public("signs in with a username and password (rate-limited, locks out)"),
    ("POST", "/api/auth/token"): _public("the OAuth2 password grant of the same sign-in, for the API docs"),
    ("POST", "/api/auth/refresh"): _public("exchanges a refresh token (its own credential) for new tokens"),
    ("POST", "/api/auth/logout"): _public("revokes the refresh token it is given and clears the cookies"),
    ("GET", "/api/auth/me"): Access(ALL, Scope.anyone, "the caller's own account"),
    ("POST", "/api/users/me/password"): Access(ALL, Scope.anyone, "the caller changes their own password"),
    ("POST", "/api/users"): Access(STAFF_ONLY, Scope.anyone, "admins create any account; teachers student accounts"),
    ("GET", "/api/users"): Access(STAFF_ONLY, Scope.anyone, "admins: every account; teachers: students"),
    # Classes: teachers manage their own, admins all.
    ("POST", "/api/classes"): Access(
        STAFF_ONLY, Scope.anyone, "a teacher's class is theirs; an admin names the teacher"
    ),
    ("GET", "/api/classes"): Access(STAFF_ONLY, Scope.anyone, "teachers: their classes; admins: all"),
    ("GET", "/api/classes/{class_id}"): Access(STAFF_ONLY, Scope.school_class, "the class's teacher, admins"),
    ("POST", "/api/classes/{class_id}/students"): Access(STAFF_ONLY, Scope.school_class, "the class's teacher, admins"),
    ("DELETE", "/api/classes/{class_id}/students/{student_id}"): Access(
        STAFF_ONLY, Scope.school_class, "the class's teacher, admins"
    ),
    ("GET", "/api/classes/{class_id}/progress"): Access(
        STAFF_ONLY, Scope.school_class, "the class's teacher, admins: students x topics mastery"
    ),
}

# The API documentation (Swagger UI, its OAuth2 redirect, ReDoc) is served by fastapi-offline as
# static pages without data: public like the schema itself, and declared here rather than by a rule
# because the routes are the library's, not ours.
DOCUMENTATION = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
