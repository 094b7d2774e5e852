"""Answering graph questions from the index: where NAME is defined, who references or calls it, what it calls,
what a file imports and what imports it.

Resolution happens here, at query time, from the rows the parse stored (so a change to one file can never
leave another file's edges stale). A reference to ``name`` in file F resolves, in order, to:

1. ``same_file``: a definition of ``name`` in F;
2. ``import``: a definition of ``name`` in a file F imports (imports resolved by :mod:`codegraph.graph.resolve`),
   or, in Go and Java, in another file of F's package (directory);
3. ``by_name``: any definition of ``name`` in the repository (a guess: every candidate is kept), where a call
   without a receiver (``f()``) never picks a method (except in Java, C#, C++ and Ruby, where it may be one of
   ``this``/``self``) and one with a receiver (``obj.f()``) only picks methods;

and stays unresolved (``None``) when the repository defines no ``name`` (a library or builtin). Before that, a
name reached through ``self``/``this``/``cls``/``Self``/``super()`` (in Java, C#, C++ and Ruby also a bare call
in a class) is resolved against the enclosing class and its bases (see :meth:`Graph._own_members`), and a bare
call never picks a method where a language cannot call one without a receiver (:data:`BARE_CALL_NOT_METHOD`).
Each result carries its resolution, so callers can tell a sure edge from a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import Any

from ..store import IndexStore
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
from . import CLASS_LIKE_KINDS, resolve
from .packages import Packages, read_manifests, recorded_packages

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
        project: the project of an answer over several projects of a PostgreSQL store (``--all``; the JSON then
            has a ``project`` key first), else ``None`` (and no such key).
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
    project: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The result as in the CLI contract (``codegraph def|refs|callers|callees --json``)."""
        head: dict[str, Any] = {} if self.project is None else {"project": self.project}
        return {
            **head,
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


@dataclass(frozen=True, slots=True)
class ImpactHit:
    """One thing a change would touch (see :meth:`Graph.impact`).

    Attributes:
        path: the file.
        symbol: the calling definition (symbol impact), ``None`` for a file.
        line: the import or call line (1-based) that links it one step closer to the change.
        depth: distance in imports or calls (1 = direct).
        test: the path is a test file (``codegraph.ranking.path_class``): the tests to run.
    """

    path: str
    symbol: str | None
    line: int | None
    depth: int
    test: bool

    def to_json(self) -> dict[str, Any]:
        """``{"path", "symbol", "line", "depth", "test"}``."""
        return {"path": self.path, "symbol": self.symbol, "line": self.line, "depth": self.depth, "test": self.test}


def split_name(query: str) -> tuple[list[str], str]:
    """``Client.send`` / ``Recv.Method`` / ``Type::method`` / ``mod::Type::f`` -> (scope parts, bare name)."""
    parts = [p for p in re.sub(r"(?<=\w)#", ".", query.replace("::", ".")).split(".") if p]  # `.#f`: private
    if not parts:
        return [], query
    return parts[:-1], parts[-1]


IMPLICIT_SELF_LANGUAGES = frozenset({"java", "csharp", "cpp", "ruby"})
"""Languages where a call without a receiver (``f()``) may be a method of the enclosing class (or, in Ruby, of
``self``), so a by-name guess for it keeps methods."""

SELF_RECEIVERS = frozenset({"self", "this", "cls", "super", "super()", "@", "Self"})
"""Receivers that name the enclosing object or class (``self.f()``, ``this.f()``, Ruby ``@x``)."""


def choose_targets(
    ref: RefRow, candidates: list[DefRow], imported: Callable[[], set[str]]
) -> tuple[list[DefRow], str | None]:
    """Resolve a reference among the definitions of its name (see the module docstring): same file, then the
    files its file imports (``imported`` is called only when needed), then by name. A by-name guess for a call
    never picks a method when the call has no receiver (``f()`` is a function or a class), and only methods
    when it has one (``obj.f()``)."""
    same = [d for d in candidates if d.path == ref.path]
    if same:
        return same, "same_file"
    via_import = [d for d in candidates if d.path in imported()]
    if via_import:
        return via_import, "import"
    if ref.kind == "call":
        if ref.qualifier is None and ref.language not in IMPLICIT_SELF_LANGUAGES:
            candidates = [d for d in candidates if d.kind != "method"]
        else:
            candidates = [d for d in candidates if d.kind == "method"]
    return (candidates, "by_name") if candidates else ([], None)


_SURETY = {"same_file": 0, "import": 1, "by_name": 2}


def _surest_first(hit: GraphHit) -> tuple[int, str, int]:
    """Sort key: surest resolution first, then path and line."""
    return (_SURETY.get(hit.resolution or "", 3), hit.path, hit.line or 0)


def def_hit(d: DefRow, **extra: Any) -> GraphHit:
    """A stored definition as a :class:`GraphHit` (``extra``: ``line``, ``resolution``, ``depth``, ``project``)."""
    return GraphHit(d.path, d.start_line, d.end_line, d.qualified, d.kind, d.language, **extra)


_PY_INSTANCE_RECEIVERS = ("self", "cls")

BARE_CALL_NOT_METHOD = frozenset({"python", "javascript", "typescript", "tsx", "go", "rust", "c"})
"""Languages where a bare call (``f()``, no receiver) never calls a method."""

REEXPORT_FILES = frozenset(
    {"__init__.py", "index.js", "index.mjs", "index.cjs", "index.ts", "index.tsx", "index.jsx", "mod.rs", "lib.rs"}
)
"""Package entry files whose imports are commonly re-exported (Python packages, JS/TS barrels, Rust modules)."""

_MAX_BASES = 8
"""How many inheritance steps a member lookup follows (guards against cycles and deep hierarchies)."""


def _is_member(d: DefRow) -> bool:
    """A class member: a method, or a class nested in a class."""
    return d.kind == "method" or (d.kind in ("class", "struct", "interface", "enum") and d.scope is not None)


def _plausible(ref: RefRow, candidates: list[DefRow]) -> list[DefRow]:
    """The candidates a reference can name at all: in Python what is reached through ``self``, ``cls`` or
    ``super()`` is a class member, never a module-level function or class; and in the languages of
    :data:`BARE_CALL_NOT_METHOD` a bare call is never a method."""
    q = ref.qualifier
    if ref.language == "python" and q is not None and (q in _PY_INSTANCE_RECEIVERS or q.startswith("super(")):
        return [d for d in candidates if _is_member(d)]
    if q is None and ref.kind == "call" and ref.language in BARE_CALL_NOT_METHOD:
        return [d for d in candidates if d.kind != "method"]
    return candidates


class Graph:
    """Graph queries over one open index (resolution caches live as long as this object)."""

    @classmethod
    def of(cls, store: IndexStore) -> Graph:
        """The graph of an open index, refusing one that holds files but no graph (built before the graph).

        Raises:
            IndexUnusableError: the index has files and no ``meta.graph_version``.
        """
        if store.count("files") and not store.get_meta("graph_version"):
            from ..errors import IndexUnusableError

            raise IndexUnusableError(
                "this index has no code graph yet (built by an older codegraph); run: codegraph index"
            )
        return cls(store)

    def __init__(self, store: IndexStore) -> None:
        self.store = store
        # Per-query memos: a name asked of every reference to it (tens of thousands for `assertEqual` in the
        # standard library) is looked up once, and so are each file's imports and definitions.
        self._named: dict[str, list[DefRow]] = {}
        self._imported: dict[str, list[tuple[str, int]]] = {}
        self._defs_in: dict[str, list[DefRow]] = {}
        self._bases_of: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
        self._visible: dict[str, set[str]] = {}
        self._reached: dict[tuple[int, str], set[str]] = {}

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
        return frozenset(self.store.file_languages())

    @cached_property
    def packages(self) -> Packages:
        """What the repository's root manifests (``go.mod``, ``package.json``, ``Cargo.toml``) said when it was
        last indexed (:mod:`codegraph.graph.packages`: recorded in the index, so another project's package names
        resolve on a machine without its checkout); for an index made before codegraph recorded them, read from
        the files at the recorded root (missing there: no package names)."""
        recorded = recorded_packages(self.store)
        return recorded if recorded is not None else read_manifests(Path(self.store.root))

    @property
    def go_module(self) -> str | None:
        """The module path of ``go.mod`` at the repository root, if any (see :attr:`packages`)."""
        return self.packages.go_module

    @property
    def js_package(self) -> tuple[str, list[str]] | None:
        """``(name, entry candidates)`` of the ``package.json`` at the repository root: the name other
        repositories import it by (``@acme/utils``), and its entry files, best first (``main``, ``module``,
        ``types``, ``exports["."]`` when a string, then ``src/index`` and ``index``); ``None`` without one (see
        :attr:`packages`)."""
        found = self.packages
        if found.js_name is None:
            return None
        return found.js_name, [*found.js_entries, "src/index", "index"]

    @property
    def rust_crate(self) -> str | None:
        """The crate name of the ``Cargo.toml`` at the repository root (``[package] name``, ``-`` read as ``_``,
        as ``use`` writes it), or ``None`` (see :attr:`packages`)."""
        return self.packages.rust_crate

    def package_targets(self, row: ImportRow) -> list[str]:
        """The files of this repository that another repository's import statement names: by the paths that
        resolve within it (:meth:`import_targets`: Python packages, Go module paths, Java, C#, C/C++), or by
        this repository's package name: a JS/TS specifier ``name`` (its entry file) or ``name/sub/path``
        (``package.json``), a Rust ``use name::item`` (``Cargo.toml``, from ``src/lib.rs``). The names are those
        recorded when this repository was indexed (:attr:`packages`): its checkout need not be on this machine."""
        if row.relative_level == 0 and row.language in ("javascript", "typescript", "tsx") and self.js_package:
            name, entries = self.js_package
            if row.module == name or row.module.startswith(name + "/"):
                sub = row.module[len(name) :].strip("/")
                for candidate in [sub] if sub else entries:
                    found = resolve.resolve_js("package.json", "./" + candidate, self.files)
                    if found:
                        return found
                return []
        if row.relative_level == 0 and row.language == "rust" and self.rust_crate:
            head, _, rest = row.module.partition(".")
            if head == self.rust_crate:
                return resolve.resolve_rust("src/lib.rs", "::".join(["crate", *rest.split(".")]), self.files)
        return self.import_targets(row)

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

    @cached_property
    def _importers(self) -> dict[str, list[tuple[str, int]]]:
        """Reverse import edges, every import resolved once: target path -> ``[(importer, line)]``."""
        out: dict[str, list[tuple[str, int]]] = {}
        for rows in self._imports_by_file.values():
            for row in rows:
                for target in self.import_targets(row):
                    if target != row.path:
                        out.setdefault(target, []).append((row.path, row.line))
        return {target: sorted(set(edges)) for target, edges in out.items()}

    def importers(self, path: str) -> list[tuple[str, int]]:
        """``(importing path, import line)`` for each import statement that names ``path``."""
        return self._importers.get(path, [])

    def impact(self, query: str, max_depth: int = MAX_DEPTH) -> tuple[str, list[ImpactHit]]:
        """What a change to a file or a symbol would touch: for an indexed PATH, the files that import it,
        transitively; for a NAME, the definitions that call it, transitively. Nearest first (breadth-first,
        each reported once at its smallest distance); test files are marked.

        Returns:
            ``("file" | "symbol", hits)``; ``("symbol", [])`` for an unknown name.
        """
        from ..ranking import path_class

        if query in self.files:
            seen = {query}
            hits: list[ImpactHit] = []
            frontier = [query]
            for level in range(1, max_depth + 1):
                following = []
                for target in frontier:
                    for importer, line in self.importers(target):
                        if importer not in seen:
                            seen.add(importer)
                            following.append(importer)
                            hits.append(ImpactHit(importer, None, line, level, path_class(importer) == "test"))
                frontier = following
                if not frontier:
                    break
            return "file", hits
        callers = self.callers(query, depth=max_depth)
        return "symbol", [ImpactHit(h.path, h.symbol, h.line, h.depth, path_class(h.path) == "test") for h in callers]

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
        candidates = _plausible(ref, self._definitions_named(ref.name))
        if not candidates:
            return [], None
        members = self._own_members(ref, candidates)
        if members is not None:
            return members
        return choose_targets(ref, candidates, lambda: self.visible_files(ref.path, ref.language))

    def visible_files(self, path: str, language: str) -> set[str]:
        """The files whose definitions ``path`` sees through an import, or (Go, Java) by sharing its package.
        An imported package entry file (:data:`REEXPORT_FILES`: ``__init__.py``, ``index.ts``, ``mod.rs``, ...)
        also makes visible the files it imports itself, one step: ``from ..store import find_index_root``
        names a function that ``store/__init__.py`` re-exports from ``store/store.py``."""
        seen = self._visible.get(path)
        if seen is None:
            seen = self._with_reexports({t for t, _ in self.imported_files(path)}) - {path}
            seen |= set(resolve.package_files(path, language, self.files))
            self._visible[path] = seen
        return seen

    def _with_reexports(self, files: set[str]) -> set[str]:
        """``files`` plus, for each package entry among them (:data:`REEXPORT_FILES`), the files it imports."""
        seen = set(files)
        for target in files:
            if target.rsplit("/", 1)[-1] in REEXPORT_FILES:
                seen |= {t for t, _ in self.imported_files(target)}
        return seen

    def foreign_targets(self, ref: RefRow, home: Graph) -> tuple[list[DefRow], str | None]:
        """Resolve a reference made in this graph's project to definitions of another project's graph ``home``
        (two projects of a PostgreSQL store, ``--all``): only when this project defines nothing the reference
        can name, and its file imports, by an absolute name that no file of this project answers, a file of
        ``home`` holding the definition (or a package entry of ``home`` re-exporting it, one step) —
        ``from shop.billing import send_invoice`` in one repository, ``shop/billing/__init__.py`` in another.
        Import paths resolve as within a repository, or by ``home``'s package name (:meth:`package_targets`):
        Python, Go (``go.mod`` module paths), Java, C#, C/C++ (``<lib/x.h>``), JS/TS (``package.json``'s
        name) and Rust (``Cargo.toml``'s crate name).

        Returns:
            ``(definitions of home, "import")``, or ``([], None)``.
        """
        if _plausible(ref, self._definitions_named(ref.name)):
            return [], None
        key = (id(home), ref.path)
        seen = self._reached.get(key)
        if seen is None:
            rows = [r for r in self._imports_by_file.get(ref.path, []) if not self.import_targets(r)]
            seen = self._reached[key] = home._with_reexports({t for r in rows for t in home.package_targets(r)})
        found = [d for d in _plausible(ref, home._definitions_named(ref.name)) if d.path in seen]
        return (found, "import") if found else ([], None)

    def _own_members(self, ref: RefRow, candidates: list[DefRow]) -> tuple[list[DefRow], str | None] | None:
        """Receiver-aware resolution of a name reached through ``self``/``this``/``cls``/``Self``/``super()``
        (or, in the languages of :data:`IMPLICIT_SELF_LANGUAGES`, a bare call) inside a class ``C``:

        1. ``C``'s own member (``super()``: skipped), else the nearest base class's, breadth-first over the bases
           the repository defines (found through its ``inherit`` references);
        2. else, for ``self``/``this``, the overrides in subclasses of ``C`` among ``candidates`` (dynamic
           dispatch: a base calling a hook that only its subclasses define);
        3. else unresolved ``([], None)``: the member comes from a base outside the repository (``Exception``,
           ``http.client.HTTPConnection``), and a namesake in another class would be a wrong guess.

        ``None`` when this does not apply (another receiver, no enclosing class, or a bare call in a language
        where it may also be a free function and none of the class's members matched): the caller then resolves
        by name."""
        q = ref.qualifier
        is_super = q is not None and q.startswith("super")
        bare = q is None
        if not (q in SELF_RECEIVERS or is_super or (bare and ref.language in IMPLICIT_SELF_LANGUAGES)):
            return None
        owner = self._enclosing_class(ref)
        if owner is None:
            return None
        found = self._member_in_hierarchy(ref.name, ref.path, owner, skip_own=is_super)
        if found is not None or bare:
            return found
        if not is_super:
            overrides = [d for d in candidates if d.scope and self._inherits(d.path, d.scope, (ref.path, owner))]
            if overrides:
                return overrides, "same_file" if all(d.path == ref.path for d in overrides) else "by_name"
        return [], None

    def _member_in_hierarchy(
        self, name: str, path: str, owner: str, *, skip_own: bool
    ) -> tuple[list[DefRow], str] | None:
        """Member ``name`` of class ``owner`` of file ``path`` or of its nearest base defining it (see
        :meth:`_own_members`), with the weakest resolution on the way; ``None`` when none defines it."""
        level: list[tuple[str, str, str]] = [(path, owner, "same_file")]
        if skip_own:
            level = self._bases(path, owner, "same_file")
        seen: set[tuple[str, str]] = set()
        for _ in range(_MAX_BASES):
            following: list[tuple[str, str, str]] = []
            for where, scope, reached in level:
                if (where, scope) in seen:
                    continue
                seen.add((where, scope))
                found = [d for d in self._definitions_in(where) if d.name == name and d.scope == scope]
                if found:
                    return found, reached
                following += self._bases(where, scope, reached)
            if not following:
                return None
            level = following
        return None

    def _inherits(self, path: str, scope: str, ancestor: tuple[str, str]) -> bool:
        """Whether class ``scope`` of file ``path`` has ``ancestor`` (``(path, qualified name)``) among its bases,
        transitively (at most :data:`_MAX_BASES` steps)."""
        level = [(path, scope)]
        seen: set[tuple[str, str]] = set()
        for _ in range(_MAX_BASES):
            following = []
            for where, name in level:
                for base_path, base, _how in self._bases(where, name, "same_file"):
                    if (base_path, base) == ancestor:
                        return True
                    if (base_path, base) not in seen:
                        seen.add((base_path, base))
                        following.append((base_path, base))
            if not following:
                return False
            level = following
        return False

    def _enclosing_class(self, ref: RefRow) -> str | None:
        """The qualified name of the innermost class-like scope around ``ref`` (a class, struct, interface, enum,
        trait or Ruby module of its file, or the owner of methods there such as a Rust ``impl`` type), or
        ``None`` at file level / in a free function. A class nested in a method does not make the method one."""
        if not ref.enclosing:
            return None
        parts = ref.enclosing.split(".")
        defs = self._definitions_in(ref.path)
        scopes = {d.scope for d in defs if d.kind == "method" and d.scope}
        scopes |= {d.qualified for d in defs if d.kind in CLASS_LIKE_KINDS or d.kind == "module"}
        for end in range(len(parts), 0, -1):
            prefix = ".".join(parts[:end])
            if prefix in scopes:
                return prefix
        return None

    def _bases(self, path: str, scope: str, reached: str) -> list[tuple[str, str, str]]:
        """The base classes of class ``scope`` of file ``path`` found in the repository, as ``(path, qualified
        name, resolution)``; the resolution is the weaker of ``reached`` and the base's own."""
        known = self._bases_of.get((path, scope))
        if known is None:
            known = []
            for ref in references_in(self.store, path, scope, ["inherit"]):
                if ref.enclosing != scope:
                    continue
                candidates = [d for d in self._definitions_named(ref.name) if d.kind not in ("method", "function")]
                if ref.qualifier:  # `module.Base` or `Outer.Base`: never a class nested in a function elsewhere
                    owner = ref.qualifier.rsplit(".", 1)[-1]
                    candidates = [d for d in candidates if d.scope is None or d.scope.rsplit(".", 1)[-1] == owner]
                targets, how = choose_targets(ref, candidates, partial(self.visible_files, path, ref.language))
                known += [(d.path, d.qualified, how or "by_name") for d in targets]
            self._bases_of[(path, scope)] = known
        return [(where, name, max(reached, how, key=lambda h: _SURETY.get(h, 3))) for where, name, how in known]

    def references(
        self, query: str, kinds: Iterable[str] | None = None, *, home: Graph | None = None
    ) -> list[tuple[RefRow, str]]:
        """References that resolve to a definition matching ``query``, with their resolution; with ``home``
        (another project's graph), the references made here to ``home``'s definitions (:meth:`foreign_targets`)."""
        owner = home or self
        targets = {(d.path, d.start_line) for d in owner.definitions(query)}
        if not targets:
            return []
        _, name = split_name(query)
        out = []
        for ref in references_named(self.store, name, list(kinds) if kinds else None):
            defs, how = self.resolve_reference(ref) if home is None else self.foreign_targets(ref, home)
            if how is not None and any((d.path, d.start_line) in targets for d in defs):
                out.append((ref, how))
        return out

    def enclosing(self, ref: RefRow) -> GraphHit:
        """The definition a reference is made in (the module itself at top level), with the reference's line."""
        if ref.enclosing:
            scope, name = split_name(ref.enclosing)
            for d in self._definitions_in(ref.path):
                if d.name == name and (d.scope or "") == ".".join(scope) and d.start_line <= ref.line <= d.end_line:
                    return def_hit(d, line=ref.line)
        return GraphHit(ref.path, ref.line, ref.line, None, "module", ref.language, line=ref.line)

    def refs(self, query: str, *, home: Graph | None = None) -> list[GraphHit]:
        """``codegraph refs``: every reference with its line and enclosing definition, surest resolution first
        (``home``: only those made here to another project's definitions, see :meth:`references`)."""
        hits = [
            GraphHit(**{**self.enclosing(ref).to_json(), "resolution": how})
            for ref, how in self.references(query, home=home)
        ]
        return sorted(hits, key=_surest_first)

    def callers(self, query: str, depth: int = 1, *, home: Graph | None = None) -> list[GraphHit]:
        """``codegraph callers``: definitions that call ``query``, transitively up to ``depth`` calls away,
        nearest first (breadth-first; each caller reported once, at its smallest distance). With ``home``
        (another project's graph) the first step is the calls made here to ``home``'s ``query``, the next
        steps this project's own callers of those."""
        seen: set[tuple[str, int]] = set()
        out: list[GraphHit] = []
        found: list[GraphHit] = []
        frontier = [query]
        for level in range(1, min(depth, MAX_DEPTH) + 1):
            following: list[str] = []
            for name in frontier:
                for ref, how in self.references(name, ["call"], home=home if level == 1 else None):
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

    def callees(self, query: str, depth: int = 1, *, others: Sequence[tuple[str, Graph]] = ()) -> list[GraphHit]:
        """``codegraph callees``: definitions that ``query`` calls (resolved ones only), up to ``depth`` calls
        away, nearest first. ``others``: ``(project name, graph)`` of the other projects of a PostgreSQL store
        (``--all``): a call this project cannot resolve may reach their definitions (:meth:`foreign_targets`);
        such hits name their project, and are not followed further."""
        seen: set[tuple[str | None, str, int]] = set()
        out: list[GraphHit] = []
        frontier = self.definitions(query)
        for level in range(1, min(depth, MAX_DEPTH) + 1):
            following: list[DefRow] = []
            for d in frontier:
                for ref in references_in(self.store, d.path, d.qualified, ["call"]):
                    found: list[tuple[str | None, list[DefRow], str | None]] = [(None, *self.resolve_reference(ref))]
                    if found[0][2] is None:
                        found = [(name, *self.foreign_targets(ref, graph)) for name, graph in others]
                    for project, defs, how in found:
                        for target in defs:
                            key = (project, target.path, target.start_line)
                            if key in seen:
                                continue
                            seen.add(key)
                            out.append(def_hit(target, line=ref.line, resolution=how, depth=level, project=project))
                            if project is None:
                                following.append(target)
            frontier = following
            if not frontier:
                break
        return out


@dataclass(frozen=True, slots=True)
class Edge:
    """A directed edge of a drawn neighbourhood: ``source`` calls or imports ``target`` (qualified symbols or
    paths); ``resolution`` as for :class:`GraphHit` (``None`` for import edges)."""

    source: str
    target: str
    resolution: str | None = None


def neighbourhood(graph: Graph, query: str, depth: int = 1) -> list[Edge]:
    """The call edges around a symbol (its callers and callees, up to ``depth`` calls away) or the import
    edges around an indexed file (what it imports and what imports it, up to ``depth`` steps); sorted, unique."""
    edges: set[Edge] = set()
    depth = min(depth, MAX_DEPTH)
    if query in graph.files:
        for direction in ("out", "in"):
            frontier, seen = [query], {query}
            for _ in range(depth):
                following = []
                for path in frontier:
                    pairs = graph.imported_files(path) if direction == "out" else graph.importers(path)
                    for other, _line in pairs:
                        edges.add(Edge(path, other) if direction == "out" else Edge(other, path))
                        if other not in seen:
                            seen.add(other)
                            following.append(other)
                frontier = following
        return sorted(edges, key=lambda e: (e.source, e.target))
    targets = [d.qualified for d in graph.definitions(query)]
    frontier, seen = list(targets), set(targets)
    for _ in range(depth):  # callers
        following = []
        for name in frontier:
            for ref, how in graph.references(name, ["call"]):
                caller = graph.enclosing(ref).symbol or ref.path
                edges.add(Edge(caller, name, how))
                if caller not in seen:
                    seen.add(caller)
                    following.append(caller)
        frontier = following
    frontier_defs = graph.definitions(query)
    seen_defs = {(d.path, d.start_line) for d in frontier_defs}
    for _ in range(depth):  # callees
        next_defs = []
        for d in frontier_defs:
            for ref in references_in(graph.store, d.path, d.qualified, ["call"]):
                found, resolution = graph.resolve_reference(ref)
                for target in found:
                    edges.add(Edge(d.qualified, target.qualified, resolution))
                    if (target.path, target.start_line) not in seen_defs:
                        seen_defs.add((target.path, target.start_line))
                        next_defs.append(target)
        frontier_defs = next_defs
    return sorted(edges, key=lambda e: (e.source, e.target))


def to_dot(query: str, edges: list[Edge]) -> str:
    """Graphviz ``dot`` source for ``edges``; the queried node is filled, guessed (``by_name``) edges dashed."""

    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["digraph codegraph {", "  rankdir=LR;", "  node [shape=box, fontname=Helvetica];"]
    nodes = sorted({e.source for e in edges} | {e.target for e in edges} | {query})
    for node in nodes:
        style = ", style=filled, fillcolor=lightyellow" if node == query or node.endswith("." + query) else ""
        lines.append(f"  {quote(node)} [label={quote(node)}{style}];")
    for e in edges:
        style = " [style=dashed]" if e.resolution == "by_name" else ""
        lines.append(f"  {quote(e.source)} -> {quote(e.target)}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(query: str, edges: list[Edge]) -> str:
    """Mermaid ``flowchart`` source for ``edges`` (``-.->`` for guessed edges)."""
    nodes = sorted({e.source for e in edges} | {e.target for e in edges} | {query})
    ids = {node: f"n{i}" for i, node in enumerate(nodes)}
    lines = ["flowchart LR"]
    for node in nodes:
        label = node.replace('"', "#quot;")
        lines.append(f'  {ids[node]}["{label}"]')
    for e in edges:
        arrow = "-.->" if e.resolution == "by_name" else "-->"
        lines.append(f"  {ids[e.source]} {arrow} {ids[e.target]}")
    return "\n".join(lines) + "\n"


CONTEXT_NAMES = 3
"""Caller and callee names shown per search result with ``codegraph search --context``."""


def call_context(graph: Graph, symbol: str | None) -> dict[str, Any]:
    """A search result's place in the call graph: ``{"callers": {"count", "top"}, "callees": {"count", "top"}}``
    (``top``: up to :data:`CONTEXT_NAMES` qualified names, surest first); zero counts for a result without a
    symbol."""
    if not symbol:
        empty = {"count": 0, "top": []}
        return {"callers": dict(empty), "callees": dict(empty)}
    out = {}
    for key, hits in (("callers", graph.callers(symbol)), ("callees", graph.callees(symbol))):
        names = list(dict.fromkeys(h.symbol or h.path for h in hits))
        out[key] = {"count": len(names), "top": names[:CONTEXT_NAMES]}
    return out


def imports_json(graph: Graph, path: str) -> dict[str, Any]:
    """``codegraph deps PATH --json``: ``{"path", "imports": [{"path", "line"}], "imported_by": [...]}``."""
    return {
        "path": path,
        "imports": [{"path": p, "line": line} for p, line in graph.imported_files(path)],
        "imported_by": [{"path": p, "line": line} for p, line in graph.importers(path)],
    }


def project_tree(graph: Graph, under: str = "", *, blocks: bool = False) -> dict[str, Any]:
    """The project structure as nested nodes ``{"path", "kind", "children"}``: the project (``kind``
    ``project``, ``path`` ``"."``) or the directory ``under``, then directories, files (with ``language``) and,
    with ``blocks``, each file's definitions nested by line containment (with ``symbol``, ``start_line``,
    ``end_line``; ``kind`` the definition kind). Children in path order, blocks in line order.

    Raises:
        KeyError: ``under`` is neither ``""`` nor an indexed directory or file.
    """
    under = under.strip("/")
    languages = graph.store.file_languages()
    paths = sorted(p for p in languages if not under or p == under or p.startswith(under + "/"))
    if not paths:
        raise KeyError(under)
    root: dict[str, Any] = {"path": under or ".", "kind": "project" if not under else "directory", "children": []}
    if under in languages:
        root = {"path": under, "kind": "file", "language": languages[under], "children": []}
    directories: dict[str, dict[str, Any]] = {under: root}
    for path in paths:
        if path == under:
            node = root
        else:
            parent = under
            rest = path[len(under) + 1 :] if under else path
            for part in rest.split("/")[:-1]:
                directory = f"{parent}/{part}" if parent else part
                if directory not in directories:
                    directories[directory] = {"path": directory, "kind": "directory", "children": []}
                    directories[parent]["children"].append(directories[directory])
                parent = directory
            node = {"path": path, "kind": "file", "language": languages[path], "children": []}
            directories[parent]["children"].append(node)
        if blocks:
            node["children"] = _nested_blocks(definitions_in(graph.store, path))
    return root


def _nested_blocks(defs: list[DefRow]) -> list[dict[str, Any]]:
    """Definitions (in line order, outer first) nested by line containment."""
    top: list[dict[str, Any]] = []
    stack: list[tuple[DefRow, dict[str, Any]]] = []
    for d in defs:
        node = {
            "path": d.path,
            "kind": d.kind,
            "symbol": d.qualified,
            "start_line": d.start_line,
            "end_line": d.end_line,
            "children": [],
        }
        while stack and not (stack[-1][0].start_line <= d.start_line and d.end_line <= stack[-1][0].end_line):
            stack.pop()
        (stack[-1][1]["children"] if stack else top).append(node)
        stack.append((d, node))
    return top


def impact_json(query: str, kind: str, hits: list[ImpactHit]) -> dict[str, Any]:
    """``codegraph impact --json``: ``{"query", "kind", "results": [...], "tests": [paths]}``; ``tests`` lists
    the test files among the results, nearest first (the tests to run for this change)."""
    tests = list(dict.fromkeys(h.path for h in hits if h.test))
    return {"query": query, "kind": kind, "results": [h.to_json() for h in hits], "tests": tests}


def hits_json(query: str, hits: Iterable[GraphHit]) -> dict[str, Any]:
    """``{"query", "results": [hit, ...]}``."""
    return {"query": query, "results": [h.to_json() for h in hits]}


__all__ = [
    "Graph",
    "GraphHit",
    "Edge",
    "call_context",
    "def_hit",
    "ImpactHit",
    "hits_json",
    "impact_json",
    "imports_json",
    "neighbourhood",
    "project_tree",
    "split_name",
    "to_dot",
    "to_mermaid",
]
