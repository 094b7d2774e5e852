"""Compact vectors on PostgreSQL: how a model's vectors are indexed (pgvector HNSW), as a mixin of
:class:`~codegraph.store.postgres.PgStore`.

The ``embeddings`` table always keeps each model's float32 ``vector`` (the content-hash cache shared by every
project, and what exact scans and rescoring read); what is compact is the model's **HNSW index**, one per model
and shared by all its projects (``vector_models`` records its kind, migration 3):

* **float**: ``(embedding::vector(dim)) vector_cosine_ops``; KNN by cosine distance.
* **half**: ``(embedding::halfvec(dim)) halfvec_cosine_ops`` (float16, half the index); the ``k`` nearest by
  float16 cosine are re-sorted by the float32 cosine.
* **binary**: ``(binary_quantize(embedding::vector(dim))::bit(dim)) bit_hamming_ops`` (one bit per dimension,
  set where the component is > 0); :func:`rescore_candidates` nearest by hamming distance, then rescored by the
  exact cosine of the float32 vectors, as pgvector's README ("Binary Quantization") describes.

pgvector has no int8 type, so ``--vectors int8`` (the SQLite file's default compact format) is refused here with
a message naming ``half`` and ``binary``; PCA (``--vector-dims``) is refused too: the index can only be built on
an SQL expression of the stored vector, pgvector has no matrix product, so PCA would need a second, projected
copy of every vector beside the float one (more bytes, not fewer).

**One representation per model.** The ``vectors`` setting of each project is recorded in its ``meta``; explicit
requests (``float``/``half``/``binary``) of the projects of one model must agree: a different explicit request
is refused (:class:`~codegraph.errors.ConfigError`, naming the project that asked otherwise); ``auto`` follows
whatever the model has, and turns a float model into :data:`AUTO_FORMAT` once it has :data:`AUTO_MIN_VECTORS`
vectors (and no project asked explicitly for float). Every conversion keeps the float32 vectors, so it goes
either way without the model: the new index is built, the old one dropped and the record updated in one
transaction (at the end of an ``index`` run, :meth:`PgVectors.settle_vectors`).

**Bulk loads.** HNSW inserts one by one cost most of an index run (profiled: 4.5 of 12.6 s for 6,750 chunks of
the ``fast`` model, and growing with the index); building the index once is ~3.5x cheaper. So a model's index is
not created when it binds its first project but at the end of the run (:meth:`PgVectors.settle_vectors`), and a
run that inserts at least :data:`BULK_MIN_ROWS` vectors and at least as many as the model had before drops the
model's index and builds it again at its end, holding the model's bulk-load lock (a session advisory lock,
:data:`BULK_LOCK_CLASS`) meanwhile: other runs of the model that end then leave the index to it. While a model has
no index, KNN is an exact scan (correct, slower); a run killed meanwhile (the server releases its lock) leaves it
so until the next ``index`` run of any project of that model ends.

**Locks.** Everything that reads or changes one model's record, its projects' ``vectors`` settings or its HNSW
indexes (:meth:`PgStore.bind_model <codegraph.store.postgres.PgStore.bind_model>`, the build or conversion of
:meth:`PgVectors.settle_vectors`, the drop of a bulk load) runs in a transaction that first takes
:func:`lock_model`: the schema lock *shared* (so no migration runs meanwhile; migrations take it exclusively), then
the model's lock (:data:`MODEL_LOCK_CLASS`) exclusively. Two writers of one model therefore still build, drop and
record its index one after the other, while runs of other models never wait for a build (a 15-30 s ``CREATE
INDEX`` at 141k vectors). A build holds ``embeddings`` in ``SHARE ROW EXCLUSIVE`` mode until its transaction ends
(``CREATE INDEX`` needs ``SHARE``; the stronger mode, taken first, makes builds of two models queue instead of
deadlocking when both then drop an index), so *inserts* of new vectors, of any model, and other builds still wait
for it; files, chunks, graph rows and cached vectors do not, nor do readers until its ``DROP INDEX``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..config import PG_VECTOR_FORMATS
from ..errors import ConfigError
from .postgres_schema import LOCK_CLASS

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    import numpy as np
    import numpy.typing as npt

    from .postgres_schema import Project
    from .vectors import VectorCodec

AUTO_MIN_VECTORS = 50_000
"""``vectors = "auto"``: a model with at least this many vectors (over all projects) gets an
:data:`AUTO_FORMAT` index."""

AUTO_FORMAT = "half"
"""What ``auto`` converts a large model to. Measured on 141,587 vectors of the ``fast`` model (256 dims,
``docs/vectors.md``, "PostgreSQL"): the halfvec index is 0.61x the float one (118 against 193 MB) with the same
recall@10 (0.985 against 0.983 at ``ef_search`` 400) and a faster KNN (p50 6 against 12 ms); binary is 0.24x
(47 MB) but tops out at recall@10 0.969 (1,000 rescored candidates) for a slower KNN (19 ms)."""

HNSW_EF_MAX = 1000
"""pgvector's largest ``hnsw.ef_search``: an HNSW scan returns at most that many rows."""

