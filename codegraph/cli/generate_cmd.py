"""``codegraph generate`` and ``codegraph snippets``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from ..languages import ASSIST_LANGUAGES

_DIR_HELP = "Use the index at or above this directory."


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
    directory: Annotated[Path, typer.Option("--dir", "-C", help=_DIR_HELP)] = Path("."),
) -> None:
    """Write code grounded in this repository, stream it, and store it as a snippet.

    Retrieves the repository's most relevant code (hybrid search), gives it to the model as quoted context,
    streams the answer with highlighting and stores it with its metadata (see: codegraph snippets). Without
    --lang the answer is in the language of the best-matching context chunk that generate supports (TSX counts
    as TypeScript), else in the repository's most common supported language; the choice is printed to stderr.

    The model is any OpenAI-compatible chat API: CODEGRAPH_LLM_BASE_URL (e.g. http://localhost:11434/v1 for
    Ollama), CODEGRAPH_LLM_MODEL, and the key in OPENAI_API_KEY (or the variable CODEGRAPH_LLM_API_KEY_ENV names).
    """
    from ..assist.context import answer_language, indexed_language_counts, repo_map_context, retrieve_context
    from ..assist.generate import generate_snippet, refine_snippet
    from ..assist.llm import api_key
    from ..assist.snippets import get_snippet
    from ..store import Store, find_index_root
    from . import render
    from .common import settings_for, stdout_json

    lang = lang.strip().lower() if lang else None
    if lang is not None and lang not in ASSIST_LANGUAGES:
        raise typer.BadParameter(f"must be one of: {', '.join(ASSIST_LANGUAGES)}", param_hint="--lang")
    verbose_logging(verbose)
    root = find_index_root(directory)
    settings = settings_for(root, uses_llm=True)
    api_key(settings)  # fail before retrieval when there is no key
    with Store.open(root) as store:
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


snippets_app = typer.Typer(help="Stored snippets from codegraph generate.", no_args_is_help=True)


@snippets_app.command("list")
def snippets_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print the snippets as JSON.")] = False,
    directory: Annotated[Path, typer.Option("--dir", "-C", help=_DIR_HELP)] = Path("."),
) -> None:
    """List stored snippets, newest first (id, parent, language, title, model, when)."""
    from ..assist.snippets import list_snippets, snippets_json
    from ..store import Store, find_index_root
    from . import render
    from .common import stdout_json

    with Store.open(find_index_root(directory)) as store:
        items = list_snippets(store)
    if as_json:
        stdout_json(snippets_json(items))
    else:
        render.snippet_list(items)


@snippets_app.command("show")
def snippets_show(
    snippet_id: Annotated[int, typer.Argument(metavar="ID", help="Snippet id (see: codegraph snippets list).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the record as JSON.")] = False,
    directory: Annotated[Path, typer.Option("--dir", "-C", help=_DIR_HELP)] = Path("."),
) -> None:
    """Show one snippet: code (highlighted), explanation, request, context chunks and usage."""
    from ..assist.snippets import get_snippet
    from ..store import Store, find_index_root
    from . import render
    from .common import stdout_json

    with Store.open(find_index_root(directory)) as store:
        snippet = get_snippet(store, snippet_id)
    if as_json:
        stdout_json(snippet.to_json())
    else:
        render.snippet_detail(snippet)


@snippets_app.command("delete")
def snippets_delete(
    snippet_id: Annotated[int, typer.Argument(metavar="ID", help="Snippet id.")],
    directory: Annotated[Path, typer.Option("--dir", "-C", help=_DIR_HELP)] = Path("."),
) -> None:
    """Delete one snippet revision and its test runs (its later revisions stay)."""
    from ..assist.snippets import delete_snippet
    from ..store import Store, find_index_root
    from . import render

    with Store.open(find_index_root(directory)) as store:
        delete_snippet(store, snippet_id)
    render.err.print(f"deleted snippet {snippet_id}", highlight=False)
