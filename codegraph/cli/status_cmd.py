"""``codegraph status``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .common import ProjectOption, StoreOption

if TYPE_CHECKING:
    from ..status import IndexStatus


def status(
    directory: Annotated[Path, typer.Argument(help="A directory at or below the repository root.")] = Path("."),
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the status as one JSON object (at most 50 stale paths per list; "
            "codegraph index --check --json lists them all).",
        ),
    ] = False,
    dir_option: Annotated[
        Path | None, typer.Option("--dir", "-C", help="Same as DIRECTORY (as for search).", show_default=False)
    ] = None,
    store: StoreOption = None,
    project: ProjectOption = None,
) -> None:
    """Show the index's location, model, size, state (complete, being built, interrupted, empty), last refresh,
    and how many files are stale right now."""
    from ..status import status_of
    from ..store import open_index
    from .common import read_only_notice, settings_for, stdout_json

    index = open_index(
        dir_option or directory, settings=settings_for(None, store=store, project=project), project=project
    )
    read_only_notice(index)
    try:
        st = status_of(index, settings=settings_for(index.root, store=store, project=project))
    finally:
        index.close()
    if as_json:
        stdout_json(st.to_json())
        return
    from . import render

    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st.last_indexed_at)) if st.last_indexed_at else "never"
    lines = [
        ("index", str(st.database)),
        (
            "model",
            f"{st.model} (sha256 {st.model_sha256})" if st.model and st.model_sha256 else st.model or "(none yet)",
        ),
        ("files", f"{st.files}"),
        ("chunks", f"{st.chunks} ({st.embeddings} cached embeddings)"),
        ("size", f"{st.size_bytes / 1e6:.1f} MB"),
        ("vectors", _vectors_line(st)),
        ("state", _state_line(st)),
        ("last refresh", when),
        (
            "stale files",
            f"{st.stale.count} ({len(st.stale.new)} new, {len(st.stale.changed)} changed, "
            f"{len(st.stale.removed)} removed)",
        ),
    ]
    for label, value in lines:
        render.out.print(f"{label:<13}{value}", highlight=False, markup=False)


def _state_line(st: IndexStatus) -> str:
    """``complete``, or what is going on: who is building the index, or what to run."""
    if st.state == "building" and st.writer is not None:
        who = f"pid {st.writer.pid}: {st.writer.command}" if st.writer.pid else "another process"
        since = f", for {time.time() - st.writer.started_at:.0f} s" if st.writer.started_at else ""
        return f"being built ({who}{since})"
    if st.state == "incomplete":
        return "incomplete: the last index run did not finish (interrupted?); run: codegraph index"
    if st.state == "empty":
        return "empty; run: codegraph index"
    return "complete"


def _vectors_line(st: IndexStatus) -> str:
    """``binary, 384 dims, 12.3 MB (setting auto)``, or ``(none yet)``."""
    v = st.vectors
    if v is None:
        return "(none yet)"
    pca = " (PCA)" if v.pca else ""
    return f"{v.format}, {v.dims} dims{pca}, {v.size_bytes / 1e6:.1f} MB (setting {v.setting})"
