"""``codegraph projects``: the projects of a PostgreSQL store."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from .common import StoreOption


def projects(
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help='Print {"store", "projects": [{"name", "root", "remote_url", "files", "chunks", "model", '
            '"last_indexed_at"}]}.',
        ),
    ] = False,
    store: StoreOption = None,
) -> None:
    """List the projects of the PostgreSQL store (--store or CODEGRAPH_STORE): each indexed root, with its
    remote, size, model and last refresh. search and the graph commands take --project NAME; search, def, refs, callers
    and callees take --all."""
    from ..store import projects as list_projects
    from ..store import store_url
    from ..store.postgres_schema import redact
    from .common import settings_for, stdout_json

    settings = settings_for(None, store=store)
    rows = list_projects(settings)
    if as_json:
        stdout_json({"store": redact(store_url(settings) or ""), "projects": rows})
        return
    from . import render

    if not rows:
        render.err.print("the store holds no project yet; run: codegraph index <repo root>", highlight=False)
        return
    for row in rows:
        stamp = row["last_indexed_at"]
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(float(stamp))) if isinstance(stamp, float) else "never"
        render.out.print(
            f"{row['name']:<24} {row['files']:>7} files {row['chunks']:>8} chunks  {when}  {row['root']}"
            + (f"  ({row['remote_url']})" if row["remote_url"] else ""),
            highlight=False,
            markup=False,
        )
