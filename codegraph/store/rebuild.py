"""``codegraph index --rebuild``: start the index afresh while keeping the stored snippets and test runs.

SQLite (:func:`fresh_sqlite_index`): the rows of ``snippets`` and ``test_runs`` that can still be read are
salvaged from ``.codegraph/index.db`` (a whole-table read first; where that fails, row by row up to the largest
id, counting the rows whose read fails), written with their ids and parent links into a new file
``index.db.rebuild``, and only then is the old file moved aside and the new one renamed into its place. The old
file is deleted when every row was read; otherwise it is kept as ``index.db.damaged-<unix time>`` (with its
``-wal``) for a manual recovery (``sqlite3 index.db.damaged-... .recover``), and the report says where. The
caller then runs a full index into the new file.

Crash safety (the caller holds the writer lock): until the rename the old file is untouched and a leftover
``index.db.rebuild`` is discarded by the next run; after it the new file holds the snippets and is a valid
(empty or partly built) index that ``codegraph index`` completes. The only window without ``index.db`` lies
between two renames; the next ``--rebuild`` finishes that swap (:func:`_finish_swap`).

PostgreSQL (:func:`empty_project`): the project's files, chunks and graph rows are deleted (snippets and test
runs are rows of the project and stay); the shared content-hash embedding cache stays too, so re-indexing
re-chunks every file but embeds only texts the cache lacks.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .migrations import migrate
from .snippets import SNIPPET_FIELDS, TEST_RUN_FIELDS
from .sqlite import connect, sqlite_module
from .store import INDEX_DIR, INDEX_FILE

if TYPE_CHECKING:
    from .base import IndexStore

REBUILD_SUFFIX = ".rebuild"
"""The new file is written as ``index.db.rebuild`` and renamed to ``index.db`` once it holds the snippets."""

DAMAGED_SUFFIX = ".damaged-"
"""An old file kept after a rebuild that could not read all of it: ``index.db.damaged-<unix seconds>``."""

MAX_PROBED_IDS = 1_000_000
"""Largest id probed one by one when a table cannot be read whole (a damaged b-tree)."""


@dataclass
class RebuildReport:
    """What ``index --rebuild`` kept and lost.

    Attributes:
        backend: ``"sqlite"`` or ``"postgresql"``.
        snippets_kept: snippet revisions now in the new index.
        snippets_lost: revisions that could not be read (``None``: unknown, the table itself is unreadable).
        test_runs_kept: test runs now in the new index (``None`` on PostgreSQL: not counted, they stay).
        test_runs_lost: as ``snippets_lost``, for test runs.
        damage: the first error met while reading the old file (``None``: it read cleanly).
        old_copy: where the old file was kept (``None``: deleted, nothing was lost, or PostgreSQL).
        files_cleared: indexed files emptied before re-indexing (PostgreSQL; SQLite: files of the old index
            when readable, else 0).
    """

    backend: str
    snippets_kept: int = 0
    snippets_lost: int | None = 0
    test_runs_kept: int | None = 0
    test_runs_lost: int | None = 0
    damage: str | None = None
    old_copy: str | None = None
    files_cleared: int = 0

    @property
    def lost_any(self) -> bool:
        """Whether any snippet or test run is (or may be) lost."""
        return self.snippets_lost != 0 or self.test_runs_lost != 0

    def to_json(self) -> dict[str, Any]:
        """The report as ``index --rebuild --json`` prints it under ``"rebuild"``."""
        return asdict(self)


@dataclass
class _Salvage:
    rows: list[tuple[Any, ...]]
    lost: int | None
    error: str | None


def _read_table(conn: Any, table: str, columns: tuple[str, ...], errors: tuple[type[BaseException], ...]) -> _Salvage:
    """The rows ``(id, *columns)`` of ``table`` that can be read; ``lost`` counts ids whose read failed."""
    select = f"SELECT id, {', '.join(columns)} FROM {table}"
    try:
        return _Salvage([tuple(r) for r in conn.execute(select + " ORDER BY id")], 0, None)
    except errors as exc:
        first = str(exc)
        if "no such table" in first:  # an empty file, or a file that never got this far: nothing to keep
            return _Salvage([], 0, None)
    try:  # row by row: a damaged page loses the rows on it, not the rest of the table
        top = conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0
    except errors:
        return _Salvage([], None, first)
    rows: list[tuple[Any, ...]] = []
    lost = 0
    for row_id in range(1, min(int(top), MAX_PROBED_IDS) + 1):
        try:
            row = conn.execute(select + " WHERE id = ?", (row_id,)).fetchone()
        except errors:
            lost += 1
            continue
        if row is not None:
            rows.append(tuple(row))
    return _Salvage(rows, lost, first)


def _salvage(db: Path, report: RebuildReport) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Read what can be read of the old file's snippets and test runs (and count its files)."""
    module = sqlite_module()
    errors = (module.Error,)
    try:
        # No sqlite-vec and no pragmas: only plain tables are read (SQLite may checkpoint the file's own WAL into
        # it when this last connection closes, as any reader's would).
        conn = module.connect(str(db), isolation_level=None)
    except errors as exc:
        report.snippets_lost = report.test_runs_lost = None
        report.damage = str(exc)
        return [], []
    try:
        snippets = _read_table(conn, "snippets", SNIPPET_FIELDS, errors)
        runs = _read_table(conn, "test_runs", TEST_RUN_FIELDS, errors)
        try:
            report.files_cleared = int(conn.execute("SELECT count(*) FROM files").fetchone()[0])
        except errors as exc:
            report.damage = report.damage or str(exc)
    finally:
        try:
            conn.close()
        except errors:
            pass
    report.snippets_lost, report.test_runs_lost = snippets.lost, runs.lost
    report.damage = snippets.error or runs.error or report.damage
    return snippets.rows, runs.rows


