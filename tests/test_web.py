"""The web app beside the API: static serving with its caching rules, and a generated client that cannot go stale."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from learnflow.cli import app as cli
from learnflow.config import AppSettings
from learnflow.runtime import Runtime
from learnflow.services.app import create_app
from learnflow.services.catalog import CATALOG
from learnflow.services.web import IMMUTABLE, REPO_DIST, REVALIDATE, resolve_web_dir
from tests.conftest import make_settings

REPO = Path(__file__).resolve().parents[1]
INDEX = '<!doctype html><div id="root"></div><script src="/assets/index-abc123.js"></script>'


def _runtime(tmp_path: Path, web_dir: Path, services: tuple[str, ...] | None = None) -> Runtime:
    app_settings = AppSettings(LEARNFLOW_DATA_DIR=str(tmp_path), LEARNFLOW_WEB_DIR=str(web_dir))  # type: ignore[call-arg]
    return Runtime(CATALOG, services, settings=replace(make_settings(tmp_path), app=app_settings))


async def _client(rt: Runtime, services: list[str] | None = None) -> AsyncIterator[httpx.AsyncClient]:
    # No lifespan: nothing here reaches the database or the bus.
    transport = httpx.ASGITransport(app=create_app(services, runtime=rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://learnflow.test") as c:
        yield c


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-abc123.js").write_text("console.log('app')")
    (root / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("outside the build")
    return root


@pytest.fixture
async def web(tmp_path: Path, dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(_runtime(tmp_path, dist)):
        yield c


async def test_index_is_revalidated_and_hashed_assets_are_immutable(web: httpx.AsyncClient) -> None:
    index = await web.get("/")
    assert index.status_code == 200
    assert index.text == INDEX
    assert index.headers["cache-control"] == REVALIDATE == "no-cache"
    asset = await web.get("/assets/index-abc123.js")
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    assert asset.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    # A file outside assets/ keeps its name across builds, so it is revalidated too.
    assert (await web.get("/favicon.svg")).headers["cache-control"] == "no-cache"


async def test_client_routes_fall_back_to_the_index(web: httpx.AsyncClient) -> None:
    for path in ("/exercises/for-loops-3-longest-streak", "/students/ada", "/class"):
        response = await web.get(path)
        assert response.status_code == 200, path
        assert response.text == INDEX
        assert response.headers["cache-control"] == "no-cache"


async def test_the_app_never_shadows_the_api_docs_or_probes(web: httpx.AsyncClient) -> None:
    assert (await web.get("/openapi.json")).json()["info"]["title"] == "LearnFlow"
    assert "swagger" in (await web.get("/docs")).text.lower()
    assert (await web.get("/redoc")).status_code == 200
    assert (await web.get("/metrics")).status_code == 200
    for path in ("/api/no-such-thing", "/api/exercises/x/nope", "/docs/nope", "/health/x", "/dapr/x"):
        response = await web.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found", path
    # A known path with another method keeps its 405.
    wrong = await web.get("/api/triage")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    # Writes to an unknown path are API 404s in the one error shape, never the index page.
    refused = await web.post("/whatever", json={})
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "not_found"


async def test_missing_files_and_escapes_are_404s(web: httpx.AsyncClient) -> None:
    assert (await web.get("/assets/index-old999.js")).status_code == 404
    assert (await web.get("/logo.png")).status_code == 404
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt"):
        response = await web.get(path)
        assert "outside the build" not in response.text, path


async def test_without_a_build_the_root_says_how_to_get_the_ui(tmp_path: Path) -> None:
    async for c in _client(_runtime(tmp_path, tmp_path / "not-built")):
        page = await c.get("/")
        assert page.status_code == 200
        assert "not built" in page.text
        assert "npm ci" in page.text and "/docs" in page.text
        assert (await c.get("/api/nope")).status_code == 404
        assert (await c.get("/exercises")).status_code == 404


async def test_a_service_alone_serves_no_web_app(tmp_path: Path, dist: Path) -> None:
    async for c in _client(_runtime(tmp_path, dist, ("runner",)), ["runner"]):
        assert (await c.get("/")).status_code == 404


def test_the_default_web_dir_is_the_checkouts_build() -> None:
    assert resolve_web_dir(None) == REPO_DIST == REPO / "frontend" / "dist"
    assert resolve_web_dir(Path("/srv/web")) == Path("/srv/web")


def test_the_committed_schema_is_the_live_one(tmp_path: Path) -> None:
    """frontend/openapi.json (the generated client's source) matches the API; `learnflow docs openapi` refreshes it."""
    out = tmp_path / "openapi.json"
    result = CliRunner().invoke(cli, ["docs", "openapi", "--out", str(out)])
    assert result.exit_code == 0, result.output
    committed = (REPO / "frontend" / "openapi.json").read_text(encoding="utf-8")
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(committed), (
        "frontend/openapi.json is stale: run `make web-schema` (learnflow docs openapi && npm run gen) and commit"
    )
    assert out.read_text(encoding="utf-8") == committed


def test_the_generated_client_is_from_the_committed_schema() -> None:
    """Every path of the schema is in schema.d.ts (make test-web regenerates it and diffs byte for byte)."""
    generated = (REPO / "frontend" / "src" / "api" / "schema.d.ts").read_text(encoding="utf-8")
    schema = json.loads((REPO / "frontend" / "openapi.json").read_text(encoding="utf-8"))
    for path in schema["paths"]:
        assert f'"{path}": {{' in generated, path


@pytest.mark.parametrize(("ci", "code", "says"), [("true", 1, "fails instead of skipping"), ("", 0, "SKIPPED")])
def test_test_web_never_skips_under_ci(ci: str, code: int, says: str) -> None:
    """`make test-web` without chromium: a loud skip on a laptop, a failure under CI=true."""
    env = {**os.environ, "CI": ci, "CHROMIUM": "/nonexistent/chromium", "PATH": os.environ.get("PATH", "")}
    proc = subprocess.run(
        [str(REPO / "scripts" / "web.sh"), "test"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == code, proc.stderr
    assert says in proc.stderr


async def test_a_route_added_later_is_never_shadowed(tmp_path: Path, dist: Path) -> None:
    app = create_app(runtime=_runtime(tmp_path, dist))

    @app.get("/late")
    async def late() -> dict[str, str]:
        return {"ok": "late"}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://learnflow.test") as c:
        assert (await c.get("/late")).json() == {"ok": "late"}
        assert (await c.get("/anything-else")).text == INDEX
