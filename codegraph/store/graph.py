"""The code graph's tables (migration 4): each file's definitions, references and imports, written with its
chunks and read back by :mod:`codegraph.graph.query`. Rows are what the parse saw; nothing here resolves a
name: resolution happens when the graph is queried, so it is never stale."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..graph.extract import FileGraph
    from .store import Store


@dataclass(frozen=True, slots=True)
class DefRow:
    """A stored definition with its file (lines 1-based inclusive)."""

    path: str
    language: str
    name: str
    scope: str | None
    kind: str
    start_line: int
    end_line: int

    @property
    def qualified(self) -> str:
        """``scope.name``, or ``name`` at the top level."""
        return f"{self.scope}.{self.name}" if self.scope else self.name


@dataclass(frozen=True, slots=True)
class RefRow:
    """A stored reference with its file (``line`` 1-based; ``enclosing`` the qualified enclosing definition)."""

    path: str
    language: str
    name: str
    kind: str
    line: int
    enclosing: str | None
    qualifier: str | None


@dataclass(frozen=True, slots=True)
class ImportRow:
    """A stored import statement with the importing file."""

    path: str
    language: str
    module: str
    line: int
    names: tuple[str, ...]
    relative_level: int
    system: bool


def insert_file_graph(conn: Any, file_id: int, graph: FileGraph) -> None:
    """Write one file's graph rows (the caller holds the transaction and has deleted the file's old rows)."""
    conn.executemany(
        "INSERT INTO graph_defs(file_id, name, scope, kind, start_line, end_line) VALUES (?, ?, ?, ?, ?, ?)",
        [(file_id, d.name, d.scope, d.kind, d.start_line, d.end_line) for d in graph.definitions],
    )
    conn.executemany(
        "INSERT INTO graph_refs(file_id, name, kind, line, enclosing, qualifier) VALUES (?, ?, ?, ?, ?, ?)",
        [(file_id, r.name, r.kind, r.line, r.enclosing, r.qualifier) for r in graph.references],
    )
    conn.executemany(
        "INSERT INTO graph_imports(file_id, module, line, names, relative_level, system) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (file_id, i.module, i.line, json.dumps(list(i.names)), i.relative_level, int(i.system))
            for i in graph.imports
        ],
    )


def delete_file_graph(conn: Any, file_id: int) -> None:
    """Delete one file's graph rows (the caller holds the transaction)."""
    for table in ("graph_defs", "graph_refs", "graph_imports"):
        conn.execute(f"DELETE FROM {table} WHERE file_id = ?", (file_id,))


_DEF = (
    "SELECT f.path, f.language, d.name, d.scope, d.kind, d.start_line, d.end_line "
    "FROM graph_defs d JOIN files f ON f.id = d.file_id"
)
_REF = (
    "SELECT f.path, f.language, r.name, r.kind, r.line, r.enclosing, r.qualifier "
    "FROM graph_refs r JOIN files f ON f.id = r.file_id"
)
_IMP = (
    "SELECT f.path, f.language, i.module, i.line, i.names, i.relative_level, i.system "
    "FROM graph_imports i JOIN files f ON f.id = i.file_id"
)


def definitions_named(store: Store, name: str) -> list[DefRow]:
    """Every definition whose bare name is ``name`` (case-sensitive), in path and line order."""
    rows = store.conn.execute(f"{_DEF} WHERE d.name = ? ORDER BY f.path, d.start_line", (name,))
    return [DefRow(*row) for row in rows]


def definitions_in(store: Store, path: str) -> list[DefRow]:
    """The definitions of one file, in line order."""
    rows = store.conn.execute(f"{_DEF} WHERE f.path = ? ORDER BY d.start_line, d.end_line DESC", (path,))
    return [DefRow(*row) for row in rows]


def references_named(store: Store, name: str, kinds: Sequence[str] | None = None) -> list[RefRow]:
    """Every reference to the bare name ``name`` (of ``kinds`` when given), in path and line order."""
    sql, params = f"{_REF} WHERE r.name = ?", [name]
    if kinds:
        sql += f" AND r.kind IN ({', '.join('?' * len(kinds))})"
        params += list(kinds)
    return [RefRow(*row) for row in store.conn.execute(sql + " ORDER BY f.path, r.line", params)]


