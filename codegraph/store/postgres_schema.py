"""PostgreSQL + pgvector: connections (one psycopg pool per server URL and process), numbered migrations
recorded in ``codegraph_schema``, projects, and the per-project writer lock (a session advisory lock).

Everything here imports psycopg lazily: the SQLite default never loads it. Needs the ``postgres`` extra
(``psycopg[binary]``, ``psycopg-pool``, ``pgvector``) and the server's ``vector`` extension (pgvector >= 0.5,
for HNSW).
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import IndexBusyError, IndexUnusableError, StoreError

LOCK_CLASS = 0x43_47_01
"""First key of codegraph's advisory locks (``pg_advisory_lock(LOCK_CLASS, n)``); ``n`` = 0 is the schema lock
(exclusive for the migrations; shared while a model's record or index changes,
:func:`~.postgres_vectors.lock_model`), ``n`` = a project's id is that project's writer lock. The models' locks
use ``LOCK_CLASS + 1`` (bulk load) and ``LOCK_CLASS + 2`` (:mod:`~.postgres_vectors`), the embedding cache's
``LOCK_CLASS + 3`` (:data:`CACHE_LOCK_CLASS`)."""

THIS_DATABASE = "(SELECT oid FROM pg_database WHERE datname = current_database())"
"""SQL: this database's oid. ``pg_locks`` lists the locks of every database on the server, and advisory lock keys
are per database: a lock query compares its rows' ``database`` with this."""

TS_CONFIG = "english"
"""Text search configuration of the keyword side (``to_tsvector``/``to_tsquery``): Snowball English stemming,
like FTS5's ``porter`` tokenizer of the SQLite backend."""

CONNECT_TIMEOUT_S = 10
"""How long to wait for the server to accept a connection (seconds)."""

POOL_MAX = 8
"""Most connections one process keeps open to one server: the store's, the writer lock's and a refresh's (watch,
``serve``), plus one per model job of ``codegraph serve`` (:data:`codegraph.serve.jobs.MAX_JOBS`, 4)."""

