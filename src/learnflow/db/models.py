"""Tables. Every schema change goes through an Alembic migration under ``db/migrations``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


class Student(Base):
    __tablename__ = "students"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LearningSession(Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    student_id: Mapped[str] = mapped_column(ForeignKey("students.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Query(Base):
    __tablename__ = "queries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    student_id: Mapped[str] = mapped_column(ForeignKey("students.id"), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    query: Mapped[str] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    routed_to: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float)
    topic: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column()


class Response(Base):
    __tablename__ = "responses"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(128), unique=True)
    query_id: Mapped[str] = mapped_column(String(64), index=True)
    session_id: Mapped[str] = mapped_column(String(128), index=True)
    student_id: Mapped[str] = mapped_column(String(128))
    agent: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Exercise(Base):
    __tablename__ = "exercises"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(64), index=True)
    difficulty: Mapped[str] = mapped_column(String(16), index=True)
    description: Mapped[str] = mapped_column(Text)
    starter_code: Mapped[str] = mapped_column(Text)
    solution: Mapped[str] = mapped_column(Text)
    visible_tests: Mapped[str] = mapped_column(Text, default="")
    hidden_tests: Mapped[str] = mapped_column(Text, default="")
    io_tests: Mapped[list[Any]] = mapped_column(default=list)
    hints: Mapped[list[Any]] = mapped_column(default=list)
    author: Mapped[str] = mapped_column(String(32), default="curriculum")
    # The account that authored it (NULL for the curriculum's own): its author's progress never counts it.
    author_id: Mapped[str | None] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Assignment(Base):
    __tablename__ = "assignments"
    __table_args__ = (Index("ix_assignments_student_time", "student_id", "assigned_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    student_id: Mapped[str] = mapped_column(String(128))
    exercise_id: Mapped[str] = mapped_column(ForeignKey("exercises.id"))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_student_time", "student_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    exercise_id: Mapped[str] = mapped_column(ForeignKey("exercises.id"), index=True)
    student_id: Mapped[str] = mapped_column(String(128))
    code: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="graded")
    passed: Mapped[bool] = mapped_column(Boolean, default=False)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    results: Mapped[list[Any]] = mapped_column(default=list)
    feedback: Mapped[str] = mapped_column(Text, default="")
    # ruff's verdict (0-1) and findings; NULL when the code does not parse or was not analysed.
    quality: Mapped[float | None] = mapped_column(Float)
    quality_findings: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuizAttempt(Base):
    """One quiz attempt on a topic: drawn questions, then the grade; mastery takes the best graded score."""

    __tablename__ = "quiz_attempts"
    __table_args__ = (Index("ix_quiz_attempts_student_topic", "student_id", "topic", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    student_id: Mapped[str] = mapped_column(String(128))
    topic: Mapped[str] = mapped_column(String(64))
    # "open" once its questions are drawn, "graded" once answered; only graded ones count.
    status: Mapped[str] = mapped_column(String(16), default="graded")
    question_ids: Mapped[list[Any]] = mapped_column(default=list)
    graded_at: Mapped[datetime | None] = mapped_column()
    score: Mapped[float] = mapped_column(Float)
    correct: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    results: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Progress(Base):
    __tablename__ = "progress"

    student_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    mastery: Mapped[float] = mapped_column(Float, default=0.0)
    level: Mapped[str] = mapped_column(String(16), default="Beginner")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    passed_exercises: Mapped[int] = mapped_column(Integer, default=0)
    failed_streak: Mapped[int] = mapped_column(Integer, default=0)
    # The four parts of mastery (each 0-1), kept so a teacher can see why a score is what it is.
    completion: Mapped[float] = mapped_column(Float, default=0.0)
    quiz: Mapped[float] = mapped_column(Float, default=0.0)
    quality: Mapped[float] = mapped_column(Float, default=0.0)
    consistency: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StruggleAlert(Base):
    __tablename__ = "struggle_alerts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    student_id: Mapped[str] = mapped_column(String(128), index=True)
    topic: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    details: Mapped[str] = mapped_column(Text)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()


class ProcessedEvent(Base):
    """Event ids a consumer has handled: the unique key makes redelivery a no-op."""

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("consumer", "event_id", name="uq_processed_consumer_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    consumer: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(128))
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeadLetter(Base):
    """Events that failed every retry, kept for people to inspect and replay.

    One row per consumer and event: a redelivered dead letter is recognised, not recorded again.
    """

    __tablename__ = "dead_letters"
    __table_args__ = (UniqueConstraint("consumer", "event_id", name="uq_dead_letters_consumer_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(128))
    consumer: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    event: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxEvent(Base):
    """An event a consumer took over from its transport before finishing it (a slow Dapr delivery).

    Stored before the transport is told the event is done, deleted once the consumer finished it, so
    it is neither lost nor handled twice; ``claimed_until`` is the lease of the process handling it.
    """

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("consumer", "event_id", name="uq_inbox_consumer_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    consumer: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(128))
    topic: Mapped[str] = mapped_column(String(64))
    event: Mapped[dict[str, Any]] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxEvent(Base):
    """Events committed with the data they describe, sent to the bus by the relay afterwards."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(128), unique=True)
    topic: Mapped[str] = mapped_column(String(64))
    event: Mapped[dict[str, Any]] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Sent to the in-memory bus and not yet finished with: nobody sends it again until then (the
    # relay's lease, renewed while its handlers run). Null for an event not sent yet.
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)


class CodeRun(Base):
    """A student's program run (Run button or debug): what struggle detection looks back on."""

    __tablename__ = "code_runs"
    __table_args__ = (Index("ix_code_runs_student_time", "student_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    student_id: Mapped[str] = mapped_column(String(128))
    ok: Mapped[bool] = mapped_column(Boolean)
    error_type: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AIRequest(Base):
    """One LLM-backed answer for a student: the per-student budget counts these over the last hour."""

    __tablename__ = "ai_requests"
    __table_args__ = (Index("ix_ai_requests_student_time", "student_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    student_id: Mapped[str] = mapped_column(String(128))
    agent: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """An account. A student's account id is also the student id their work is stored under."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16), index=True)
    # NULL for accounts of the identity provider (cluster), which never sign in with a password here.
    password_hash: Mapped[str | None] = mapped_column(String(256))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RefreshToken(Base):
    """One issued refresh token (by its id, never its value); rotated on use, revoked on sign-out."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SchoolClass(Base):
    """A class: one teacher and their students (``class_members``)."""

    __tablename__ = "classes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    teacher_id: Mapped[str] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClassMember(Base):
    __tablename__ = "class_members"

    class_id: Mapped[str] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), primary_key=True)
    student_id: Mapped[str] = mapped_column(String(128), primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
