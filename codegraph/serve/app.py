"""The FastAPI application of ``codegraph serve``: the ``/api`` routes, the web page, the token guard and the
error mapping, over one open :class:`~codegraph.service.Workspace`.

Routes (OpenAPI docs at ``/docs``, the schema at ``/openapi.json``):

* ``GET /api/search?q=&k=&mode=&lang=&path=&tests=&context=`` — ``codegraph search --json``;
* ``GET /api/status``, ``/api/tree?path=&blocks=``, ``/api/files``, ``/api/files/{path}/blocks``,
  ``/api/blocks?file=|module=``, ``/api/read?path=&start_line=&end_line=``;
* ``GET /api/definition|references?name=``, ``/api/callers|callees?name=&depth=``, ``/api/deps?path=``;
* ``GET /api/snippets``, ``GET|DELETE /api/snippets/{id}``;
* ``POST /api/generate``, ``/api/snippets/{id}/refine``, ``/api/snippets/{id}/test`` — server-sent events
  (:mod:`codegraph.serve.jobs`);
* ``GET /`` (search; ``/?q=...`` renders the results), ``/browse``, ``/snippets`` — the web page.

Errors: ``{"error": message}`` with the status of :data:`codegraph.serve.errors.STATUS`; request validation
failures are 400. No CORS middleware: only pages this server serves may call it from a browser.
"""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException

from ..errors import CodegraphError
from ..service import Workspace
from .api import api_router
from .errors import status_for
from .jobs import JobRunner
from .pages import page_router
from .security import guard

HERE = Path(__file__).resolve().parent


def create_app(workspace: Workspace, *, token: str | None = None) -> FastAPI:
    """The app answering from ``workspace`` (which the caller opens and closes).

    Args:
        workspace: the open index; its lock serialises every store access.
        token: the secret every request must carry (``Authorization: Bearer``, the page's cookie, or
            ``?token=``); ``None`` for a server on a loopback address only (see :mod:`codegraph.serve.security`).

    Returns:
        The ASGI application (run it with uvicorn, or test it with ``fastapi.testclient.TestClient``).
    """
    from ..distribution import version

    # FastAPIOffline serves Swagger UI and ReDoc (/docs, /redoc) from files in its wheel: FastAPI's own pages
    # load them from a CDN, and were blank on a machine without internet.
    app = FastAPIOffline(
        title="codegraph",
        version=version(),
        description=f"Code search, code graph and snippets of the index at {workspace.root}.",
    )
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["when"] = _when
    app.middleware("http")(guard(token))
    app.include_router(api_router(workspace, JobRunner()))
    app.include_router(page_router(workspace, templates))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def failure(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api"):
            return JSONResponse({"error": message}, status_code=status)
        return templates.TemplateResponse(
            request, "error.html", {"root": workspace.root.name, "view": "", "error": message}, status_code=status
        )

    @app.exception_handler(CodegraphError)
    async def codegraph_error(request: Request, exc: CodegraphError) -> Response:
        return failure(request, status_for(exc), str(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "body", "path"))
            parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid")))
        return failure(request, 400, "; ".join(parts) or "invalid request")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        message = "no such page" if exc.status_code == 404 else str(exc.detail)
        return failure(request, exc.status_code, message)

    app.state.workspace = workspace
    return app


def _when(epoch_s: float) -> str:
    """A stored timestamp (seconds since the epoch) as local ``YYYY-MM-DD HH:MM``."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch_s))
