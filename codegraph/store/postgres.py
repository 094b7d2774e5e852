"""The PostgreSQL + pgvector backend: many projects in one server (``--store postgresql://...``).

Each indexed root is a project (:class:`~codegraph.store.postgres_schema.Project`); files, chunks and the code
graph carry their project, ``meta`` is per project, and the content-hash embedding cache is shared by every
project (a text embedded for one is never paid for again by another). Vectors sit in one float32 ``vector``
column of any width; each model gets one partial HNSW index over its own rows (float, halfvec or bit:
:mod:`~codegraph.store.postgres_vectors`), built at the end of the run that first loads it. The keyword side
is a ``tsvector`` over the same identifier-split text as the SQLite backend's FTS5 (:mod:`codegraph.store.fts`),
ranked BM25-style (IDF-weighted ``ts_rank``). Writes are batched one transaction
per call, as in SQLite; the writer lock is a session advisory lock per project (:func:`~.postgres_schema.project_lock`).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .fts import fts_terms, fts_text
from .lock import Writer
from .postgres_graph import PgGraph, insert_graphs
from .postgres_schema import LOCK_CLASS, THIS_DATABASE, TS_CONFIG, Project, redact, translated
from .postgres_snippets import PgSnippets
from .postgres_vectors import PgVectors, check_vectors, index_name, lock_model
from .store import ChunkRow, FileRow, RowFilter

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ..graph.extract import FileGraph
    from ..types import Chunk, SourceFile

RANK_WEIGHTS = "{0.25, 0.25, 0.25, 1.0}"
"""``ts_rank`` weights for labels {D, C, B, A} = (code, -, path, symbol): a match in the symbol name counts 4x,
as the SQLite backend's FTS5 ``bm25()`` column weights have it (``ts_rank`` takes weights in [0, 1]). Chosen on
the dev set (``python benchmarks/devset.py --models fast --modes keyword,hybrid --store URL``, 917 queries,
``docs/eval.md``), with :data:`RANK_NORMALIZATION` 0: keyword MRR@10 0.363 -> 0.487 (python 0.402 -> 0.560,
javascript 0.428 -> 0.536, go 0.421 -> 0.512, rust 0.205 -> 0.338), hybrid 0.477 -> 0.525, against equal
weights and normalisation 1 (the earlier choice, from 60 doc-comment queries of four standard-library
packages); symbol 2x gave 0.448 / 0.510, symbol 10x 0.486 / 0.519, path 2x as well 0.491 / 0.526."""

RANK_NORMALIZATION = 0
"""``ts_rank`` normalisation: 0 ignores the document's length (dev set with :data:`RANK_WEIGHTS`: keyword MRR@10
0.487, hybrid 0.525; 1, dividing by 1 + log(length): 0.470 / 0.504). The BM25 IDF factor still weighs each
term (see :meth:`PgStore.bm25`)."""

MAX_TERMS = 16
"""Most query terms the keyword side scores (each costs one ``ts_rank`` per matching chunk)."""

_BATCH = 5000
"""Values bound per ``= ANY(%s)`` array query."""

_CHUNK_COLUMNS = (
    "f.path, f.language, c.kind, c.symbol, c.scope, c.start_line, c.end_line, c.span_start, c.span_end, c.code, "
    "c.id, c.embedding_id, f.project_id"
)


def fts_sql(symbol: str, path: str, code: str) -> str:
    """The SQL of a chunk's ``tsvector`` from three SQL expressions of text (its identifier-split symbol, path and
    code, :func:`~codegraph.store.fts.fts_text`): weights A, B and D, :data:`TS_CONFIG`."""
    return (
        f"setweight(to_tsvector('{TS_CONFIG}', {symbol}), 'A') || setweight(to_tsvector('{TS_CONFIG}', {path}), 'B') "
        f"|| setweight(to_tsvector('{TS_CONFIG}', {code}), 'D')"
    )


_CHUNK_STAGE = "pg_temp.codegraph_chunks_in"
"""The temporary table :meth:`PgStore.replace_files` fills by ``COPY`` (dropped at the end of its transaction)."""

_CHUNK_STAGE_SQL = (
    f"CREATE TEMP TABLE {_CHUNK_STAGE} (ord INTEGER NOT NULL, file_id BIGINT NOT NULL, embedding_id BIGINT NOT NULL, "
    "kind TEXT NOT NULL, symbol TEXT, scope TEXT, start_line INTEGER NOT NULL, end_line INTEGER NOT NULL, "
    "span_start INTEGER NOT NULL, span_end INTEGER NOT NULL, code TEXT NOT NULL, fts_symbol TEXT NOT NULL, "
    "fts_path TEXT NOT NULL, fts_code TEXT NOT NULL) ON COMMIT DROP"
)

_CHUNK_INSERT_SQL = (
    "INSERT INTO chunks(project_id, file_id, embedding_id, kind, symbol, scope, start_line, end_line, span_start, "
    "span_end, code, fts) SELECT %s, file_id, embedding_id, kind, symbol, scope, start_line, end_line, span_start, "
    f"span_end, code, {fts_sql('fts_symbol', 'fts_path', 'fts_code')} FROM {_CHUNK_STAGE} ORDER BY ord"
)


def hnsw_index_name(model_id: str) -> str:
    """Name of the float HNSW index over ``model_id``'s vectors (see :func:`.postgres_vectors.index_name`)."""
    return index_name(model_id, "float")