HNSW_EF_MIN = 400
"""Smallest ``hnsw.ef_search`` of a float or half KNN (``max(k, HNSW_EF_MIN)``): on 141,587 vectors of the
``fast`` model, recall@10 against exact search was 0.87 at 40 (pgvector's default), 0.94 at 100, 0.96 at 200
and 0.98 at 400, for a KNN p50 of 3, 5, 7 and 12 ms (float; half: 2, 3, 4, 6 ms)."""

RESCORE_FACTOR = 10
"""A binary KNN for ``k`` rescores ``RESCORE_FACTOR * k`` hamming candidates (at least
:data:`RESCORE_MIN_CANDIDATES`, at most :data:`HNSW_EF_MAX`)."""

RESCORE_MIN_CANDIDATES = 400
"""Fewest hamming candidates a binary KNN rescores: on 141,587 vectors of the ``fast`` model (256 bits), recall@10
after rescoring was 0.83 with 100 candidates, 0.90 with 200, 0.94 with 400 and 0.97 with 1,000, for a KNN p50 of
4, 6, 11 and 19 ms."""

BULK_MIN_ROWS = 5_000
"""A run that has inserted this many vectors of a model, and at least as many as the model had before, drops the
model's HNSW index and builds it once at its end."""

BULK_LOCK_CLASS = LOCK_CLASS + 1
"""First key of the session advisory lock a bulk load holds on its model (second key: :func:`bulk_lock_key`) from
dropping the model's index until it has built it again; a run that ends meanwhile leaves the index to it."""

MODEL_LOCK_CLASS = LOCK_CLASS + 2
"""First key of a model's lock (second key: :func:`bulk_lock_key`): a transaction advisory lock held while a
transaction reads and changes the model's record, its projects' ``vectors`` settings or its HNSW indexes
(:func:`lock_model`). Another class than the bulk-load lock: that one is held by one session for a whole run."""

ITERATIVE_PGVECTOR = (0, 8)
"""The pgvector version that brought iterative index scans (``hnsw.iterative_scan``): a KNN filtered to some
projects then goes on scanning the index until ``k`` rows pass the filter (or ``hnsw.max_scan_tuples``), where an
older server returns only the projects' rows among the first ``ef_search`` of the whole model."""

COMPACT_PGVECTOR = (0, 7)
"""The pgvector version that brought ``halfvec``, ``bit`` HNSW indexes and ``binary_quantize`` (0.7.0); on an older
server ``half`` and ``binary`` are refused and ``auto`` stays float."""

BUILD_MEMORY = "512MB"
"""``maintenance_work_mem`` while building an HNSW index: pgvector builds in memory while the graph fits
(~1.4 KB per 256-dim float vector), much faster than on disk; set for that transaction only."""


def index_name(model_id: str, fmt: str) -> str:
    """Name of ``model_id``'s HNSW index of kind ``fmt`` (a hash: model ids hold any character; the float name
    is the one migration 1 used)."""
    import xxhash

    base = f"embeddings_hnsw_{xxhash.xxh3_64_hexdigest(model_id.encode('utf-8'))}"
    return base if fmt == "float" else f"{base}_{'half' if fmt == 'half' else 'bit'}"


def bulk_lock_key(model_id: str) -> int:
    """Second key of ``model_id``'s bulk-load lock and of its model lock: a signed 32-bit hash of the model id (two
    models whose hashes collide only share their locks: they wait for each other, nothing more)."""
    import xxhash

    return xxhash.xxh32_intdigest(model_id.encode("utf-8")) - 2**31


