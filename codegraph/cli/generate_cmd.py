"""``codegraph generate`` and ``codegraph snippets``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..languages import ASSIST_LANGUAGES
from .common import IndexDirOption, ProjectOption, StoreOption

if TYPE_CHECKING:
    from ..config import Settings
    from ..store import IndexStore


def verbose_logging(enabled: bool) -> None:
    """``-v``: log each API request (URL, model, sizes, usage; never the key) to stderr."""
    if enabled:
        logging.basicConfig(level=logging.WARNING, format="codegraph: %(message)s")
        logging.getLogger("codegraph.llm").setLevel(logging.INFO)


def generate(
    request: Annotated[str, typer.Argument(help="What to write (with --refine ID: the feedback, English or 日本語).")],
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            "-l",
            help=f"{' | '.join(ASSIST_LANGUAGES)} (default: the language of the best-matching context, else the "
            "repository's most common one of these).",
        ),
    ] = None,
    k: Annotated[int, typer.Option("-k", min=0, max=50, help="Context chunks retrieved from the index.")] = 6,
    refine: Annotated[
        int | None, typer.Option("--refine", metavar="ID", help="Revise stored snippet ID with the feedback.")
    ] = None,
    plan: Annotated[bool, typer.Option("--plan", help="Ask for a short plan first (stored, not printed).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stored snippet record as JSON.")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Log API requests to stderr (no secrets).")] = False,
    directory: IndexDirOption = Path("."),
    store_opt: StoreOption = None,
    project: ProjectOption = None,
) -> None:
    """Write code grounded in this repository, stream it, and store it as a snippet.

    Retrieves the repository's most relevant code (hybrid search), gives it to the model as quoted context,
    streams the answer with highlighting and stores it with its metadata (see: codegraph snippets). Without
    --lang the answer is in the language of the best-matching context chunk that generate supports (TSX counts
    as TypeScript), else in the repository's most common supported language; the choice is printed to stderr.

    The model is any OpenAI-compatible chat API: CODEGRAPH_LLM_BASE_URL (e.g. http://localhost:11434/v1 for
    Ollama), CODEGRAPH_LLM_MODEL, and the key in OPENAI_API_KEY (or the variable CODEGRAPH_LLM_API_KEY_ENV names).

    With a PostgreSQL store (--store / CODEGRAPH_STORE) the context comes from the project that covers the
    current directory (or --project NAME), and the snippet is stored in that project.
    """
    from ..assist.context import answer_language, indexed_language_counts, repo_map_context, retrieve_context
    from ..assist.generate import generate_snippet, refine_snippet
    from ..assist.llm import api_key
    from ..assist.snippets import get_snippet
    from . import render
    from .common import stdout_json

    lang = lang.strip().lower() if lang else None
    if lang is not None and lang not in ASSIST_LANGUAGES:
        raise typer.BadParameter(f"must be one of: {', '.join(ASSIST_LANGUAGES)}", param_hint="--lang")
    verbose_logging(verbose)
    store, settings = open_for_llm(directory, store_opt, project)
    with store:
        api_key(settings)  # fail before retrieval when there is no key
        if refine is not None:
            parent = get_snippet(store, refine)
            query = f"{parent.prompt}\n{request}"
            hits = retrieve_context(store, query, language=parent.language, k=k, settings=settings)
        else:
            hits = retrieve_context(store, request, language=lang, k=k, settings=settings)
            language = answer_language(lang, hits, indexed_language_counts(store))
            if lang is None:  # say what was picked (before the answer streams)
                render.err.print(
                    f"codegraph: writing {ASSIST_LANGUAGES[language]} (from the repository; choose with --lang)",
                    highlight=False,
                    markup=False,
                )
        with render.answer_stream(enabled=not as_json) as on_text:
            if refine is not None:
                snippet = refine_snippet(store, refine, request, hits=hits, settings=settings, on_text=on_text)
            else:
                snippet = generate_snippet(
                    store,
                    request,
                    language=language,
                    hits=hits,
                    settings=settings,
                    plan=plan,
                    on_text=on_text,
                    repo_map=repo_map_context(store),
                )
    if as_json:
        stdout_json(snippet.to_json())
    else:
        render.snippet_saved(snippet)


def open_for_llm(
    directory: Path, store: str | None, project: str | None, **overrides: Any
) -> tuple[IndexStore, Settings]:
    """The index ``generate`` / ``test`` work on (the SQLite file at or above ``directory``, or a project of the
    PostgreSQL store the flags, environment or user config name) and the settings for its root, resolved for a
    command that calls the model (a repository config that redirects the API is refused). Close the store."""
    from ..store import open_index
    from .common import settings_for

    base = settings_for(None, store=store, project=project)
    index = open_index(directory, settings=base, project=project)
    try:
        settings = settings_for(index.root, uses_llm=True, store=store, project=project, **overrides)
    except BaseException:
        index.close()
        raise
    return index, settings


def open_snippets(directory: Path, store: str | None, project: str | None) -> IndexStore:
    """The index whose snippets ``codegraph snippets`` reads (as :func:`open_for_llm` finds it)."""
    from ..store import open_index
    from .common import settings_for

    return open_index(directory, settings=settings_for(None, store=store, project=project), project=project)


snippets_app = typer.Typer(help="Stored snippets from codegraph generate.", no_args_is_help=True)


@snippets_app.command("list")
def snippets_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print the snippets as JSON.")] = False,
    directory: IndexDirOption = Path("."),
    store_opt: StoreOption = None,
    project: ProjectOption = None,
) -> None:
    """List stored snippets, newest first (id, parent, language, title, model, when)."""
    from ..assist.snippets import list_snippets, snippets_json
    from . import render
    from .common import stdout_json

    with open_snippets(directory, store_opt, project) as store:
        items = list_snippets(store)
    if as_json:
        stdout_json(snippets_json(items))
    else:
        render.snippet_list(items)


@snippets_app.command("show")
def snippets_show(
    snippet_id: Annotated[int, typer.Argument(metavar="ID", help="Snippet id (see: codegraph snippets list).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the record as JSON.")] = False,
    directory: IndexDirOption = Path("."),
    store_opt: StoreOption = None,
    project: ProjectOption = None,
) -> None:
    """Show one snippet: code (highlighted), explanation, request, context chunks, usage, and the rounds of
    codegraph test run on it (--json: "test_runs", oldest first, with each test's outcome and output)."""
    from ..assist.snippets import get_snippet, snippet_json
    from . import render
    from .common import stdout_json

    with open_snippets(directory, store_opt, project) as store:
        if as_json:
            stdout_json(snippet_json(store, snippet_id))
            return
        snippet = get_snippet(store, snippet_id)
        runs = store.select_test_runs(snippet_id)
    render.snippet_detail(snippet, runs)


@snippets_app.command("delete")
def snippets_delete(
    snippet_id: Annotated[int, typer.Argument(metavar="ID", help="Snippet id.")],
    directory: IndexDirOption = Path("."),
    store_opt: StoreOption = None,
    project: ProjectOption = None,
) -> None:
    """Delete one snippet revision and its test runs (its later revisions stay)."""
    from ..assist.snippets import delete_snippet
    from . import render

    with open_snippets(directory, store_opt, project) as store:
        delete_snippet(store, snippet_id)
    render.err.print(f"deleted snippet {snippet_id}", highlight=False)
