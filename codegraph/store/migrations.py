"""Numbered schema migrations, applied in order; ``PRAGMA user_version`` records the last one applied.

Each migration runs in its own transaction. Never edit a released migration: add a new one.
The sqlite-vec table is created by :func:`reset_vector_table` when a model (and so the vector width) binds the
index.
"""

from __future__ import annotations

from typing import Any

from ..errors import IndexUnusableError

MIGRATIONS: tuple[str, ...] = (
    # 1: files, content-hash embedding cache, chunks, FTS5 over identifier-split text.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,          -- repository-relative, POSIX separators
        language TEXT NOT NULL,
        size INTEGER NOT NULL,              -- bytes
        mtime_ns INTEGER NOT NULL,
        content_hash TEXT NOT NULL,         -- xxh3_128 hex of the file's bytes
        indexed_at REAL NOT NULL            -- unix seconds
    );
    CREATE TABLE embeddings (
        id INTEGER PRIMARY KEY,             -- rowid of the vector in embeddings_vec
        key BLOB NOT NULL UNIQUE            -- xxh3_128(model id, chunker version, embedded text), 16 bytes
    );
    CREATE TABLE chunks (
        id INTEGER PRIMARY KEY,
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        embedding_id INTEGER NOT NULL REFERENCES embeddings(id),
        kind TEXT NOT NULL,
        symbol TEXT,
        scope TEXT,
        start_line INTEGER NOT NULL,        -- 1-based inclusive
        end_line INTEGER NOT NULL,
        span_start INTEGER NOT NULL,        -- the whole definition (== start/end unless split)
        span_end INTEGER NOT NULL,
        code TEXT NOT NULL
    );
    CREATE INDEX chunks_file ON chunks(file_id);
    CREATE INDEX chunks_embedding ON chunks(embedding_id);
    CREATE VIRTUAL TABLE chunks_fts USING fts5(path, symbol, body, tokenize = 'porter unicode61');
    """,
    # 2: generated snippets (revisions linked to their parent) and the test runs of codegraph test.
    """
    CREATE TABLE snippets (
        id INTEGER PRIMARY KEY,
        parent_id INTEGER REFERENCES snippets(id) ON DELETE SET NULL,   -- the revision this one refines
        origin TEXT NOT NULL,               -- generate | refine | fix
        title TEXT NOT NULL,
        language TEXT NOT NULL,             -- python | javascript | ruby
        code TEXT NOT NULL,
        explanation TEXT NOT NULL,
        plan TEXT,                          -- the model's plan (--plan), else NULL
        prompt TEXT NOT NULL,               -- the user's request, feedback or failure report
        model TEXT NOT NULL,
        context TEXT NOT NULL,              -- JSON list of the context chunks: path, start_line, end_line, symbol
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        created_at REAL NOT NULL            -- unix seconds
    );
    CREATE INDEX snippets_parent ON snippets(parent_id);
    CREATE TABLE test_runs (
        id INTEGER PRIMARY KEY,
        snippet_id INTEGER REFERENCES snippets(id) ON DELETE CASCADE,  -- the code under test, if a snippet
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
        created_at REAL NOT NULL
    );
    CREATE INDEX test_runs_snippet ON test_runs(snippet_id);
    """,
    # 3: look definitions up by name (search ranks a queried identifier's definition first).
    """
    CREATE INDEX chunks_symbol ON chunks(symbol COLLATE NOCASE);
    """,
    # 4: the code graph: definitions, references and imports of each file, from the parse that made its chunks;
    # replaced with the file's chunks, in the same transaction. Resolution happens when the graph is queried.
    """
    CREATE TABLE graph_defs (
        id INTEGER PRIMARY KEY,
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        scope TEXT,                         -- dotted enclosing definitions (Client for Client.send), NULL at top
        kind TEXT NOT NULL,                 -- function | method | class | interface | struct | enum | trait | ...
        start_line INTEGER NOT NULL,        -- 1-based inclusive
        end_line INTEGER NOT NULL
    );
    CREATE INDEX graph_defs_name ON graph_defs(name);
    CREATE INDEX graph_defs_file ON graph_defs(file_id);
    CREATE TABLE graph_refs (
        id INTEGER PRIMARY KEY,
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        name TEXT NOT NULL,                 -- the referenced name as written (last component)
        kind TEXT NOT NULL,                 -- call | type | import | inherit
        line INTEGER NOT NULL,              -- 1-based
        enclosing TEXT,                     -- qualified name of the innermost enclosing definition, NULL at top
        qualifier TEXT                      -- receiver or module text before the name (obj in obj.send()), or NULL
    );
    CREATE INDEX graph_refs_name ON graph_refs(name);
    CREATE INDEX graph_refs_file ON graph_refs(file_id);
    CREATE TABLE graph_imports (
        id INTEGER PRIMARY KEY,
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        module TEXT NOT NULL,               -- as written, normalised per language (see codegraph.graph.extract)
        line INTEGER NOT NULL,
        names TEXT NOT NULL,                -- JSON list of imported names (from m import a, b)
        relative_level INTEGER NOT NULL,    -- Python dots / Rust super depth; 0 = absolute
        system INTEGER NOT NULL             -- 1 for C/C++ <angle> includes
    );
    CREATE INDEX graph_imports_file ON graph_imports(file_id);
    """,
    # 5: PageRank of each definition, cached for the repository map (codegraph map, generate); valid while
    # meta.rank_fingerprint equals the graph's fingerprint (codegraph.store.graph.graph_fingerprint).
    """
    CREATE TABLE graph_rank (
        def_id INTEGER PRIMARY KEY REFERENCES graph_defs(id) ON DELETE CASCADE,
        score REAL NOT NULL                 -- PageRank; all definitions' scores sum to 1
    );
    """,
    # 6: fitted parameters of the vector representation (codegraph.store.vectors): the PCA components as a
    # float32 blob; emptied whenever the vector table is re-created. Also marks an index that an
    # older codegraph (float32 vectors only) must not open.
    """
    CREATE TABLE vector_params (
        name TEXT PRIMARY KEY,              -- pca_components (float32, dim x width, row-major)
        value BLOB NOT NULL
    );
    """,
)


VECTOR_COLUMNS = {
    "float": "embedding float[{width}] distance_metric=cosine",
    "int8": "embedding int8[{width}] distance_metric=cosine",
    "binary": "embedding bit[{width}], +rescore blob",
}
"""The ``vec0`` columns of each vector format (:data:`codegraph.config.VECTOR_FORMATS`): float32 or int8 with
cosine distance, or sign bits (hamming distance) with the int8 vector as an auxiliary column for rescoring."""


def reset_vector_table(conn: Any, dim: int, *, vector_format: str = "float") -> None:
    """(Re)create the sqlite-vec ``vec0`` table ``embeddings_vec`` for ``dim``-wide vectors of
    ``vector_format`` (see :data:`VECTOR_COLUMNS`); rowid = ``embeddings.id``. Empties ``vector_params``. Its
    width depends on the model, so it is created when a model binds the index (inside the caller's
    transaction), not by a numbered migration; this is the only DDL outside them.

    Raises:
        ValueError: ``dim`` is not a positive integer (a multiple of 8 for ``binary``), or an unknown format.
    """
    if not isinstance(dim, int) or dim <= 0 or (vector_format == "binary" and dim % 8):
        raise ValueError(f"vector width must be a positive integer (binary: a multiple of 8), got {dim!r}")
    if vector_format not in VECTOR_COLUMNS:
        raise ValueError(f"unknown vector format {vector_format!r}")
    conn.execute("DROP TABLE IF EXISTS embeddings_vec")
    conn.execute("DELETE FROM vector_params")
    columns = VECTOR_COLUMNS[vector_format].format(width=dim)
    conn.execute(f"CREATE VIRTUAL TABLE embeddings_vec USING vec0({columns})")


def migrate(conn: Any) -> int:
    """Bring the schema up to date.

    Returns:
        The schema version after migrating.

    Raises:
        IndexUnusableError: the database was written by a newer codegraph (its version is above ours).
    """
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > len(MIGRATIONS):
        raise IndexUnusableError(
            f"index schema version {current} is newer than this codegraph supports ({len(MIGRATIONS)}); "
            "upgrade codegraph, or run: codegraph index --rebuild (keeps stored snippets and test runs)"
        )
    while current < len(MIGRATIONS):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current < len(MIGRATIONS):
                # executescript would commit implicitly; run statement by statement in our transaction.
                for statement in _statements(MIGRATIONS[current]):
                    conn.execute(statement)
                current += 1
                conn.execute(f"PRAGMA user_version = {current}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite has already rolled back after a full disk or an I/O error
                conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)


def _statements(script: str) -> list[str]:
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
