"""``codegraph projects``: the projects of a PostgreSQL store."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from .common import StoreOption

if TYPE_CHECKING:
    from ..config import Settings


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
    remove: Annotated[
        str | None,
        typer.Option(
            "--remove",
            metavar="NAME",
            help="Delete project NAME: its files, chunks, graph and stored snippets (the shared embedding cache "
            "stays). Waits for a running index of it; asks first unless --yes.",
            show_default=False,
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --remove.")] = False,
) -> None:
    """List the projects of the PostgreSQL store (--store or CODEGRAPH_STORE): each indexed root, with its
    remote, size, model and last refresh. search and the graph commands take --project NAME; search, def, refs, callers
    and callees take --all. --remove NAME deletes a project (a repository renamed or retired)."""
    from ..store import projects as list_projects
    from ..store import store_url
    from ..store.postgres_schema import redact
    from .common import settings_for, stdout_json

    settings = settings_for(None, store=store)
    if remove is not None:
        _remove(settings, remove, yes=yes, as_json=as_json)
        return
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


def _remove(settings: Settings, name: str, *, yes: bool, as_json: bool) -> None:
    """``projects --remove NAME``: confirm (unless ``yes``), delete, report."""
    import sys

    from ..errors import ConfigError
    from ..store import remove_project
    from . import render
    from .common import stdout_json

    if not yes:
        if not sys.stdin.isatty():
            raise ConfigError(f"removing project {name!r} deletes its index and its snippets: pass --yes to confirm")
        if not typer.confirm(f"Delete project {name!r} (its index and stored snippets)?", default=False):
            raise typer.Exit(1)
    removed = remove_project(settings, name)
    if as_json:
        stdout_json({"removed": removed})
        return
    render.out.print(
        f"removed project {name}: {removed['files']} files, {removed['chunks']} chunks, "
        f"{removed['snippets']} snippets ({removed['root']})",
        highlight=False,
        markup=False,
    )
