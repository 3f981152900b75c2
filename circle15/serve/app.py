"""The studio's web application (FastAPI): the page, its assets and the JSON API.

Routes (see ``docs/studio.md`` for the request and answer of each):

- ``GET /`` the page; ``GET /static/...`` its script, stylesheet and the vendored Leaflet;
- ``GET /api/study``, ``GET /api/state``, ``GET /api/layers/{category}?view=``,
  ``GET /api/diff`` (the current edits against the baseline);
- ``POST /api/whatif`` (stateless), ``POST /api/edit``, ``/api/undo``, ``/api/redo``,
  ``/api/reset``, ``POST /api/sites``;
- ``POST /api/scenario/save``, ``GET /api/scenario/{name}.toml``, ``POST /api/scenario/load``,
  ``POST /api/export``.

Every refusal is JSON ``{"error": "<message>"}`` with a 4xx status: 400 for a body that
is not JSON, 404 for an unknown category, facility or route, 409 for nothing to undo,
413 for a body over ``MAX_BODY`` bytes, 422 for a field that is wrong. Handlers are plain
functions, run in a thread pool; the :class:`Studio` lock serialises the engine work.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from functools import cache
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from .._version import __version__
from ..errors import Circle15Error, OfflineAssetError, RequestError
from ..outputs.templating import render
from .models import (
    EditRequest,
    ExportRequest,
    LoadScenarioRequest,
    SaveScenarioRequest,
    SitesRequest,
    StepRequest,
)
from .studio import Change, Studio

__all__ = ["MAX_BODY", "create_app"]

log = logging.getLogger("circle15.serve")

#: Largest request body accepted, bytes (a scenario upload is the largest body).
MAX_BODY = 1_000_000
#: The page's own files and the vendored Leaflet: URL name -> (package, file, media type).
ASSETS = {
    "studio.js": ("circle15.serve", "static/studio.js", "text/javascript"),
    "studio.css": ("circle15.serve", "static/studio.css", "text/css"),
    "leaflet/leaflet.js": ("circle15", "_static/leaflet-1.9.3/leaflet.js", "text/javascript"),
    "leaflet/leaflet.css": ("circle15", "_static/leaflet-1.9.3/leaflet.css", "text/css"),
    "leaflet/images/layers.png": (
        "circle15",
        "_static/leaflet-1.9.3/images/layers.png",
        "image/png",
    ),
    "leaflet/images/layers-2x.png": (
        "circle15",
        "_static/leaflet-1.9.3/images/layers-2x.png",
        "image/png",
    ),
}
#: The page loads nothing but its own files; only the optional basemap comes from outside.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https://tile.openstreetmap.org https://*.tile.openstreetmap.org; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'"
)


@cache
def asset(name: str) -> bytes:
    """A packaged file's bytes; vendored files are checked against ``_static/manifest.json``."""
    package, path, _ = ASSETS[name]
    data = resources.files(package).joinpath(path).read_bytes()
    if path.startswith("_static/"):
        manifest = json.loads(
            resources.files("circle15")
            .joinpath("_static/manifest.json")
            .read_text(encoding="utf-8")
        )
        entry = manifest["files"].get(path.removeprefix("_static/"))
        if entry is None or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise OfflineAssetError(
                f"vendored file {path} is missing from the manifest or altered; reinstall circle15"
            )
    return data


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _explain(exc: RequestValidationError) -> tuple[int, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        detail = next(e for e in errors if e.get("type") == "json_invalid")
        ctx = detail.get("ctx", {}).get("error", "")
        return 400, f"the request body is not valid JSON ({ctx})".replace(" ()", "")
    lines = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ()) if p != "body"]
        where = ".".join(loc) or "body"
        if e.get("type") == "extra_forbidden":
            lines.append(f"{where}: unknown field; check its spelling")
        elif e.get("type") == "missing":
            lines.append(f"{where}: required field is missing")
        elif e.get("type") == "model_attributes_type" or e.get("type") == "dict_type":
            lines.append(f"{where}: expected a JSON object")
        else:
            lines.append(f"{where}: {e.get('msg', 'invalid')}")
    return 422, "; ".join(lines) or "invalid request"


