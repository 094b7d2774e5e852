"""Stored snippets (``generate`` results and their revisions): the operations ``generate``, ``test`` and the CLI
use, with errors for missing ids; the SQL is in :mod:`codegraph.store.snippets`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import SnippetNotFoundError
from ..store import Store
from ..store.snippets import delete_snippet_row, insert_snippet, select_snippet, select_snippets
from ..types import Hit, Snippet


def context_of(hits: Sequence[Hit]) -> list[dict[str, Any]]:
    """The context record of retrieved hits (stable identifiers: path and 1-based lines, not row ids)."""
    return [{"path": h.path, "start_line": h.start_line, "end_line": h.end_line, "symbol": h.symbol} for h in hits]


def add_snippet(
    store: Store,
    *,
    parent_id: int | None,
    origin: str,
    title: str,
    language: str,
    code: str,
    explanation: str,
    plan: str | None,
    prompt: str,
    model: str,
    context: list[dict[str, Any]],
    prompt_tokens: int,
    completion_tokens: int,
) -> Snippet:
    """Insert a revision and return it (with its new id)."""
    snippet_id = insert_snippet(
        store,
        parent_id=parent_id,
        origin=origin,
        title=title,
        language=language,
        code=code,
        explanation=explanation,
        plan=plan,
        prompt=prompt,
        model=model,
        context=context,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )
    return get_snippet(store, snippet_id)


def get_snippet(store: Store, snippet_id: int) -> Snippet:
    """The snippet with this id.

    Raises:
        SnippetNotFoundError: no such id.
    """
    snippet = select_snippet(store, snippet_id)
    if snippet is None:
        raise SnippetNotFoundError(f"no snippet {snippet_id}; list them with: codegraph snippets list")
    return snippet


def list_snippets(store: Store) -> list[Snippet]:
    """All snippets, newest first."""
    return select_snippets(store)


def delete_snippet(store: Store, snippet_id: int) -> None:
    """Delete one revision and its test runs (its child revisions stay, their ``parent_id`` becomes ``None``).

    Raises:
        SnippetNotFoundError: no such id.
    """
    if not delete_snippet_row(store, snippet_id):
        raise SnippetNotFoundError(f"no snippet {snippet_id}; list them with: codegraph snippets list")
