"""The PostgreSQL SQL of stored snippets and test runs (migration 2 of :mod:`codegraph.store.postgres_schema`),
as a mixin of :class:`~codegraph.store.postgres.PgStore` (which provides ``_one``, ``_all``, ``transaction`` and
``project``): every row belongs to the store's project, and only that project's rows are read or deleted. Rows
are laid out and (de)serialised by :mod:`codegraph.store.snippets`.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    from .postgres_schema import Project


def _insert(table: str, fields: Sequence[str]) -> str:
    return (
        f"INSERT INTO {table}(project_id, {', '.join(fields)}) VALUES (%s, {', '.join(['%s'] * len(fields))}) "
        "RETURNING id"
    )


_INSERT_SNIPPET = _insert("snippets", SNIPPET_FIELDS)
_INSERT_RUN = _insert("test_runs", TEST_RUN_FIELDS)


class PgSnippets:
    """Snippets and test runs of ``self.project``. Ids are unique in the whole store (one sequence for every
    project), so a project's ids need not start at 1 nor be consecutive."""

    project: Project

    if TYPE_CHECKING:

        def transaction(self) -> AbstractContextManager[None]: ...

        def _all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

        def _one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None: ...

    def insert_snippet(self, draft: SnippetDraft) -> int:
        """Insert one snippet revision of the project (one transaction); ``created_at`` is now. Returns its id."""
        with self.transaction():
            row = self._one(_INSERT_SNIPPET, (self.project.id, *snippet_values(draft)))
        assert row is not None  # RETURNING always answers
        return int(row[0])

    def select_snippet(self, snippet_id: int) -> Snippet | None:
        """The project's snippet with this id, or ``None``."""
        row = self._one(
            f"SELECT {SNIPPET_COLUMNS} FROM snippets WHERE project_id = %s AND id = %s", (self.project.id, snippet_id)
        )
        return None if row is None else snippet_from_row(row)

    def select_snippets(self) -> list[Snippet]:
        """The project's snippets, newest first."""
        rows = self._all(
            f"SELECT {SNIPPET_COLUMNS} FROM snippets WHERE project_id = %s ORDER BY id DESC", (self.project.id,)
        )
        return [snippet_from_row(r) for r in rows]

    def delete_snippet(self, snippet_id: int) -> bool:
        """Delete one revision of the project (its test runs go with it; child revisions keep a ``NULL``
        parent). Returns whether a row was deleted."""
        with self.transaction():
            row = self._one(
                "DELETE FROM snippets WHERE project_id = %s AND id = %s RETURNING id", (self.project.id, snippet_id)
            )
        return row is not None

    def insert_test_run(self, run: TestRunDraft) -> int:
        """Record one round of ``codegraph test`` for the project (one transaction). Returns the run's id."""
        with self.transaction():
            row = self._one(_INSERT_RUN, (self.project.id, *run.values()))
        assert row is not None
        return int(row[0])

    def select_test_runs(self, snippet_id: int) -> list[TestRun]:
        """The project's test runs of one snippet revision, oldest first (round 0, then the ``--fix`` rounds)."""
        rows = self._all(
            f"SELECT {TEST_RUN_COLUMNS} FROM test_runs WHERE project_id = %s AND snippet_id = %s ORDER BY id",
            (self.project.id, snippet_id),
        )
        return [test_run_from_row(r) for r in rows]
