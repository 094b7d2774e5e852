"""Stored snippets (``generate`` results and their revisions) and test runs, in the index database.

Tables ``snippets`` and ``test_runs`` (migration 2 in :mod:`codegraph.store.migrations`). They live beside the
index in ``.codegraph/index.db``, as the design asks for one SQLite file; note that deleting ``.codegraph/``
deletes them too. A model or chunker change empties the index tables but never these.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import CodegraphError
from ..store import Store
from ..types import Hit


class SnippetNotFoundError(CodegraphError):
    """No stored snippet has the given id."""


@dataclass(frozen=True, slots=True)
class Snippet:
    """One stored snippet revision.

    Attributes:
        id: 1-based row id (what ``codegraph snippets show ID`` takes).
        parent_id: the revision this one refines, ``None`` for a first generation.
        origin: ``generate``, ``refine`` (feedback) or ``fix`` (``codegraph test --fix``).
        title, language, code, explanation: the parsed answer (language id: python / javascript / ruby).
        plan: the model's plan when ``--plan`` was used, else ``None``.
        prompt: the request, the feedback, or the failure report the revision answers.
        model: model name reported by the server.
        context: the chunks given as context: dicts with path, start_line, end_line (1-based), symbol.
        prompt_tokens, completion_tokens: token usage reported by the server (0 if not reported).
        created_at: unix seconds.
    """

    id: int
    parent_id: int | None
    origin: str
    title: str
    language: str
    code: str
    explanation: str
    plan: str | None
    prompt: str
    model: str
    context: list[dict[str, Any]]
    prompt_tokens: int
    completion_tokens: int
    created_at: float

    def to_json(self) -> dict[str, Any]:
        """The record as printed by ``--json``."""
        return {
            "id": self.id,
            "parent_id": self.parent_id,
            "origin": self.origin,
            "title": self.title,
            "language": self.language,
            "code": self.code,
            "explanation": self.explanation,
            "plan": self.plan,
            "prompt": self.prompt,
            "model": self.model,
            "context": self.context,
            "usage": {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens},
            "created_at": self.created_at,
        }


_COLUMNS = (
    "id, parent_id, origin, title, language, code, explanation, plan, prompt, model, context, prompt_tokens, "
    "completion_tokens, created_at"
)


def _row(r: Sequence[Any]) -> Snippet:
    return Snippet(
        id=int(r[0]),
        parent_id=r[1],
        origin=r[2],
        title=r[3],
        language=r[4],
        code=r[5],
        explanation=r[6],
        plan=r[7],
        prompt=r[8],
        model=r[9],
        context=json.loads(r[10]),
        prompt_tokens=int(r[11]),
        completion_tokens=int(r[12]),
        created_at=float(r[13]),
    )


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
    now = time.time()
    with store.transaction():
        cur = store.conn.execute(
            "INSERT INTO snippets(parent_id, origin, title, language, code, explanation, plan, prompt, model, "
            "context, prompt_tokens, completion_tokens, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                parent_id,
                origin,
                title,
                language,
                code,
                explanation,
                plan,
                prompt,
                model,
                json.dumps(context),
                prompt_tokens,
                completion_tokens,
                now,
            ),
        )
    return get_snippet(store, int(cur.lastrowid))


def get_snippet(store: Store, snippet_id: int) -> Snippet:
    """The snippet with this id.

    Raises:
        SnippetNotFoundError: no such id.
    """
    row = store.conn.execute(f"SELECT {_COLUMNS} FROM snippets WHERE id = ?", (snippet_id,)).fetchone()
    if row is None:
        raise SnippetNotFoundError(f"no snippet {snippet_id}; list them with: codegraph snippets list")
    return _row(row)


def list_snippets(store: Store) -> list[Snippet]:
    """All snippets, newest first."""
    return [_row(r) for r in store.conn.execute(f"SELECT {_COLUMNS} FROM snippets ORDER BY id DESC")]


def delete_snippet(store: Store, snippet_id: int) -> None:
    """Delete one revision and its test runs (its child revisions stay, their ``parent_id`` becomes ``None``).

    Raises:
        SnippetNotFoundError: no such id.
    """
    with store.transaction():
        cur = store.conn.execute("DELETE FROM snippets WHERE id = ?", (snippet_id,))
    if cur.rowcount == 0:
        raise SnippetNotFoundError(f"no snippet {snippet_id}; list them with: codegraph snippets list")
