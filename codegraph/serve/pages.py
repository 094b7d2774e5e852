"""The web page: search, the project's files and blocks, and snippets (server-rendered Jinja2 templates, Pygments
highlighting on the server, a little plain JavaScript in ``static/app.js`` for deleting and for the streamed model
answers). Every view asks the :class:`~codegraph.service.Workspace` or the ``assist`` functions, as the API does.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from ..errors import CodegraphError
from ..service import Workspace
from .errors import status_for

HERE = Path(__file__).resolve().parent

LEXERS = {"csharp": "csharp", "cpp": "cpp", "tsx": "tsx", "markdown": "markdown", "text": "text"}
"""codegraph language ids whose Pygments lexer has another name (the rest share their id with Pygments)."""

LIGHT_STYLE, DARK_STYLE = "friendly", "github-dark"
"""Pygments styles of the page's code (the dark one under ``prefers-color-scheme: dark``)."""

SEARCH_MODES = ("hybrid", "semantic", "keyword")


def highlight(code: str, *, language: str | None = None, path: str = "", first_line: int = 1) -> Markup:
    """``code`` as highlighted HTML (Pygments, CSS classes under ``.hl``) with line numbers from ``first_line``
    (1-based, so they match the file's lines). The lexer comes from ``language`` (a codegraph language id), else
    from the file name in ``path``, else plain text."""
    from pygments import highlight as render
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
    from pygments.lexers.special import TextLexer
    from pygments.util import ClassNotFound

    lexer: Any = None
    if language:
        try:
            lexer = get_lexer_by_name(LEXERS.get(language, language))
        except ClassNotFound:
            lexer = None
    if lexer is None and path:
        try:
            lexer = get_lexer_for_filename(path, code)
        except ClassNotFound:
            lexer = None
    formatter = HtmlFormatter(cssclass="hl", linenos="table", linenostart=max(1, first_line), wrapcode=True)
    return Markup(render(code, lexer or TextLexer(), formatter))  # noqa: S704 - Pygments escapes the code


@cache
def highlight_css() -> str:
    """The stylesheet of :func:`highlight`'s classes: a light style, and a dark one for dark-mode browsers."""
    from pygments.formatters import HtmlFormatter

    light = HtmlFormatter(style=LIGHT_STYLE).get_style_defs(".hl")
    dark = HtmlFormatter(style=DARK_STYLE).get_style_defs(".hl")
    # An excerpt can start inside a docstring or comment, where the lexer sees stray quotes and backticks as
    # errors: draw those as plain text rather than boxed in red.
    plain_errors = ".hl .err { border: none; background: none; color: inherit; }"
    return f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n{plain_errors}\n"


def _snippet_line(ws: Workspace, result: dict[str, Any]) -> int:
    """The file line a search result's ``snippet`` starts on (the snippet is the best window of a definition,
    which may start below the definition's ``start_line``)."""
    shown = result["snippet"].splitlines()
    span = result["end_line"] - result["start_line"] + 1
    if not shown or len(shown) >= span:
        return int(result["start_line"])
    try:
        lines = ws.read(result["path"], result["start_line"], result["end_line"])["text"].splitlines()
    except CodegraphError:
        return int(result["start_line"])
    for offset in range(len(lines) - len(shown) + 1):
        if lines[offset : offset + len(shown)] == shown:
            return int(result["start_line"]) + offset
    return int(result["start_line"])


def _ancestors(path: str) -> set[str]:
    parts = path.split("/")
    return {"/".join(parts[:i]) for i in range(1, len(parts))}


def page_router(ws: Workspace, templates: Jinja2Templates) -> APIRouter:
    """The routes of the web page over ``ws``."""
    from ..assist.snippets import get_snippet, list_snippets
    from ..languages import ASSIST_LANGUAGES

    pages = APIRouter(include_in_schema=False)

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"root": ws.root.name, **context}, status_code=status)

    @pages.get("/", response_class=HTMLResponse)
    def search_page(
        request: Request, q: str = "", mode: str = "hybrid", lang: str = "", k: int = 10, path: str = ""
    ) -> HTMLResponse:
        results: list[dict[str, Any]] = []
        error, status, stale, notice = None, 200, None, None
        languages = sorted({f["language"] for f in _files(ws)})
        if q.strip():
            try:
                found = ws.search(
                    q.strip(),
                    k=max(1, min(k, 50)),
                    mode=mode,
                    languages=(lang,) if lang else None,
                    path_glob=path.strip() or None,
                )
                stale, notice = found.get("stale"), found.get("notice")
                for r in found["results"]:
                    first = _snippet_line(ws, r)
                    r["code_html"] = highlight(r["snippet"], language=r["language"], path=r["path"], first_line=first)
                    results.append(r)
            except CodegraphError as exc:
                error, status = str(exc), status_for(exc)
        return render(
            request,
            "search.html",
            status,
            view="search",
            q=q,
            mode=mode,
            lang=lang,
            k=k,
            path=path,
            modes=SEARCH_MODES,
            languages=languages,
            results=results,
            error=error,
            stale=stale,
            notice=notice,
        )

    @pages.get("/browse", response_class=HTMLResponse)
    def browse_page(request: Request, path: str = "", start: int | None = None, end: int | None = None) -> HTMLResponse:
        error, status = None, 200
        tree: dict[str, Any] | None = None
        blocks: list[dict[str, Any]] = []
        code: Markup | None = None
        shown: dict[str, Any] | None = None
        try:
            tree = ws.tree()
            if path:
                blocks = ws.outline(path)["results"]
                shown = ws.read(path, start or 1, end)
                language = next((f["language"] for f in _files(ws) if f["path"] == shown["path"]), None)
                code = highlight(shown["text"], language=language, path=path, first_line=shown["start_line"])
        except CodegraphError as exc:
            error, status = str(exc), status_for(exc)
        return render(
            request,
            "browse.html",
            status,
            view="browse",
            tree=tree,
            path=path,
            open_dirs=_ancestors(path),
            blocks=blocks,
            start=start,
            end=end,
            shown=shown,
            code=code,
            error=error,
        )

    @pages.get("/snippets", response_class=HTMLResponse)
    def snippets_page(request: Request, id: int | None = None) -> HTMLResponse:  # noqa: A002 - the query name
        error, status = None, 200
        items: list[Any] = []
        current = None
        code: Markup | None = None
        try:
            with ws.lock:
                items = list_snippets(ws.store)
                if id is not None:
                    current = get_snippet(ws.store, id)
            if current is not None:
                code = highlight(current.code, language=current.language)
        except CodegraphError as exc:
            error, status = str(exc), status_for(exc)
        return render(
            request,
            "snippets.html",
            status,
            view="snippets",
            snippets=items,
            current=current,
            code=code,
            languages=ASSIST_LANGUAGES,
            error=error,
        )

    @pages.get("/highlight.css")
    def highlight_stylesheet() -> Response:
        return Response(highlight_css(), media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    return pages


def _files(ws: Workspace) -> list[dict[str, Any]]:
    try:
        return ws.files()
    except CodegraphError:
        return []
