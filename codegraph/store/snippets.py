"""Stored snippets (``generate`` results and their revisions) and test runs: what both backends share.

Each backend keeps them in two tables, ``snippets`` and ``test_runs``, with the columns below: the SQLite file in
migration 2 of :mod:`codegraph.store.migrations` (beside the index in ``.codegraph/index.db``: deleting
``.codegraph/`` deletes them too), a PostgreSQL store per project (:mod:`codegraph.store.postgres_schema`; a
project's rows go with the project). A model or chunker change empties the index tables but never these.

The SQL is the backend's (:class:`~codegraph.store.sqlite_snippets.SqliteSnippets`,
:class:`~codegraph.store.postgres_snippets.PgSnippets`, methods of the open store, see
:class:`~codegraph.store.base.IndexStore`); this module holds the one row layout and its JSON encoding, so that
both store and read a :class:`~codegraph.types.Snippet` the same way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..types import Snippet, SnippetDraft

SNIPPET_FIELDS = (
    "parent_id",
    "origin",
    "title",
    "language",
    "code",
    "explanation",
    "plan",
    "prompt",
    "model",
    "context",
    "prompt_tokens",
    "completion_tokens",
    "created_at",
)
"""The columns a snippet is inserted with, in the order of :func:`snippet_values`."""

SNIPPET_COLUMNS = "id, " + ", ".join(SNIPPET_FIELDS)
"""The select list that :func:`snippet_from_row` reads."""

TEST_RUN_FIELDS = (
    "snippet_id",
    "target",
    "round",
    "language",
    "code",
    "tests",
    "passed",
    "failed",
    "results",
    "sandbox",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "created_at",
)
"""The columns a test run is inserted with, in the order of :meth:`TestRunDraft.values`."""

TEST_RUN_COLUMNS = "id, " + ", ".join(TEST_RUN_FIELDS)
"""The select list that :func:`test_run_from_row` reads."""


def snippet_values(draft: SnippetDraft) -> tuple[Any, ...]:
    """The row of a new snippet, in :data:`SNIPPET_FIELDS` order (``context`` as JSON text, ``created_at`` now)."""
    return (
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
    )


def snippet_from_row(r: Sequence[Any]) -> Snippet:
    """A :class:`~codegraph.types.Snippet` from a row selected with :data:`SNIPPET_COLUMNS`."""
    return Snippet(
        id=int(r[0]),
        parent_id=None if r[1] is None else int(r[1]),
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


@dataclass(frozen=True, slots=True)
class TestRunDraft:
    """One round of ``codegraph test`` about to be stored.

    Attributes:
        snippet_id: the snippet under test, ``None`` for an indexed symbol.
        target: the target as given (snippet id or ``path::name``).
        round_no: 0 for the first run, 1.. for ``--fix`` rounds.
        language: language id of the code.
        code: the code under test.
        tests: the generated test file.
        passed, failed: test counts.
        results: per test ``{"name", "outcome", "message", "output"}`` (stored as JSON).
        sandbox: exit code, wall time (seconds), what was enforced (stored as JSON).
        model: model name the server reported.
        prompt_tokens, completion_tokens: usage of the request that wrote the tests or the fix.
    """

    __test__ = False  # not a pytest test class

    snippet_id: int | None
    target: str
    round_no: int
    language: str
    code: str
    tests: str
    passed: int
    failed: int
    results: list[dict[str, Any]]
    sandbox: dict[str, Any]
    model: str
    prompt_tokens: int
    completion_tokens: int

    def values(self) -> tuple[Any, ...]:
        """The row, in :data:`TEST_RUN_FIELDS` order (``results`` and ``sandbox`` as JSON text, ``created_at``
        now)."""
        return (
            self.snippet_id,
            self.target,
            self.round_no,
            self.language,
            self.code,
            self.tests,
            self.passed,
            self.failed,
            json.dumps(self.results),
            json.dumps(self.sandbox),
            self.model,
            self.prompt_tokens,
            self.completion_tokens,
            time.time(),
        )


@dataclass(frozen=True, slots=True)
class TestRun:
    """One stored round of ``codegraph test``: a :class:`TestRunDraft` with its id and time.

    Attributes:
        id: row id (per index file in SQLite; unique in the whole store in PostgreSQL).
        created_at: when it was stored (Unix seconds).
        draft: what was stored (:class:`TestRunDraft`).
    """

    __test__ = False  # not a pytest test class

    id: int
    created_at: float
    draft: TestRunDraft

    def to_json(self) -> dict[str, Any]:
        """``{"id", "snippet_id", "target", "round", "language", "passed", "failed", "results", "sandbox",
        "model", "prompt_tokens", "completion_tokens", "created_at", "tests", "code"}``; ``round`` 0 is the first
        run, 1.. the ``--fix`` rounds; ``results`` per test ``{"name", "outcome", "message", "output"}``."""
        d = self.draft
        return {
            "id": self.id,
            "snippet_id": d.snippet_id,
            "target": d.target,
            "round": d.round_no,
            "language": d.language,
            "passed": d.passed,
            "failed": d.failed,
            "results": d.results,
            "sandbox": d.sandbox,
            "model": d.model,
            "prompt_tokens": d.prompt_tokens,
            "completion_tokens": d.completion_tokens,
            "created_at": self.created_at,
            "tests": d.tests,
            "code": d.code,
        }


def test_run_from_row(r: Sequence[Any]) -> TestRun:
    """A :class:`TestRun` from a row selected with :data:`TEST_RUN_COLUMNS`."""
    draft = TestRunDraft(
        snippet_id=None if r[1] is None else int(r[1]),
        target=r[2],
        round_no=int(r[3]),
        language=r[4],
        code=r[5],
        tests=r[6],
        passed=int(r[7]),
        failed=int(r[8]),
        results=json.loads(r[9]),
        sandbox=json.loads(r[10]),
        model=r[11],
        prompt_tokens=int(r[12]),
        completion_tokens=int(r[13]),
    )
    return TestRun(id=int(r[0]), created_at=float(r[14]), draft=draft)
