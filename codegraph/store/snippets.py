"""Stored snippets (``generate`` results and their revisions) and test runs: the ``snippets`` and ``test_runs``
tables of the index database (migration 2).

They live beside the index in ``.codegraph/index.db``, as the design asks for one SQLite file; deleting
``.codegraph/`` deletes them too. A model or chunker change empties the index tables but never these.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from ..types import Snippet, SnippetDraft
from .store import Store

_COLUMNS = (
    "id, parent_id, origin, title, language, code, explanation, plan, prompt, model, context, prompt_tokens, "
    "completion_tokens, created_at"
)


def _snippet(r: Sequence[Any]) -> Snippet:
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


def insert_snippet(store: Store, draft: SnippetDraft) -> int:
    """Insert one snippet revision (one transaction); ``created_at`` is now. Returns its id (1-based)."""
    with store.transaction():
        cur = store.conn.execute(
            "INSERT INTO snippets(parent_id, origin, title, language, code, explanation, plan, prompt, model, "
            "context, prompt_tokens, completion_tokens, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                draft.parent_id,
                draft.origin,
                draft.title,
                draft.language,
                draft.code,
                draft.explanation,
                draft.plan,
                draft.prompt,
                draft.model,
                json.dumps(draft.context),
                draft.prompt_tokens,
                draft.completion_tokens,
                time.time(),
            ),
        )
    return int(cur.lastrowid)


def select_snippet(store: Store, snippet_id: int) -> Snippet | None:
    """The snippet with this id, or ``None``."""
    row = store.conn.execute(f"SELECT {_COLUMNS} FROM snippets WHERE id = ?", (snippet_id,)).fetchone()
    return None if row is None else _snippet(row)


def select_snippets(store: Store) -> list[Snippet]:
    """All snippets, newest first."""
    return [_snippet(r) for r in store.conn.execute(f"SELECT {_COLUMNS} FROM snippets ORDER BY id DESC")]


def delete_snippet_row(store: Store, snippet_id: int) -> bool:
    """Delete one revision (its test runs go with it; child revisions keep a ``NULL`` parent). Returns whether
    a row was deleted."""
    with store.transaction():
        cur = store.conn.execute("DELETE FROM snippets WHERE id = ?", (snippet_id,))
    return bool(cur.rowcount)


def insert_test_run(
    store: Store,
    *,
    snippet_id: int | None,
    target: str,
    round_no: int,
    language: str,
    code: str,
    tests: str,
    passed: int,
    failed: int,
    results: list[dict[str, Any]],
    sandbox: dict[str, Any],
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
) -> int:
    """Record one round of ``codegraph test`` (one transaction); ``results`` and ``sandbox`` are stored as JSON.
    Returns the run's id."""
    with store.transaction():
        cur = store.conn.execute(
            "INSERT INTO test_runs(snippet_id, target, round, language, code, tests, passed, failed, results, "
            "sandbox, model, prompt_tokens, completion_tokens, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                snippet_id,
                target,
                round_no,
                language,
                code,
                tests,
                passed,
                failed,
                json.dumps(results),
                json.dumps(sandbox),
                model,
                prompt_tokens,
                completion_tokens,
                time.time(),
            ),
        )
    return int(cur.lastrowid)
