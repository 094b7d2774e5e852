"""Answering graph questions from the index: where NAME is defined, who references or calls it, what it calls,
what a file imports and what imports it.

Resolution happens here, at query time, from the rows the parse stored (so a change to one file can never
leave another file's edges stale). A reference to ``name`` in file F resolves, in order, to:

1. ``same_file``: a definition of ``name`` in F;
2. ``import``: a definition of ``name`` in a file F imports (imports resolved by :mod:`codegraph.graph.resolve`);
3. ``by_name``: any definition of ``name`` in the repository (a guess: every candidate is kept);

and stays unresolved (``None``) when the repository defines no ``name`` (a library or builtin). In Python, a
name reached through ``self``, ``cls`` or ``super()`` only resolves to class members (methods, nested classes).
Each result carries its resolution, so callers can tell a sure edge from a guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ..store import Store
from ..store.graph import (
    DefRow,
    ImportRow,
    RefRow,
    all_imports,
    definitions_in,
    definitions_named,
    references_in,
    references_named,
)
from . import resolve

MAX_DEPTH = 10
"""Deepest ``--depth`` accepted for callers/callees."""


@dataclass(frozen=True, slots=True)
class GraphHit:
    """One answer: a definition (for ``refs``/``callers``: the definition enclosing the reference).

    Attributes:
        path: repository-relative POSIX path.
        start_line, end_line: the definition's lines (1-based inclusive); the reference's line for a
            reference made at module level.
        symbol: qualified name (``Client.send``) or ``None`` at module level.
        kind: definition kind (``function``, ``method``, ``class``, ...) or ``module``.
        language: language id.
        line: the reference's own line (1-based), ``None`` for ``def`` and ``callees``.
        resolution: ``same_file``, ``import`` or ``by_name`` (how the edge was resolved), ``None`` for ``def``.
        depth: call distance from the queried symbol (1 = direct), 0 for ``def``/``refs``.
    """

    path: str
    start_line: int
    end_line: int
    symbol: str | None
    kind: str
    language: str
    line: int | None = None
    resolution: str | None = None
    depth: int = 0

    def to_json(self) -> dict[str, Any]:
        """The result as in the CLI contract (``codegraph def|refs|callers|callees --json``)."""
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "symbol": self.symbol,
            "kind": self.kind,
            "language": self.language,
            "line": self.line,
            "resolution": self.resolution,
            "depth": self.depth,
        }


def split_name(query: str) -> tuple[list[str], str]:
    """``Client.send`` / ``Recv.Method`` / ``Type::method`` / ``mod::Type::f`` -> (scope parts, bare name)."""
    parts = [p for p in query.replace("::", ".").replace("#", ".").split(".") if p]
    if not parts:
        return [], query
    return parts[:-1], parts[-1]


_SURETY = {"same_file": 0, "import": 1, "by_name": 2}


def _surest_first(hit: GraphHit) -> tuple[int, str, int]:
    """Sort key: surest resolution first, then path and line."""
    return (_SURETY.get(hit.resolution or "", 3), hit.path, hit.line or 0)


def _def_hit(d: DefRow, **extra: Any) -> GraphHit:
    return GraphHit(d.path, d.start_line, d.end_line, d.qualified, d.kind, d.language, **extra)


_PY_INSTANCE_RECEIVERS = ("self", "cls")


def _python_plausible(ref: RefRow, candidates: list[DefRow]) -> list[DefRow]:
    """The candidates a Python reference can name at all: what is reached through ``self``, ``cls`` or
    ``super()`` is a class member (a method, or a class nested in a class), never a module-level function or
    class. (A bare name is never a method either, but the stored qualifier is ``None`` for a bare name and for a
    receiver that is not a plain path alike, so that case is left alone.)"""
    if ref.qualifier is not None and (ref.qualifier in _PY_INSTANCE_RECEIVERS or ref.qualifier.startswith("super(")):
        return [d for d in candidates if d.kind == "method" or (d.kind == "class" and d.scope)]
    return candidates


class Graph:
    """Graph queries over one open index (resolution caches live as long as this object)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # Per-query memos: a name asked of every reference to it (tens of thousands for `assertEqual` in the
        # standard library) is looked up once, and so are each file's imports and definitions.
        self._named: dict[str, list[DefRow]] = {}
        self._imported: dict[str, list[tuple[str, int]]] = {}
        self._defs_in: dict[str, list[DefRow]] = {}

    def _definitions_named(self, name: str) -> list[DefRow]:
        found = self._named.get(name)
        if found is None:
            found = self._named[name] = definitions_named(self.store, name)
        return found

    def _definitions_in(self, path: str) -> list[DefRow]:
        found = self._defs_in.get(path)
        if found is None:
            found = self._defs_in[path] = definitions_in(self.store, path)
        return found

    @cached_property
    def files(self) -> frozenset[str]:
        """Every indexed path."""
        return frozenset(p for (p,) in self.store.conn.execute("SELECT path FROM files"))

    @cached_property
    def go_module(self) -> str | None:
        """The module path of ``go.mod`` at the repository root, if any."""
        try:
            text = (Path(self.store.root) / "go.mod").read_text(encoding="utf-8")
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith("module "):
                return line.split(None, 1)[1].strip().strip('"')
        return None

    @cached_property
    def _imports_by_file(self) -> dict[str, list[ImportRow]]:
        out: dict[str, list[ImportRow]] = {}
        for row in all_imports(self.store):
            out.setdefault(row.path, []).append(row)
        return out

    def import_targets(self, row: ImportRow) -> list[str]:
        """The repository files one import statement names (``[]``: outside the repository). Rows follow
        :class:`codegraph.graph.extract.Import`'s normalisation (relative prefixes folded into
        ``relative_level``), turned back into each language's written form for :mod:`.resolve`."""
        lang, files, level = row.language, self.files, row.relative_level
        written = ("../" * (level - 1) if level > 1 else "./" if level == 1 else "") + row.module
        if lang == "python":
            return resolve.resolve_python(row.path, row.module, level, row.names, files)
        if lang in ("javascript", "typescript", "tsx"):
            return resolve.resolve_js(row.path, written, files)
        if lang == "go":
            return resolve.resolve_go(row.module, self.go_module, files)
        if lang == "rust":
            parts = row.module.split(".")
            if level == 0:
                return resolve.resolve_rust(row.path, "::".join(parts), files)
            return resolve.resolve_rust(row.path, "::".join(["self", *["super"] * (level - 1), *parts]), files)
        if lang == "java":
            return resolve.resolve_java(row.module, files)
        if lang == "csharp":
            return resolve.resolve_csharp(row.module, files)
        if lang in ("c", "cpp"):
            return resolve.resolve_include(row.path, written if level else row.module, files, system=row.system)
        if lang == "ruby":
            return resolve.resolve_ruby(row.path, written if level else row.module, files, relative=level > 0)
        return []

    def imported_files(self, path: str) -> list[tuple[str, int]]:
        """``(target path, import line)`` for each repository file ``path`` imports, in line order."""
        if path in self._imported:
            return list(self._imported[path])
        out: list[tuple[str, int]] = []
        for row in self._imports_by_file.get(path, []):
            out += [(target, row.line) for target in self.import_targets(row) if target != path]
        self._imported[path] = out
        return list(out)

    def importers(self, path: str) -> list[tuple[str, int]]:
        """``(importing path, import line)`` for each import statement that names ``path``."""
        out = []
        for rows in self._imports_by_file.values():
            for row in rows:
                if row.path != path and path in self.import_targets(row):
                    out.append((row.path, row.line))
        return sorted(out)

    # -- definitions ------------------------------------------------------------------------------------------
    def definitions(self, query: str) -> list[DefRow]:
        """Definitions matching ``query`` (bare or qualified); a qualified query matches on the scope's tail
        (``Client.send`` matches scope ``http.Client``)."""
        scope, name = split_name(query)
        found = list(self._definitions_named(name))
        if scope:
            want = ".".join(scope)
            found = [d for d in found if d.scope and (d.scope == want or d.scope.endswith("." + want))]
        return found

    # -- references -------------------------------------------------------------------------------------------
    def resolve_reference(self, ref: RefRow) -> tuple[list[DefRow], str | None]:
        """The definitions a reference may point at, and how that was decided (see the module docstring)."""
        candidates = self._definitions_named(ref.name)
        if ref.language == "python":
            candidates = _python_plausible(ref, candidates)
        if not candidates:
            return [], None
        same = [d for d in candidates if d.path == ref.path]
        if same:
            return same, "same_file"
        imported = {target for target, _ in self.imported_files(ref.path)}
        via_import = [d for d in candidates if d.path in imported]
        if via_import:
            return via_import, "import"
        return list(candidates), "by_name"

    def references(self, query: str, kinds: Iterable[str] | None = None) -> list[tuple[RefRow, str]]:
        """References that resolve to a definition matching ``query``, with their resolution."""
        targets = {(d.path, d.start_line) for d in self.definitions(query)}
        if not targets:
            return []
        _, name = split_name(query)
        out = []
        for ref in references_named(self.store, name, list(kinds) if kinds else None):
            defs, how = self.resolve_reference(ref)
            if how is not None and any((d.path, d.start_line) in targets for d in defs):
                out.append((ref, how))
        return out

    def enclosing(self, ref: RefRow) -> GraphHit:
        """The definition a reference is made in (the module itself at top level), with the reference's line."""
        if ref.enclosing:
            scope, name = split_name(ref.enclosing)
            for d in self._definitions_in(ref.path):
                if d.name == name and (d.scope or "") == ".".join(scope) and d.start_line <= ref.line <= d.end_line:
                    return _def_hit(d, line=ref.line)
        return GraphHit(ref.path, ref.line, ref.line, None, "module", ref.language, line=ref.line)

    def refs(self, query: str) -> list[GraphHit]:
        """``codegraph refs``: every reference with its line and enclosing definition, surest resolution first."""
        order = {"same_file": 0, "import": 1, "by_name": 2}
        hits = [GraphHit(**{**self.enclosing(ref).to_json(), "resolution": how}) for ref, how in self.references(query)]
        return sorted(hits, key=lambda h: (order.get(h.resolution or "", 3), h.path, h.line or 0))

    def callers(self, query: str, depth: int = 1) -> list[GraphHit]:
        """``codegraph callers``: definitions that call ``query``, transitively up to ``depth`` calls away,
        nearest first (breadth-first; each caller reported once, at its smallest distance)."""
        seen: set[tuple[str, int]] = set()
        out: list[GraphHit] = []
        found: list[GraphHit] = []
        frontier = [query]
        for level in range(1, min(depth, MAX_DEPTH) + 1):
            following: list[str] = []
            for name in frontier:
                for ref, how in self.references(name, ["call"]):
                    hit = self.enclosing(ref)
                    key = (hit.path, hit.start_line)
                    if key in seen:
                        continue
                    seen.add(key)
                    found.append(GraphHit(**{**hit.to_json(), "resolution": how, "depth": level}))
                    if hit.symbol:
                        following.append(hit.symbol)
            out += sorted(found, key=_surest_first)
            found = []
            frontier = following
            if not frontier:
                break
        return out

    def callees(self, query: str, depth: int = 1) -> list[GraphHit]:
        """``codegraph callees``: definitions that ``query`` calls (resolved ones only), up to ``depth`` calls
        away, nearest first."""
        seen: set[tuple[str, int]] = set()
        out: list[GraphHit] = []
        frontier = self.definitions(query)
        for level in range(1, min(depth, MAX_DEPTH) + 1):
            following: list[DefRow] = []
            for d in frontier:
                for ref in references_in(self.store, d.path, d.qualified, ["call"]):
                    defs, how = self.resolve_reference(ref)
                    for target in defs:
                        key = (target.path, target.start_line)
                        if key in seen:
                            continue
                        seen.add(key)
                        out.append(_def_hit(target, line=ref.line, resolution=how, depth=level))
                        following.append(target)
            frontier = following
            if not frontier:
                break
        return out


def imports_json(graph: Graph, path: str) -> dict[str, Any]:
    """``codegraph deps PATH --json``: ``{"path", "imports": [{"path", "line"}], "imported_by": [...]}``."""
    return {
        "path": path,
        "imports": [{"path": p, "line": line} for p, line in graph.imported_files(path)],
        "imported_by": [{"path": p, "line": line} for p, line in graph.importers(path)],
    }


def hits_json(query: str, hits: Iterable[GraphHit]) -> dict[str, Any]:
    """``{"query", "results": [hit, ...]}``."""
    return {"query": query, "results": [h.to_json() for h in hits]}


__all__ = ["Graph", "GraphHit", "hits_json", "imports_json", "split_name"]
