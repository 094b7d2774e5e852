"""The code graph's rows (migration 4): each file's definitions, references and imports, written with its chunks
and read back by :mod:`codegraph.graph.query`. Rows are what the parse saw; nothing here resolves a name:
resolution happens when the graph is queried, so it is never stale.

The functions here are the graph's storage API, the same for every backend: each one calls the method of the
open store (:class:`~codegraph.store.base.IndexStore`) that holds the backend's SQL
(:mod:`codegraph.store.sqlite_graph`, :mod:`codegraph.store.postgres_graph`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import IndexStore


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


def definitions_named(store: IndexStore, name: str) -> list[DefRow]:
    """Every definition whose bare name is ``name`` (case-sensitive), in path and line order."""
    return store.definitions_named(name)


def definitions_in(store: IndexStore, path: str) -> list[DefRow]:
    """The definitions of one file, in line order."""
    return store.definitions_in(path)


def references_named(store: IndexStore, name: str, kinds: Sequence[str] | None = None) -> list[RefRow]:
    """Every reference to the bare name ``name`` (of ``kinds`` when given), in path and line order."""
    return store.references_named(name, kinds)


def references_in(
    store: IndexStore, path: str, enclosing: str | None, kinds: Sequence[str] | None = None
) -> list[RefRow]:
    """The references made inside definition ``enclosing`` of file ``path`` (its nested definitions included),
    of ``kinds`` when given; ``enclosing=None``: every reference of the file."""
    return store.references_in(path, enclosing, kinds)


def all_definitions(store: IndexStore) -> list[DefRow]:
    """Every definition of the repository, in path and line order."""
    return store.all_definitions()


def graph_fingerprint(store: IndexStore, version: str) -> str:
    """A fingerprint of the whole graph: ``version`` (what extracted and resolves it) and every indexed file's
    path and content hash (xxh3-128 hex). Equal fingerprints mean equal graph rows, so a cached result computed
    from the whole graph (PageRank) is still valid."""
    import xxhash

    digest = xxhash.xxh3_128(version.encode("utf-8"))
    for path, content_hash in store.file_hashes():
        digest.update(f"\0{path}\0{content_hash}".encode("utf-8", "surrogatepass"))
    return str(digest.hexdigest())


def cached_ranks(store: IndexStore, fingerprint: str) -> list[tuple[DefRow, float]] | None:
    """The stored PageRank of every definition, best first, if it was computed for ``fingerprint``."""
    if store.get_meta("rank_fingerprint") != fingerprint:
        return None
    return store.ranks()


def definition_ids(store: IndexStore) -> dict[tuple[str, int, str], int]:
    """``{(path, start_line, name): definition id}`` of every definition."""
    return store.definition_ids()


def store_ranks(store: IndexStore, fingerprint: str, scores: Sequence[tuple[int, float]]) -> None:
    """Replace the stored PageRank with ``(definition id, score)`` pairs computed for ``fingerprint``.

    Raises:
        StoreError: the index cannot be written (read-only, or another writer held it past the busy timeout).
    """
    store.store_ranks(fingerprint, scores)


def all_references(store: IndexStore) -> list[RefRow]:
    """Every reference of the repository, in path and line order."""
    return store.all_references()


def all_imports(store: IndexStore) -> list[ImportRow]:
    """Every import statement of the repository, in path and line order."""
    return store.all_imports()


def graph_counts(store: IndexStore) -> dict[str, int]:
    """Rows per graph table: ``{"definitions", "references", "imports"}``."""
    return {
        "definitions": store.count("graph_defs"),
        "references": store.count("graph_refs"),
        "imports": store.count("graph_imports"),
    }
