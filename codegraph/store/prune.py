"""``codegraph projects --prune``: delete the cached embeddings that no chunk uses any more.

The content-hash embedding cache keeps every vector it was given: an edited function's old text, a removed
file's chunks, a project removed from a PostgreSQL store (``projects --remove``), a model no project uses now.
Keeping them is what makes a re-index (a branch switch, a revert, a copy of a project) embed nothing it has seen;
sweeping them is this command.

**Why a sweep needs a lock.** An ``index`` run commits each batch of new vectors to the cache *before* the
transaction that commits the chunks using them (:mod:`codegraph.index`: a crash then keeps the paid-for
vectors), and it looks up cached vectors before that too. Between those two moments the run's vectors are
referenced by no chunk, so a plain ``DELETE ... WHERE NOT EXISTS (chunk)`` could delete a vector the run is about
to reference (its chunk insert would then fail on the foreign key, and the run with it).

- **PostgreSQL**: every writer holds the cache lock *shared* for its whole run, taken before its project's
  writer lock and released after it, on the same connection (:data:`~codegraph.store.postgres_schema.CACHE_LOCK_CLASS`,
  :func:`~codegraph.store.postgres_schema.project_lock`); the prune takes it *exclusively* (waiting up to
  ``wait_s``, else refusing with the projects that hold it), so no run is between "vectors stored" and "chunks
  committed" while it sweeps, and a run that starts meanwhile waits at its start for the sweep (one transaction)
  to end. Each lock goes with its connection, so a killed writer or prune releases it. A writer of a codegraph
  from before this lock takes only its project's lock: the prune refuses while one runs (a session holding a
  project's writer lock without the cache lock).
- **SQLite**: one writer per file already: the prune takes the index's writer lock
  (:func:`~codegraph.store.lock.writer_lock`), as ``index`` and ``watch`` do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IndexBusyError
from .postgres_schema import THIS_DATABASE

if TYPE_CHECKING:
    from ..config import Settings


@dataclass(slots=True)
class PruneReport:
    """What a prune found and deleted.

    Attributes:
        store: the SQLite file's path, or the server's URL without its password.
        dry_run: nothing was deleted (``unused`` is what a prune would delete now).
        unused: embeddings no chunk uses.
        deleted: embeddings deleted (``unused``, or 0 for a dry run).
        kept: embeddings left, every one used by a chunk.
        freed_bytes: bytes freed (for a dry run: that would be freed): PostgreSQL, an estimate (the deleted
            rows' size plus their share of their model's HNSW index; the server reuses the space after its next
            VACUUM, autovacuum included); SQLite, measured: the file's pages the deletion frees, the dry run
            doing the work and rolling it back (reused by later writes; the file does not shrink).
        models: PostgreSQL, per model: ``{"model", "unused", "kept", "freed_bytes"}``; SQLite: ``[]``.
    """

    store: str
    dry_run: bool
    unused: int
    deleted: int
    kept: int
    freed_bytes: int
    models: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """``{"store", "dry_run", "unused", "deleted", "kept", "freed_bytes", "freed_mb", "models"}``
        (``freed_mb``: ``freed_bytes`` / 2**20, two decimals)."""
        return {
            "store": self.store,
            "dry_run": self.dry_run,
            "unused": self.unused,
            "deleted": self.deleted,
            "kept": self.kept,
            "freed_bytes": self.freed_bytes,
            "freed_mb": round(self.freed_bytes / 2**20, 2),
            "models": self.models,
        }


def prune_embeddings(settings: Settings, start: Path, *, dry_run: bool = False, wait_s: float = 0.0) -> PruneReport:
    """Delete the cached embeddings no chunk uses: of the PostgreSQL store the settings name (every project's
    chunks count), else of the SQLite index at or above ``start``.

    Args:
        settings: resolved settings (``store``).
        start: where to look for the SQLite index (unused for PostgreSQL).
        dry_run: count what would go; delete nothing (the lock is still taken, so the count is exact).
        wait_s: how long to wait for running writers (seconds); 0 refuses at once. On PostgreSQL an ``index``
            run that starts while the prune waits queues behind it.

    Returns:
        A :class:`PruneReport`.

    Raises:
        IndexBusyError: writers held the cache (PostgreSQL: the message names their projects) or the index
            (SQLite) for ``wait_s`` seconds.
        IndexNotFoundError: no SQLite index at or above ``start``.
        StoreError: the database failed.
    """
    from .open import store_url

    url = store_url(settings)
    if url is None:
        return _prune_sqlite(start, dry_run=dry_run, wait_s=wait_s)
    return _prune_postgres(url, dry_run=dry_run, wait_s=wait_s)


def _prune_sqlite(start: Path, *, dry_run: bool, wait_s: float) -> PruneReport:
    from .lock import writer_lock
    from .store import INDEX_DIR, Store, find_index_root

    root = find_index_root(start)
    with writer_lock(root / INDEX_DIR, timeout_s=wait_s), Store.open(root) as store:
        unused, kept, freed = store.prune_embeddings(dry_run=dry_run)
        return PruneReport(store.location(), dry_run, unused, 0 if dry_run else unused, kept, freed)


_HOLDERS_SQL = f"""
SELECT c.granted, c.pid, c.mode, p.name, m.value
FROM pg_locks c
LEFT JOIN pg_locks w ON w.pid = c.pid AND w.database = c.database AND w.locktype = 'advisory'
    AND w.classid::bigint = %(writer)s AND w.objsubid = 2 AND w.objid::bigint <> 0