class PgStore(PgVectors, PgGraph, PgSnippets):
    """One project (or, for reading, several) of a PostgreSQL store; the PostgreSQL implementation of
    :class:`~codegraph.store.base.IndexStore`. Open it with :func:`codegraph.store.open_store` or
    :func:`codegraph.store.open_index`.

    Args:
        pool: the server's connection pool (:func:`~.postgres_schema.pool_for`); one connection is held until
            :meth:`close`.
        url: the server URL (shown without its password).
        project: the project written, and whose ``meta`` is read.
        scope: the projects read (search, graph); ``[project]`` unless searching several (``--all``).
        root: the repository root on this machine.
    """

    backend = "postgresql"

    def __init__(self, pool: Any, url: str, project: Project, scope: Sequence[Project], root: Path) -> None:
        self.pool = pool
        self.url = url
        self.project = project
        self.projects = {p.id: p for p in scope}
        self.scope = sorted(self.projects)
        self.root = root
        self._multi = len(self.scope) > 1
        with translated(url):
            self.conn = pool.getconn()

    def views(self) -> list[PgStore]:
        """One store per project of this store's scope, in name order, each reading that project only and
        sharing this store's connection (``def|refs|callers|callees --all``: one graph per project over one
        connection, whatever the number of projects). Close this store when done, never a view."""
        out = []
        for p in sorted(self.projects.values(), key=lambda p: p.name):
            view = copy.copy(self)
            view.project, view.projects, view.scope, view._multi, view.root = p, {p.id: p}, [p.id], False, Path(p.root)
            out.append(view)
        return out

    def reopen(self, *, any_thread: bool = False) -> PgStore:
        """Another connection (from the pool) to the same project and scope, for another thread (psycopg
        connections may be used from any thread: ``any_thread`` changes nothing)."""
        return PgStore(self.pool, self.url, self.project, list(self.projects.values()), self.root)

    def replaced(self) -> bool:
        """Always ``False``: a rebuild empties and refills the project in place, on the same server."""
        return False

    def close(self) -> None:
        """Return the connection to the pool."""
        if self.conn is not None:
            self.release_bulk_lock()
        conn, self.conn = self.conn, None
        if conn is not None:
            self.pool.putconn(conn)

    def __enter__(self) -> PgStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """``BEGIN`` ... ``COMMIT``, rolled back on any exception (KeyboardInterrupt included); psycopg errors
        become :class:`~codegraph.errors.StoreError`."""
        with translated(self.url), self.conn.transaction():
            yield

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with translated(self.url):
            return list(self.conn.execute(sql, params).fetchall())

    def _one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        with translated(self.url):
            row = self.conn.execute(sql, params).fetchone()
        return None if row is None else tuple(row)

    def _row(self, values: Sequence[Any]) -> ChunkRow:
        row = ChunkRow(*values[:12])
        return replace(row, project=self.projects[int(values[12])].name) if self._multi else row

    # -- meta ---------------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A value of the project's ``meta``, or ``None``."""
        row = self._one("SELECT value FROM meta WHERE project_id = %s AND key = %s", (self.project.id, key))
        return None if row is None else str(row[0])

    def set_meta(self, items: dict[str, str]) -> None:
        """Upsert values of the project's ``meta``."""
        with translated(self.url), self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO meta(project_id, key, value) VALUES (%s, %s, %s) "
                "ON CONFLICT (project_id, key) DO UPDATE SET value = excluded.value",
                [(self.project.id, k, v) for k, v in items.items()],
            )

    def has_vectors(self) -> bool:
        """Whether a model is bound to the project and has its record (``vector_models``); its HNSW index may be
        missing while a bulk load runs."""
        model = self.get_meta("model_id")
        if not model:
            return False
        return self._one("SELECT 1 FROM vector_models WHERE model = %s", (model,)) is not None

    def bind_model(
        self,
        model_id: str,
        dim: int,
        *,
        chunker_version: str = "",
        model_sha256: str = "",
        vectors: str = "auto",
        vector_dims: int | None = None,
    ) -> bool:
        """Record the model, chunker and ``vectors`` setting of this project; if others built it, empty the
        project first (the shared embedding cache is kept: other projects may use it). The model's record
        (``vector_models``) is created when missing; its HNSW index is built by :meth:`settle_vectors` at the
        end of the run (after the first load, not row by row). ``vectors``: ``auto``, ``float``, ``half`` or
        ``binary``, per model (:mod:`~codegraph.store.postgres_vectors`); no PCA. One transaction, under
        ``model_id``'s lock (:func:`~.postgres_vectors.lock_model`): it waits while another process builds,
        converts or drops that model's index, never for another model's.

        Returns:
            True if the project was emptied because the model or the chunker version changed.

        Raises:
            ValueError: ``dim`` is not a positive integer.
            ConfigError: ``vectors`` int8 (pgvector has none) or unknown, ``vector_dims`` set, or another
                project of this model asked explicitly for another format.
        """
        if not isinstance(dim, int) or dim <= 0:
            raise ValueError(f"vector width must be a positive integer, got {dim!r}")
        check_vectors(vectors, vector_dims)
        previous = (self.get_meta("model_id"), self.get_meta("chunker_version") or "")
        same = previous == (model_id, chunker_version) and self.has_vectors()
        with self.transaction():
            # Writers of two projects binding one model at once: the model's lock orders them (its record, and
            # the check of the other projects' vectors settings); binds of other models do not wait.
            lock_model(self.conn, model_id)
            self.bind_vectors(model_id, dim, vectors)
            if same:
                if model_sha256 and self.get_meta("model_sha256") != model_sha256:
                    self.set_meta({"model_sha256": model_sha256})
                return False
            self.conn.execute("DELETE FROM files WHERE project_id = %s", (self.project.id,))
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
        """The project's indexed files by path: all, or only those among ``paths``."""
        sql = "SELECT id, path, size, mtime_ns, content_hash FROM files WHERE project_id = %s"
        if paths is None:
            return {r[1]: FileRow(*r) for r in self._all(sql, (self.project.id,))}
        wanted, out = list(paths), {}
        for start in range(0, len(wanted), _BATCH):
            part = wanted[start : start + _BATCH]
            for r in self._all(sql + " AND path = ANY(%s)", (self.project.id, part)):
                out[r[1]] = FileRow(*r)
        return out

    def touch_files(self, updates: Sequence[tuple[int, int, int]]) -> None:
        """Record new ``(id, size, mtime_ns)`` for files whose content hash did not change."""
        with self.transaction(), self.conn.cursor() as cur:
            cur.executemany(
                "UPDATE files SET size = %s, mtime_ns = %s WHERE id = %s", [(s, m, i) for i, s, m in updates]
            )

    def remove_files(self, paths: Iterable[str]) -> int:
        """Drop files and their chunks and graph rows (cascade). Returns how many paths were given."""
        paths = list(paths)
        if paths:
            with self.transaction():
                self.conn.execute(
                    "DELETE FROM files WHERE project_id = %s AND path = ANY(%s)", (self.project.id, paths)
                )
        return len(paths)

    def replace_files(
        self, items: Sequence[tuple[SourceFile, str, str, Sequence[Chunk], Sequence[int], FileGraph | None]]
    ) -> int:
        """Replace files' chunks and code graphs in one transaction (see
        :meth:`codegraph.store.store.Store.replace_files`). Returns the number of chunks written.

        The chunks go in by ``COPY`` into a temporary table (``ON COMMIT DROP``; the store's user needs the
        ``TEMPORARY`` privilege, which PostgreSQL grants to everyone by default), then one ``INSERT ... SELECT``
        computes their ``tsvector``s and writes them in the items' order (their ids ascend in that order). Measured
        on 19,240 chunks in batches of 4,096: 1.8 s against 2.4 s for one ``INSERT`` per row (``executemany``);
        ``docs/postgres.md``, "Faster bulk indexing"."""
        if not items:
            return 0
        now, pid = time.time(), self.project.id
        with self.transaction(), self.conn.cursor() as cur:
            cur.execute("DELETE FROM files WHERE project_id = %s AND path = ANY(%s)", (pid, [i[0].path for i in items]))
            cur.executemany(
                "INSERT INTO files(project_id, path, language, size, mtime_ns, content_hash, indexed_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                [(pid, f.path, lang, f.size, f.mtime_ns, h, now) for f, lang, h, _c, _e, _g in items],
                returning=True,
            )
            file_ids: list[int] = []
            while True:
                file_ids.append(int(cur.fetchone()[0]))
                if not cur.nextset():
                    break
            rows = [
                (
                    n,
                    file_id,
                    emb_id,
                    c.kind,
                    c.symbol,
                    c.scope,
                    c.start_line,
                    c.end_line,
                    c.span_start,
                    c.span_end,
                    c.code,
                    fts_text(c.qualified_symbol or ""),
                    fts_text(c.path),
                    fts_text(c.code),
                )
                for n, (file_id, c, emb_id) in enumerate(
                    (file_id, c, emb_id)
                    for file_id, (_f, _l, _h, chunks, emb_ids, _g) in zip(file_ids, items, strict=True)
                    for c, emb_id in zip(chunks, emb_ids, strict=True)
                )
            ]
            if rows:
                cur.execute(_CHUNK_STAGE_SQL)
                with cur.copy(f"COPY {_CHUNK_STAGE} FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cur.execute(_CHUNK_INSERT_SQL, (pid,))
                # Dropped now, not only at commit: inside a caller's transaction (this one a savepoint) a second
                # call creates it again.
                cur.execute(f"DROP TABLE {_CHUNK_STAGE}")
            insert_graphs(self.conn, [(i, item[5]) for i, item in zip(file_ids, items, strict=True) if item[5]])
        return len(rows)

    def replace_graphs(self, items: Sequence[tuple[str, FileGraph]]) -> None:
        """Replace the code graphs of indexed files (by path; unknown paths are skipped), one transaction."""
        if not items:
            return
        with self.transaction():
            ids = {
                str(p): int(i)
                for i, p in self.conn.execute(
                    "SELECT id, path FROM files WHERE project_id = %s AND path = ANY(%s)",
                    (self.project.id, [p for p, _g in items]),
                )
            }
            for table in ("graph_defs", "graph_refs", "graph_imports"):
                self.conn.execute(f"DELETE FROM {table} WHERE file_id = ANY(%s)", (list(ids.values()),))
            insert_graphs(self.conn, [(ids[p], g) for p, g in items if p in ids])

    # -- embeddings cache -------------------------------------------------------------------------------------
    def lookup_embeddings(self, keys: Sequence[bytes]) -> dict[bytes, int]:
        """Embedding ids of the cache keys already stored by any project (missing keys are absent)."""
        out: dict[bytes, int] = {}
        for start in range(0, len(keys), _BATCH):
            part = [bytes(k) for k in keys[start : start + _BATCH]]
            for key, emb_id in self._all("SELECT key, id FROM embeddings WHERE key = ANY(%s)", (part,)):
                out[bytes(key)] = int(emb_id)
        return out

    def add_embeddings(self, keys: Sequence[bytes], vectors: npt.NDArray[np.float32]) -> list[int]:
        """Store new embeddings of this project's model (one transaction; a key another process stored
        meanwhile is kept as it is). ``vectors``: float32 ``(len(keys), dim)``. Returns their ids, in order."""
        import numpy as np

        model = self.get_meta("model_id") or ""
        self.note_inserts(model, len(keys))  # may drop the model's HNSW index for a bulk load
        # Insert in key order: two writers inserting overlapping keys then wait on each other in one order
        # and never deadlock.
        order = sorted(range(len(keys)), key=lambda i: keys[i])
        rows = [(model, bytes(keys[i]), np.ascontiguousarray(vectors[i], dtype=np.float32)) for i in order]
        with self.transaction(), self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO embeddings(model, key, embedding) VALUES (%s, %s, %b) ON CONFLICT (key) DO NOTHING",
                rows,
            )
        ids = self.lookup_embeddings(keys)
        return [ids[bytes(k)] for k in keys]

    # -- search ---------------------------------------------------------------------------------------------
    def _where(self, where: RowFilter | None) -> tuple[str, list[Any]]:
        """``(" AND ...", params)`` over ``files f`` for the store's projects and ``where``: languages in SQL;
        a path predicate is applied here to the projects' file list and becomes a list of file ids."""
        clause, params = " AND f.project_id = ANY(%s)", list[Any]([self.scope])
        if where is not None and where.languages:
            clause += " AND f.language = ANY(%s)"
            params.append(sorted(where.languages))
        if where is not None and where.path_ok is not None:
            files = self._all("SELECT id, path FROM files WHERE project_id = ANY(%s)", (self.scope,))
            clause += " AND f.id = ANY(%s)"
            params.append([int(i) for i, p in files if where.path_ok(str(p))])
        return clause, params

    def cosine_scan(
        self, vector: npt.NDArray[np.float32], *, limit: int, where: RowFilter | None = None
    ) -> list[tuple[int, float]]:
        """The ``limit`` chunks nearest to ``vector`` among those that pass ``where``, by an exact scan.

        Returns:
            ``[(chunk_id, cosine_distance)]``, nearest first; distance in [0, 2].
        """
        import numpy as np

        bound = self._model()
        if bound is None:
            return []
        clause, params = self._where(where)
        rows = self._all(
            f"SELECT c.id, e.embedding::vector({bound[1]}) <=> %b AS d FROM chunks c "
            "JOIN files f ON f.id = c.file_id JOIN embeddings e ON e.id = c.embedding_id "
            f"WHERE e.model = %s{clause} ORDER BY d LIMIT %s",
            (np.ascontiguousarray(vector, dtype=np.float32), bound[0], *params, limit),
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def bm25(self, query: str, k: int, *, where: RowFilter | None = None) -> list[tuple[int, float]]:
        """Best ``k`` chunks for a keyword query, BM25-style: the query's words and identifier parts
        (:func:`~codegraph.store.fts.fts_terms`, at most :data:`MAX_TERMS`) ORed against the chunks'
        ``tsvector``; each matching term scores its inverse document frequency times ``ts_rank`` (a saturating
        term frequency, weighted by where the term occurs: :data:`RANK_WEIGHTS`, :data:`RANK_NORMALIZATION`),
        summed. Plain
        ``ts_rank_cd`` has no IDF, and ranked doc-comment queries far worse (``docs/postgres.md``).

        IDF as in BM25 (Robertson and Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond", 2009):
        ``ln(1 + (N - df + 0.5) / (df + 0.5))``, with ``N`` and ``df`` counted over the store's projects.

        Returns:
            ``[(chunk_id, score)]``, best first; higher is better.
        """
        terms = fts_terms(query)[:MAX_TERMS]
        if not terms:
            return []
        clause, params = self._where(where)
        queries = ", ".join(f"to_tsquery('{TS_CONFIG}', %s) AS q{i}" for i in range(len(terms)))
        dfs = ", ".join(f"count(*) FILTER (WHERE m.fts @@ q.q{i}) AS d{i}" for i in range(len(terms)))
        idf = "ln(1 + (n.n - df.d{i} + 0.5) / (df.d{i} + 0.5))"
        score = " + ".join(
            f"CASE WHEN m.fts @@ q.q{i} THEN {idf.format(i=i)} * ts_rank(%s, m.fts, q.q{i}, {RANK_NORMALIZATION}) "
            "ELSE 0 END"
            for i in range(len(terms))
        )
        # MATERIALIZED: each is computed once. Inlined (the default for a CTE used once), the planner, which
        # expects one match where there are hundreds (fresh tables, no statistics yet), re-ran the document
        # frequencies and the chunk count for every match: 0.55 s for 685 matches of a 1,500-chunk project.
        rows = self._all(
            f"WITH q AS MATERIALIZED (SELECT {queries}), "
            f"m AS MATERIALIZED (SELECT c.id, c.fts FROM chunks c JOIN files f ON f.id = c.file_id "
            f"WHERE c.fts @@ to_tsquery('{TS_CONFIG}', %s){clause}), "
            f"df AS MATERIALIZED (SELECT {dfs} FROM m, q), "
            "n AS MATERIALIZED (SELECT count(*)::float8 AS n FROM chunks WHERE project_id = ANY(%s)) "
            f"SELECT m.id, {score} AS r FROM m, q, df, n ORDER BY r DESC, m.id LIMIT %s",
            (*terms, " | ".join(terms), *params, self.scope, *([RANK_WEIGHTS] * len(terms)), k),
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def _chunk_rows(self, column: str, values: Sequence[int], where: RowFilter | None) -> Iterator[ChunkRow]:
        clause, params = self._where(where)
        sql = f"SELECT {_CHUNK_COLUMNS} FROM chunks c JOIN files f ON f.id = c.file_id WHERE c.{column} = ANY(%s)"
        for start in range(0, len(values), _BATCH):
            for row in self._all(sql + clause, (list(values[start : start + _BATCH]), *params)):
                yield self._row(row)

    def chunks_by_embedding(
        self, embedding_ids: Sequence[int], *, where: RowFilter | None = None
    ) -> dict[int, list[ChunkRow]]:
        """The store's chunks that use each embedding id and pass ``where``."""
        out: dict[int, list[ChunkRow]] = {}
        for chunk in self._chunk_rows("embedding_id", embedding_ids, where):
            out.setdefault(chunk.embedding_id, []).append(chunk)
        return out

    def chunks_by_id(self, chunk_ids: Sequence[int], *, where: RowFilter | None = None) -> dict[int, ChunkRow]:
        """Chunks by id (those of the store's projects that pass ``where``)."""
        return {chunk.id: chunk for chunk in self._chunk_rows("id", chunk_ids, where)}

    def find_definition(self, path: str, name: str) -> tuple[int, int, str] | None:
        """``(span_start, span_end, language)`` of the first definition ``name`` (bare or ``Scope.name``) in
        ``path`` of the project, or ``None``."""
        row = self._one(
            "SELECT c.span_start, c.span_end, f.language FROM chunks c JOIN files f ON f.id = c.file_id "
            "WHERE f.project_id = %s AND f.path = %s AND (c.symbol = %s OR c.scope || '.' || c.symbol = %s) "
            "ORDER BY c.span_start LIMIT 1",
            (self.project.id, path, name, name),
        )
        return None if row is None else (int(row[0]), int(row[1]), str(row[2]))

    def find_definitions(
        self, name: str, *, scope: str | None = None, limit: int = 50, where: RowFilter | None = None
    ) -> list[ChunkRow]:
        """Function, method and class chunks named ``name`` (exact case first, then case-insensitive; with
        ``scope``, only those whose scope is it or ends with ``.scope``), then by path and line."""
        sql = (
            f"SELECT {_CHUNK_COLUMNS} FROM chunks c JOIN files f ON f.id = c.file_id "
            "WHERE lower(c.symbol) = lower(%s) AND c.kind IN ('function', 'method', 'class')"
        )
        params: list[Any] = [name]
        if scope is not None:
            sql += " AND (c.scope = %s OR c.scope LIKE %s)"
            params += [scope, f"%.{scope}"]
        clause, extra = self._where(where)
        sql += clause + " ORDER BY c.symbol <> %s, f.path, c.start_line LIMIT %s"
        return [self._row(r) for r in self._all(sql, [*params, *extra, name, limit])]

    def file_languages(self) -> dict[str, str]:
        """Every indexed file's path mapped to its language id."""
        rows = self._all("SELECT path, language FROM files WHERE project_id = ANY(%s)", (self.scope,))
        return {str(p): str(lang) for p, lang in rows}

    def indexed_files(self, language: str) -> list[tuple[str, int]]:
        """``(path, size in bytes)`` of every indexed file of ``language``, by path."""
        rows = self._all(
            "SELECT path, size FROM files WHERE project_id = ANY(%s) AND language = %s ORDER BY path",
            (self.scope, language),
        )
        return [(str(p), int(s)) for p, s in rows]

    _COUNTS = {
        "files": "SELECT count(*) FROM files WHERE project_id = ANY(%s)",
        "chunks": "SELECT count(*) FROM chunks WHERE project_id = ANY(%s)",
        "embeddings": "SELECT count(DISTINCT embedding_id) FROM chunks WHERE project_id = ANY(%s)",
        "graph_defs": "SELECT count(*) FROM graph_defs d JOIN files f ON f.id = d.file_id WHERE f.project_id = ANY(%s)",
        "graph_refs": "SELECT count(*) FROM graph_refs r JOIN files f ON f.id = r.file_id WHERE f.project_id = ANY(%s)",
        "graph_imports": (
            "SELECT count(*) FROM graph_imports i JOIN files f ON f.id = i.file_id WHERE f.project_id = ANY(%s)"
        ),
        "graph_rank": (
            "SELECT count(*) FROM graph_rank k JOIN graph_defs d ON d.id = k.def_id JOIN files f ON f.id = d.file_id "
            "WHERE f.project_id = ANY(%s)"
        ),
    }

    def count(self, table: str) -> int:
        """Rows of the store's projects in ``files``, ``chunks`` or a graph table; ``embeddings`` counts the
        distinct embeddings their chunks use (the cache itself is shared by every project)."""
        if table not in self._COUNTS:
            raise ValueError(table)
        row = self._one(self._COUNTS[table], (self.scope,))
        return int(row[0]) if row else 0

    def check_integrity(self) -> str:
        """``"ok"`` when every chunk's embedding and file exist (the server keeps its own pages consistent)."""
        row = self._one(
            "SELECT count(*) FROM chunks c LEFT JOIN embeddings e ON e.id = c.embedding_id "
            "WHERE c.project_id = ANY(%s) AND e.id IS NULL",
            (self.scope,),
        )
        missing = int(row[0]) if row else 0
        return "ok" if missing == 0 else f"{missing} chunks without their embedding"

    # -- status ---------------------------------------------------------------------------------------------
    def location(self) -> str:
        """``<server URL without password>#<project name>``."""
        return f"{redact(self.url)}#{self.project.name}"

    def size_bytes(self) -> int:
        """The project's share of the server's tables and indexes (``pg_total_relation_size``): files, chunks
        and graph rows in proportion to its rows, plus the embeddings its chunks use."""
        total = 0
        for table, count_sql in (
            ("files", "SELECT count(*) FILTER (WHERE project_id = ANY(%s)), count(*) FROM files"),
            ("chunks", "SELECT count(*) FILTER (WHERE project_id = ANY(%s)), count(*) FROM chunks"),
        ):
            mine, every = self._one(count_sql, (self.scope,)) or (0, 0)
            size = self._one("SELECT pg_total_relation_size(%s)", (table,)) or (0,)
            total += int(size[0]) * int(mine) // max(int(every), 1)
        emb = self._one(
            "SELECT (SELECT count(DISTINCT embedding_id) FROM chunks WHERE project_id = ANY(%s)), "
            "(SELECT count(*) FROM embeddings), pg_total_relation_size('embeddings')",
            (self.scope,),
        ) or (0, 0, 0)
        total += int(emb[2]) * int(emb[0]) // max(int(emb[1]), 1)
        for table in ("graph_defs", "graph_refs", "graph_imports", "graph_rank"):
            mine_row = self._one(self._COUNTS[table], (self.scope,)) or (0,)
            every_row = self._one(f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}") or (0, 0)
            total += int(every_row[1]) * int(mine_row[0]) // max(int(every_row[0]), 1)
        return total

    def writer(self) -> Writer | None:
        """The process holding the project's writer lock (an advisory lock on the server), or ``None``. Only this
        database's locks count: ``pg_locks`` lists every database's, and advisory lock keys are per database."""
        held = self._one(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = %s "
            f"AND objid::bigint = %s AND objsubid = 2 AND granted AND database = {THIS_DATABASE}",
            (LOCK_CLASS, self.project.id),
        )
        if held is None:
            return None
        import json

        try:
            data = json.loads(self.get_meta("writer") or "")
            return Writer(int(data["pid"]), str(data["command"]), float(data["started_at"]))
        except (ValueError, KeyError, TypeError):
            return Writer(0, "unknown", 0.0)