MIGRATIONS: tuple[str, ...] = (
    # 1: projects, per-project meta and files, the shared content-hash embedding cache (vectors of any width:
    # each model gets a partial HNSW index over its rows when it binds a project), chunks with their tsvector,
    # the code graph and its PageRank cache.
    """
    CREATE TABLE projects (
        id SERIAL PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,          -- --project NAME; default: git remote's repository or root dir name
        root TEXT NOT NULL,                 -- absolute path of the last root indexed under this name
        remote_url TEXT,                    -- git remote (origin) without credentials, when a git work tree
        created_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE meta (
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (project_id, key)
    );
    CREATE TABLE files (
        id BIGSERIAL PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        path TEXT NOT NULL,                 -- repository-relative, POSIX separators
        language TEXT NOT NULL,
        size BIGINT NOT NULL,               -- bytes
        mtime_ns BIGINT NOT NULL,
        content_hash TEXT NOT NULL,         -- xxh3_128 hex of the file's bytes
        indexed_at DOUBLE PRECISION NOT NULL,
        UNIQUE (project_id, path)
    );
    CREATE INDEX files_language ON files(project_id, language);
    CREATE TABLE embeddings (
        id BIGSERIAL PRIMARY KEY,
        model TEXT NOT NULL,                -- model id (the partial HNSW index of each model filters on it)
        key BYTEA NOT NULL UNIQUE,          -- xxh3_128(model id, chunker version, embedded text), 16 bytes
        embedding vector NOT NULL           -- float32, the model's width
    );
    CREATE TABLE chunks (
        id BIGSERIAL PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        file_id BIGINT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        embedding_id BIGINT NOT NULL REFERENCES embeddings(id),
        kind TEXT NOT NULL,
        symbol TEXT,
        scope TEXT,
        start_line INTEGER NOT NULL,        -- 1-based inclusive
        end_line INTEGER NOT NULL,
        span_start INTEGER NOT NULL,
        span_end INTEGER NOT NULL,
        code TEXT NOT NULL,
        fts TSVECTOR NOT NULL               -- symbol (weight A), path (B), code (D), identifier-split
    );
    CREATE INDEX chunks_file ON chunks(file_id);
    CREATE INDEX chunks_embedding ON chunks(embedding_id, project_id);
    CREATE INDEX chunks_project ON chunks(project_id);
    CREATE INDEX chunks_symbol ON chunks(lower(symbol));
    CREATE INDEX chunks_fts ON chunks USING gin(fts);
    CREATE TABLE graph_defs (
        id BIGSERIAL PRIMARY KEY,
        file_id BIGINT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        scope TEXT,
        kind TEXT NOT NULL,
        start_line INTEGER NOT NULL,
        end_line INTEGER NOT NULL
    );
    CREATE INDEX graph_defs_name ON graph_defs(name);
    CREATE INDEX graph_defs_file ON graph_defs(file_id);
    CREATE TABLE graph_refs (
        id BIGSERIAL PRIMARY KEY,
        file_id BIGINT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        line INTEGER NOT NULL,
        enclosing TEXT,
        qualifier TEXT
    );
    CREATE INDEX graph_refs_name ON graph_refs(name);
    CREATE INDEX graph_refs_file ON graph_refs(file_id);
    CREATE TABLE graph_imports (
        id BIGSERIAL PRIMARY KEY,
        file_id BIGINT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        module TEXT NOT NULL,
        line INTEGER NOT NULL,
        names TEXT NOT NULL,                -- JSON list
        relative_level INTEGER NOT NULL,
        system BOOLEAN NOT NULL
    );
    CREATE INDEX graph_imports_file ON graph_imports(file_id);
    CREATE TABLE graph_rank (
        def_id BIGINT PRIMARY KEY REFERENCES graph_defs(id) ON DELETE CASCADE,
        score DOUBLE PRECISION NOT NULL
    );
    """,
    # 2: generated snippets (revisions linked to their parent) and the test runs of codegraph test, per project
    # (the columns of the SQLite file's migration 2). A model change empties a project's files, never these;
    # they go with their project.
    """
    CREATE TABLE snippets (
        id BIGSERIAL PRIMARY KEY,           -- one sequence for the whole store
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        parent_id BIGINT REFERENCES snippets(id) ON DELETE SET NULL,    -- the revision this one refines
        origin TEXT NOT NULL,               -- generate | refine | fix
        title TEXT NOT NULL,
        language TEXT NOT NULL,
        code TEXT NOT NULL,
        explanation TEXT NOT NULL,
        plan TEXT,                          -- the model's plan (--plan), else NULL
        prompt TEXT NOT NULL,               -- the user's request, feedback or failure report
        model TEXT NOT NULL,
        context TEXT NOT NULL,              -- JSON list of the context chunks: path, start_line, end_line, symbol
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        created_at DOUBLE PRECISION NOT NULL    -- unix seconds
    );
    CREATE INDEX snippets_project ON snippets(project_id, id);
    CREATE INDEX snippets_parent ON snippets(parent_id);
    CREATE TABLE test_runs (
        id BIGSERIAL PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        snippet_id BIGINT REFERENCES snippets(id) ON DELETE CASCADE,  -- the code under test, if a snippet
        target TEXT NOT NULL,               -- snippet id or path::symbol as given
        round INTEGER NOT NULL,             -- 0 for the first run, 1.. for --fix rounds
        language TEXT NOT NULL,
        code TEXT NOT NULL,                 -- the code under test
        tests TEXT NOT NULL,                -- the generated test file
        passed INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        results TEXT NOT NULL,              -- JSON list: name, outcome, message, output
        sandbox TEXT NOT NULL,              -- JSON: limits enforced, wall time, exit code
        model TEXT NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX test_runs_project ON test_runs(project_id);
    CREATE INDEX test_runs_snippet ON test_runs(snippet_id);
    """,
    # 3: compact vectors (codegraph.store.postgres_vectors): one record per model of how its float32 vectors are
    # indexed (one HNSW index per model, shared by every project of that model). Models bound before this
    # migration have the float index of migration 1 (embeddings_hnsw_<xxh3_64 of the model id>).
    """
    CREATE TABLE vector_models (
        model TEXT PRIMARY KEY,             -- model id, as embeddings.model
        dim INTEGER NOT NULL,               -- the model's width
        format TEXT NOT NULL,               -- float | half | binary: the kind of the model's HNSW index
        updated_at DOUBLE PRECISION NOT NULL
    );
    INSERT INTO vector_models(model, dim, format, updated_at)
    SELECT m.value, max(d.value::integer), 'float', extract(epoch FROM now())
    FROM meta m JOIN meta d ON d.project_id = m.project_id AND d.key = 'dim'
    WHERE m.key = 'model_id' GROUP BY m.value;
    """,
)


