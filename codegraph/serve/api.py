"""The JSON API under ``/api``: the CLI's ``--json`` shapes, answered by the :class:`~codegraph.service.Workspace`.

Errors are ``{"error": message}`` with the status of :mod:`codegraph.serve.errors` (400 for bad parameters
too). Lines are 1-based and inclusive everywhere; paths are relative to the index root with ``/`` separators.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from ..errors import ConfigError
from ..service import Workspace
from .jobs import JobRunner, generate_job, llm_settings, refine_job, tests_job

Name = Annotated[str, Query(min_length=1, description="A symbol: bare, Class.method, Recv.Method or Type::method.")]
Depth = Annotated[int, Query(ge=1, le=10, description="Call distance to follow (1 = direct).")]


class GenerateBody(BaseModel):
    """``POST /api/generate``: what ``codegraph generate`` takes."""

    request: str = Field(min_length=1, description="What to write (untrusted: quoted to the model as data).")
    lang: str | None = Field(None, description="python, javascript, typescript, ruby or go; default: from the index.")
    k: int = Field(6, ge=0, le=50, description="Context chunks retrieved from the index.")
    plan: bool = Field(False, description="Ask for a short plan first (stored with the snippet).")


class RefineBody(BaseModel):
    """``POST /api/snippets/{id}/refine``: feedback for a new revision (English or Japanese)."""

    feedback: str = Field(min_length=1)
    k: int = Field(6, ge=0, le=50)


class TestBody(BaseModel):
    """``POST /api/snippets/{id}/test``: ``codegraph test ID``'s options."""

    __test__ = False  # not a pytest test class

    fix: int = Field(0, ge=0, le=10, description="Rounds of repair when tests fail.")
    k: int = Field(3, ge=0, le=20)
    timeout_s: float = Field(60, ge=1, le=600, description="Wall-time limit of one test run (seconds).")
    memory_mb: int = Field(1024, ge=64, le=16384, description="Memory limit per process (MiB).")


def _languages(lang: str | None) -> tuple[str, ...] | None:
    return tuple(p for p in (lang or "").split(",") if p.strip()) or None


