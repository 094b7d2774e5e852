"""The SQLite SQL of the code graph's tables (migrations 4 and 5), as a mixin of
:class:`~codegraph.store.store.Store` (which provides ``conn``, ``transaction`` and ``set_meta``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .graph import DefRow, ImportRow, RefRow

if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import AbstractContextManager

    from ..graph.extract import FileGraph

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


class SqliteGraph:
    """Graph reads and the PageRank cache over ``self.conn`` (a SQLite connection)."""

    conn: Any

    if TYPE_CHECKING:

        def transaction(self) -> AbstractContextManager[None]: ...

        def set_meta(self, items: dict[str, str]) -> None: ...

    def definitions_named(self, name: str) -> list[DefRow]:
        """Every definition whose bare name is ``name`` (case-sensitive), in path and line order."""
        rows = self.conn.execute(f"{_DEF} WHERE d.name = ? ORDER BY f.path, d.start_line", (name,))
        return [DefRow(*row) for row in rows]

    def definitions_in(self, path: str) -> list[DefRow]:
        """The definitions of one file, in line order."""
        rows = self.conn.execute(f"{_DEF} WHERE f.path = ? ORDER BY d.start_line, d.end_line DESC", (path,))
        return [DefRow(*row) for row in rows]

    def references_named(self, name: str, kinds: Sequence[str] | None = None) -> list[RefRow]:
        """Every reference to the bare name ``name`` (of ``kinds`` when given), in path and line order."""
        sql, params = f"{_REF} WHERE r.name = ?", [name]
        if kinds:
            sql += f" AND r.kind IN ({', '.join('?' * len(kinds))})"
            params += list(kinds)
        return [RefRow(*row) for row in self.conn.execute(sql + " ORDER BY f.path, r.line", params)]

    def references_in(self, path: str, enclosing: str | None, kinds: Sequence[str] | None = None) -> list[RefRow]:
        """The references made inside definition ``enclosing`` of file ``path`` (nested definitions included),
        of ``kinds`` when given; ``enclosing=None``: every reference of the file."""
        sql, params = f"{_REF} WHERE f.path = ?", [path]
        if enclosing is not None:
            sql += " AND (r.enclosing = ? OR r.enclosing LIKE ?)"
            params += [enclosing, enclosing + ".%"]
        if kinds:
            sql += f" AND r.kind IN ({', '.join('?' * len(kinds))})"
            params += list(kinds)
        return [RefRow(*row) for row in self.conn.execute(sql + " ORDER BY r.line", params)]

    def all_definitions(self) -> list[DefRow]:
        """Every definition, in path and line order."""
        return [DefRow(*row) for row in self.conn.execute(f"{_DEF} ORDER BY f.path, d.start_line")]

    def all_references(self) -> list[RefRow]:
        """Every reference, in path and line order."""
        return [RefRow(*row) for row in self.conn.execute(f"{_REF} ORDER BY f.path, r.line")]

    def all_imports(self) -> list[ImportRow]:
        """Every import statement, in path and line order."""
        rows = self.conn.execute(f"{_IMP} ORDER BY f.path, i.line")
        return [
            ImportRow(p, lang, m, line, tuple(json.loads(n)), lvl, bool(sys_))
            for p, lang, m, line, n, lvl, sys_ in rows
        ]

    def file_hashes(self) -> Iterator[tuple[str, str]]:
        """``(path, content hash)`` of every indexed file, in path order."""
        for path, content_hash in self.conn.execute("SELECT path, content_hash FROM files ORDER BY path"):
            yield str(path), str(content_hash)

    def ranks(self) -> list[tuple[DefRow, float]]:
        """The stored PageRank of every definition, best first."""
        rows = self.conn.execute(
            "SELECT f.path, f.language, d.name, d.scope, d.kind, d.start_line, d.end_line, k.score "
            "FROM graph_rank k JOIN graph_defs d ON d.id = k.def_id JOIN files f ON f.id = d.file_id "
            "ORDER BY k.score DESC, f.path, d.start_line"
        )
        return [(DefRow(*row[:7]), float(row[7])) for row in rows]

    def definition_ids(self) -> dict[tuple[str, int, str], int]:
        """``{(path, start_line, name): graph_defs.id}`` of every definition."""
        rows = self.conn.execute(
            "SELECT f.path, d.start_line, d.name, d.id FROM graph_defs d JOIN files f ON f.id = d.file_id"
        )
        return {(str(p), int(line), str(name)): int(i) for p, line, name, i in rows}

    def store_ranks(self, fingerprint: str, scores: Sequence[tuple[int, float]]) -> None:
        """Replace the stored PageRank with ``(graph_defs.id, score)`` pairs computed for ``fingerprint``
        (one transaction; ``meta.rank_fingerprint`` records it)."""
        with self.transaction():
            self.conn.execute("DELETE FROM graph_rank")
            self.conn.executemany("INSERT INTO graph_rank(def_id, score) VALUES (?, ?)", scores)
            self.set_meta({"rank_fingerprint": fingerprint})
