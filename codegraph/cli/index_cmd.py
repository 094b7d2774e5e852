"""``codegraph index``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .common import ModelOption, NestedOption, ProjectOption, StoreOption

if TYPE_CHECKING:
    from ..config import Settings


def index(
    path: Annotated[Path, typer.Argument(help="Repository root to index (default: the current directory).")] = Path(
        "."
    ),
    model: ModelOption = None,
    max_file_bytes: Annotated[
        int | None,
        typer.Option("--max-file-bytes", help="Skip files larger than this (bytes; default 1000000)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run summary as one JSON object.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Change nothing; list files changed since the last index (tab-separated: new/changed/removed and "
            'the path, quoted like git for names with control characters, " or \\) and exit 1 if any.',
        ),
    ] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Change nothing (but the time of the last check); read the whole index file to find damage "
            "(SQLite's PRAGMA quick_check: ~3 s per 480 MB) and exit 1 if any, saying to run --rebuild. A plain "
            "index does this itself when the file is at most 32 MiB, else weekly. With --check, does both.",
        ),
    ] = False,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="Index from scratch, keeping stored snippets and test runs: the way out of a damaged index. "
            "SQLite: the readable snippets and test runs go into a new index.db and every file is chunked and "
            "embedded again; the old file is deleted, or kept as index.db.damaged-<time> when some rows could not "
            "be read. PostgreSQL: the project's files, chunks and graph are emptied (snippets stay) and every file "
            "is chunked again; the shared embedding cache is kept (keyed by content hash).",
        ),
    ] = False,
    nested: NestedOption = False,
    store: StoreOption = None,
    project: ProjectOption = None,
    vectors: Annotated[
        str | None,
        typer.Option(
            "--vectors",
            help="How vectors are stored: auto (default: float; int8 from 50,000 vectors on), float, int8, or "
            "binary (sign bits, rescored with int8). On a PostgreSQL store: auto, float, half (float16 HNSW) or "
            "binary (bit HNSW, rescored with float). See docs/vectors.md.",
        ),
    ] = None,
    vector_dims: Annotated[
        int | None,
        typer.Option("--vector-dims", help="Reduce stored vectors to this width with PCA fitted on the index."),
    ] = None,
) -> None:
    """Build or refresh the index in PATH/.codegraph/index.db (only changed chunks are embedded), or PATH's
    project in a PostgreSQL store (--store postgresql://...).

    Inside a directory that an enclosing index covers, that index is refreshed (like git finds .git);
    --nested builds a separate index in PATH instead.

    Honours .gitignore (nested), .git/info/exclude and .codegraphignore. Virtualenvs, node_modules, caches
    and known binary types (images, archives, .pyc, ...) are skipped silently (re-include with !name);
    other binary, undecodable, unreadable and oversized files are skipped with a warning. Safe to interrupt:
    the work done is kept and the next run completes it.
    """
    from ..errors import SourceError
    from ..index import index_repo
    from . import render
    from .common import index_root_for, load_encoder, settings_for, stdout_json

    if not path.exists():
        raise SourceError(f"{path}: no such directory")
    path = index_root_for(path, nested=nested, store=store)
    settings = settings_for(
        path,
        model=model,
        max_file_bytes=max_file_bytes,
        store=store,
        project=project,
        vectors=vectors,
        vector_dims=vector_dims,
    )
    if rebuild and (check or verify):
        raise typer.BadParameter("--rebuild changes the index; --check and --verify never do", param_hint="--rebuild")
    if check or verify:
        _check(path, settings, as_json=as_json, freshness=check, verify=verify)
        return
    encoder = load_encoder(settings.model, settings)
    with render.index_progress(not quiet and not as_json) as progress:
        stats = index_repo(
            path,
            encoder,
            settings=settings,
            progress=progress,
            on_wait=lambda: render.notice("codegraph: another codegraph process is writing this index; waiting"),
            rebuild=rebuild,
        )
    render.rebuild_notice(stats)
    render.recovery_notice(stats)
    if as_json:
        stdout_json(stats.to_json())
    else:
        render.index_summary(stats)


def _check(path: Path, settings: Settings, *, as_json: bool, freshness: bool, verify: bool) -> None:
    """``index --check`` / ``--verify``: exit 0 when the index is fresh / sound, 1 (saying why) when not."""
    from ..index import verify_index
    from ..status import find_stale
    from ..store import open_store
    from . import render
    from .common import quote_path, read_only_notice, stdout_json

    store = open_store(path.resolve(), settings=settings, read_only_ok=True)
    read_only_notice(store)
    try:
        if verify:
            verify_index(store)  # IndexUnusableError (exit 1) names --rebuild
        stale = find_stale(store, settings=settings) if freshness else None
    finally:
        store.close()
    if stale is None:
        if as_json:
            stdout_json({"sound": True})
        else:
            render.err.print("index file is sound (PRAGMA quick_check: ok)", highlight=False)
        return
    if as_json:
        stdout_json(stale.check_json() | ({"sound": True} if verify else {}))
    else:
        for label, paths in (("new", stale.new), ("changed", stale.changed), ("removed", stale.removed)):
            for rel in paths:
                # tab-separated for scripts (rich would expand the tab); unusual names quoted as git does
                sys.stdout.write(f"{label}\t{quote_path(rel)}\n")
        if stale.count:
            render.err.print(
                f"index is stale: {stale.count} file(s) changed since the last index; run: codegraph index"
            )
    if stale.count:
        raise typer.Exit(1)