def redact(url: str) -> str:
    """``url`` without its password (``postgresql://user:***@host/db``), for messages and ``status``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://(unparsable URL)"
    if not parts.password:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def is_postgres_url(url: str | None) -> bool:
    """Whether a ``store`` setting names a PostgreSQL server (``postgresql://`` or ``postgres://``)."""
    return bool(url) and str(url).split("://", 1)[0] in ("postgresql", "postgres")


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            "a PostgreSQL store needs the postgres extra: pip install 'codegraph-search[postgres]'"
        ) from None
    return psycopg


def _explain(url: str, exc: BaseException) -> StoreError:
    """A :class:`StoreError` saying what failed on the server at ``url`` and what to do."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    lowered = message.lower()
    if "vector" in lowered and ("extension" in lowered or "type" in lowered):
        hint = (
            "the pgvector extension is missing: install pgvector on the server, then run "
            "CREATE EXTENSION vector; in this database as a superuser"
        )
    elif "password" in lowered or "authentication" in lowered:
        hint = "check the user name and password in the store URL (or PGPASSWORD / ~/.pgpass)"
    elif "does not exist" in lowered and "database" in lowered:
        hint = "create the database first (createdb), or name an existing one in the store URL"
    elif "lock timeout" in lowered:
        hint = (
            "another codegraph process (an index run, a model's index build, a prune or a migration) held a lock "
            "this one needed for longer than it waits; retry when it has ended"
        )
    elif "connect" in lowered or "connection" in lowered or "timeout" in lowered:
        hint = "is the server running and reachable? check host, port and the store URL (--store / CODEGRAPH_STORE)"
    elif "permission denied" in lowered:
        hint = (
            "the store's user needs CREATE on the database (for the migrations), TEMPORARY (index runs stage "
            "chunks in a temporary table) and read/write on its tables"
        )
    else:
        hint = "check the server's log"
    return StoreError(f"PostgreSQL store {redact(url)}: {message}; {hint}")


def store_error(exc: BaseException, url: str = "") -> StoreError | None:
    """A :class:`StoreError` for an error psycopg raised (``None`` for any other, or when psycopg is not loaded)."""
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(exc, psycopg.Error):
        return _explain(url or "(server)", exc)
    pool = sys.modules.get("psycopg_pool")
    if pool is not None and isinstance(exc, pool.PoolTimeout):
        return _explain(url or "(server)", exc)
    return None


@contextmanager
def translated(url: str) -> Iterator[None]:
    """Turn psycopg errors raised in the block into :class:`StoreError` (others propagate unchanged)."""
    try:
        yield
    except Exception as exc:
        error = store_error(exc, url)
        if error is None:
            raise
        raise error from None


def _configure(conn: Any) -> None:
    """Per-connection set-up: the pgvector type adapters (numpy float32 arrays <-> ``vector``)."""
    from pgvector.psycopg.vector import register_vector_info
    from psycopg.types import TypeInfo

    info = TypeInfo.fetch(conn, "vector")
    if info is None:
        raise StoreError("the pgvector extension is missing: run CREATE EXTENSION vector; as a superuser")
    register_vector_info(conn, info)


_POOLS: dict[str, Any] = {}


def _close_pools() -> None:
    for pool in _POOLS.values():
        pool.close(timeout=1.0)
    _POOLS.clear()


def pool_for(url: str) -> Any:
    """The process's connection pool for ``url`` (opened, and the schema migrated, on first use).

    Raises:
        StoreError: the server cannot be reached, refuses the login, lacks pgvector, or psycopg is missing.
        IndexUnusableError: the server's codegraph schema is newer than this codegraph.
    """
    pool = _POOLS.get(url)
    if pool is not None:
        return pool
    psycopg = _psycopg()
    from psycopg_pool import ConnectionPool

    try:
        with psycopg.connect(
            url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S, application_name="codegraph"
        ) as conn:
            migrate(conn)
    except (psycopg.Error, OSError) as exc:
        raise _explain(url, exc) from None
    pool = ConnectionPool(
        url,
        min_size=1,
        max_size=POOL_MAX,
        kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S, "application_name": "codegraph"},
        configure=_configure,
        open=False,
        name="codegraph",
        timeout=CONNECT_TIMEOUT_S,
    )
    with translated(url):
        pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
    if not _POOLS:
        atexit.register(_close_pools)
    _POOLS[url] = pool
    return pool


def migrate(conn: Any) -> int:
    """Create the ``vector`` extension if needed and apply the numbered migrations not yet recorded in
    ``codegraph_schema`` (one transaction each, under an advisory lock so concurrent first runs apply each once).

    Returns:
        The schema version after migrating.

    Raises:
        IndexUnusableError: the server's schema is newer than this codegraph.
        psycopg.Error: the server refused (the caller turns it into a StoreError).
    """
    latest = len(MIGRATIONS)
    current = _version(conn)
    if current == latest:
        return latest
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LOCK_CLASS,))
        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone() is None:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS codegraph_schema ("
            "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        current = _version(conn)
        if current > latest:
            raise IndexUnusableError(
                f"the PostgreSQL store's codegraph schema is version {current}, newer than this codegraph supports "
                f"({latest}); upgrade codegraph"
            )
        while current < latest:
            conn.execute(MIGRATIONS[current])
            current += 1
            conn.execute("INSERT INTO codegraph_schema(version) VALUES (%s)", (current,))
    return current


def _version(conn: Any) -> int:
    if conn.execute("SELECT to_regclass('codegraph_schema')").fetchone()[0] is None:
        return 0
    row = conn.execute("SELECT max(version) FROM codegraph_schema").fetchone()
    return int(row[0] or 0)


@dataclass(frozen=True, slots=True)
class Project:
    """One indexed root in a PostgreSQL store.

    Attributes:
        id: its row id.
        name: unique name in the store.
        root: absolute path of the root last indexed under this name.
        remote_url: its git remote (``origin``), credentials removed, or ``None``.
    """

    id: int
    name: str
    root: str
    remote_url: str | None


def list_projects(conn: Any) -> list[Project]:
    """Every project of the store, by name."""
    rows = conn.execute("SELECT id, name, root, remote_url FROM projects ORDER BY name")
    return [Project(int(i), str(n), str(r), u) for i, n, r, u in rows]


def ensure_project(conn: Any, name: str, root: str, remote_url: str | None) -> Project:
    """The project ``name``, created if missing, with ``root`` (and ``remote_url`` when known) recorded.

    Raises:
        StoreError: ``name`` already belongs to a repository with another remote (two repositories may not
            share a name: the message says to pick one with ``--project``).
    """
    conn.execute(
        "INSERT INTO projects(name, root, remote_url, created_at) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (name) DO NOTHING",
        (name, root, remote_url, time.time()),
    )
    row = conn.execute("SELECT id, name, root, remote_url FROM projects WHERE name = %s", (name,)).fetchone()
    project = Project(int(row[0]), str(row[1]), str(row[2]), row[3])
    if remote_url and project.remote_url and project.remote_url != remote_url:
        raise StoreError(
            f"project {name!r} in the store belongs to {project.remote_url}, not {remote_url}; give this repository "
            "its own name with --project NAME (or CODEGRAPH_PROJECT)"
        )
    if project.root != root or (remote_url and project.remote_url != remote_url):
        conn.execute(
            "UPDATE projects SET root = %s, remote_url = coalesce(%s, remote_url) WHERE id = %s",
            (root, remote_url, project.id),
        )
        project = Project(project.id, name, root, remote_url or project.remote_url)
    return project


CACHE_LOCK_CLASS = LOCK_CLASS + 3
"""First key of the shared embedding cache's lock (second key 0), a session advisory lock: every writer of a
project (:func:`project_lock`: ``index``, ``watch``, ``projects --remove``) holds it **shared** for its whole
run, around its project's writer lock; ``codegraph projects --prune`` (:mod:`codegraph.store.prune`) takes it
**exclusively**, so it never sweeps while a run has stored vectors whose chunks it has not committed yet (an
``index`` run commits a batch of vectors before the chunks that use them)."""


def _take_cache_lock(conn: Any, url: str, timeout_s: float, on_wait: Callable[[], None] | None) -> bool:
    """Take the cache lock shared on ``conn`` (see :data:`CACHE_LOCK_CLASS`), waiting up to ``timeout_s`` while a
    prune holds (or waits for) it exclusively. Returns whether it had to wait (``on_wait`` was called).

    Raises:
        IndexBusyError: a prune kept it for ``timeout_s`` seconds.
    """
    if conn.execute("SELECT pg_try_advisory_lock_shared(%s, 0)", (CACHE_LOCK_CLASS,)).fetchone()[0]:
        return False
    if on_wait is not None:
        on_wait()
    conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{max(int(timeout_s * 1000), 1)}ms",))
    try:
        conn.execute("SELECT pg_advisory_lock_shared(%s, 0)", (CACHE_LOCK_CLASS,))
    except _psycopg().errors.LockNotAvailable:
        raise IndexBusyError(
            f"the shared embedding cache of {redact(url)} is being pruned (codegraph projects --prune) and the "
            f"prune did not finish within {timeout_s:g}s; retry when it has ended"
        ) from None
    finally:
        conn.execute("RESET lock_timeout")
    return True


@contextmanager
def project_lock(
    pool: Any,
    url: str,
    project: Project,
    *,
    timeout_s: float,
    on_wait: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Hold the embedding cache's lock shared (:data:`CACHE_LOCK_CLASS`: a prune waits for the block to end), then
    ``project``'s writer lock (session advisory locks, on one connection of their own), for the block, and
    describe this process in the project's ``meta.writer`` meanwhile. The project's lock is taken after the cache
    lock and released before it, so a session holding a project's lock always holds the cache lock too (a prune
    tells writers of an older codegraph, which take only the project's lock, by that). A killed process's locks
    go with its connection: the server releases them.

    Raises:
        IndexBusyError: a prune of the cache held the cache lock for ``timeout_s`` seconds, or another process
            held the project for ``timeout_s`` seconds (each wait has its own limit).
        StoreError: the server failed.
    """
    psycopg = _psycopg()
    with translated(url), pool.connection() as conn:
        waited = _take_cache_lock(conn, url, timeout_s, on_wait)
        try:
            got = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, project.id)).fetchone()[0]
            if not got:
                if on_wait is not None and not waited:
                    on_wait()
                conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{max(int(timeout_s * 1000), 1)}ms",))
                try:
                    conn.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_CLASS, project.id))
                except psycopg.errors.LockNotAvailable:
                    raise IndexBusyError(
                        f"another codegraph process is writing project {project.name!r} of {redact(url)} and did "
                        f"not finish within {timeout_s:g}s; wait for it or stop it, then retry"
                    ) from None
                finally:
                    conn.execute("RESET lock_timeout")
        except BaseException:
            if not conn.closed and not conn.broken:
                conn.execute("SELECT pg_advisory_unlock_shared(%s, 0)", (CACHE_LOCK_CLASS,))
            raise
        try:
            argv = [os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python", *sys.argv[1:]]
            record = json.dumps({"pid": os.getpid(), "command": " ".join(argv), "started_at": round(time.time(), 3)})
            conn.execute(
                "INSERT INTO meta(project_id, key, value) VALUES (%s, 'writer', %s) "
                "ON CONFLICT (project_id, key) DO UPDATE SET value = excluded.value",
                (project.id, record),
            )
            yield
        finally:
            if not conn.closed and not conn.broken:
                conn.execute("DELETE FROM meta WHERE project_id = %s AND key = 'writer'", (project.id,))
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, project.id))
                conn.execute("SELECT pg_advisory_unlock_shared(%s, 0)", (CACHE_LOCK_CLASS,))