def references_in(store: Store, path: str, enclosing: str | None, kinds: Sequence[str] | None = None) -> list[RefRow]:
    """The references made inside definition ``enclosing`` of file ``path`` (its nested definitions included),
    of ``kinds`` when given; ``enclosing=None``: every reference of the file."""
    sql, params = f"{_REF} WHERE f.path = ?", [path]
    if enclosing is not None:
        sql += " AND (r.enclosing = ? OR r.enclosing LIKE ?)"
        params += [enclosing, enclosing + ".%"]
    if kinds:
        sql += f" AND r.kind IN ({', '.join('?' * len(kinds))})"
        params += list(kinds)
    return [RefRow(*row) for row in store.conn.execute(sql + " ORDER BY r.line", params)]


def all_definitions(store: Store) -> list[DefRow]:
    """Every definition of the repository, in path and line order."""
    return [DefRow(*row) for row in store.conn.execute(f"{_DEF} ORDER BY f.path, d.start_line")]


def graph_fingerprint(store: Store, version: str) -> str:
    """A fingerprint of the whole graph: ``version`` (what extracted and resolves it) and every indexed file's
    path and content hash (xxh3-128 hex). Equal fingerprints mean equal graph rows, so a cached result computed
    from the whole graph (PageRank) is still valid."""
    import xxhash

    digest = xxhash.xxh3_128(version.encode("utf-8"))
    for path, content_hash in store.conn.execute("SELECT path, content_hash FROM files ORDER BY path"):
        digest.update(f"\0{path}\0{content_hash}".encode("utf-8", "surrogatepass"))
    return str(digest.hexdigest())


def cached_ranks(store: Store, fingerprint: str) -> list[tuple[DefRow, float]] | None:
    """The stored PageRank of every definition, best first, if it was computed for ``fingerprint``."""
    if store.get_meta("rank_fingerprint") != fingerprint:
        return None
    rows = store.conn.execute(
        "SELECT f.path, f.language, d.name, d.scope, d.kind, d.start_line, d.end_line, k.score "
        "FROM graph_rank k JOIN graph_defs d ON d.id = k.def_id JOIN files f ON f.id = d.file_id "
        "ORDER BY k.score DESC, f.path, d.start_line"
    )
    return [(DefRow(*row[:7]), float(row[7])) for row in rows]


def definition_ids(store: Store) -> dict[tuple[str, int, str], int]:
    """``{(path, start_line, name): graph_defs.id}`` of every definition."""
    rows = store.conn.execute(
        "SELECT f.path, d.start_line, d.name, d.id FROM graph_defs d JOIN files f ON f.id = d.file_id"
    )
    return {(str(p), int(line), str(name)): int(i) for p, line, name, i in rows}


def store_ranks(store: Store, fingerprint: str, scores: Sequence[tuple[int, float]]) -> None:
    """Replace the stored PageRank with ``(graph_defs.id, score)`` pairs computed for ``fingerprint``.

    Raises:
        StoreError: the index cannot be written (read-only, or another writer held it past the busy timeout).
    """
    with store.transaction():
        store.conn.execute("DELETE FROM graph_rank")
        store.conn.executemany("INSERT INTO graph_rank(def_id, score) VALUES (?, ?)", scores)
        store.set_meta({"rank_fingerprint": fingerprint})


def all_references(store: Store) -> list[RefRow]:
    """Every reference of the repository, in path and line order."""
    return [RefRow(*row) for row in store.conn.execute(f"{_REF} ORDER BY f.path, r.line")]


def all_imports(store: Store) -> list[ImportRow]:
    """Every import statement of the repository, in path and line order."""
    rows = store.conn.execute(f"{_IMP} ORDER BY f.path, i.line")
    return [
        ImportRow(p, lang, m, line, tuple(json.loads(n)), lvl, bool(sys_)) for p, lang, m, line, n, lvl, sys_ in rows
    ]


def graph_counts(store: Store) -> dict[str, int]:
    """Rows per graph table: ``{"definitions", "references", "imports"}``."""
    return {
        "definitions": store.count("graph_defs"),
        "references": store.count("graph_refs"),
        "imports": store.count("graph_imports"),
    }
