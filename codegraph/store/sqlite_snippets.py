"""The SQLite SQL of stored snippets and test runs (migration 2), as a mixin of
:class:`~codegraph.store.store.Store` (which provides ``conn`` and ``transaction``); rows are laid out and
(de)serialised by :mod:`codegraph.store.snippets`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .snippets import (
    SNIPPET_COLUMNS,
    SNIPPET_FIELDS,
    TEST_RUN_COLUMNS,
    TEST_RUN_FIELDS,
    TestRun,
    TestRunDraft,
    snippet_from_row,
    snippet_values,
    test_run_from_row,
)

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from ..types import Snippet, SnippetDraft

_INSERT_SNIPPET = f"INSERT INTO snippets({', '.join(SNIPPET_FIELDS)}) VALUES ({', '.join('?' * len(SNIPPET_FIELDS))})"
_INSERT_RUN = f"INSERT INTO test_runs({', '.join(TEST_RUN_FIELDS)}) VALUES ({', '.join('?' * len(TEST_RUN_FIELDS))})"


class SqliteSnippets:
    """Snippets and test runs over ``self.conn`` (a SQLite connection); ids count from 1 per index file."""

    conn: Any

    if TYPE_CHECKING:

        def transaction(self) -> AbstractContextManager[None]: ...

    def insert_snippet(self, draft: SnippetDraft) -> int:
        """Insert one snippet revision (one transaction); ``created_at`` is now. Returns its id."""
        with self.transaction():
            cur = self.conn.execute(_INSERT_SNIPPET, snippet_values(draft))
        return int(cur.lastrowid)

    def select_snippet(self, snippet_id: int) -> Snippet | None:
        """The snippet with this id, or ``None``."""
        row = self.conn.execute(f"SELECT {SNIPPET_COLUMNS} FROM snippets WHERE id = ?", (snippet_id,)).fetchone()
        return None if row is None else snippet_from_row(row)

    def select_snippets(self) -> list[Snippet]:
        """All snippets, newest first."""
        return [
            snippet_from_row(r) for r in self.conn.execute(f"SELECT {SNIPPET_COLUMNS} FROM snippets ORDER BY id DESC")
        ]

    def delete_snippet(self, snippet_id: int) -> bool:
        """Delete one revision (its test runs go with it; child revisions keep a ``NULL`` parent). Returns
        whether a row was deleted."""
        with self.transaction():
            cur = self.conn.execute("DELETE FROM snippets WHERE id = ?", (snippet_id,))
        return bool(cur.rowcount)

    def insert_test_run(self, run: TestRunDraft) -> int:
        """Record one round of ``codegraph test`` (one transaction). Returns the run's id."""
        with self.transaction():
            cur = self.conn.execute(_INSERT_RUN, run.values())
        return int(cur.lastrowid)

    def select_test_runs(self, snippet_id: int) -> list[TestRun]:
        """The test runs of one snippet revision, oldest first (round 0, then the ``--fix`` rounds)."""
        rows = self.conn.execute(
            f"SELECT {TEST_RUN_COLUMNS} FROM test_runs WHERE snippet_id = ? ORDER BY id", (snippet_id,)
        )
        return [test_run_from_row(r) for r in rows]