def api_router(ws: Workspace, jobs: JobRunner) -> APIRouter:
    """The ``/api`` routes over ``ws``; model jobs go through ``jobs``."""
    api = APIRouter(prefix="/api")
    from ..assist.snippets import delete_snippet, list_snippets, snippet_json, snippets_json
    from ..languages import ASSIST_LANGUAGES

    @api.get("/search", summary="codegraph search --json")
    def search(
        q: Annotated[str, Query(min_length=1, description="The query: natural language, keywords or an identifier.")],
        k: Annotated[int, Query(ge=1, le=100)] = 10,
        mode: Annotated[str, Query(description="hybrid, semantic or keyword.")] = "hybrid",
        lang: Annotated[str | None, Query(description="Language ids, comma-separated (python,go).")] = None,
        path: Annotated[str | None, Query(description="Path glob, e.g. 'src/**'.")] = None,
        tests: Annotated[str, Query(description="include, demote or exclude tests and examples.")] = "demote",
        context: Annotated[bool, Query(description="Add each result's callers and callees.")] = False,
    ) -> dict[str, Any]:
        """``{"query", "mode", "results": [{"path", "start_line", "end_line", "symbol", "kind", "language",
        "score", "snippet"}]}``, best first (score: higher is better)."""
        return ws.search(
            q, k=k, mode=mode, languages=_languages(lang), path_glob=path or None, tests=tests, context=context
        )

    @api.get("/status", summary="codegraph status --json")
    def status() -> dict[str, Any]:
        return ws.status()

    @api.get("/tree", summary="codegraph tree --json")
    def tree(
        path: Annotated[str, Query(description="A directory or file; empty: the whole project.")] = "",
        blocks: Annotated[bool, Query(description="Include each file's definitions.")] = False,
    ) -> dict[str, Any]:
        """Nested ``{"path", "kind", "children"}`` nodes (files add ``language``; blocks ``symbol``, lines)."""
        return ws.tree(path, blocks=blocks)

    @api.get("/files", summary="Every indexed file")
    def files() -> dict[str, Any]:
        """``{"files": [{"path", "language"}]}`` in path order."""
        return {"files": ws.files()}

    @api.get("/files/{path:path}/blocks", summary="codegraph outline FILE --json")
    def file_blocks(path: Annotated[str, Path(description="An indexed file.")]) -> dict[str, Any]:
        """``{"path", "results": [definition, ...]}`` in line order."""
        return ws.outline(path)

    @api.get("/blocks", summary="The blocks of a file or a module, nested")
    def blocks(
        file: Annotated[str | None, Query(description="An indexed file (path).")] = None,
        module: Annotated[str | None, Query(description="A module or package, dotted (pkg.net) or as a path.")] = None,
    ) -> dict[str, Any]:
        """The ``tree --blocks`` node of the file or module: its definitions nested by line containment."""
        if (file is None) == (module is None):
            raise ConfigError("give exactly one of file= or module=")
        return ws.tree(file if file is not None else _module_path(ws, module or ""), blocks=True)

    @api.get("/read", summary="Lines of an indexed file")
    def read(
        path: Annotated[str, Query(min_length=1)],
        start_line: Annotated[int, Query(ge=1)] = 1,
        end_line: Annotated[int | None, Query(ge=1)] = None,
    ) -> dict[str, Any]:
        """``{"path", "start_line", "end_line", "total_lines", "truncated", "text"}``, at most 400 lines."""
        return ws.read(path, start_line, end_line)

    @api.get("/definition", summary="codegraph def NAME --json")
    def definition(name: Name) -> dict[str, Any]:
        return ws.definition(name)

    @api.get("/references", summary="codegraph refs NAME --json")
    def references(name: Name) -> dict[str, Any]:
        return ws.references(name)

    @api.get("/callers", summary="codegraph callers NAME --json")
    def callers(name: Name, depth: Depth = 1) -> dict[str, Any]:
        return ws.callers(name, depth)

    @api.get("/callees", summary="codegraph callees NAME --json")
    def callees(name: Name, depth: Depth = 1) -> dict[str, Any]:
        return ws.callees(name, depth)

    @api.get("/deps", summary="codegraph deps FILE --json")
    def deps(path: Annotated[str, Query(min_length=1)]) -> dict[str, Any]:
        """``{"path", "imports": [{"path", "line"}], "imported_by": [...]}``."""
        return ws.deps(path)

    @api.get("/snippets", summary="codegraph snippets list --json")
    def snippets() -> dict[str, Any]:
        """``{"snippets": [record, ...]}``, newest first."""
        with ws.lock:
            return snippets_json(list_snippets(ws.store))

    @api.get("/snippets/{snippet_id}", summary="codegraph snippets show ID --json")
    def snippet(snippet_id: int) -> dict[str, Any]:
        """The snippet's record with ``"test_runs"``, its ``codegraph test`` rounds oldest first."""
        with ws.lock:
            return snippet_json(ws.store, snippet_id)

    @api.delete("/snippets/{snippet_id}", summary="codegraph snippets delete ID")
    def delete(snippet_id: int) -> dict[str, Any]:
        """Deletes one revision and its test runs: ``{"deleted": id}``."""
        with ws.lock:
            delete_snippet(ws.store, snippet_id)
        return {"deleted": snippet_id}

    @api.post("/generate", summary="codegraph generate (server-sent events)", response_class=StreamingResponse)
    def generate(body: GenerateBody) -> StreamingResponse:
        """Events ``status``, ``token`` (``{"text"}``, as the answer streams), then ``snippet`` (the stored
        record) or ``error`` (``{"error", "status"}``)."""
        lang = body.lang.strip().lower() if body.lang else None
        if lang is not None and lang not in ASSIST_LANGUAGES:
            raise ConfigError(f"lang must be one of: {', '.join(ASSIST_LANGUAGES)}")
        settings = llm_settings(ws)
        return jobs.stream(generate_job(ws, body.request, language=lang, k=body.k, plan=body.plan, settings=settings))

    @api.post(
        "/snippets/{snippet_id}/refine", summary="codegraph generate --refine ID", response_class=StreamingResponse
    )
    def refine(snippet_id: int, body: RefineBody) -> StreamingResponse:
        """Events as for ``/api/generate``; the ``snippet`` is the new revision."""
        settings = llm_settings(ws)
        return jobs.stream(refine_job(ws, snippet_id, body.feedback, k=body.k, settings=settings))

    @api.post("/snippets/{snippet_id}/test", summary="codegraph test ID", response_class=StreamingResponse)
    def test(snippet_id: int, body: TestBody) -> StreamingResponse:
        """Events ``status``, ``round`` (each stored round), then ``result`` (``codegraph test --json``'s object)
        or ``error``."""
        settings = llm_settings(ws)
        job = tests_job(
            ws,
            snippet_id,
            fix_rounds=body.fix,
            k=body.k,
            timeout_s=body.timeout_s,
            memory_mb=body.memory_mb,
            settings=settings,
        )
        return jobs.stream(job)

    return api


def _module_path(ws: Workspace, module: str) -> str:
    """The indexed file or directory a module name means: ``pkg.net`` or ``pkg/net`` -> ``pkg/net.py`` (any
    extension), ``pkg/net/__init__.py``'s directory, or the directory ``pkg/net``.

    Raises:
        SourceError: nothing indexed has that name.
    """
    from ..errors import SourceError

    name = module.strip().strip("/").removeprefix("./")
    base = name if "/" in name else name.replace(".", "/")
    paths = [f["path"] for f in ws.files()]
    for path in paths:
        if path.rsplit(".", 1)[0] == base:
            return str(path)
    if any(p.startswith(base + "/") for p in paths):
        return base
    raise SourceError(f"{module}: no indexed module, file or directory of that name")
