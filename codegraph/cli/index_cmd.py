"""``codegraph index``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer


def index(
    path: Annotated[Path, typer.Argument(help="Repository root to index (default: the current directory).")] = Path(
        "."
    ),
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="Model name (default: codebert if installed, else minilm)."),
    ] = None,
    max_file_bytes: Annotated[
        int | None,
        typer.Option("--max-file-bytes", help="Skip files larger than this (bytes; default 1000000)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run summary as one JSON object.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Build or refresh the index in PATH/.codegraph/index.db (only changed chunks are embedded).

    Honours .gitignore (nested), .git/info/exclude and .codegraphignore. Binary, undecodable, unreadable
    and oversized files are skipped with a warning. Safe to interrupt: the next run completes the work.
    """
    from ..errors import SourceError
    from ..index import index_repo
    from . import render
    from .common import load_encoder, settings_for, stdout_json

    if not path.exists():
        raise SourceError(f"{path}: no such directory")
    settings = settings_for(path, model=model, max_file_bytes=max_file_bytes)
    encoder = load_encoder(settings.model, settings)
    with render.index_progress(not quiet and not as_json) as progress:
        stats = index_repo(path, encoder, settings=settings, progress=progress)
    if as_json:
        stdout_json(dataclasses.asdict(stats) | {"seconds": round(stats.seconds, 3)})
    else:
        render.index_summary(stats)