LEFT JOIN projects p ON p.id = w.objid::bigint
LEFT JOIN meta m ON m.project_id = p.id AND m.key = 'writer'
WHERE c.locktype = 'advisory' AND c.classid::bigint = %(cache)s AND c.objid = 0 AND c.objsubid = 2
    AND c.database = {THIS_DATABASE}
    AND c.pid <> pg_backend_pid()
ORDER BY p.name, c.pid
"""
"""Sessions holding or awaiting the cache lock of this database (advisory locks are per database: ``pg_locks``
lists every database's): ``(granted, pid, mode, project, meta.writer)``, the project being the one whose writer
lock the session holds or awaits (``None`` for a prune)."""

_LEGACY_WRITERS_SQL = f"""
SELECT DISTINCT p.name FROM pg_locks w JOIN projects p ON p.id = w.objid::bigint
WHERE w.locktype = 'advisory' AND w.classid::bigint = %(writer)s AND w.objsubid = 2 AND w.objid::bigint <> 0
    AND w.granted AND w.database = {THIS_DATABASE}
    AND NOT EXISTS (
        SELECT 1 FROM pg_locks c WHERE c.pid = w.pid AND c.locktype = 'advisory'
            AND c.database = w.database AND c.classid::bigint = %(cache)s AND c.objid = 0 AND c.objsubid = 2)
ORDER BY 1
"""
"""Projects whose writer holds its project lock without the cache lock (a codegraph from before the cache lock)."""

_UNUSED_SQL = """
SELECT model, count(*) FILTER (WHERE NOT used), count(*) FILTER (WHERE used),
    coalesce(sum(bytes) FILTER (WHERE NOT used), 0)
FROM (
    SELECT e.model, pg_column_size(e.*) AS bytes,
        EXISTS (SELECT 1 FROM chunks c WHERE c.embedding_id = e.id) AS used
    FROM embeddings e
) rows
GROUP BY model ORDER BY model
"""
"""Per model: ``(model, unused, kept, bytes of the unused rows)``."""


def _describe(rows: list[tuple[Any, ...]]) -> str:
    """``shop (pid 123: codegraph index .), a prune (pid 456)`` for the sessions of :data:`_HOLDERS_SQL`."""
    import json

    out = []
    for _granted, pid, mode, name, writer in rows:
        command = ""
        try:
            command = str(json.loads(writer)["command"]) if writer else ""
        except (ValueError, KeyError, TypeError):
            pass
        what = f"project {name}" if name else "another prune" if mode == "ExclusiveLock" else "an index run"
        out.append(f"{what} (server pid {pid}{': ' + command if command else ''})")
    return ", ".join(out)


def _prune_postgres(url: str, *, dry_run: bool, wait_s: float) -> PruneReport:
    from .postgres_schema import CACHE_LOCK_CLASS, LOCK_CLASS, _psycopg, pool_for, redact, translated
    from .postgres_vectors import index_name

    keys = {"writer": LOCK_CLASS, "cache": CACHE_LOCK_CLASS}
    psycopg = _psycopg()
    pool = pool_for(url)
    with translated(url), pool.connection() as conn:
        got = conn.execute("SELECT pg_try_advisory_lock(%s, 0)", (CACHE_LOCK_CLASS,)).fetchone()[0]
        if not got and wait_s > 0:
            conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{max(int(wait_s * 1000), 1)}ms",))
            try:
                conn.execute("SELECT pg_advisory_lock(%s, 0)", (CACHE_LOCK_CLASS,))
                got = True
            except psycopg.errors.LockNotAvailable:
                pass
            finally:
                conn.execute("RESET lock_timeout")
        if not got:
            sessions = [tuple(r) for r in conn.execute(_HOLDERS_SQL, keys).fetchall()]
            holding = _describe([r for r in sessions if r[0]]) or "none now (it was just released)"
            waiting = _describe([r for r in sessions if not r[0]])
            raise IndexBusyError(
                f"cannot prune the embedding cache of {redact(url)}: index runs are using it (holding: {holding}"
                + (f"; waiting: {waiting}" if waiting else "")
                + ")"
                + (f" and did not finish within {wait_s:g}s" if wait_s > 0 else "")
                + "; retry when they end, or pass --wait SECONDS"
            )
        try:
            legacy = [str(r[0]) for r in conn.execute(_LEGACY_WRITERS_SQL, keys).fetchall()]
            if legacy:
                raise IndexBusyError(
                    f"cannot prune the embedding cache of {redact(url)}: project {', '.join(legacy)} is being "
                    "written by a codegraph too old to take the cache lock; retry when that run ends (and upgrade "
                    "every codegraph that writes this store)"
                )
            with conn.transaction():
                per_model = [tuple(r) for r in conn.execute(_UNUSED_SQL).fetchall()]
                index_bytes = {
                    str(model): int(size or 0)
                    for model, fmt in conn.execute("SELECT model, format FROM vector_models").fetchall()
                    for (size,) in [
                        conn.execute(
                            "SELECT pg_relation_size(to_regclass(%s))", (index_name(str(model), str(fmt)),)
                        ).fetchone()
                    ]
                }
                models: list[dict[str, Any]] = []
                for model, unused, kept, row_bytes in per_model:
                    unused, kept = int(unused), int(kept)
                    share = index_bytes.get(str(model), 0) * unused // max(unused + kept, 1)
                    models.append(
                        {"model": str(model), "unused": unused, "kept": kept, "freed_bytes": int(row_bytes) + share}
                    )
                unused_total, deleted = sum(m["unused"] for m in models), 0
                if not dry_run and unused_total:
                    deleted = conn.execute(
                        "DELETE FROM embeddings e WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.embedding_id = e.id)"
                    ).rowcount
        finally:
            if not conn.closed and not conn.broken:
                conn.execute("SELECT pg_advisory_unlock(%s, 0)", (CACHE_LOCK_CLASS,))
    return PruneReport(
        store=redact(url),
        dry_run=dry_run,
        unused=unused_total,
        deleted=deleted,
        kept=sum(m["kept"] for m in models),
        freed_bytes=sum(m["freed_bytes"] for m in models),
        models=models,
    )
