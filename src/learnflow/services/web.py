"""The web application's built files, served at ``/`` beside the API in the embedded default.

The build (``frontend/dist``) is a single-page app: a path the API does not own and no file answers is
a client route, so it gets ``index.html``. Vite names every file under ``assets/`` after its content
hash, so those are cached for a year; ``index.html`` is revalidated on every load, which is how a new
build reaches browsers that cached the old one.
"""

from __future__ import annotations

import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

import learnflow
from learnflow.errors import NotFound

# First path segments the API, its docs and the probes own: an unknown path under them is an API 404
# in the one error shape, never the app's index page (a client asking for JSON must not get HTML).
RESERVED = frozenset({"api", "docs", "redoc", "openapi.json", "health", "ready", "metrics", "dapr"})
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

# src/learnflow/__init__.py -> the repository holding it, when LearnFlow runs from a checkout.
REPO_DIST = Path(learnflow.__file__).resolve().parents[2] / "frontend" / "dist"

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>LearnFlow</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem">
<h1>LearnFlow is running, but its web app is not built</h1>
<p>The API works: see <a href="/docs">/docs</a>. To use LearnFlow in the browser, install Node.js 20.19 or newer
(with npm) and run <code>make run</code> again, or build it once yourself:</p>
<pre>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>LearnFlow looked for the built app in <code>{where}</code>; <code>LEARNFLOW_WEB_DIR</code> points it elsewhere.</p>
</body></html>
"""


def resolve_web_dir(configured: Path | None) -> Path:
    """The folder to serve: the configured one, else the checkout's ``frontend/dist``."""
    return configured if configured is not None else REPO_DIST


def web_fallback(web_dir: Path) -> ASGIApp:
    """The router's answer when no route matches: the app's files from ``web_dir``, else the API's 404.

    Installed as the router's default rather than as a catch-all route, so no route can ever be shadowed
    (not even one added after the app is built) and a known path with the wrong method keeps its 405.
    """
    root = web_dir.resolve()

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        path = request.url.path.lstrip("/")
        if path.split("/", 1)[0] in RESERVED or request.method not in ("GET", "HEAD"):
            raise NotFound(f"no such endpoint: {request.method} /{path}")
        response = _file(root, path)
        await response(scope, receive, send)

    return serve


def _file(root: Path, path: str) -> Response:
    index = root / "index.html"
    if not index.is_file():
        if path:
            raise NotFound(f"no such endpoint: GET /{path} (the web app is not built)")
        return HTMLResponse(NOT_BUILT.format(where=html.escape(str(root))), headers={"Cache-Control": REVALIDATE})
    if path:
        wanted = (root / path).resolve()
        # A path that climbs out of the build (``..``, a symlink) is treated as not there.
        if wanted.is_relative_to(root) and wanted.is_file() and wanted != index:
            hashed = wanted.parent == root / "assets"
            return FileResponse(wanted, headers={"Cache-Control": IMMUTABLE if hashed else REVALIDATE})
        if path.startswith("assets/") or "." in path.rsplit("/", 1)[-1]:
            # A missing file is a 404, not the index page: a stale bundle must fail visibly.
            raise NotFound(f"no such file: /{path}")
    return FileResponse(index, headers={"Cache-Control": REVALIDATE})
