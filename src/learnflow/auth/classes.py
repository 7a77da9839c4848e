"""Classes (a teacher and their students) and the checks that scope staff to them.

A teacher sees the work of the students in their classes and nobody else's; an admin sees everyone's.
These are plain functions over a session (the caller commits), shared by the HTTP routes and the CLI.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from learnflow.auth.access import check_own
from learnflow.auth.identity import Caller, Role
from learnflow.curriculum import Curriculum
from learnflow.db.models import ClassMember, Progress, SchoolClass, Student
from learnflow.errors import Forbidden, NotFound
from learnflow.tutor.progress import LevelName, level_for


def new_id() -> str:
    return "class-" + uuid.uuid4().hex[:16]


def create(session: AsyncSession, *, name: str, teacher_id: str, class_id: str | None = None) -> SchoolClass:
    """Stage a new class taught by ``teacher_id``; caller commits."""
    row = SchoolClass(id=class_id or new_id(), name=name, teacher_id=teacher_id)
    session.add(row)
    return row


async def get(session: AsyncSession, *, class_id: str) -> SchoolClass:
    """Return one class or raise NotFound."""
    row = await session.get(SchoolClass, class_id)
    if row is None:
        raise NotFound(f"class {class_id!r} does not exist")
    return row


async def list_(session: AsyncSession, *, teacher_id: str | None = None) -> list[SchoolClass]:
    """Every class, or only those ``teacher_id`` teaches, by name."""
    stmt = select(SchoolClass).order_by(SchoolClass.name, SchoolClass.id)
    if teacher_id is not None:
        stmt = stmt.where(SchoolClass.teacher_id == teacher_id)
    return list((await session.execute(stmt)).scalars())


async def members(session: AsyncSession, *, class_id: str) -> list[str]:
    """The class's student ids, sorted."""
    stmt = select(ClassMember.student_id).where(ClassMember.class_id == class_id).order_by(ClassMember.student_id)
    return list((await session.execute(stmt)).scalars())


async def add_students(session: AsyncSession, *, class_id: str, student_ids: Iterable[str]) -> list[str]:
    """Add students to a class (those already in it stay as they are); return the ones newly added."""
    present = set(await members(session, class_id=class_id))
    added: list[str] = []
    for student_id in dict.fromkeys(student_ids):
        if student_id not in present:
            session.add(ClassMember(class_id=class_id, student_id=student_id))
            added.append(student_id)
    return added


async def remove_student(session: AsyncSession, *, class_id: str, student_id: str) -> bool:
    """Take a student out of a class; False when they were not in it."""
    result = await session.execute(
        delete(ClassMember).where(ClassMember.class_id == class_id, ClassMember.student_id == student_id)
    )
    return bool(getattr(result, "rowcount", 0))


async def teaches(session: AsyncSession, *, teacher_id: str, student_id: str) -> bool:
    """Whether ``student_id`` is in one of ``teacher_id``'s classes."""
    stmt = (
        select(ClassMember.student_id)
        .join(SchoolClass, SchoolClass.id == ClassMember.class_id)
        .where(SchoolClass.teacher_id == teacher_id, ClassMember.student_id == student_id)
        .limit(1)
    )
    return (await session.execute(stmt)).first() is not None


async def students_of(session: AsyncSession, *, teacher_id: str) -> set[str]:
    """Every student in any of ``teacher_id``'s classes."""
    stmt = (
        select(ClassMember.student_id)
        .join(SchoolClass, SchoolClass.id == ClassMember.class_id)
        .where(SchoolClass.teacher_id == teacher_id)
    )
    return set((await session.execute(stmt)).scalars())


async def check_student_data(session: AsyncSession, caller: Caller, student_id: str) -> None:
    """May ``caller`` read ``student_id``'s work: the student themselves, their teachers, an admin."""
    if not caller.authenticated or caller.role is Role.admin:
        return
    if caller.role is Role.student:
        check_own(caller, student_id)
        return
    if not await teaches(session, teacher_id=caller.id, student_id=student_id):
        raise Forbidden("this student is not in any of your classes")


async def check_known_student(session: AsyncSession, caller: Caller, student_id: str) -> None:
    """As :func:`check_student_data`, then NotFound unless the student exists (scope first: whether a
    student exists is itself one student's data)."""
    await check_student_data(session, caller, student_id)
    if await session.get(Student, student_id) is None:
        raise NotFound(f"student {student_id!r} does not exist")


def check_class(caller: Caller, school_class: SchoolClass) -> None:
    """May ``caller`` see and change this class: its teacher or an admin."""
    if caller.authenticated and caller.role is not Role.admin and school_class.teacher_id != caller.id:
        raise Forbidden("this is not one of your classes")


@dataclass(frozen=True)
class Cell:
    """One student's mastery of one topic: a cell of the teacher's heat map."""

    topic: str
    mastery: float
    level: LevelName


@dataclass(frozen=True)
class StudentRow:
    student_id: str
    overall: float
    cells: list[Cell]


async def progress(session: AsyncSession, *, class_id: str, curriculum: Curriculum) -> list[StudentRow]:
    """Students x curriculum topics: each student's mastery and level per topic (0 and Beginner if unseen)."""
    student_ids = await members(session, class_id=class_id)
    stored: dict[tuple[str, str], Progress] = {}
    if student_ids:
        rows = await session.execute(select(Progress).where(Progress.student_id.in_(student_ids)))
        stored = {(p.student_id, p.topic): p for p in rows.scalars()}
    topics = list(curriculum.topics)
    table: list[StudentRow] = []
    for student_id in student_ids:
        cells = []
        for topic in topics:
            found = stored.get((student_id, topic))
            mastery = found.mastery if found is not None else 0.0
            cells.append(Cell(topic=topic, mastery=mastery, level=level_for(mastery)))
        overall = round(sum(c.mastery for c in cells) / max(len(cells), 1), 2)
        table.append(StudentRow(student_id=student_id, overall=overall, cells=cells))
    return table