def _unlinked(row: tuple[Any, ...], column: int, kept: set[Any]) -> tuple[Any, ...]:
    """``row`` with its link in ``column`` set to ``NULL`` when the row it names was not kept."""
    if row[column] is None or row[column] in kept:
        return row
    return (*row[:column], None, *row[column + 1 :])


def _write_salvage(path: Path, snippets: list[tuple[Any, ...]], runs: list[tuple[Any, ...]]) -> tuple[int, int]:
    """Create a fresh index file at ``path`` holding ``snippets`` and ``runs`` with their ids; links to rows
    that were lost become ``NULL`` (as deleting the row would have made them). Returns the counts written."""
    kept = {r[0] for r in snippets}
    parent = 1 + SNIPPET_FIELDS.index("parent_id")
    owner = 1 + TEST_RUN_FIELDS.index("snippet_id")
    snippets = [_unlinked(r, parent, kept) for r in snippets]
    runs = [_unlinked(r, owner, kept) for r in runs]
    conn = connect(path)
    try:
        migrate(conn)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("PRAGMA defer_foreign_keys = ON")  # a parent may follow its child in id order
        marks = ", ".join("?" * (1 + len(SNIPPET_FIELDS)))
        conn.executemany(f"INSERT INTO snippets(id, {', '.join(SNIPPET_FIELDS)}) VALUES ({marks})", snippets)
        marks = ", ".join("?" * (1 + len(TEST_RUN_FIELDS)))
        conn.executemany(f"INSERT INTO test_runs(id, {', '.join(TEST_RUN_FIELDS)}) VALUES ({marks})", runs)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file before it is renamed
    finally:
        conn.close()
    _fsync(path)
    return len(snippets), len(runs)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sidecars(db: Path) -> tuple[Path, Path]:
    return db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")


def _finish_swap(index_dir: Path) -> None:
    """Complete a swap that a killed rebuild left half done: no ``index.db`` but a finished ``index.db.rebuild``
    (the old file already moved aside). A WAL left beside the missing file is the old file's: it joins the
    newest kept copy, or is removed when that copy was deleted."""
    db = index_dir / INDEX_FILE
    new = index_dir / (INDEX_FILE + REBUILD_SUFFIX)
    if db.exists() or not new.exists():
        return
    wal, shm = _sidecars(db)
    kept = sorted(index_dir.glob(INDEX_FILE + DAMAGED_SUFFIX + "*[0-9]"))
    if wal.exists():
        if kept and not _sidecars(kept[-1])[0].exists():
            os.replace(wal, _sidecars(kept[-1])[0])
        else:
            wal.unlink()
    shm.unlink(missing_ok=True)
    os.replace(new, db)


def fresh_sqlite_index(root: Path) -> RebuildReport:
    """Replace ``root/.codegraph/index.db`` with an empty index that holds the old file's readable snippets and
    test runs (see the module docstring). The caller holds the writer lock and indexes afterwards.

    Returns:
        What was kept and lost (:class:`RebuildReport`).

    Raises:
        StoreError: the new file cannot be written (a full or read-only disk: the old file is untouched).
        OSError: a rename failed (the old file is untouched, or already moved aside as ``old_copy``).
    """
    index_dir = root / INDEX_DIR
    index_dir.mkdir(parents=True, exist_ok=True)
    _finish_swap(index_dir)
    db = index_dir / INDEX_FILE
    new = index_dir / (INDEX_FILE + REBUILD_SUFFIX)
    for leftover in (new, *_sidecars(new)):  # an unfinished earlier attempt: the old file is still in place
        leftover.unlink(missing_ok=True)
    report = RebuildReport("sqlite")
    snippets, runs = _salvage(db, report) if db.exists() else ([], [])
    report.snippets_kept, report.test_runs_kept = _write_salvage(new, snippets, runs)
    if db.exists():
        stamp = int(time.time())
        while (index_dir / f"{INDEX_FILE}{DAMAGED_SUFFIX}{stamp}").exists():
            stamp += 1
        aside = index_dir / f"{INDEX_FILE}{DAMAGED_SUFFIX}{stamp}"
        wal, shm = _sidecars(db)
        os.replace(db, aside)
        if wal.exists():
            os.replace(wal, _sidecars(aside)[0])
        shm.unlink(missing_ok=True)
        os.replace(new, db)
        _fsync(index_dir)
        if report.lost_any:
            report.old_copy = str(aside)
        else:
            for path in (aside, *_sidecars(aside)):
                path.unlink(missing_ok=True)
    else:
        os.replace(new, db)
        _fsync(index_dir)
    return report


def empty_project(store: IndexStore) -> RebuildReport:
    """Delete every indexed file of a PostgreSQL project (chunks and graph rows go with them); its snippets,
    test runs and the shared embedding cache stay. The caller holds the project's writer lock."""
    files = list(store.file_rows())
    store.remove_files(files)
    kept = len(store.select_snippets())
    return RebuildReport("postgresql", snippets_kept=kept, test_runs_kept=None, files_cleared=len(files))