def lock_model(conn: Any, model_id: str) -> None:
    """In ``conn``'s open transaction: take the schema lock shared (``pg_advisory_xact_lock_shared(LOCK_CLASS,
    0)``: a migration, which takes it exclusively, waits for the transaction and is waited for) and then
    ``model_id``'s lock exclusively (:data:`MODEL_LOCK_CLASS`); both are released when the transaction ends
    (commit, rollback, or the connection's death). Waits as long as another transaction holds the model's lock
    (``lock_timeout`` applies: psycopg's ``LockNotAvailable`` when it runs out); never for another model's.
    Always in this order, and before any table lock of the transaction, so that two such transactions cannot
    deadlock on these locks."""
    conn.execute("SELECT pg_advisory_xact_lock_shared(%s, 0)", (LOCK_CLASS,))
    conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (MODEL_LOCK_CLASS, bulk_lock_key(model_id)))


def _expression(fmt: str, dim: int, column: str) -> str:
    """The indexed (and ordered-by) expression of ``column`` (a float ``vector``) for ``fmt``."""
    if fmt == "half":
        return f"({column})::halfvec({dim})"
    if fmt == "binary":
        return f"binary_quantize(({column})::vector({dim}))::bit({dim})"
    return f"({column})::vector({dim})"


_OPS = {
    "float": ("vector_cosine_ops", "<=>"),
    "half": ("halfvec_cosine_ops", "<=>"),
    "binary": ("bit_hamming_ops", "<~>"),
}
"""Operator class of each format's index and its distance operator."""


def index_ddl(model_id: str, dim: int, fmt: str) -> Any:
    """``CREATE INDEX IF NOT EXISTS`` of ``model_id``'s partial HNSW index of kind ``fmt`` (a psycopg
    ``sql.Composed``)."""
    from psycopg import sql

    return sql.SQL("CREATE INDEX IF NOT EXISTS {} ON embeddings USING hnsw (({}) {}) WHERE model = {}").format(
        sql.Identifier(index_name(model_id, fmt)),
        sql.SQL(_expression(fmt, dim, "embedding")),
        sql.SQL(_OPS[fmt][0]),
        sql.Literal(model_id),
    )


def rescore_candidates(fmt: str, k: int) -> int:
    """How many nearest rows the index scan returns for a KNN of ``k`` before the float32 re-sort."""
    if fmt == "binary":
        return min(max(RESCORE_FACTOR * k, RESCORE_MIN_CANDIDATES), HNSW_EF_MAX)
    return k


def check_vectors(vectors: str, vector_dims: int | None) -> None:
    """Raise :class:`ConfigError` for a ``vectors`` / ``vector_dims`` setting a PostgreSQL store cannot hold."""
    if vectors == "int8":
        raise ConfigError(
            "pgvector has no int8 vectors: on a PostgreSQL store use --vectors half (a float16 HNSW index, half "
            "the size of float) or binary (a bit index rescored with the float vectors); see docs/vectors.md"
        )
    if vectors != "auto" and vectors not in PG_VECTOR_FORMATS:
        raise ConfigError(f"vectors must be one of auto, {', '.join(PG_VECTOR_FORMATS)} on a PostgreSQL store")
    if vector_dims is not None:
        raise ConfigError(
            "--vector-dims (PCA) is not available on a PostgreSQL store: pgvector cannot index a projected vector "
            "without storing a second copy of it; unset vector_dims, or use --vectors half or binary"
        )


