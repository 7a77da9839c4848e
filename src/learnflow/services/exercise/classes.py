"""Classes HTTP API: a teacher's classes, their students, and the class's mastery heat map.

Served by the exercise service, which owns progress and struggle alerts: the data a class scopes.
The logic is in :mod:`learnflow.auth.classes`; these routes check who calls and translate.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from learnflow.auth import classes
from learnflow.auth.access import STAFF, CallerDep, allow
from learnflow.auth.identity import Role
from learnflow.db.models import SchoolClass
from learnflow.errors import Unprocessable
from learnflow.services.common import ERROR_RESPONSES, RuntimeDep, SessionDep
from learnflow.services.limits import ID_PATTERN, MAX_ID_CHARS
from learnflow.services.timestamps import UtcDateTime
from learnflow.tutor.progress import LevelName

router = APIRouter(prefix="/api/classes", tags=["classes"], responses=ERROR_RESPONSES)


class ClassCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Python 1A"}, {"name": "Python 1B", "teacher_id": "teacher-7"}]}
    )

    name: str = Field(min_length=1, max_length=120, pattern=r"\S", examples=["Python 1A"])
    teacher_id: str | None = Field(
        default=None,
        max_length=MAX_ID_CHARS,
        pattern=ID_PATTERN,
        description="Who teaches it: an admin names the teacher; a teacher's class is always their own.",
    )


class ClassRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "class_id": "c-5e1d2a7b",
                    "name": "Python 1A",
                    "teacher_id": "teacher-7",
                    "student_ids": ["student-42", "student-43"],
                    "created_at": "2026-01-30T16:20:05.117420Z",
                }
            ]
        }
    )

    class_id: str
    name: str
    teacher_id: str
    student_ids: list[str]
    created_at: UtcDateTime


class MemberAdd(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"student_id": "student-42"}]})

    student_id: str = Field(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN, examples=["student-42"])


class MasteryCell(BaseModel):
    topic: str
    mastery: float = Field(ge=0, le=100)
    level: LevelName


class StudentMastery(BaseModel):
    student_id: str
    overall: float = Field(description="Mean mastery over every curriculum topic.")
    topics: list[MasteryCell]


class ClassProgressRead(BaseModel):
    """Students x topics: each cell is a student's mastery (0-100) and level in one topic."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "class_id": "c-5e1d2a7b",
                    "topics": ["variables", "for-loops"],
                    "students": [
                        {
                            "student_id": "student-42",
                            "overall": 73.5,
                            "topics": [
                                {"topic": "variables", "mastery": 92.0, "level": "Mastered"},
                                {"topic": "for-loops", "mastery": 55.0, "level": "Learning"},
                            ],
                        },
                        {
                            "student_id": "student-43",
                            "overall": 0.0,
                            "topics": [
                                {"topic": "variables", "mastery": 0.0, "level": "Beginner"},
                                {"topic": "for-loops", "mastery": 0.0, "level": "Beginner"},
                            ],
                        },
                    ],
                }
            ]
        }
    )

    class_id: str
    topics: list[str] = Field(description="The curriculum's topics, in order: the heat map's columns.")
    students: list[StudentMastery]


async def _read(session: SessionDep, row: SchoolClass) -> ClassRead:
    return ClassRead(
        class_id=row.id,
        name=row.name,
        teacher_id=row.teacher_id,
        student_ids=await classes.members(session, class_id=row.id),
        created_at=row.created_at,
    )


@router.post("", response_model=ClassRead, status_code=201, dependencies=[allow(*STAFF)])
async def create_class(body: ClassCreate, runtime: RuntimeDep, caller: CallerDep) -> ClassRead:
    """Create a class: a teacher's is their own; an admin names its teacher."""
    if caller.authenticated and caller.role is Role.teacher:
        if body.teacher_id not in (None, caller.id):
            raise Unprocessable("a teacher creates classes they teach: leave teacher_id out", field="teacher_id")
        teacher_id = caller.id
    elif body.teacher_id is None:
        raise Unprocessable("name the class's teacher", field="teacher_id")
    else:
        teacher_id = body.teacher_id
    async with runtime.unit_of_work() as work:
        row = classes.create(work.session, name=body.name, teacher_id=teacher_id)
        await work.session.flush()
        created = await _read(work.session, row)
    return created


@router.get("", response_model=list[ClassRead], dependencies=[allow(*STAFF)])
async def list_classes(session: SessionDep, caller: CallerDep) -> list[ClassRead]:
    """A teacher's classes; an admin's list holds every class."""
    teacher_id = caller.id if caller.authenticated and caller.role is Role.teacher else None
    return [await _read(session, row) for row in await classes.list_(session, teacher_id=teacher_id)]


@router.get("/{class_id}", response_model=ClassRead, dependencies=[allow(*STAFF)])
async def get_class(class_id: str, session: SessionDep, caller: CallerDep) -> ClassRead:
    """One class and its students."""
    row = await classes.get(session, class_id=class_id)
    classes.check_class(caller, row)
    return await _read(session, row)


@router.post("/{class_id}/students", response_model=ClassRead, dependencies=[allow(*STAFF)])
async def add_student(class_id: str, body: MemberAdd, runtime: RuntimeDep, caller: CallerDep) -> ClassRead:
    """Put a student in the class (again is fine): its teacher then sees their work."""
    async with runtime.unit_of_work() as work:
        row = await classes.get(work.session, class_id=class_id)
        classes.check_class(caller, row)
        await classes.add_students(work.session, class_id=class_id, student_ids=[body.student_id])
        await work.session.flush()
        changed = await _read(work.session, row)
    return changed


@router.delete("/{class_id}/students/{student_id}", status_code=204, dependencies=[allow(*STAFF)])
async def remove_student(class_id: str, student_id: str, runtime: RuntimeDep, caller: CallerDep) -> Response:
    """Take a student out of the class (not being in it is fine): its teacher no longer sees their work."""
    async with runtime.unit_of_work() as work:
        row = await classes.get(work.session, class_id=class_id)
        classes.check_class(caller, row)
        await classes.remove_student(work.session, class_id=class_id, student_id=student_id)
    return Response(status_code=204)


@router.get("/{class_id}/progress", response_model=ClassProgressRead, dependencies=[allow(*STAFF)])
async def class_progress(
    class_id: str, session: SessionDep, runtime: RuntimeDep, caller: CallerDep
) -> ClassProgressRead:
    """The teacher dashboard's heat map: every student's mastery and level in every curriculum topic."""
    row = await classes.get(session, class_id=class_id)
    classes.check_class(caller, row)
    table = await classes.progress(session, class_id=class_id, curriculum=runtime.curriculum)
    return ClassProgressRead(
        class_id=class_id,
        topics=list(runtime.curriculum.topics),
        students=[
            StudentMastery(
                student_id=r.student_id,
                overall=r.overall,
                topics=[MasteryCell(topic=c.topic, mastery=c.mastery, level=c.level) for c in r.cells],
            )
            for r in table
        ],
    )
