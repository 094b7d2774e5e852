"""The index database: ``.codegraph/index.db`` at the repository root, one SQLite file.

Tables (see :mod:`codegraph.store.migrations`): ``files``, ``chunks``, ``embeddings`` (the content-hash cache:
one row per distinct embedded text per model), ``chunks_fts`` (FTS5, rowid = chunk id) and ``embeddings_vec``
(sqlite-vec ``vec0``, rowid = embedding id, cosine distance). Every write method runs in one transaction, so a
crash or Ctrl-C leaves the previous consistent state.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, IndexNotFoundError, IndexUnusableError, StoreError
from ..types import Chunk, SourceFile
from .fts import KEYWORD_CANDIDATES, MARK_CLOSE, MARK_OPEN, fts_query, fts_terms, fts_text, rescore_keywords
from .lock import Writer, current_writer
from .migrations import MIGRATIONS, migrate, reset_vector_table
from .sqlite import connect
from .sqlite_graph import SqliteGraph, delete_file_graph, insert_file_graph
from .sqlite_snippets import SqliteSnippets
from .vectors import (
    PCA_SAMPLE,
    RESCORE_FACTOR,
    RESCORE_MIN_CANDIDATES,
    VectorCodec,
    can_convert,
    check_format,
    fit_codec,
    is_pending,
    rescore,
    sign_bits,
    wanted_layout,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ..graph.extract import FileGraph

BM25_WEIGHTS = (1.0, 4.0, 1.0)
"""FTS5 ``bm25()`` column weights for (path, symbol, body): a match in the symbol name counts 4x
(dev set: keyword MRR@10 0.372 -> 0.387, hybrid 0.446 -> 0.453 against weight 2)."""

SQL_IN_BATCH = 500
"""Values bound per ``IN (...)`` query (SQLite's default limit on bound variables is 999 before 3.32)."""

MAX_KNN_K = 4096
"""sqlite-vec's largest ``k`` for one KNN query."""

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


def read_only_mode(db: Path) -> str | None:
    """How a reader opens ``db`` when it may not write it: ``None`` when the file and its directory are
    writable (the normal read-write connection), else ``"ro"`` or ``"immutable"``.

    The index is in WAL mode, where even a reader writes: it takes its read lock in ``index.db-shm`` (created
    beside the file) and may run recovery on ``index.db-wal``. SQLite 3.22+ opens a read-only WAL database
    ("Read-Only Databases", https://www.sqlite.org/wal.html) when the -shm and -wal files already exist or can
    be created, or when the database is opened ``immutable``. So:

    * the directory is writable (only the file is not): ``"ro"`` (``?mode=ro``); SQLite creates -shm and reads
      the WAL, and sees a writer's commits as usual;
    * the directory is read-only but -wal and -shm exist: ``"ro"`` as well (SQLite reads them read-only);
    * the directory is read-only and there is no WAL content (the last writer closed cleanly, which checkpoints
      the WAL into the file and deletes it): ``"immutable"`` (``?immutable=1``), the only way SQLite reads it
      then. Immutable means no locks at all: SQLite trusts that nobody changes the file while it reads, which
      holds for a read-only mount or a restored cache, but not where another user can still write the file
      (that reader could see a half-written page and report the file as malformed; it never damages it).
      Hence it is chosen only when nothing else can open the file.

    Raises:
        StoreError: the directory is read-only and ``index.db-wal`` holds commits but no ``index.db-shm``
            exists: reading without the WAL would silently miss them.
    """
    directory = db.parent
    if os.access(directory, os.W_OK) and os.access(db, os.W_OK):
        return None
    if os.access(directory, os.W_OK):
        return "ro"
    wal = db.with_name(db.name + "-wal")
    shm = db.with_name(db.name + "-shm")
    if wal.exists() and shm.exists():
        return "ro"
    if wal.exists() and wal.stat().st_size > 0:
        raise StoreError(
            f"{wal} holds commits that cannot be read while {directory} is read-only (no {shm.name}); make the "
            "directory writable once (any codegraph command there folds the log into the index)"
        )
    return "immutable"


def _check_schema_read_only(conn: Any, db: Path) -> None:
    """What :func:`migrate` would refuse or need, without writing: the schema must be this codegraph's."""
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if current > len(MIGRATIONS):
        raise IndexUnusableError(
            f"index schema version {current} is newer than this codegraph supports ({len(MIGRATIONS)}); "
            "upgrade codegraph"
        )
    if current < len(MIGRATIONS):
        raise StoreError(
            f"{db} was written by an older codegraph and must be upgraded, which needs write access to "
            f"{db.parent}: run codegraph index there once it is writable"
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
class ChunkRow(Chunk):
    """A stored chunk joined with its file: a :class:`~codegraph.types.Chunk` with its row ids.

    Attributes:
        id: the chunk's row id.
        embedding_id: row id of its embedding (chunks with identical text share one).
        project: the project the chunk belongs to, set only when a store reads several projects at once
            (``search --all`` on a PostgreSQL store); ``None`` otherwise.
    """

    id: int
    embedding_id: int
    project: str | None = None


def _blob(vector: npt.NDArray[np.float32]) -> bytes:
    """A vector as sqlite-vec's float32 blob (numpy is imported here, not at module import: the graph commands
    open the store without ever touching a vector)."""
    import numpy as np

    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def _sample(rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """At most :data:`PCA_SAMPLE` rows, evenly spaced (what the PCA and the int8 scale are fitted on)."""
    step = max(1, -(-len(rows) // PCA_SAMPLE))
    return rows[::step]


def _check_vector_setting(dim: int, vectors: str, vector_dims: int | None) -> None:
    """Raise :class:`ConfigError` for a PCA width the model's vectors cannot be reduced to."""
    from ..config import VECTOR_SETTINGS

    if vectors not in VECTOR_SETTINGS:
        raise ConfigError(f"vectors must be one of {', '.join(VECTOR_SETTINGS)}, got {vectors!r}")
    if vectors == "half":
        raise ConfigError(
            "vectors = half (float16) exists on a PostgreSQL store only (pgvector halfvec); the SQLite file's "
            "compact formats are int8 (0.27x the float table, recall@10 0.98) and binary: use --vectors int8"
        )
    width = vector_dims or dim
    if vector_dims is not None and not 0 < vector_dims < dim:
        raise ConfigError(f"vector_dims must be below the model's width {dim}, got {vector_dims}; unset it to keep all")
    if vectors == "binary" and width % 8:
        raise ConfigError(f"binary vectors need a width that is a multiple of 8, got {width}; set vector_dims")


@dataclass(frozen=True, slots=True)
class RowFilter:
    """Which chunks a query may return, applied inside SQL.

    Attributes:
        languages: only files of these language ids (``None``: all).
        path_ok: only paths for which this returns true (``None``: all); called by SQLite per candidate file
            path, as the SQL function ``codegraph_path_ok``.
    """

    languages: frozenset[str] | None = None
    path_ok: Callable[[str], bool] | None = None

    def sql(self) -> tuple[str, list[Any]]:
        """``(" AND ...", params)`` to append to a WHERE clause over ``files f``; ``("", [])`` when inactive."""
        clause, params = "", []
        if self.languages:
            clause += f" AND f.language IN ({','.join('?' * len(self.languages))})"
            params += sorted(self.languages)
        if self.path_ok is not None:
            clause += " AND codegraph_path_ok(f.path)"
        return clause, params


_CHUNK_COLUMNS = (
    "f.path, f.language, c.kind, c.symbol, c.scope, c.start_line, c.end_line, c.span_start, c.span_end, c.code, "
    "c.id, c.embedding_id"
)
"""The columns of a :class:`ChunkRow`, in its field order."""


def _file_identity(path: Path) -> tuple[int, int] | None:
    """``(st_dev, st_ino)`` of ``path``, or ``None`` when it does not exist."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


class Store(SqliteGraph, SqliteSnippets):
    """An open index database, the SQLite implementation of :class:`~codegraph.store.base.IndexStore`. Use
    :meth:`open` (or :func:`codegraph.store.open_store`); close with :meth:`close`.

    Args:
        conn: a connection from :func:`codegraph.store.sqlite.connect`, already migrated.
        root: repository root the index belongs to.
    """

    backend = "sqlite"

    def __init__(
        self,
        conn: Any,
        root: Path,
        *,
        read_only: str | None = None,
        identity: tuple[int, int] | None = None,
    ) -> None:
        self.conn = conn
        self.root = root
        self.read_only = read_only
        """``None`` (read-write), or how the file was opened without writing it: ``"ro"`` or ``"immutable"``
        (:func:`read_only_mode`)."""
        self._identity = identity if identity is not None else _file_identity(root / INDEX_DIR / INDEX_FILE)
        self._codec: VectorCodec | None = None

    @classmethod
    def open(cls, root: Path, *, create: bool = False, any_thread: bool = False, read_only_ok: bool = False) -> Store:
        """Open (or with ``create``, create) ``root/.codegraph/index.db`` and migrate it.

        ``any_thread``: the connection may be used from any thread (callers serialise; see
        :func:`codegraph.store.sqlite.connect`). ``read_only_ok`` (readers: search, status, the graph commands):
        where the file or its directory is not writable, open it read-only (:func:`read_only_mode`; the
        store's :attr:`read_only` says how) instead of failing.

        Raises:
            IndexNotFoundError: no index and ``create`` is false.
            StoreError: SQLite / sqlite-vec could not be opened; read-only: the schema needs a migration, or
                commits in ``index.db-wal`` cannot be read.
            IndexUnusableError: schema newer than this codegraph.
        """
        db = root / INDEX_DIR / INDEX_FILE
        if not db.is_file():
            if not create:
                raise IndexNotFoundError(f"no index at {db}; build one with: codegraph index {root}")
            db.parent.mkdir(parents=True, exist_ok=True)
            gitignore = db.parent / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text("# created by codegraph: the index is a local cache\n*\n", encoding="utf-8")
        mode = read_only_mode(db) if read_only_ok and not create else None
        identity = _file_identity(db)  # before connecting: a file swapped in between reads as replaced, not missed
        conn = connect(db, any_thread=any_thread, read_only=mode)
        if mode is None:
            migrate(conn)
        else:
            _check_schema_read_only(conn, db)
        return cls(conn, root, read_only=mode, identity=identity)

    def reopen(self, *, any_thread: bool = False) -> Store:
        """Another connection to this index file (for another thread, e.g. a ``serve`` job)."""
        return Store.open(self.root, any_thread=any_thread, read_only_ok=self.read_only is not None)

    def replaced(self) -> bool:
        """Whether ``index.db`` is now another file than the one this connection opened (``index --rebuild``
        swaps a new file in; a deleted and rebuilt index is another file too): compares device and inode. A
        missing file is not "replaced" (nothing to reopen yet)."""
        now = _file_identity(self.root / INDEX_DIR / INDEX_FILE)
        return now is not None and now != self._identity

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception (KeyboardInterrupt included).

        SQLite itself rolls back on some errors (a full disk, an I/O error); the original error then propagates
        rather than a failed ``ROLLBACK``.
        """
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _select_in(self, sql: str, values: Sequence[Any], params: Sequence[Any] = ()) -> Iterator[Any]:
        """Rows of ``sql`` whose ``{marks}`` placeholder is an ``IN`` list over ``values``, bound
        :data:`SQL_IN_BATCH` at a time (``params`` follow the list)."""
        for start in range(0, len(values), SQL_IN_BATCH):
            part = list(values[start : start + SQL_IN_BATCH])
            yield from self.conn.execute(sql.format(marks=",".join("?" * len(part))), [*part, *params])

    def _where(self, where: RowFilter | None) -> tuple[str, list[Any]]:
        """The filter's SQL, with its path predicate registered on the connection."""
        if where is None:
            return "", []
        if where.path_ok is not None:
            predicate = where.path_ok
            self.conn.create_function("codegraph_path_ok", 1, lambda path: 1 if predicate(path) else 0)
        return where.sql()

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

    def bind_model(
        self,
        model_id: str,
        dim: int,
        *,
        chunker_version: str = "",
        model_sha256: str = "",
        vectors: str = "float",
        vector_dims: int | None = None,
    ) -> bool:
        """Record the model (and chunker) that fill this index, and how it stores vectors; if others built it, or
        its vectors cannot become the requested representation without the model, empty the index first.

        Chunk boundaries and embedded text depend on the chunker version, and vectors on the model, so a
        change of either makes every stored chunk and embedding stale. ``model_sha256`` (the full hex sha256
        of ``model.onnx``; ``model_id`` holds only its first 16 digits) is recorded as ``meta.model_sha256``,
        also in an index built before it was recorded. ``vectors`` (one of
        :data:`~codegraph.config.VECTOR_SETTINGS`) and ``vector_dims`` (PCA width, ``None``: the model's) are
        recorded as ``meta.vectors`` / ``meta.vector_dims``; the conversion itself happens in
        :meth:`settle_vectors` (see :mod:`codegraph.store.vectors`).

        Returns:
            True if the index was emptied because the model, the chunker version or an unconvertible vector
            representation changed.

        Raises:
            ConfigError: ``vector_dims`` is not below ``dim``, or a binary width is not a multiple of 8.
        """
        _check_vector_setting(dim, vectors, vector_dims)
        previous = (self.get_meta("model_id"), self.get_meta("chunker_version") or "")
        same_model = previous == (model_id, chunker_version) and self.has_vectors()
        convertible = not same_model or self._vectors_convertible(vectors, vector_dims)
        if same_model and convertible:
            if model_sha256 and self.get_meta("model_sha256") != model_sha256:
                self.set_meta({"model_sha256": model_sha256})
            self._record_vector_setting(vectors, vector_dims)
            return False
        with self.transaction():
            for table in ("chunks_fts", "chunks", "files", "embeddings"):
                self.conn.execute(f"DELETE FROM {table}")
            self._write_vectors(VectorCodec("float", dim), [], [])
            self.set_meta(
                {
                    "model_id": model_id,
                    "dim": str(dim),
                    "chunker_version": chunker_version,
                    "model_sha256": model_sha256,
                    "created_at": f"{time.time():.3f}",
                }
            )
            self._record_vector_setting(vectors, vector_dims)
        return previous[0] is not None and (previous != (model_id, chunker_version) or not convertible)

    # -- vector representation (codegraph.store.vectors) ---------------------------------------------------------
    def _record_vector_setting(self, vectors: str, vector_dims: int | None) -> None:
        if (self.get_meta("vectors"), self.get_meta("vector_dims")) != (vectors, str(vector_dims or "")):
            self.set_meta({"vectors": vectors, "vector_dims": str(vector_dims or "")})

    def _vectors_convertible(self, vectors: str, vector_dims: int | None) -> bool:
        """Whether the stored vectors can become what ``vectors`` / ``vector_dims`` ask for without the model."""
        codec = self.vector_codec()
        count = self.count("embeddings")
        wanted = wanted_layout(vectors, vector_dims, current=codec.layout, count=count, width=codec.width)
        return can_convert(codec.layout, wanted)

    def vector_codec(self) -> VectorCodec:
        """The representation of the stored vectors (read from ``meta`` and ``vector_params``; cached while
        ``meta.vector_codec`` is unchanged, so a conversion by another process is seen at the next query)."""
        described = self.get_meta("vector_codec")
        if self._codec is not None and self._codec.describe() == described:
            return self._codec
        self._codec = self._read_codec()
        return self._codec

    def _read_codec(self) -> VectorCodec:
        import numpy as np

        fmt = self.get_meta("vector_format") or "float"  # an index from before vector formats: float32
        width = int(self.get_meta("vector_width") or self.get_meta("dim") or 0)
        scale = float(self.get_meta("vector_scale") or 0.0)
        params = dict(self.conn.execute("SELECT name, value FROM vector_params"))
        if "pca_components" not in params:
            return VectorCodec(check_format(fmt), width, scale)
        components = np.frombuffer(params["pca_components"], dtype=np.float32).reshape(-1, width)
        return VectorCodec(check_format(fmt), width, scale, components)

    def _write_vectors(self, codec: VectorCodec, ids: Sequence[int], projected: npt.NDArray[Any] | list[Any]) -> None:
        """Re-create ``embeddings_vec`` for ``codec`` and fill it with ``projected`` rows (float32, or int8 for
        int8 / binary) under ``ids``; record the codec (caller holds a transaction)."""
        reset_vector_table(self.conn, codec.width, vector_format=codec.format)
        if codec.components is not None:
            self.conn.execute(
                "INSERT INTO vector_params(name, value) VALUES ('pca_components', ?)", (codec.components.tobytes(),)
            )
        self.set_meta(
            {
                "vector_format": codec.format,
                "vector_width": str(codec.width),
                "vector_scale": repr(codec.scale),
                "vector_codec": codec.describe(),
            }
        )
        self._codec = codec
        for start in range(0, len(ids), 1024):
            part = projected[start : start + 1024]
            self._insert_vectors(codec, ids[start : start + 1024], part)

    def _insert_vectors(self, codec: VectorCodec, ids: Sequence[int], rows: Any) -> None:
        """Insert encoded rows: float32 ``(n, width)`` for float, int8 ``(n, width)`` for int8 and binary."""
        params: list[tuple[Any, ...]]
        if codec.format == "float":
            sql = "INSERT INTO embeddings_vec(rowid, embedding) VALUES (?, ?)"
            params = [(i, _blob(r)) for i, r in zip(ids, rows, strict=True)]
        elif codec.format == "int8":
            sql = "INSERT INTO embeddings_vec(rowid, embedding) VALUES (?, vec_int8(?))"
            params = [(i, r.tobytes()) for i, r in zip(ids, rows, strict=True)]
        else:
            bits = sign_bits(rows)
            sql = "INSERT INTO embeddings_vec(rowid, embedding, rescore) VALUES (?, vec_bit(?), ?)"
            params = [(i, b.tobytes(), r.tobytes()) for i, b, r in zip(ids, bits, rows, strict=True)]
        self.conn.executemany(sql, params)

    def _read_vectors(self, codec: VectorCodec) -> tuple[list[int], npt.NDArray[Any]]:
        """Every stored vector: ``(ids, rows)``, rows float32 ``(n, width)`` for float, int8 for int8 / binary."""
        import numpy as np

        column = "rescore" if codec.format == "binary" else "embedding"
        dtype = np.float32 if codec.format == "float" else np.int8
        ids: list[int] = []
        blobs: list[bytes] = []
        for rowid, blob in self.conn.execute(f"SELECT rowid, {column} FROM embeddings_vec ORDER BY rowid"):
            ids.append(int(rowid))
            blobs.append(blob)
        rows = np.frombuffer(b"".join(blobs), dtype=dtype).reshape(len(ids), codec.width)
        return ids, rows

    def settle_vectors(self) -> bool:
        """Bring the stored vectors to the representation ``meta.vectors`` / ``meta.vector_dims`` ask for, if they
        are not there yet and can be converted (see :mod:`codegraph.store.vectors`): fit the PCA and the int8
        scale on the stored vectors and rewrite the vector table, in one transaction. Called at the end of each
        index run; cheap when there is nothing to do.

        Returns:
            True if the vectors were converted.
        """
        vectors = self.get_meta("vectors") or "float"
        dims = int(self.get_meta("vector_dims") or 0) or None
        codec = self.vector_codec()
        count = self.count("embeddings")
        wanted = wanted_layout(vectors, dims, current=codec.layout, count=count, width=dims or codec.width)
        if wanted == codec.layout or is_pending(codec.layout, wanted, count) or not can_convert(codec.layout, wanted):
            return False
        with self.transaction():
            ids, rows = self._read_vectors(codec)
            if codec.format != "float":  # int8 <-> binary: the same int8 vectors, scale and projection
                new = VectorCodec(wanted.format, codec.width, codec.scale, codec.components)
            else:
                projected = codec.components is not None  # float already reduced: only quantise
                new = fit_codec(wanted, _sample(rows), base=codec if projected else None)
                rows = rows if projected else new.project(rows)
                rows = rows if new.format == "float" else new.quantize(rows)
            self._write_vectors(new, ids, rows)
        return True

    def vector_bytes(self) -> int:
        """Bytes of the vector table on disk (the ``vec0`` table's shadow tables and their indexes, from
        ``dbstat``)."""
        row = self.conn.execute(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'embeddings\\_vec\\_%' ESCAPE '\\' "
            "OR name LIKE 'sqlite_autoindex_embeddings\\_vec\\_%' ESCAPE '\\'"
        ).fetchone()
        return int(row[0])

    # -- files ----------------------------------------------------------------------------------------------
    def file_rows(self, paths: Iterable[str] | None = None) -> dict[str, FileRow]:
        """Indexed files by path: all of them, or only those among ``paths``."""
        sql = "SELECT id, path, size, mtime_ns, content_hash FROM files"
        if paths is None:
            return {r[1]: FileRow(*r) for r in self.conn.execute(sql)}
        return {r[1]: FileRow(*r) for r in self._select_in(sql + " WHERE path IN ({marks})", list(paths))}

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

    def replace_files(
        self, items: Sequence[tuple[SourceFile, str, str, Sequence[Chunk], Sequence[int], FileGraph | None]]
    ) -> int:
        """Replace files' chunks and code graphs in one transaction.

        Args:
            items: ``(file, language, content_hash, chunks, embedding_ids, graph)`` with one embedding id
                (already stored by :meth:`add_embeddings`) per chunk; ``graph`` ``None`` for files without a
                grammar.

        Returns:
            Number of chunks written.
        """
        written = 0
        now = time.time()
        with self.transaction():
            for file, language, content_hash, chunks, emb_ids, graph in items:
                self._delete_file(file.path)
                cur = self.conn.execute(
                    "INSERT INTO files(path, language, size, mtime_ns, content_hash, indexed_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (file.path, language, file.size, file.mtime_ns, content_hash, now),
                )
                file_id = int(cur.lastrowid)
                if graph is not None:
                    insert_file_graph(self.conn, file_id, graph)
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

    def replace_graphs(self, items: Sequence[tuple[str, FileGraph]]) -> None:
        """Replace the code graphs of indexed files (by path; unknown paths are skipped), one transaction."""
        with self.transaction():
            for path, graph in items:
                row = self.conn.execute("SELECT id FROM files WHERE path = ?", (path,)).fetchone()
                if row is not None:
                    delete_file_graph(self.conn, int(row[0]))
                    insert_file_graph(self.conn, int(row[0]), graph)

    # -- embeddings cache -------------------------------------------------------------------------------------
    def lookup_embeddings(self, keys: Sequence[bytes]) -> dict[bytes, int]:
        """Embedding ids of the cache keys already stored (missing keys are absent from the result)."""
        rows = self._select_in("SELECT key, id FROM embeddings WHERE key IN ({marks})", keys)
        return {bytes(key): int(emb_id) for key, emb_id in rows}

    def add_embeddings(self, keys: Sequence[bytes], vectors: npt.NDArray[np.float32]) -> list[int]:
        """Store new embeddings (one transaction). ``vectors``: the model's float32 ``(len(keys), dim)``, stored in
        the index's representation (:meth:`vector_codec`). Returns their ids."""
        codec = self.vector_codec()
        projected = codec.project(vectors)
        rows = projected if codec.format == "float" else codec.quantize(projected)
        with self.transaction():
            ids = [int(self.conn.execute("INSERT INTO embeddings(key) VALUES (?)", (key,)).lastrowid) for key in keys]
            self._insert_vectors(codec, ids, rows)
        return ids

    def prune_embeddings(self, *, dry_run: bool = False) -> tuple[int, int, int]:
        """Delete the cached embeddings no chunk uses any more (the texts of edited or removed code: the cache
        keeps them, so an ``index`` never drops a vector it might need again) and rewrite the vector table
        without them (``vec0`` frees no space for scattered deletions), in one transaction. The caller holds
        the writer lock (:func:`codegraph.store.lock.writer_lock`): an ``index`` run stores vectors before the
        chunks that use them, and its vectors would look unused meanwhile.

        Args:
            dry_run: do the same work, measure it, then roll it back (nothing changes).

        Returns:
            ``(unused, kept, bytes)``: embeddings unused (deleted unless ``dry_run``), embeddings kept, and the
            bytes of the file's pages the deletion frees (measured: page count less free list, before and after;
            the vector table frees space in blocks of its chunk size, 1,024 vectors; freed pages are reused by
            later writes, the file itself does not shrink).

        Raises:
            StoreError: the file cannot be written (read-only, full disk).
        """
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            gone = {
                int(r[0])
                for r in self.conn.execute(
                    "SELECT id FROM embeddings WHERE id NOT IN (SELECT embedding_id FROM chunks)"
                )
            }
            total = self.count("embeddings")
            before, freed = self._live_bytes(), 0
            if gone:
                if self.has_vectors():
                    codec = self.vector_codec()
                    ids, rows = self._read_vectors(codec)
                    keep = [n for n, i in enumerate(ids) if i not in gone]
                    self._write_vectors(codec, [ids[n] for n in keep], rows[keep])
                self.conn.executemany("DELETE FROM embeddings WHERE id = ?", [(i,) for i in sorted(gone)])
                freed = max(before - self._live_bytes(), 0)
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            self._codec = None
            raise
        if dry_run:
            self.conn.execute("ROLLBACK")
            self._codec = None  # _write_vectors cached the codec it wrote
        else:
            self.conn.execute("COMMIT")
        return len(gone), total - len(gone), freed

    def _live_bytes(self) -> int:
        """Bytes of the database's pages in use (page count less the free list)."""
        pages = int(self.conn.execute("PRAGMA page_count").fetchone()[0])
        free = int(self.conn.execute("PRAGMA freelist_count").fetchone()[0])
        return (pages - free) * int(self.conn.execute("PRAGMA page_size").fetchone()[0])

    # -- search ---------------------------------------------------------------------------------------------
    def knn(
        self, vector: npt.NDArray[np.float32], k: int, *, rescore_candidates: int | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest stored embeddings by cosine distance (sqlite-vec KNN), in the index's representation:
        float32 and int8 directly; binary by hamming distance over ``rescore_candidates`` candidates (default
        ``RESCORE_FACTOR * k``, at least ``RESCORE_MIN_CANDIDATES``, at most :data:`MAX_KNN_K`), rescored by the
        cosine of the float query with their int8 vectors. With PCA, the cosine is measured in the reduced space.

        Args:
            vector: the model's float32 ``(dim,)`` query vector.
            k: neighbours wanted (at most :data:`MAX_KNN_K`).
            rescore_candidates: binary only: how many hamming neighbours are rescored.

        Returns:
            ``[(embedding_id, cosine_distance)]``, nearest first; distance in [0, 2].
        """
        if not self.has_vectors():
            return []
        codec = self.vector_codec()
        query = codec.project(vector[None, :])[0]
        if codec.format == "float":
            sql, match = "SELECT rowid, distance FROM embeddings_vec WHERE embedding MATCH ?", _blob(query)
        elif codec.format == "int8":
            sql = "SELECT rowid, distance FROM embeddings_vec WHERE embedding MATCH vec_int8(?)"
            match = codec.quantize(query[None, :])[0].tobytes()
        else:
            wanted = rescore_candidates or max(k * RESCORE_FACTOR, RESCORE_MIN_CANDIDATES)
            return self._knn_binary(codec, query, k, min(max(wanted, k), MAX_KNN_K))
        rows = self.conn.execute(sql + " AND k = ? ORDER BY distance", (match, k))
        return [(int(r[0]), float(r[1])) for r in rows]

    def _knn_binary(
        self, codec: VectorCodec, query: npt.NDArray[np.float32], k: int, candidates: int
    ) -> list[tuple[int, float]]:
        """Hamming KNN on the sign bits, then the candidates rescored by cosine with their int8 vectors."""
        import numpy as np

        bits = sign_bits(codec.quantize(query[None, :]))[0].tobytes()
        rows = self.conn.execute(
            "SELECT rowid, rescore FROM embeddings_vec WHERE embedding MATCH vec_bit(?) AND k = ?",
            (bits, candidates),
        ).fetchall()
        if not rows:
            return []
        int8 = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.int8).reshape(len(rows), codec.width)
        distances = rescore(query, int8)
        order = np.argsort(distances, kind="stable")[:k]
        return [(int(rows[i][0]), float(distances[i])) for i in order]

    def cosine_scan(
        self, vector: npt.NDArray[np.float32], *, limit: int, where: RowFilter | None = None
    ) -> list[tuple[int, float]]:
        """The ``limit`` chunks nearest to ``vector`` (the model's float32 ``(dim,)`` query) by cosine distance
        among those that pass ``where``, computed inside SQLite without the KNN index (the fallback when filtered
        results do not fit in sqlite-vec's largest KNN ``k``); int8 and binary indexes compare the int8 vectors.

        Returns:
            ``[(chunk_id, cosine_distance)]``, nearest first; distance in [0, 2].
        """
        codec = self.vector_codec()
        query = codec.project(vector[None, :])[0]
        if codec.format == "float":
            expression, match = "vec_distance_cosine(v.embedding, ?)", _blob(query)
        else:
            column = "v.embedding" if codec.format == "int8" else "vec_int8(v.rescore)"
            expression = f"vec_distance_cosine({column}, vec_int8(?))"
            match = codec.quantize(query[None, :])[0].tobytes()
        clause, params = self._where(where)
        rows = self.conn.execute(
            f"SELECT c.id, {expression} AS d FROM chunks c "
            "JOIN files f ON f.id = c.file_id JOIN embeddings_vec v ON v.rowid = c.embedding_id "
            f"WHERE 1 = 1{clause} ORDER BY d LIMIT ?",
            (match, *params, limit),
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def bm25(self, query: str, k: int, *, where: RowFilter | None = None) -> list[tuple[int, float]]:
        """Best ``k`` chunks (among those that pass ``where``) for a keyword query over path, symbol and
        identifier-split code: FTS5 ``bm25()`` (column weights :data:`BM25_WEIGHTS`) picks the best
        ``max(k, KEYWORD_CANDIDATES)`` (:data:`~codegraph.store.fts.KEYWORD_CANDIDATES`), ``highlight()`` marks
        their matches, and :func:`~codegraph.store.fts.rescore_keywords` orders them (a term's best occurrence
        counts most, as in PostgreSQL's ``ts_rank``).

        Returns:
            ``[(chunk_id, score)]``, best first; ``score`` >= 0, higher is better (sum over query terms of BM25
            IDF x occurrence weight).
        """
        expression = fts_query(query)
        if expression is None:
            return []
        clause, params = self._where(where)
        join = " JOIN chunks c ON c.id = chunks_fts.rowid JOIN files f ON f.id = c.file_id" if where else ""
        ids = [
            int(r[0])
            for r in self.conn.execute(
                f"SELECT chunks_fts.rowid, bm25(chunks_fts, ?, ?, ?) AS rank FROM chunks_fts{join} "
                f"WHERE chunks_fts MATCH ?{clause} ORDER BY rank LIMIT ?",
                (*BM25_WEIGHTS, expression, *params, max(k, KEYWORD_CANDIDATES)),
            )
        ]
        if not ids:
            return []
        # ``+rowid``: the list filters the rows FTS5 matches (one pass over the terms' doclists); as a constraint
        # FTS5 would seek every term to every rowid, ~6x slower at 300 candidates of a 141k-chunk index.
        wrap = f"char({ord(MARK_OPEN)}), char({ord(MARK_CLOSE)})"  # what rescore_keywords looks for
        columns = ", ".join(f"highlight(chunks_fts, {i}, {wrap})" for i in range(3))
        marked = {
            int(r[0]): r[1:]
            for r in self._select_in(
                f"SELECT rowid, {columns} FROM chunks_fts WHERE +rowid IN ({{marks}}) AND chunks_fts MATCH ?",
                ids,
                (expression,),
            )
        }
        terms = fts_terms(query)
        total = self.count("chunks")
        count = "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?"
        dfs = [int(self.conn.execute(count, (f'"{t}"',)).fetchone()[0]) for t in terms]
        return rescore_keywords(terms, dfs, total, ((i, marked[i]) for i in ids if i in marked))[:k]

    def _chunk_rows(self, column: str, values: Sequence[int], where: RowFilter | None) -> Iterator[ChunkRow]:
        """Chunks whose ``column`` (``id`` or ``embedding_id``) is in ``values`` and that pass ``where``."""
        clause, params = self._where(where)
        sql = f"SELECT {_CHUNK_COLUMNS} FROM chunks c JOIN files f ON f.id = c.file_id WHERE c.{column} IN ({{marks}})"
        for row in self._select_in(sql + clause, values, params):
            yield ChunkRow(*row)

    def chunks_by_embedding(
        self, embedding_ids: Sequence[int], *, where: RowFilter | None = None
    ) -> dict[int, list[ChunkRow]]:
        """Chunks that use each embedding id (identical text in several places shares one embedding) and pass
        ``where``."""
        out: dict[int, list[ChunkRow]] = {}
        for chunk in self._chunk_rows("embedding_id", embedding_ids, where):
            out.setdefault(chunk.embedding_id, []).append(chunk)
        return out

    def find_definition(self, path: str, name: str) -> tuple[int, int, str] | None:
        """The first definition named ``name`` (bare, or qualified ``Scope.name``) in the file ``path``.

        Returns:
            ``(span_start, span_end, language)`` of the whole definition (1-based inclusive lines), or ``None``.
        """
        row = self.conn.execute(
            "SELECT c.span_start, c.span_end, f.language FROM chunks c JOIN files f ON f.id = c.file_id "
            "WHERE f.path = ? AND (c.symbol = ? OR c.scope || '.' || c.symbol = ?) ORDER BY c.span_start LIMIT 1",
            (path, name, name),
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]), str(row[2]))

    def file_languages(self) -> dict[str, str]:
        """Every indexed file's repository-relative path mapped to its language id."""
        return {str(path): str(language) for path, language in self.conn.execute("SELECT path, language FROM files")}

    def indexed_files(self, language: str) -> list[tuple[str, int]]:
        """``(path, size in bytes)`` of every indexed file of ``language``, by path."""
        rows = self.conn.execute("SELECT path, size FROM files WHERE language = ? ORDER BY path", (language,))
        return [(str(r[0]), int(r[1])) for r in rows]

    def find_definitions(
        self, name: str, *, scope: str | None = None, limit: int = 50, where: RowFilter | None = None
    ) -> list[ChunkRow]:
        """Chunks that define ``name`` (function, method or class chunks whose symbol is ``name``) and pass
        ``where``, exact-case matches first, then case-insensitive ones; with ``scope``, only those whose scope is
        ``scope`` or ends with ``.scope``.

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
        clause, extra = self._where(where)
        sql += clause + " ORDER BY c.symbol != ?, f.path, c.start_line LIMIT ?"
        params += [*extra, name, limit]
        return [ChunkRow(*row) for row in self.conn.execute(sql, params)]

    def chunks_by_id(self, chunk_ids: Sequence[int], *, where: RowFilter | None = None) -> dict[int, ChunkRow]:
        """Chunks by id (those that pass ``where``)."""
        return {chunk.id: chunk for chunk in self._chunk_rows("id", chunk_ids, where)}

    def count(self, table: str) -> int:
        """Rows in ``files``, ``chunks``, ``embeddings`` or a graph table (``graph_defs``, ``graph_refs``,
        ``graph_imports``, ``graph_rank``)."""
        if table not in ("files", "chunks", "embeddings", "graph_defs", "graph_refs", "graph_imports", "graph_rank"):
            raise ValueError(table)
        return int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def check_integrity(self) -> str:
        """``PRAGMA integrity_check`` result (``"ok"`` when healthy)."""
        return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])

    def quick_check(self, *, max_errors: int = 5) -> list[str]:
        """``PRAGMA quick_check``: every page of every b-tree is read and its structure checked (not the
        contents of indexes against their tables, which ``integrity_check`` adds). SQLite has no page checksums,
        so this is how damage in pages that no query has touched yet is found; it reads the whole file (~3 s
        per 480 MB here, docs/reliability.md).

        Returns:
            The problems found (at most ``max_errors``), ``[]`` when the file is sound. A file damaged too
            badly to run the check gives one problem: SQLite's error.
        """
        from .sqlite import sqlite_module

        try:
            rows = self.conn.execute(f"PRAGMA quick_check({int(max_errors)})").fetchall()
        except sqlite_module().Error as exc:
            return [str(exc)]
        found = [str(r[0]) for r in rows]
        return [] if found == ["ok"] else found

    # -- status ---------------------------------------------------------------------------------------------
    @property
    def database(self) -> Path:
        """The database file, ``root/.codegraph/index.db``."""
        return self.root / INDEX_DIR / INDEX_FILE

    def location(self) -> str:
        """The database file's path."""
        return str(self.database)

    def size_bytes(self) -> int:
        """Bytes on disk: the database file plus its write-ahead log."""
        wal = self.database.with_name(INDEX_FILE + "-wal")
        return self.database.stat().st_size + (wal.stat().st_size if wal.exists() else 0)

    def writer(self) -> Writer | None:
        """The process holding the index's writer lock file, or ``None`` (see
        :func:`codegraph.store.lock.current_writer`)."""
        return current_writer(self.root / INDEX_DIR)