class PgVectors:
    """The vector side of :class:`~codegraph.store.postgres.PgStore`: the per-model record, KNN by format,
    conversions and the bulk-load rule (module docstring)."""

    conn: Any
    project: Project
    scope: list[int]
    _bulk: list[int] | None = None  # [model rows before this run's first insert, rows inserted, index dropped]
    _pgvector_version: tuple[tuple[int, ...], str] | None = None
    _bulk_locked: str | None = None  # the model whose bulk-load lock this connection holds

    if TYPE_CHECKING:

        def transaction(self) -> AbstractContextManager[None]: ...

        def get_meta(self, key: str) -> str | None: ...

        def _one(self, sql: str, params: Any = ()) -> tuple[Any, ...] | None: ...

        def _all(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]: ...

    def _model(self) -> tuple[str, int] | None:
        model, dim = self.get_meta("model_id"), self.get_meta("dim")
        return None if not model or not dim else (model, int(dim))

    def _record(self, model: str) -> tuple[str, int, set[str]] | None:
        """``(format, dim, formats whose index exists)`` of ``model``, or ``None`` when it has no record."""
        names = {f: index_name(model, f) for f in PG_VECTOR_FORMATS}
        row = self._one(
            "SELECT format, dim, " + ", ".join("to_regclass(%s) IS NOT NULL" for _ in names) + " "
            "FROM vector_models WHERE model = %s",
            (*names.values(), model),
        )
        if row is None:
            return None
        return str(row[0]), int(row[1]), {f for f, there in zip(names, row[2:], strict=True) if there}

    def _explicit_others(self, model: str) -> list[tuple[str, str]]:
        """``(project name, vectors setting)`` of the other projects of ``model`` that asked for a format."""
        rows = self._all(
            "SELECT p.name, v.value FROM meta m JOIN meta v ON v.project_id = m.project_id AND v.key = 'vectors' "
            "JOIN projects p ON p.id = m.project_id WHERE m.key = 'model_id' AND m.value = %s "
            "AND m.project_id <> %s AND v.value <> 'auto' ORDER BY p.name",
            (model, self.project.id),
        )
        return [(str(n), str(v)) for n, v in rows]

    def _pgvector(self) -> tuple[tuple[int, ...], str]:
        """The server's pgvector version: ``((major, minor), "x.y.z")`` (asked once per store)."""
        if self._pgvector_version is None:
            row = self._one("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            version = str(row[0]) if row else "0"
            self._pgvector_version = (tuple(int(x) for x in version.split(".")[:2] if x.isdigit()), version)
        return self._pgvector_version

    def _compact_ok(self) -> tuple[bool, str]:
        """Whether the server's pgvector has the compact types (:data:`COMPACT_PGVECTOR`), and its version."""
        parts, version = self._pgvector()
        return parts >= COMPACT_PGVECTOR, version

    def bind_vectors(self, model: str, dim: int, vectors: str) -> None:
        """Check ``vectors`` against the model's other projects, record it in this project's ``meta`` and make
        sure the model has a record (float until converted). The caller holds the transaction and has taken
        :func:`lock_model` for ``model`` in it.

        Raises:
            ConfigError: another project of ``model`` asked explicitly for another format (the message names it
                and says what to do), or ``half``/``binary`` on a pgvector older than 0.7.
        """
        if vectors in ("half", "binary"):
            ok, version = self._compact_ok()
            if not ok:
                raise ConfigError(
                    f"--vectors {vectors} needs pgvector >= 0.7 on the server (it has {version}): upgrade the "
                    "extension (ALTER EXTENSION vector UPDATE), or use --vectors float"
                )
        if vectors != "auto":
            clash = [(n, v) for n, v in self._explicit_others(model) if v != vectors]
            if clash:
                name, other = clash[0]
                raise ConfigError(
                    f"project {name!r} of this store asked for {other} vectors for model {model}, and all projects "
                    f"of one model share its vector index: index with --vectors {other} or auto, or first "
                    f"re-index {name!r} with --vectors auto or {vectors}"
                )
        self.conn.execute(
            "INSERT INTO vector_models(model, dim, format, updated_at) VALUES (%s, %s, 'float', %s) "
            "ON CONFLICT (model) DO NOTHING",
            (model, dim, time.time()),
        )
        self.conn.execute(
            "INSERT INTO meta(project_id, key, value) VALUES (%s, 'vectors', %s) "
            "ON CONFLICT (project_id, key) DO UPDATE SET value = excluded.value",
            (self.project.id, vectors),
        )

    def vector_codec(self) -> VectorCodec:
        """The model's index kind (``float``, ``half`` or ``binary``) at its full width; the scale is unused
        here (the stored vectors are always float32)."""
        from .vectors import VectorCodec

        bound = self._model()
        record = None if bound is None else self._record(bound[0])
        return VectorCodec("float" if record is None else record[0], 0 if bound is None else bound[1])

    def vector_bytes(self) -> int:
        """Bytes of the model's HNSW index (``pg_relation_size``) plus this store's projects' share of the
        ``embeddings`` table (its vectors, keys and their indexes, ``pg_total_relation_size`` less the HNSW
        indexes, in proportion to the embeddings the projects use)."""
        bound = self._model()
        if bound is None:
            return 0
        record = self._record(bound[0])
        index = 0
        if record is not None and record[0] in record[2]:
            row = self._one("SELECT pg_relation_size(%s::regclass)", (index_name(bound[0], record[0]),))
            index = int(row[0]) if row else 0
        share = self._one(
            "SELECT (SELECT count(DISTINCT embedding_id) FROM chunks WHERE project_id = ANY(%s)), "
            "(SELECT count(*) FROM embeddings), pg_table_size('embeddings') + pg_relation_size('embeddings_pkey') "
            "+ pg_relation_size('embeddings_key_key')",
            (self.scope,),
        ) or (0, 0, 0)
        return index + int(share[2]) * int(share[0]) // max(int(share[1]), 1)

    def settle_vectors(self) -> bool:
        """At the end of an ``index`` run: give the model the index its projects' settings ask for now (see the
        module docstring), building it when missing (after a bulk load). The new index is built, the others of
        the model dropped and the record updated in one transaction under the model's lock (:func:`lock_model`):
        a second settle of the model waits for it, then finds the index in place and does nothing; runs of other
        models do not wait for the lock, but their inserts of new vectors and their own builds wait for the build
        (it holds ``embeddings`` in ``SHARE ROW EXCLUSIVE`` mode: one build at a time, so that two cannot
        deadlock on their ``DROP INDEX``); readers wait only for the ``DROP INDEX`` at the end.

        Returns:
            Whether the model's format changed.
        """
        bound = self._model()
        if bound is None:
            return False
        model, dim = bound
        record = self._record(model)
        if record is None:
            return False
        wanted = self._wanted(model, record[0])
        if wanted == record[0] and record[2] == {wanted}:
            return False
        if not record[2] and not self._take_bulk_lock(model):
            return False  # another run is bulk-loading the model: it builds the index at its end
        try:
            return self._build(model, dim)
        finally:
            self.release_bulk_lock()

    def _build(self, model: str, dim: int) -> bool:
        with self.transaction():
            lock_model(self.conn, model)
            # Builds of two models may run at once now. Each would hold CREATE INDEX's SHARE lock on the table
            # and then want the ACCESS EXCLUSIVE lock of its DROP INDEX: a deadlock. SHARE ROW EXCLUSIVE, taken
            # first, conflicts with itself (builds queue, one at a time) and, like SHARE, with inserts only: files,
            # chunks (their foreign key checks take ROW SHARE) and readers go on.
            self.conn.execute("LOCK TABLE embeddings IN SHARE ROW EXCLUSIVE MODE")
            record = self._record(model)  # another process may have changed it while we waited
            if record is None:
                return False
            wanted = self._wanted(model, record[0])
            if record[2] == {wanted}:
                return False
            self.conn.execute("SELECT set_config('maintenance_work_mem', %s, true)", (BUILD_MEMORY,))
            self.conn.execute(index_ddl(model, dim, wanted))
            for fmt in record[2] - {wanted}:
                self.conn.execute(f'DROP INDEX IF EXISTS "{index_name(model, fmt)}"')
            self.conn.execute(
                "UPDATE vector_models SET format = %s, updated_at = %s WHERE model = %s", (wanted, time.time(), model)
            )
        return wanted != record[0]

    def _wanted(self, model: str, current: str) -> str:
        own = self.get_meta("vectors") or "auto"
        if own != "auto":
            return own
        if current != "float" or self._explicit_others(model):
            return current  # another project chose it, or auto converted it already (no flapping)
        row = self._one("SELECT count(*) FROM embeddings WHERE model = %s", (model,))
        if row is None or int(row[0]) < AUTO_MIN_VECTORS or not self._compact_ok()[0]:
            return "float"
        return AUTO_FORMAT

    def note_inserts(self, model: str, n: int) -> None:
        """Count ``n`` vectors about to be inserted for ``model`` by this run; once the bulk-load rule holds
        (:data:`BULK_MIN_ROWS`, module docstring), drop the model's HNSW index (under the model's lock,
        :func:`lock_model`) so that the rest loads without it; :meth:`settle_vectors` builds it at the end of the
        run."""
        if self._bulk is None:
            row = self._one("SELECT count(*) FROM embeddings WHERE model = %s", (model,))
            self._bulk = [int(row[0]) if row else 0, 0, 0]
        self._bulk[1] += n
        before, inserted, dropped = self._bulk
        if dropped or inserted < max(BULK_MIN_ROWS, before):
            return
        self._bulk[2] = 1
        if not self._take_bulk_lock(model):
            return  # another run is bulk-loading this model: its index is gone already, it builds it
        record = self._record(model)
        if record is None or not record[2]:
            return
        with self.transaction():
            lock_model(self.conn, model)
            for fmt in record[2]:
                self.conn.execute(f'DROP INDEX IF EXISTS "{index_name(model, fmt)}"')

    def _take_bulk_lock(self, model: str) -> bool:
        """Take ``model``'s bulk-load lock (session advisory lock, :data:`BULK_LOCK_CLASS`) without waiting;
        returns whether this connection holds it. The server releases it if the process dies."""
        if self._bulk_locked == model:
            return True
        row = self._one("SELECT pg_try_advisory_lock(%s, %s)", (BULK_LOCK_CLASS, bulk_lock_key(model)))
        if row is not None and row[0]:
            self._bulk_locked = model
        return self._bulk_locked == model

    def release_bulk_lock(self) -> None:
        """Release the bulk-load lock if this connection holds it (at the end of :meth:`settle_vectors`, and when
        the store closes after a failed run)."""
        model, self._bulk_locked = self._bulk_locked, None
        if model is not None and self.conn is not None and not self.conn.closed and not self.conn.broken:
            self._one("SELECT pg_advisory_unlock(%s, %s)", (BULK_LOCK_CLASS, bulk_lock_key(model)))

    def knn(self, vector: npt.NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest embeddings of this store's projects by cosine distance. With the model's HNSW index:
        ``hnsw.ef_search`` = the candidates fetched (:func:`rescore_candidates`, at least
        :data:`HNSW_EF_MIN`), nearest by the index's distance (cosine on float32 or float16, hamming on the
        sign bits), then re-sorted by the float32 cosine. Without one (a bulk load in progress) or for
        ``k`` > :data:`HNSW_EF_MAX`: an exact scan. On pgvector >= 0.8 the HNSW scan is iterative
        (:data:`ITERATIVE_PGVECTOR`), so a project that holds few of its model's vectors still gets ``k``.

        Args:
            vector: float32 ``(dim,)`` query (L2-normalised or not: cosine).
            k: neighbours wanted.

        Returns:
            ``[(embedding_id, cosine_distance)]``, nearest first; distance in [0, 2] (of the float32 vectors in
            every format). An HNSW scan is approximate and, filtered to the projects, may return fewer than ``k``.
        """
        import numpy as np
        from psycopg import sql

        bound = self._model()
        if bound is None:
            return []
        model, dim = bound
        record = self._record(model)
        fmt = record[0] if record is not None and record[0] in record[2] and k <= HNSW_EF_MAX else "float"
        exact = fmt == "float" and (record is None or "float" not in record[2] or k > HNSW_EF_MAX)
        fetch = rescore_candidates(fmt, k)
        query = np.ascontiguousarray(vector, dtype=np.float32)
        probe = {"float": "%b", "half": f"(%b)::halfvec({dim})", "binary": f"binary_quantize(%b)::bit({dim})"}[fmt]
        inner = (
            "SELECT e.id, e.embedding FROM embeddings e WHERE e.model = {} AND EXISTS (SELECT 1 FROM chunks c "
            "WHERE c.embedding_id = e.id AND c.project_id = ANY(%s)) "
            f"ORDER BY {_expression(fmt, dim, 'e.embedding')} {_OPS[fmt][1]} {probe} LIMIT %s"
        )
        statement = sql.SQL(
            f"SELECT s.id, (s.embedding)::vector({dim}) <=> %b AS d FROM ({inner}) s ORDER BY d, s.id LIMIT %s"
        ).format(sql.Literal(model))
        with self.transaction():
            if exact and k > HNSW_EF_MAX:
                self.conn.execute("SET LOCAL enable_indexscan = off")
            elif not exact:
                iterative = self._pgvector()[0] >= ITERATIVE_PGVECTOR  # the outer query re-sorts: relaxed is fine
                self.conn.execute(
                    "SELECT set_config('hnsw.ef_search', %s, true)"
                    + (", set_config('hnsw.iterative_scan', 'relaxed_order', true)" if iterative else ""),
                    (str(max(fetch, HNSW_EF_MIN)),),
                )
            rows = self.conn.execute(statement, (query, self.scope, query, fetch, k)).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]
