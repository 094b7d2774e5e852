"""Stored snippets (``generate`` results and their revisions): the operations ``generate``, ``test`` and the CLI
use, with errors for missing ids, over either backend (the store's ``*_snippet`` methods; see
:mod:`codegraph.store.snippets`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import SnippetNotFoundError
from ..store import IndexStore
from ..types import Hit, Snippet, SnippetDraft
from .prompts import Answer


def context_of(hits: Sequence[Hit]) -> list[dict[str, Any]]:
    """The context record of retrieved hits (stable identifiers: path and 1-based lines, not row ids)."""
    return [{"path": h.path, "start_line": h.start_line, "end_line": h.end_line, "symbol": h.symbol} for h in hits]


def store_answer(
    store: IndexStore,
    answer: Answer,
    *,
    origin: str,
    language: str,
    prompt: str,
    model: str,
    usage: tuple[int, int],
    context: list[dict[str, Any]],
    parent: Snippet | None = None,
    default_title: str = "",
    plan: str | None = None,
) -> Snippet:
    """Store a parsed model answer as a snippet revision (the one call ``generate``, ``refine`` and
    ``test --fix`` save through) and return it with its new id.

    Args:
        store: the index store.
        answer: the parsed answer (title, code, explanation).
        origin: ``generate``, ``refine`` or ``fix``.
        language: language id of the code.
        prompt: the request, feedback or failure report the revision answers.
        model: model name the server reported.
        usage: (prompt tokens, completion tokens) billed for the revision, all calls included.
        context: the context record (:func:`context_of`).
        parent: the revision this one revises (its id becomes ``parent_id``), or ``None``.
        default_title: the title when neither the answer nor ``parent`` has one.
        plan: the plan text when one was asked for.
    """
    draft = SnippetDraft(
        parent_id=parent.id if parent else None,
        origin=origin,
        title=answer.title or (parent.title if parent else default_title),
        language=language,
        code=answer.code,
        explanation=answer.explanation,
        plan=plan,
        prompt=prompt,
        model=model,
        context=context,
        prompt_tokens=usage[0],
        completion_tokens=usage[1],
    )
    return get_snippet(store, store.insert_snippet(draft))


def get_snippet(store: IndexStore, snippet_id: int) -> Snippet:
    """The snippet with this id.

    Raises:
        SnippetNotFoundError: no such id.
    """
    snippet = store.select_snippet(snippet_id)
    if snippet is None:
        raise SnippetNotFoundError(f"no snippet {snippet_id}; list them with: codegraph snippets list")
    return snippet


def snippet_json(store: IndexStore, snippet_id: int) -> dict[str, Any]:
    """``codegraph snippets show ID --json``: the snippet's record (:meth:`~codegraph.types.Snippet.to_json`) and
    ``"test_runs"``, its ``codegraph test`` rounds oldest first (:meth:`~codegraph.store.snippets.TestRun.to_json`).

    Raises:
        SnippetNotFoundError: no such id.
    """
    record = get_snippet(store, snippet_id).to_json()
    record["test_runs"] = [run.to_json() for run in store.select_test_runs(snippet_id)]
    return record


def snippets_json(items: Sequence[Snippet]) -> dict[str, Any]:
    """``{"snippets": [record, ...]}`` as printed by ``codegraph snippets list --json``."""
    return {"snippets": [s.to_json() for s in items]}


def list_snippets(store: IndexStore) -> list[Snippet]:
    """All snippets, newest first."""
    return store.select_snippets()


def delete_snippet(store: IndexStore, snippet_id: int) -> None:
    """Delete one revision and its test runs (its child revisions stay, their ``parent_id`` becomes ``None``).

    Raises:
        SnippetNotFoundError: no such id.
    """
    if not store.delete_snippet(snippet_id):
        raise SnippetNotFoundError(f"no snippet {snippet_id}; list them with: codegraph snippets list")
