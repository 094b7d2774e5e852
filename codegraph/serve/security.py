"""Who may talk to ``codegraph serve``: the token check, and the guards that keep other web sites out.

Rules, checked on every request before any endpoint runs:

* **Token** (when the server has one; it must have one on any host but loopback): the request carries it as
  ``Authorization: Bearer <token>``, as the ``codegraph_token`` cookie, or as ``?token=``. A page opened with
  ``?token=`` gets the cookie (HttpOnly, SameSite=Strict) and is redirected to the same URL without it, so the
  browser keeps working and the token leaves the address bar. Compared with :func:`secrets.compare_digest`.
  Missing or wrong: 401.
* **Host** (without a token): the ``Host`` header must name a loopback address (``127.0.0.1``, ``localhost``,
  ``[::1]``), so a web page cannot reach the server through DNS rebinding.
* **Cross-site writes**: a ``POST``/``PUT``/``PATCH``/``DELETE`` whose ``Origin`` header names another host
  is refused (403), and ``POST`` bodies must be ``application/json`` (415), so a web page can send neither
  without a CORS preflight, which this server never grants (no CORS middleware).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode, urlsplit

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from .hosts import is_loopback

COOKIE = "codegraph_token"
"""Name of the cookie that carries the token for the web page."""

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Next = Callable[[Request], Awaitable[Response]]


def _host_name(header: str) -> str:
    """The name part of a ``Host`` header (``[::1]:8000`` -> ``::1``, ``localhost:8000`` -> ``localhost``)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _refuse(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api") or request.url.path in ("/docs", "/openapi.json"):
        return JSONResponse({"error": message}, status_code=status)
    page = (
        "<!doctype html><meta charset=utf-8><title>codegraph</title>"
        "<body style='font:16px system-ui;max-width:40em;margin:4em auto'>"
        f"<h1>codegraph serve</h1><p>{message}</p></body>"
    )
    return HTMLResponse(page, status_code=status)


def guard(token: str | None) -> Callable[[Request, Next], Awaitable[Response]]:
    """The HTTP middleware that applies the rules above (``token`` ``None``: a loopback-only server)."""

    expected = (token or "").encode()

    def matches(candidate: str | None) -> bool:
        return bool(expected) and candidate is not None and secrets.compare_digest(candidate.encode(), expected)

    async def middleware(request: Request, call_next: Next) -> Response:
        if token is None and not is_loopback(_host_name(request.headers.get("host", ""))):
            return _refuse(request, 403, "this server answers on its loopback address only (Host header refused)")
        if request.method in UNSAFE_METHODS:
            origin = request.headers.get("origin")
            if origin and urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower():
                return _refuse(request, 403, "cross-site request refused")
            if request.method == "POST":
                kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
                if kind != "application/json":
                    return _refuse(request, 415, "send the request body as JSON (Content-Type: application/json)")
        if token is None:
            return await call_next(request)
        query = request.query_params.get("token")
        header = request.headers.get("authorization", "")
        bearer = header[7:].strip() if header[:7].lower() == "bearer " else None
        if matches(query) and request.method == "GET" and not request.url.path.startswith("/api"):
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
            redirect = RedirectResponse(target, status_code=303)
            redirect.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
            return redirect
        if matches(bearer) or matches(request.cookies.get(COOKIE)) or matches(query):
            return await call_next(request)
        return _refuse(
            request,
            401,
            "this server needs its token: send 'Authorization: Bearer <token>', or open the page with the URL "
            "codegraph serve printed (it ends in ?token=...)",
        )

    return middleware
