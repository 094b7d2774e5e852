"""The index database: ``.codegraph/index.db`` at the repository root, one SQLite file.

Tables (see :mod:`codegraph.store.migrations`): ``files``, ``chunks``, ``embeddings`` (the content-hash cache:
one row per distinct embedded text per model), ``chunks_fts`` (FTS5, rowid = chunk id) and ``embeddings_vec``
(sqlite-vec ``vec0``, rowid = embedding id, cosine distance). Every write method runs in one transaction, so a
crash or Ctrl-C leaves the previous consistent state.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import IndexError_, IndexNotFoundError
from ..types import Chunk, SourceFile
from .fts import fts_query, fts_text
from .migrations import migrate
from .sqlite import connect

if TYPE_CHECKING:
    import numpy.typing as npt

BM25_WEIGHTS = (1.0, 4.0, 1.0)
"""FTS5 ``bm25()`` column weights for (path, symbol, body): a match in the symbol name counts 4x
(dev set: keyword MRR@10 0.372 -> 0.387, hybrid 0.446 -> 0.453 against weight 2)."""

SQL_IN_BATCH = 500
"""Values bound per ``IN (...)`` query (SQLite's default limit on bound variables is 999 before 3.32)."""

INDEX_DIR = ".codegraph"
INDEX_FILE = "index.db"


def find_index_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` that holds ``.codegraph/index.db`` (like git finds .git).

    Raises:
        IndexNotFoundError: none found; the message says to run ``codegraph index``.
    """
    here = start.resolve()
    for directory in (here, *here.parents):
        if (directory / INDEX_DIR / INDEX_FILE).is_file():
            return directory
    raise IndexNotFoundError(
        f"no codegraph index in {here} or any parent directory; build one with: codegraph index <repo root>"
    )


@dataclass(frozen=True, slots=True)
class FileRow:
    """What the index knows about a file."""

    id: int
    path: str
    size: int
    mtime_ns: int
    content_hash: str


@dataclass(frozen=True, slots=True)
class ChunkRow:
    """A stored chunk joined with its file."""

    id: int
    embedding_id: int
    path: str
    language: str
    kind: str
    symbol: str | None
    scope: str | None
    start_line: int
    end_line: int
    span_start: int
    span_end: int
    code: str


_CHUNK_COLUMNS = (
    "c.id, c.embedding_id, f.path, f.language, c.kind, c.symbol, c.scope, "
    "c.start_line, c.end_line, c.span_start, c.span_end, c.code"
)


class Store:
    """An open index database. Use :meth:`open` (or :func:`open_store`); close with :meth:`close`.

    Args:
        conn: a connection from :func:`codegraph.store.sqlite.connect`, already migrated.
        root: repository root the index belongs to.
    """

    def __init__(self, conn: Any, root: Path) -> None:
        self.conn = conn
        self.root = root

    @classmethod
    def open(cls, root: Path, *, create: bool = False) -> Store:
        """Open (or with ``create``, create) ``root/.codegraph/index.db`` and migrate it.

        Raises:
            IndexNotFoundError: no index and ``create`` is false.
            StoreError: SQLite / sqlite-vec could not be opened.
            IndexError_: schema newer than this codegraph.
        """
        db = root / INDEX_DIR / INDEX_FILE
        if not db.is_file():
            if not create:
                raise IndexNotFoundError(f"no index at {db}; build one with: codegraph index {root}")
            db.parent.mkdir(parents=True, exist_ok=True)
            gitignore = db.parent / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text("# created by codegraph: the index is a local cache\n*\n", encoding="utf-8")
        conn = connect(db)
        migrate(conn)
        return cls(conn, root)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception (KeyboardInterrupt included)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- meta ---------------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A value of the ``meta`` table, or ``None``."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, items: dict[str, str]) -> None:
        """Upsert ``meta`` values (caller holds a transaction or accepts autocommit)."""
        self.conn.executemany(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            list(items.items()),
        )

    def has_vectors(self) -> bool:
        """Whether the sqlite-vec table exists (it is created once the model is known)."""
        row = self.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'embeddings_vec'").fetchone()
        return row is not None

    def bind_model(self, model_id: str, dim: int, *, chunker_version: str = "", model_sha256: str = "") -> bool:
        """Record the model (and chunker) that fill this index; if others built it, empty the index first.

        Chunk boundaries and embedded text depend on the chunker version, and vectors on the model, so a
        change of either makes every stored chunk and embedding stale. ``model_sha256`` (the full hex sha256
        of ``model.onnx``; ``model_id`` holds only its first 16 digits) is recorded as ``meta.model_sha256``,
        also in an index built before it was recorded.

        Returns:
            True if the index was emptied because the model or the chunker version changed.
        """
        previous = (self.get_meta("model_id"), self.get_meta("chunker_version") or "")
        if previous == (model_id, chunker_version) and self.has_vectors():
            if model_sha256 and self.get_meta("model_sha256") != model_sha256:
                self.set_meta({"model_sha256": model_sha256})
            return False
        with self.transaction():
            for table in ("chunks_fts", "chunks", "files", "embeddings"):
                self.conn.execute(f"DELETE FROM {table}")
            self.conn.execute("DROP TABLE IF EXISTS embeddings_vec")
            self.conn.execute(
                f"CREATE VIRTUAL TABLE embeddings_vec USING vec0(embedding float[{dim}] distance_metric=cosine)"
            )
            self.set_meta(
                {
                    "model_id": model_id,
                    "dim": str(dim),
                    "chunker_version": chunker_version,
                    "model_sha256": model_sha256,
                    "created_at": f"{time.time():.3f}",
                }
            )
        return previous[0] is not None and previous != (model_id, chunker_version)

    # -- files ----------------------------------------------------------------------------------------------
    def file_rows(self, paths: Iterable[str] | None = None) -> dict[str, FileRow]:
        """Indexed files by path: all of them, or only those among ``paths``."""
        sql = "SELECT id, path, size, mtime_ns, content_hash FROM files"
        if paths is None:
            return {r[1]: FileRow(*r) for r in self.conn.execute(sql)}
        wanted = list(paths)
        out: dict[str, FileRow] = {}
        for start in range(0, len(wanted), SQL_IN_BATCH):
            part = wanted[start : start + SQL_IN_BATCH]
            rows = self.conn.execute(f"{sql} WHERE path IN ({','.join('?' * len(part))})", part)
            out.update((r[1], FileRow(*r)) for r in rows)
        return out

    def touch_files(self, updates: Sequence[tuple[int, int, int]]) -> None:
        """Record new ``(size, mtime_ns)`` for files whose content hash did not change: ``(id, size, mtime_ns)``."""
        with self.transaction():
            self.conn.executemany(
                "UPDATE files SET size = ?, mtime_ns = ? WHERE id = ?", [(s, m, i) for i, s, m in updates]
            )

    def remove_files(self, paths: Iterable[str]) -> int:
        """Drop files and their chunks. Returns how many files were removed."""
        paths = list(paths)
        with self.transaction():
            for path in paths:
                self._delete_file(path)
        return len(paths)

    def _delete_file(self, path: str) -> None:
        row = self.conn.execute("SELECT id FROM files WHERE path = ?", (path,)).fetchone()
        if row is None:
            return
        self.conn.execute("DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE file_id = ?)", row)
        self.conn.execute("DELETE FROM chunks WHERE file_id = ?", row)
        self.conn.execute("DELETE FROM files WHERE id = ?", row)

    def replace_files(self, items: Sequence[tuple[SourceFile, str, str, Sequence[Chunk], Sequence[int]]]) -> int:
        """Replace files' chunks in one transaction.

        Args:
            items: ``(file, language, content_hash, chunks, embedding_ids)`` with one embedding id (already
                stored by :meth:`add_embeddings`) per chunk.

        Returns:
            Number of chunks written.
        """
        written = 0
        now = time.time()
        with self.transaction():
            for file, language, content_hash, chunks, emb_ids in items:
                self._delete_file(file.path)
                cur = self.conn.execute(
                    "INSERT INTO files(path, language, size, mtime_ns, content_hash, indexed_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (file.path, language, file.size, file.mtime_ns, content_hash, now),
                )
                file_id = cur.lastrowid
                for chunk, emb_id in zip(chunks, emb_ids, strict=True):
                    cur = self.conn.execute(
                        "INSERT INTO chunks(file_id, embedding_id, kind, symbol, scope, start_line, end_line, "
                        "span_start, span_end, code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            file_id,
                            emb_id,
                            chunk.kind,
                            chunk.symbol,
                            chunk.scope,
                            chunk.start_line,
                            chunk.end_line,
                            chunk.span_start,
                            chunk.span_end,
                            chunk.code,
                        ),
                    )
                    self.conn.execute(
                        "INSERT INTO chunks_fts(rowid, path, symbol, body) VALUES (?, ?, ?, ?)",
                        (
                            cur.lastrowid,
                            fts_text(chunk.path),
                            fts_text(chunk.qualified_symbol or ""),
                            fts_text(chunk.code),
                        ),
                    )
                    written += 1
        return written

    # -- embeddings cache -------------------------------------------------------------------------------------
    def lookup_embeddings(self, keys: Sequence[bytes]) -> dict[bytes, int]:
        """Embedding ids of the cache keys already stored (missing keys are absent from the result)."""
        found: dict[bytes, int] = {}
        for start in range(0, len(keys), SQL_IN_BATCH):
            part = keys[start : start + SQL_IN_BATCH]
            marks = ",".join("?" * len(part))
            for key, emb_id in self.conn.execute(f"SELECT key, id FROM embeddings WHERE key IN ({marks})", part):
                found[bytes(key)] = int(emb_id)
        return found

    def add_embeddings(self, keys: Sequence[bytes], vectors: npt.NDArray[np.float32]) -> list[int]:
        """Store new embeddings (one transaction). ``vectors``: float32 ``(len(keys), dim)``. Returns their ids."""
        ids: list[int] = []
        with self.transaction():
            for key, vector in zip(keys, vectors, strict=True):
                cur = self.conn.execute("INSERT INTO embeddings(key) VALUES (?)", (key,))
                emb_id = int(cur.lastrowid)
                self.conn.execute(
                    "INSERT INTO embeddings_vec(rowid, embedding) VALUES (?, ?)",
                    (emb_id, np.ascontiguousarray(vector, dtype=np.float32).tobytes()),
                )
                ids.append(emb_id)
        return ids

    # -- search ---------------------------------------------------------------------------------------------
    def knn(self, vector: npt.NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest stored embeddings by cosine distance (sqlite-vec KNN).

        Returns:
            ``[(embedding_id, cosine_distance)]``, nearest first; distance in [0, 2].
        """
        if not self.has_vectors():
            return []
        rows = self.conn.execute(
            "SELECT rowid, distance FROM embeddings_vec WHERE embedding MATCH ? AND k = ? ORDER BY distance",
            (np.ascontiguousarray(vector, dtype=np.float32).tobytes(), k),
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def cosine_scan(self, vector: npt.NDArray[np.float32]) -> list[tuple[int, float]]:
        """Cosine distance from ``vector`` to every chunk's embedding, computed inside SQLite (no KNN index).

        The fallback when filtered results do not fit in sqlite-vec's largest KNN ``k``.

        Returns:
            ``[(chunk_id, cosine_distance)]`` in no particular order.
        """
        rows = self.conn.execute(
            "SELECT c.id, vec_distance_cosine(v.embedding, ?) FROM chunks c "
            "JOIN embeddings_vec v ON v.rowid = c.embedding_id",
            (np.ascontiguousarray(vector, dtype=np.float32).tobytes(),),
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def bm25(self, query: str, k: int) -> list[tuple[int, float]]:
        """Best ``k`` chunks for a keyword query by FTS5 BM25 over path, symbol and identifier-split code.

        Returns:
            ``[(chunk_id, score)]``, best first; ``score`` is the negated FTS5 ``bm25()`` (higher is better).
        """
        expression = fts_query(query)
        if expression is None:
            return []
        rows = self.conn.execute(
            "SELECT rowid, bm25(chunks_fts, ?, ?, ?) AS rank FROM chunks_fts WHERE chunks_fts MATCH ? "
            "ORDER BY rank LIMIT ?",
            (*BM25_WEIGHTS, expression, k),
        )
        return [(int(r[0]), -float(r[1])) for r in rows]

    def _chunk_rows(self, column: str, values: Sequence[int]) -> Iterator[ChunkRow]:
        """Chunks whose ``column`` (``id`` or ``embedding_id``) is in ``values``, :data:`SQL_IN_BATCH` per query."""
        for start in range(0, len(values), SQL_IN_BATCH):
            part = list(values[start : start + SQL_IN_BATCH])
            marks = ",".join("?" * len(part))
            sql = (
                f"SELECT {_CHUNK_COLUMNS} FROM chunks c JOIN files f ON f.id = c.file_id WHERE c.{column} IN ({marks})"
            )
            for row in self.conn.execute(sql, part):
                yield ChunkRow(*row)

    def chunks_by_embedding(self, embedding_ids: Sequence[int]) -> dict[int, list[ChunkRow]]:
        """Chunks that use each embedding id (identical text in several places shares one embedding)."""
        out: dict[int, list[ChunkRow]] = {}
        for chunk in self._chunk_rows("embedding_id", embedding_ids):
            out.setdefault(chunk.embedding_id, []).append(chunk)
        return out

    def find_definitions(self, name: str, *, scope: str | None = None, limit: int = 50) -> list[ChunkRow]:
        """Chunks that define ``name`` (function, method or class chunks whose symbol is ``name``), exact-case
        matches first, then case-insensitive ones; with ``scope``, only those whose scope is ``scope`` or ends
        with ``.scope``.

        Returns:
            Up to ``limit`` chunks, exact-case matches first, then by path and line.
        """
        sql = (
            f"SELECT {_CHUNK_COLUMNS} FROM chunks c JOIN files f ON f.id = c.file_id "
            "WHERE c.symbol = ? COLLATE NOCASE AND c.kind IN ('function', 'method', 'class') "
        )
        params: list[object] = [name]
        if scope is not None:
            sql += "AND (c.scope = ? OR c.scope LIKE ?) "
            params += [scope, f"%.{scope}"]
        sql += "ORDER BY c.symbol != ?, f.path, c.start_line LIMIT ?"
        params += [name, limit]
        return [ChunkRow(*row) for row in self.conn.execute(sql, params)]

    def chunks_by_id(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Chunks by id."""
        return {chunk.id: chunk for chunk in self._chunk_rows("id", chunk_ids)}

    def count(self, table: str) -> int:
        """Rows in ``files``, ``chunks`` or ``embeddings``."""
        if table not in ("files", "chunks", "embeddings"):
            raise ValueError(table)
        return int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def check_integrity(self) -> str:
        """``PRAGMA integrity_check`` result (``"ok"`` when healthy)."""
        return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])


def require_model_match(store: Store, model_id: str) -> None:
    """Raise if the index was built with another model than ``model_id``.

    Raises:
        IndexError_: with the fix (re-index, or search with the index's model).
    """
    built_with = store.get_meta("model_id")
    if built_with is not None and built_with != model_id:
        raise IndexError_(
            f"the index was built with model {built_with}, not {model_id}; re-index with: codegraph index"
        )