class _Guard:
    """ASGI middleware: refuse bodies over ``MAX_BODY`` (413), time each request
    (``Server-Timing: app;dur=<ms>``) and set the security headers of every answer."""

    def __init__(self, app: Any, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, cpu = time.perf_counter(), time.process_time()

        async def timed_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - start) * 1000
                # CPU time of the whole process meanwhile: on a busy machine the wall time
                # grows with the other programs' load, this much less
                cpu_ms = (time.process_time() - cpu) * 1000
                headers = list(message.get("headers", []))
                headers += [
                    (b"server-timing", f"app;dur={ms:.1f}, cpu;dur={cpu_ms:.1f}".encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cache-control", b"no-store"),
                ]
                if any(k == b"content-type" and v.startswith(b"text/html") for k, v in headers):
                    headers.append((b"content-security-policy", CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await _error(413, f"the request body is larger than {self.max_body:,} bytes")(
                scope, receive, timed_send
            )
            return
        if scope.get("method") in ("POST", "PUT", "PATCH"):
            body = b""
            while True:  # read the whole (small) body here, so its size is known
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body += message.get("body", b"")
                if len(body) > self.max_body:
                    await _error(413, f"the request body is larger than {self.max_body:,} bytes")(
                        scope, receive, timed_send
                    )
                    return
                if not message.get("more_body", False):
                    break
            sent = False

            async def replay() -> dict:
                nonlocal sent
                if sent:
                    return await receive()
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}

            await self.app(scope, replay, timed_send)
            return
        await self.app(scope, receive, timed_send)


def create_app(studio: Studio, *, allowed_hosts: list[str] | None = None) -> Any:
    """The studio's ASGI application over ``studio``.

    Parameters
    ----------
    studio : Studio
        The baseline, the what-if session and the folders.
    allowed_hosts : list of str, optional
        ``Host`` headers answered (against DNS rebinding); by default the loopback names.
    """
    app = FastAPI(
        title="circle15 studio",
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.studio = studio

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(*_explain(exc))

    @app.exception_handler(RequestError)
    async def _refused(request: Request, exc: RequestError) -> JSONResponse:
        return _error(exc.status, str(exc))

    @app.exception_handler(Circle15Error)
    async def _bad_input(request: Request, exc: Circle15Error) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such page or API route: {request.url.path}"
        return _error(exc.status_code, detail)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("studio: internal error on %s", request.url.path)
        return _error(500, f"internal error, please report it ({type(exc).__name__}: {exc})")

    # ---------------------------------------------------------------- page and assets

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        study = studio.baseline
        return HTMLResponse(
            render(
                "circle15.serve",
                "studio.html",
                title=study.title,
                synthetic=study.synthetic,
                notice=study.notice,
                version=__version__,
            )
        )

    @app.get("/static/{name:path}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in ASSETS:
            return _error(404, f"no such file: /static/{name}")
        return Response(asset(name), media_type=ASSETS[name][2])

    # ---------------------------------------------------------------- reading

    @app.get("/api/study")
    def get_study() -> JSONResponse:
        """Categories, sub-districts, outlines, the cells (once) and the baseline figures."""
        return JSONResponse(studio.study())

    @app.get("/api/state")
    def get_state() -> JSONResponse:
        """The session: its edits, undo/redo, whole-area coverage and the index now."""
        return JSONResponse(studio.state())

    @app.get("/api/layers/{category}")
    def get_layer(category: str, view: str = "current") -> JSONResponse:
        """One category's layer (per-cell minutes, facilities, districts, gaps)."""
        return JSONResponse(studio.layer(category, view))

    # ---------------------------------------------------------------- what-if and editing

    def change(body: EditRequest) -> Change:
        return Change(
            category=body.category,
            add=[(a.lon, a.lat, a.capacity, a.name) for a in body.add],
            remove=list(body.remove),
            move={m.id: (m.lon, m.lat) for m in body.move},
            crs=body.crs,
        )

    @app.post("/api/whatif")
    def post_whatif(body: EditRequest) -> JSONResponse:
        """The baseline with these edits (not recorded): coverage, districts, gaps, index."""
        return JSONResponse(studio.whatif(change(body)))

    @app.post("/api/edit")
    def post_edit(body: EditRequest) -> JSONResponse:
        """Apply the edits to the session (one undo step); answer the new state and layer."""
        if body.show is not None:
            studio.check_category(body.show)
        return JSONResponse(studio.edit(change(body), body.show))

    @app.post("/api/undo")
    def post_undo(body: StepRequest) -> JSONResponse:
        """Take back the last edit."""
        return JSONResponse(studio.step("undo", body.category))

    @app.post("/api/redo")
    def post_redo(body: StepRequest) -> JSONResponse:
        """Apply again the last edit taken back."""
        return JSONResponse(studio.step("redo", body.category))

    @app.post("/api/reset")
    def post_reset(body: StepRequest) -> JSONResponse:
        """Drop every edit."""
        return JSONResponse(studio.step("reset", body.category))

    @app.post("/api/sites")
    def post_sites(body: SitesRequest) -> JSONResponse:
        """Suggest ``p`` new sites (greedy; the exact optimum when it is better)."""
        return JSONResponse(studio.suggest(body.category, body.p))

    @app.get("/api/diff")
    def get_diff() -> JSONResponse:
        """The current edits against the baseline, as ``circle15 diff`` compares two
        vintages: facilities opened, closed and moved, coverage per sub-district, the index
        and the study's targets met or not."""
        return JSONResponse(studio.diff())

    # ---------------------------------------------------------------- files

    @app.post("/api/scenario/save")
    def post_save(body: SaveScenarioRequest) -> JSONResponse:
        """Write the edits as ``<output folder>/scenarios/<name>.toml``."""
        return JSONResponse(studio.save_scenario(body.name, body.title))

    @app.get("/api/scenario/{name}.toml")
    def get_scenario(name: str) -> Response:
        """A saved scenario file, as a download."""
        path = studio.scenario_path(name)
        if not path.is_file():
            raise RequestError(f"no saved scenario called {name!r}", status=404)
        return Response(
            path.read_bytes(),
            media_type="application/toml",
            headers={"content-disposition": f'attachment; filename="{name}.toml"'},
        )

    @app.post("/api/scenario/load")
    def post_load(body: LoadScenarioRequest) -> JSONResponse:
        """Start again from the baseline with a scenario's edits (the file's text)."""
        return JSONResponse(studio.load_scenario(body.text, body.filename))

    @app.post("/api/export")
    def post_export(body: ExportRequest) -> JSONResponse:
        """Write the map, report, workbook and tables of the current edits."""
        return JSONResponse(studio.export(body.folder))

    hosts = allowed_hosts or ["127.0.0.1", "localhost", "[::1]", "::1"]
    return _Guard(TrustedHostMiddleware(app, allowed_hosts=hosts))
