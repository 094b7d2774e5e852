"""``codegraph watch``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import ModelOption, NestedOption, ProjectOption, StoreOption


def watch(
    path: Annotated[Path, typer.Argument(help="Repository root to watch (default: the current directory).")] = Path(
        "."
    ),
    model: ModelOption = None,
    debounce_ms: Annotated[
        int, typer.Option("--debounce-ms", min=10, max=5000, help="Quiet time that closes a batch of changes.")
    ] = 150,
    nested: NestedOption = False,
    store: StoreOption = None,
    project: ProjectOption = None,
) -> None:
    """Index PATH, then keep the index fresh as files change (Ctrl-C to stop).

    Changes are debounced and coalesced; each batch prints one line on stderr (files, chunks embedded, ms).
    Editor atomic saves, swap/backup files, new and deleted directories and edits to ignore files are handled;
    .codegraph/ itself is ignored. `index` and `search` can run at the same time.
    """
    from ..errors import SourceError
    from ..index import index_repo
    from ..watch import Batch, watch_repo
    from . import render
    from .common import index_root_for, load_encoder, settings_for

    if not path.is_dir():
        raise SourceError(f"{path}: no such directory")
    path = index_root_for(path, nested=nested, store=store)
    settings = settings_for(path, model=model, store=store, project=project)
    encoder = load_encoder(settings.model, settings)
    with render.index_progress(True) as progress:
        first = index_repo(path, encoder, settings=settings, progress=progress)

    def ready() -> None:  # printed once the observer runs: changes from now on are seen
        render.err.print(
            f"watching {path.resolve()} ({first.files_seen} files, {first.chunks} chunks; "
            f"{first.embedded} embedded now). Ctrl-C to stop.",
            highlight=False,
            markup=False,
        )

    def report(batch: Batch) -> None:
        what = "full refresh" if batch.full else f"{len(batch.paths)} file(s)"
        render.err.print(
            f"[watch] {what}: {batch.stats.files_changed} changed, {batch.stats.files_removed} removed, "
            f"{batch.stats.embedded} chunk(s) embedded, {batch.latency_s * 1000:.0f} ms",
            highlight=False,
            markup=False,
        )

    watch_repo(path, encoder, settings=settings, on_batch=report, on_ready=ready, debounce_s=debounce_ms / 1000)
