"""Which definitions matter most: PageRank over the reference graph, and the ranked repository map built on it.

Graph: one node per definition; an edge from the definition a reference is made in (or the file, for a
module-level reference) to each definition the reference resolves to (:meth:`.query.Graph.resolve_reference`,
as every graph command resolves it). A sure edge (``same_file``, ``import``) weighs 1; a ``by_name``
guess with *k* candidates weighs 1/*k* for each, and a by-name guess for ``obj.f()`` with an unknown ``obj`` is
left out. PageRank (Page, Brin, Motwani and Winograd, 1999; damping 0.85) then ranks the definitions that much
of the code depends on first, as aider's repository map does (https://aider.chat/docs/repomap.html), computed
with networkx.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..store.graph import DefRow, all_definitions, all_references
from .query import SELF_RECEIVERS, Graph

DAMPING = 0.85
"""PageRank damping factor (the value of the original paper, and networkx's default)."""

CHARS_PER_TOKEN = 4
"""Rough characters per token used to fit the map into a token budget (English and code average)."""


@dataclass(frozen=True, slots=True)
class RankedDefinition:
    """A definition with its PageRank score (scores of all definitions sum to 1)."""

    definition: DefRow
    score: float


def rank_definitions(graph: Graph) -> list[RankedDefinition]:
    """Every definition of the index, most central first (ties: path, line)."""
    import networkx as nx

    defs = all_definitions(graph.store)
    by_name: dict[str, list[DefRow]] = defaultdict(list)
    by_file: dict[str, list[DefRow]] = defaultdict(list)
    for d in defs:
        by_name[d.name].append(d)
        by_file[d.path].append(d)
    key = {(d.path, d.start_line, d.name): i for i, d in enumerate(defs)}
    digraph = nx.DiGraph()
    digraph.add_nodes_from(range(len(defs)))
    for ref in all_references(graph.store):
        if ref.name not in by_name:
            continue
        targets, how = graph.resolve_reference(ref)
        if not targets or (how == "by_name" and ref.qualifier is not None and ref.qualifier not in SELF_RECEIVERS):
            continue  # obj.f() with an unknown obj: any class's f, too weak a guess to rank by
        weight = 1.0 / len(targets) if how == "by_name" else 1.0
        source = _enclosing(by_file[ref.path], ref.enclosing, ref.line)
        src = key[(source.path, source.start_line, source.name)] if source else f"file:{ref.path}"
        for target in targets:
            dst = key[(target.path, target.start_line, target.name)]
            if src != dst:
                previous = digraph.get_edge_data(src, dst, {"weight": 0.0})["weight"]
                digraph.add_edge(src, dst, weight=previous + weight)
    if not defs:
        return []
    scores = nx.pagerank(digraph, alpha=DAMPING, weight="weight")
    ranked = [RankedDefinition(d, float(scores.get(i, 0.0))) for i, d in enumerate(defs)]
    return sorted(ranked, key=lambda r: (-r.score, r.definition.path, r.definition.start_line))


RANK_VERSION = "2"
"""Version of :func:`rank_definitions` (graph, weights, damping): part of the cache fingerprint with the graph's
:data:`~codegraph.graph.GRAPH_VERSION`."""


def ranked_definitions(graph: Graph) -> list[RankedDefinition]:
    """:func:`rank_definitions`, cached in the index (table ``graph_rank``) until a file or the recorded package
    names (:mod:`codegraph.graph.packages`) change: computing PageRank takes seconds on a large repository
    (~1.4 s for 6,900 definitions here), reading it back a few milliseconds. An index that cannot be written
    (read-only, busy) just is not cached."""
    from ..errors import StoreError
    from ..store.graph import cached_ranks, definition_ids, graph_fingerprint, store_ranks
    from ..store.sqlite import store_errors
    from . import GRAPH_VERSION
    from .packages import META_KEY

    # The recorded package names take part: go.mod's module path resolves the repository's own Go imports.
    packages = graph.store.get_meta(META_KEY) or ""
    fingerprint = graph_fingerprint(graph.store, f"{GRAPH_VERSION}/{RANK_VERSION}/{packages}")
    cached = cached_ranks(graph.store, fingerprint)
    if cached is not None:
        return [RankedDefinition(d, score) for d, score in cached]
    ranked = rank_definitions(graph)
    ids = definition_ids(graph.store)
    try:
        store_ranks(
            graph.store,
            fingerprint,
            [(ids[(r.definition.path, r.definition.start_line, r.definition.name)], r.score) for r in ranked],
        )
    except (StoreError, OSError, *store_errors()) as exc:  # type: ignore[misc]  # read-only or busy: answer without the cache
        import logging

        logging.getLogger(__name__).debug("PageRank not cached: %s", exc)
    return ranked


def centrality(graph: Graph, ranked: list[RankedDefinition] | None = None) -> dict[tuple[str, str], float]:
    """Each definition's PageRank as a percentile: ``{(path, qualified name): c}`` with ``c`` in [0, 1) the
    share of the repository's definitions that score strictly lower (ties share one value, so the many
    definitions nothing references all get the lowest; several definitions of one name in a file: the best).
    Percentiles rather than raw scores, because PageRank mass is spread over very different numbers of
    definitions in a small and a large repository."""
    from bisect import bisect_left

    ranked = ranked_definitions(graph) if ranked is None else ranked
    scores = sorted(item.score for item in ranked)
    n = len(scores)
    out: dict[tuple[str, str], float] = {}
    for item in ranked:  # most central first, so setdefault keeps the best of namesakes
        out.setdefault((item.definition.path, item.definition.qualified), bisect_left(scores, item.score) / n)
    return out


def _enclosing(defs: list[DefRow], qualified: str | None, line: int) -> DefRow | None:
    """The innermost definition of a file named ``qualified`` that contains ``line``."""
    if not qualified:
        return None
    found = [d for d in defs if d.qualified == qualified and d.start_line <= line <= d.end_line]
    return min(found, key=lambda d: d.end_line - d.start_line) if found else None


@dataclass(frozen=True, slots=True)
class RepoMap:
    """A repository map: its text and the definitions it shows, most central first."""

    text: str
    entries: tuple[RankedDefinition, ...]


def repo_map(graph: Graph, *, tokens: int = 1024, ranked: list[RankedDefinition] | None = None) -> RepoMap:
    """The repository map: the most central definitions' first lines (their signatures), grouped by file in
    rank order of each file's best definition, cut to about ``tokens`` tokens (``CHARS_PER_TOKEN`` characters
    each). Format::

        path/to/file.py:
          12: def send(self, request, **kwargs):
    """
    budget = tokens * CHARS_PER_TOKEN
    chosen: dict[str, list[DefRow]] = {}
    shown: list[RankedDefinition] = []
    size = 0
    lines_of: dict[str, list[str]] = {}
    for item in ranked if ranked is not None else ranked_definitions(graph):
        d = item.definition
        if d.path not in lines_of:
            try:
                text = (Path(graph.store.root) / d.path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            lines_of[d.path] = text.splitlines()
        source_lines = lines_of[d.path]
        signature = source_lines[d.start_line - 1].strip() if d.start_line <= len(source_lines) else d.qualified
        entry = len(signature) + 8 + (len(d.path) + 2 if d.path not in chosen else 0)
        if size + entry > budget:
            break
        size += entry
        chosen.setdefault(d.path, []).append(d)
        shown.append(item)
    out = []
    for path, defs in chosen.items():
        out.append(f"{path}:")
        for d in sorted(defs, key=lambda d: d.start_line):
            out.append(f"  {d.start_line}: {lines_of[path][d.start_line - 1].strip()}")
    return RepoMap("\n".join(out) + ("\n" if out else ""), tuple(shown))
