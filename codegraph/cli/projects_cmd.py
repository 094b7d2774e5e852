"""``codegraph projects``: the projects of a PostgreSQL store."""

from __future__ import annotations

import time
from pathlib import Path
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
            '"last_indexed_at"}]}; with --remove / --prune: {"removed": {...}, "pruned": {...}} instead.',
        ),
    ] = False,
    store: StoreOption = None,
    remove: Annotated[
        str | None,
        typer.Option(
            "--remove",
            metavar="NAME",
            help="Delete project NAME: its files, chunks, graph and stored snippets (the shared embedding cache "
            "stays: add --prune to free the vectors no project uses). Waits for a running index of it; asks first "
            "unless --yes.",
            show_default=False,
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --remove.")] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Delete the cached embeddings no project's chunks use any more (left by --remove, edited code, "
            "a model change), after --remove if both are given. Takes the cache exclusively: refused while index "
            'runs hold it (the message names their projects). --json prints {"pruned": {"store", "dry_run", '
            '"unused", "deleted", "kept", "freed_bytes", "freed_mb", "models"}}. Without a PostgreSQL store: '
            "the SQLite index at or above --dir.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --prune: count what would be deleted, delete nothing.")
    ] = False,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            metavar="SECONDS",
            min=0,
            help="With --prune: wait up to SECONDS for running index runs to end instead of refusing at once "
            "(index runs that start meanwhile wait behind the prune).",
        ),
    ] = 0.0,
    directory: Annotated[
        Path,
        typer.Option("--dir", "-C", help="With --prune and no PostgreSQL store: the SQLite index at or above this."),
    ] = Path("."),
) -> None:
    """List the projects of the PostgreSQL store (--store or CODEGRAPH_STORE): each indexed root, with its
    remote, size, model and last refresh. search and the graph commands take --project NAME; search, def, refs, callers
    and callees take --all. --remove NAME deletes a project (a repository renamed or retired); --prune then frees
    the shared embedding cache of the vectors no project uses (try --prune --dry-run first).

    Exit codes: 0 done; 1 refused or failed (the message says what to do: a busy writer, no such project); 2 usage."""
    from ..store import projects as list_projects
    from ..store import store_url
    from ..store.postgres_schema import redact
    from .common import settings_for, stdout_json

    if (dry_run or wait) and not prune:
        raise typer.BadParameter("--dry-run and --wait go with --prune", param_hint="--prune")
    settings = settings_for(None, store=store)
    if remove is not None or prune:
        removed = _remove(settings, remove, yes=yes, quiet=as_json) if remove is not None else None
        pruned = _prune(settings, directory, dry_run=dry_run, wait_s=wait, quiet=as_json) if prune else None
        if as_json:
            stdout_json({k: v for k, v in (("removed", removed), ("pruned", pruned)) if v is not None})
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


def _remove(settings: Settings, name: str, *, yes: bool, quiet: bool) -> dict[str, object]:
    """``projects --remove NAME``: confirm (unless ``yes``), delete, report (a line on stdout unless ``quiet``)."""
    import sys

    from ..errors import ConfigError
    from ..store import remove_project

    if not yes:
        if not sys.stdin.isatty():
            raise ConfigError(f"removing project {name!r} deletes its index and its snippets: pass --yes to confirm")
        if not typer.confirm(f"Delete project {name!r} (its index and stored snippets)?", default=False):
            raise typer.Exit(1)
    removed = remove_project(settings, name)
    _say(
        quiet,
        f"removed project {name}: {removed['files']} files, {removed['chunks']} chunks, "
        f"{removed['snippets']} snippets ({removed['root']})",
    )
    return removed


def _prune(settings: Settings, directory: Path, *, dry_run: bool, wait_s: float, quiet: bool) -> dict[str, object]:
    """``projects --prune``: sweep the embedding cache (:mod:`codegraph.store.prune`), report."""
    from ..store.prune import prune_embeddings

    report = prune_embeddings(settings, directory, dry_run=dry_run, wait_s=wait_s)
    size = f"{report.freed_bytes / 2**20:.1f} MB"
    if dry_run:
        _say(
            quiet,
            f"{report.store}: {report.unused} cached embeddings are unused (about {size}); {report.kept} are in "
            "use; nothing deleted (--dry-run)",
        )
    else:
        _say(
            quiet,
            f"{report.store}: deleted {report.deleted} unused cached embeddings (about {size}); kept {report.kept}",
        )
    return report.to_json()


def _say(quiet: bool, line: str) -> None:
    """One result line on stdout, unless ``quiet`` (``--json``: the JSON is the result)."""
    if quiet:
        return
    from . import render

    render.out.print(line, highlight=False, markup=False)
