"""``codegraph search``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from ..store import IndexStore
    from ..types import Hit

from ..ranking import MODES, TEST_MODES
from .common import AllProjectsOption, ProjectOption, StoreOption


def search(
    query: Annotated[str, typer.Argument(help="What to look for. '-' reads one query per line from stdin.")],
    k: Annotated[int, typer.Option("-k", "--top", min=1, max=1000, help="Number of results.")] = 10,
    mode: Annotated[
        str, typer.Option("--mode", help=f"Ranking: {', '.join(MODES)} (hybrid fuses vector KNN and BM25 keywords).")
    ] = "hybrid",
    lang: Annotated[
        list[str] | None,
        typer.Option("--lang", "-l", help="Only these languages (repeat or comma-separate)."),
    ] = None,
    path_glob: Annotated[
        str | None,
        typer.Option("--path", "-p", help="Only paths matching this gitignore-style glob ('src/**')."),
    ] = None,
    tests: Annotated[
        str,
        typer.Option(
            "--tests",
            help="Test, example, vendored and generated code: include (rank as any code), demote (rank lower; "
            "default) or exclude.",
        ),
    ] = "demote",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (stdin mode: JSON Lines).")] = False,
    directory: Annotated[Path, typer.Option("--dir", "-C", help="Search the index at or above this directory.")] = Path(
        "."
    ),
    auto_index: Annotated[
        bool,
        typer.Option(
            "--auto-index/--no-auto-index",
            help="In a git work tree with no index yet, first index it with the fast static model (seconds).",
        ),
    ] = True,
    context: Annotated[
        bool,
        typer.Option(
            "--context",
            help="Show each result's callers and callees from the code graph (--json: callers/callees fields).",
        ),
    ] = False,
    store_opt: StoreOption = None,
    project: ProjectOption = None,
    all_projects: AllProjectsOption = False,
) -> None:
    """Search the index found at or above the current directory (like git finds .git).

    In a git work tree that has no index yet, the first search indexes it with the fast static model (a few
    seconds even for large repositories) and says so; run `codegraph index` for the full code model.

    Hybrid mode (default) fuses semantic vector search and BM25 keyword search as the model's profile says
    (weighted normalised scores, or reciprocal rank fusion); keyword ranking counts a word in a definition's
    name above any number of mentions in a body.
    A query that names an identifier (ConfigDict, parse_header, Client.send) ranks its definition first.
    """
    from ..embed import encoder_for_index
    from ..errors import IndexNotFoundError
    from ..search import Filters, Searcher, SearchOptions
    from ..status import index_state, state_hint
    from ..store import open_index
    from ..types import SearchResults
    from .common import check_scope, languages_option, read_only_notice, settings_for, stdout_json

    if mode not in MODES:
        raise typer.BadParameter(f"must be one of: {', '.join(MODES)}", param_hint="--mode")
    if tests not in TEST_MODES:
        raise typer.BadParameter(f"must be one of: {', '.join(TEST_MODES)}", param_hint="--tests")
    filters = Filters(languages=languages_option(lang), path_glob=path_glob)
    check_scope(project, all_projects)
    base = settings_for(None, store=store_opt, project=project)
    try:
        store = open_index(directory, settings=base, project=project, all_projects=all_projects)
    except IndexNotFoundError:
        work_tree = _git_work_tree(directory) if auto_index and not (project or all_projects) else None
        if work_tree is None:
            raise
        root = _first_index(work_tree, quiet=as_json or query == "-", store=store_opt)
        store = open_index(root, settings=base)
    read_only_notice(store)
    try:
        settings = settings_for(store.root, store=store_opt, project=project)
        hint = state_hint(*index_state(store))
        if hint:  # empty, interrupted or being built: say why results may be missing (stderr)
            from . import render

            render.notice(hint)
        searcher = Searcher(
            store,
            encoder_for_index(
                store.get_meta("model_id"), threads=settings.threads, batch_size=settings.batch_size, settings=settings
            ),
            options=SearchOptions(tests=tests),
        )
        if query == "-":
            for line in sys.stdin:
                text = line.rstrip("\n")
                results = searcher.search(text, k=k, mode=mode, filters=filters)
                stdout_json(SearchResults(text, mode, tuple(results)).to_json())
            return
        results = searcher.search(query, k=k, mode=mode, filters=filters)
        contexts = _call_contexts(store, results) if context else None
    finally:
        store.close()
    if as_json:
        answer = SearchResults(query, mode, tuple(results)).to_json()
        for record, extra in zip(answer["results"], contexts or [], strict=False):
            record.update(extra)
        stdout_json(answer)
    else:
        from . import render

        render.hits(query, results, mode=mode, contexts=contexts)


def _call_contexts(store: IndexStore, results: list[Hit]) -> list[dict[str, Any]] | None:
    """Each result's callers and callees (see :func:`codegraph.graph.query.call_context`), or ``None`` with a
    notice when the index has no code graph yet."""
    from ..graph.query import Graph, call_context

    if not store.get_meta("graph_version"):
        from . import render

        render.notice("codegraph: this index has no code graph yet; run: codegraph index")
        return None
    graph = Graph(store)
    return [call_context(graph, hit.symbol) for hit in results]


def _git_work_tree(directory: Path) -> Path | None:
    """The nearest directory at or above ``directory`` holding ``.git`` (a work tree's root), else ``None``;
    also ``None`` when that is the home directory or ``/`` (a dotfiles repository is not a codebase)."""
    here = directory.resolve()
    root = next((d for d in (here, *here.parents) if (d / ".git").exists()), None)
    if root is None or root == Path.home().resolve() or root == Path(root.anchor):
        return None
    return root


def _first_index(root: Path, *, quiet: bool, store: str | None = None) -> Path:
    """Index the work tree ``root`` with the fast model (the configured or default model when the fast one is
    not installed) so that a first search answers in seconds; returns ``root``."""
    from ..embed.registry import FAST_MODEL, is_installed
    from ..index import index_repo
    from . import render
    from .common import load_encoder, settings_for

    settings = settings_for(root, store=store)
    name = FAST_MODEL if settings.model is None and is_installed(FAST_MODEL) else settings.model
    encoder = load_encoder(name, settings)
    with render.index_progress(not quiet) as progress:
        stats = index_repo(root, encoder, settings=settings, progress=progress)
    render.notice(
        f"codegraph: no index yet; indexed {root} with '{encoder.profile.name}' in {stats.seconds:.1f} s "
        f"({stats.chunks} chunks). For the full code model run: codegraph index {root}"
    )
    return root
