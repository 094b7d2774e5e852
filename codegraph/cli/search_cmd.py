"""``codegraph search``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

MODES = ("hybrid", "semantic", "keyword")  # == codegraph.search.MODES (kept here so --help stays light)


def search(
    query: Annotated[str, typer.Argument(help="What to look for. '-' reads one query per line from stdin.")],
    k: Annotated[int, typer.Option("-k", "--top", min=1, max=1000, help="Number of results.")] = 10,
    mode: Annotated[
        str, typer.Option("--mode", help=f"Ranking: {', '.join(MODES)} (vector KNN + BM25 fused by RRF).")
    ] = "hybrid",
    lang: Annotated[
        list[str] | None,
        typer.Option("--lang", "-l", help="Only these languages (repeat or comma-separate)."),
    ] = None,
    path_glob: Annotated[
        str | None,
        typer.Option("--path", "-p", help="Only paths matching this gitignore-style glob ('src/**')."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (stdin mode: JSON Lines).")] = False,
    directory: Annotated[Path, typer.Option("--dir", "-C", help="Search the index at or above this directory.")] = Path(
        "."
    ),
) -> None:
    """Search the index found at or above the current directory (like git finds .git).

    Hybrid mode (default) fuses semantic vector search and BM25 keyword search by reciprocal rank fusion.
    """
    from ..errors import ConfigError
    from ..search import Filters, Searcher, parse_languages
    from ..store import Store, find_index_root
    from .common import encoder_for_index, settings_for, stdout_json

    if mode not in MODES:
        raise typer.BadParameter(f"must be one of: {', '.join(MODES)}", param_hint="--mode")
    try:
        languages = parse_languages(lang)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--lang") from None
    filters = Filters(languages=languages, path_glob=path_glob)
    root = find_index_root(directory)
    settings = settings_for(root)
    store = Store.open(root)
    try:
        searcher = Searcher(store, encoder_for_index(store.get_meta("model_id"), settings))
        if query == "-":
            for line in sys.stdin:
                text = line.rstrip("\n")
                results = searcher.search(text, k=k, mode=mode, filters=filters)
                stdout_json({"query": text, "mode": mode, "results": [h.to_json() for h in results]})
            return
        results = searcher.search(query, k=k, mode=mode, filters=filters)
    finally:
        store.close()
    if as_json:
        stdout_json({"query": query, "mode": mode, "results": [h.to_json() for h in results]})
    else:
        from . import render

        render.hits(query, results, mode=mode)
