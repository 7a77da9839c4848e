"""The catalog: services declare themselves, and a fifth specialist needs nothing but its declaration."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from fastapi.routing import iter_route_contexts
from sqlalchemy import select

from learnflow.ai import OfflineProvider
from learnflow.bus import MemoryBus, Outcome
from learnflow.db.models import Response
from learnflow.events import CloudEvent, LearningQuery
from learnflow.runtime import Runtime
from learnflow.services import answers
from learnflow.services.app import create_app
from learnflow.services.catalog import CATALOG
from learnflow.services.declare import Catalog, ServiceDeclaration
from learnflow.services.triage import service as triage
from learnflow.specialists import Specialist
from learnflow.tutor.triage import Decision
from tests.conftest import make_settings


@contextmanager
def extra_specialist(value: str) -> Iterator[Specialist]:
    """A member added to Specialist for one test, as a new specialist's line in the enum would be."""
    member = str.__new__(Specialist, value)
    member._name_, member._value_ = value.upper(), value
    Specialist._member_map_[member._name_] = member
    Specialist._value2member_map_[value] = member
    Specialist._member_names_.append(member._name_)
    try:
        yield member
    finally:
        Specialist._member_names_.remove(member._name_)
        del Specialist._member_map_[member._name_], Specialist._value2member_map_[value]


def hints_service(name: Specialist) -> ServiceDeclaration:
    """A specialist declared here only: its route, its answer, and a failure when asked to fail."""
    router = APIRouter(prefix="/api/hints")

    @router.get("/ping")
    async def ping() -> dict[str, str]:
        return {"served_by": str(name)}

    async def on_query(rt: Runtime, event: CloudEvent[LearningQuery]) -> Outcome:
        if "fail" in event.data.query:
            raise RuntimeError("the hints tutor is broken")
        return await answers.reply(rt, event, agent=name, content=f"A hint for: {event.data.query}", data={})

    return ServiceDeclaration(
        name="hints",
        title="LearnFlow hints service",
        router=router,
        specialist=name,
        acknowledgement="A hint is on its way.",
        answer=on_query,
        on_unanswered=answers.unanswered,
    )


@pytest.fixture
async def hints_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    with extra_specialist("hints") as hints:
        # Triage's router model knows three specialists; this stands for one retrained with a fourth.
        def classify(query: str, **_: object) -> Decision:
            return Decision(routed_to=hints if "hint" in query else Specialist.CONCEPTS, confidence=0.99)

        monkeypatch.setattr(triage, "classify", classify)
        rt = Runtime(
            CATALOG.plus(hints_service(hints)),
            settings=make_settings(tmp_path),
            bus=MemoryBus(max_attempts=2, backoff_s=0.01),
            ai=OfflineProvider(),
        )
        await rt.start()
        try:
            transport = httpx.ASGITransport(app=create_app(runtime=rt))
            async with httpx.AsyncClient(transport=transport, base_url="http://hints.test", timeout=30) as client:
                client.runtime = rt  # type: ignore[attr-defined]
                yield client
        finally:
            await rt.stop()


async def test_a_fifth_specialist_declared_in_a_test_is_served_and_routed_to(hints_client: httpx.AsyncClient):
    assert (await hints_client.get("/api/hints/ping")).json() == {"served_by": "hints"}
    body = {"student_id": "h1", "session_id": "hs", "query": "a hint on loops please"}
    resp = (await hints_client.post("/api/triage", params={"wait": 10}, json=body)).json()
    assert resp["routed_to"] == "hints" and resp["status"] == "answered", resp
    assert resp["response"]["agent"] == "hints" and resp["response"]["content"] == "A hint for: a hint on loops please"
    rt: Runtime = hints_client.runtime  # type: ignore[attr-defined]
    async with rt.db.session() as session:
        rows = (await session.execute(select(Response).where(Response.query_id == resp["query_id"]))).scalars()
        by_kind = {r.kind: r for r in rows}
    assert by_kind["ack"].content == "A hint is on its way."  # triage's acknowledgement, from the declaration
    # The other specialists did not answer it: their consumers' routing rules do not match.
    assert set(by_kind) == {"ack", "answer"} and by_kind["answer"].agent == "hints"
    other = {"student_id": "h1", "session_id": "hs", "query": "what is a list?"}
    assert (await hints_client.post("/api/triage", params={"wait": 10}, json=other)).json()["routed_to"] == "concepts"


async def test_a_fifth_specialists_dead_letter_reaction_is_its_declared_one(hints_client: httpx.AsyncClient):
    body = {"student_id": "h2", "session_id": "hs", "query": "a hint that will fail"}
    resp = (await hints_client.post("/api/triage", params={"wait": 10}, json=body)).json()
    assert resp["routed_to"] == "hints"
    assert resp["status"] == "failed" and resp["response"]["kind"] == "error", resp
    assert resp["response"]["agent"] == "hints"
    assert "the hints tutor is broken" in resp["response"]["data"]["reason"]


def own_paths(declaration: ServiceDeclaration) -> set[str]:
    # Through the route contexts: a declaration's router may bundle routers, which FastAPI includes lazily.
    return {
        str(ctx.path)
        for ctx in iter_route_contexts(declaration.router.routes)
        if getattr(ctx.original_route, "include_in_schema", False)
    }


async def test_one_service_alone_has_its_declared_title_and_routes(tmp_path: Path):
    for declaration in CATALOG:
        rt = Runtime(CATALOG, [declaration.name], settings=make_settings(tmp_path), bus=MemoryBus())
        app = create_app(runtime=rt)
        paths = set(app.openapi()["paths"])
        assert app.title == declaration.title
        assert own_paths(declaration) and own_paths(declaration) <= paths
        assert not any(own_paths(d) & paths for d in CATALOG if d.name != declaration.name)


def test_the_catalog_names_each_specialist_once_and_refuses_doubles():
    assert {d.specialist for d in CATALOG if d.specialist} == set(Specialist)
    assert CATALOG.specialist("debug").name == "debug"
    with pytest.raises(ValueError, match="declared twice"):
        Catalog([CATALOG["debug"], CATALOG["debug"]])
    with pytest.raises(ValueError, match="unknown service"):
        CATALOG["nonexistent"]
    with pytest.raises(TypeError, match="Catalog"):
        Runtime(("runner",))  # type: ignore[arg-type]
