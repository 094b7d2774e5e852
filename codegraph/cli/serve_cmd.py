"""``codegraph serve``"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from .common import IndexDirOption, ProjectOption, StoreOption

TOKEN_ENV = "CODEGRAPH_SERVE_TOKEN"
"""The environment variable that can hold ``--token``."""

_EXTRA_MODULES = ("fastapi", "uvicorn", "jinja2")


def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; any but loopback needs --token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535, help="TCP port (0: any free one).")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            metavar="SECRET",
            help=f"Secret every request must carry (Authorization: Bearer, or the page's ?token= link); or set "
            f"{TOKEN_ENV}. Required with a --host other than loopback.",
            show_default=False,
        ),
    ] = None,
    freshness: Annotated[
        str,
        typer.Option(
            "--freshness",
            help="refresh: re-index changed files before answering; report: answer as indexed and say what is "
            "stale; off: do not look.",
        ),
    ] = "refresh",
    directory: IndexDirOption = Path("."),
    store_opt: StoreOption = None,
    project: ProjectOption = None,
) -> None:
    """Serve the index over HTTP: a JSON API under /api and a web page for search, files and snippets.

    The page (http://127.0.0.1:8000/ by default) searches, browses files and their blocks, and lists, creates,
    refines and tests snippets with the model's answer streaming in. The API answers with the --json shapes of
    the commands (search, def, refs, callers, callees, deps, outline, tree, status, snippets) and streams
    generate / refine / test as server-sent events; its OpenAPI docs are at /docs.

    Listens on 127.0.0.1 unless --host says otherwise; any other address needs --token (or CODEGRAPH_SERVE_TOKEN)
    and every request must then carry it. generate and test follow the CLI's rules: the API key only from the
    environment, tests only in the sandbox. With a PostgreSQL store (--store / CODEGRAPH_STORE) it serves the
    project that covers --dir (or --project NAME): search, the graph, and snippets stored in that project. Needs
    the optional serve extra (fastapi, uvicorn, jinja2); without it, serve says how to install it.
    """
    from ..serve.hosts import is_loopback
    from ..service import FRESHNESS, Workspace
    from . import render

    token = token or os.environ.get(TOKEN_ENV) or None
    if not is_loopback(host) and not token:
        raise typer.BadParameter(
            f"{host} can be reached from other machines: pass --token SECRET or set {TOKEN_ENV} "
            "(every request must then carry it), or leave --host at 127.0.0.1",
            param_hint="--host",
        )
    if freshness not in FRESHNESS:
        raise typer.BadParameter(f"must be one of: {', '.join(FRESHNESS)}", param_hint="--freshness")
    missing = [name for name in _EXTRA_MODULES if not _importable(name)]
    if missing:
        from ..distribution import install_extra_command

        render.error(f"codegraph serve needs {', '.join(missing)}; install them with: {install_extra_command('serve')}")
        raise typer.Exit(1)

    import socket

    import uvicorn

    from ..serve.app import create_app

    with Workspace.open(directory, freshness=freshness, store=store_opt, project=project) as workspace:
        app = create_app(workspace, token=token)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit it: without it, a kept-alive connection waits ~40 ms per response
        # (Nagle's algorithm holds the body until the client's delayed ACK of the headers).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as exc:
            sock.close()
            render.error(f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port")
            raise typer.Exit(1) from None
        sock.listen(128)
        bound = sock.getsockname()[1]
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "[::]") else host  # noqa: S104 - naming, not binding
        shown = f"[{shown}]" if ":" in shown else shown
        url = f"http://{shown}:{bound}/" + (f"?token={token}" if token else "")
        where = f" (listening on {host}: every interface)" if shown != host else ""
        render.err.print(
            f"codegraph serve: {url} serves {workspace.root}{where}; Ctrl-C to stop", highlight=False, markup=False
        )
        config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
        uvicorn.Server(config).run(sockets=[sock])


def _importable(name: str) -> bool:
    from importlib.util import find_spec

    return find_spec(name) is not None
