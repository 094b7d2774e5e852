"""Search: vector KNN (sqlite-vec or pgvector) and BM25 (FTS5, or ``tsvector`` ranking), fused by reciprocal rank
fusion.

Results are grouped by what they point at: the windows of one long definition are one result, reported with
the definition's full line range and the best window as its excerpt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Settings
from .errors import ConfigError
from .ranking import (
    MODES,
    TEST_MODES,
    identifier_query,
    path_class,
    query_identifiers,
    query_stems,
    split_qualified,
    stem_overlap,
)
from .store import ChunkRow, IndexStore, Store, find_index_root
from .store.fts import STOPWORDS
from .store.store import MAX_KNN_K, RowFilter
from .types import Hit

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from .embed.protocol import Embedder

RRF_K = 60
"""Reciprocal rank fusion constant: score = sum over rankings of 1 / (RRF_K + rank), rank 1-based.
Cormack, Clarke & Buettcher, "Reciprocal Rank Fusion outperforms Condorcet and individual rank learning
methods", SIGIR 2009 (k = 60)."""

KEYWORD_WEIGHT = 1.0
"""Weight of the BM25 ranking in the fusion (the vector ranking's weight comes from the model profile)."""

_Key = tuple[str | None, str, int, int]


FUSIONS = ("rrf", "score")
"""How the two rankings are combined: reciprocal rank fusion, or a weighted sum of min-max normalised scores."""


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """How results are ranked. Defaults are what measured best on the dev set (``docs/eval.md``); the dev-set
    harness (``benchmarks/devset.py``) varies them one at a time.

    Attributes:
        semantic_weight: weight of the vector ranking in the fusion; ``None`` takes the model profile's
            ``semantic_weight`` (fitted per model: a strong dense model loses from equal-weight fusion).
        keyword_weight: weight of the BM25 ranking in the fusion.
        rrf_k: reciprocal rank fusion constant (see :data:`RRF_K`).
        fusion: one of :data:`FUSIONS`; ``None`` takes the model profile's ``fusion``.
        tests: one of :data:`~codegraph.ranking.TEST_MODES`: what happens to test, example, vendored and
            generated code (see :func:`~codegraph.ranking.path_class`).
        demote_factor: score multiplier of demoted paths (``tests="demote"``), in (0, 1].
        definition_first: a query that is one code identifier ranks its definition first.
        definition_boost: score multiplier ``1 + definition_boost`` of the definitions of identifiers named
            inside a longer query; 0 turns it off.
        stem_boost: score multiplier ``1 + stem_boost * share`` for the share of a symbol's name parts found
            (stemmed) among the query's words; 0 turns it off.
        file_coherence: score bonus, times the summed score of the other candidates in the same file (relative
            to the best candidate's score); 0 turns it off.
        centrality_boost: score multiplier ``1 + centrality_boost * c`` where ``c`` in [0, 1] is the percentile
            of the result's definition in the repository's PageRank (:func:`codegraph.graph.rank.centrality`);
            0 turns it off.
        depth: candidates taken from each ranking before re-ranking (at least ``5 * k``).
    """

    semantic_weight: float | None = None
    keyword_weight: float = KEYWORD_WEIGHT
    rrf_k: int = RRF_K
    fusion: str | None = None
    tests: str = "demote"
    demote_factor: float = 0.5
    definition_first: bool = True
    definition_boost: float = 0.0
    stem_boost: float = 0.1
    file_coherence: float = 0.0
    centrality_boost: float = 0.0
    depth: int = 50


@dataclass(frozen=True, slots=True)
class Filters:
    """Result filters.

    Attributes:
        languages: keep only these language ids (``None``: all).
        path_glob: keep only paths matching this gitignore-style pattern (``"src/**"``, ``"*.py"``).
    """

    languages: frozenset[str] | None = None
    path_glob: str | None = None


def _unit(row: ChunkRow) -> _Key:
    return (row.project, row.path, row.span_start, row.span_end)


def _to_hit(row: ChunkRow, score: float) -> Hit:
    return Hit(
        row.path,
        row.span_start,
        row.span_end,
        row.qualified_symbol,
        row.kind,
        row.language,
        score,
        row.code,
        row.start_line,
        row.project,
    )


class Searcher:
    """Runs queries against one index with one embedder (kept open for repeated queries).

    Args:
        store: the open index.
        embedder: the model that built the index (its ``model_id`` must match the index's).
    """

    def __init__(self, store: IndexStore, embedder: Embedder, *, options: SearchOptions | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.options = options or SearchOptions()
        self._central: dict[tuple[str, str], float] | None = None

    @classmethod
    def open(cls, start: Path, embedder: Embedder, *, settings: Settings | None = None) -> Searcher:
        """Find the index at or above ``start`` (or, when ``settings.store`` names a PostgreSQL store, the
        project that covers ``start``: see :func:`codegraph.store.open_index`) and open it.

        Raises:
            IndexNotFoundError: no index found.
            StoreError: it cannot be opened.
        """
        if settings is None:
            return cls(Store.open(find_index_root(start)), embedder)
        from .store import open_index

        return cls(open_index(start, settings=settings), embedder)

    def close(self) -> None:
        """Close the database."""
        self.store.close()

    def __enter__(self) -> Searcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def search(self, query: str, *, k: int = 10, mode: str = "hybrid", filters: Filters | None = None) -> list[Hit]:
        """Best ``k`` results for ``query``.

        Args:
            query: natural language or identifiers.
            k: results wanted (>= 1).
            mode: ``hybrid`` (fusion of both), ``semantic`` (vector KNN only) or ``keyword`` (BM25 only).
            filters: language / path filters.

        Returns:
            Up to ``k`` :class:`~codegraph.types.Hit`, best first. Scores: see ``Hit.score``; the ranking
            signals of :mod:`codegraph.ranking` scale them.

        Raises:
            ConfigError: unknown ``mode``, fusion or tests mode, or ``k < 1``.
        """
        opts = self.options
        if mode not in MODES:
            raise ConfigError(f"unknown search mode {mode!r}; use one of: {', '.join(MODES)}")
        if opts.fusion is not None and opts.fusion not in FUSIONS:
            raise ConfigError(f"unknown fusion {opts.fusion!r}; use one of: {', '.join(FUSIONS)}")
        if opts.tests not in TEST_MODES:
            raise ConfigError(f"unknown tests mode {opts.tests!r}; use one of: {', '.join(TEST_MODES)}")
        if k < 1:
            raise ConfigError(f"k must be at least 1, got {k}")
        if not query.strip():
            return []
        keep = _row_filter(filters or Filters(), exclude_demoted=opts.tests == "exclude")
        depth = max(opts.depth, 5 * k)
        scores: dict[_Key, float] = {}
        best: dict[_Key, ChunkRow] = {}
        if mode == "semantic":
            self._collect(self._semantic(query, depth, keep), scores, best)
        elif mode == "keyword":
            self._collect(self._keyword(query, depth, keep), scores, best)
        else:
            self._fuse(self._semantic(query, depth, keep), self._keyword(query, depth, keep), scores, best)
        exact = identifier_query(query)
        first = self._definitions([exact], keep, scores, best) if exact and opts.definition_first else set()
        final = self._rerank(query, scores, best)
        if opts.definition_boost and not exact:
            for key in self._definitions(query_identifiers(query), keep, final, best):
                final[key] = _scaled(final[key], 1.0 + opts.definition_boost)
        if first:
            # Lift the named definitions above every other candidate, keeping their order and the scores
            # monotonic (best first, higher is better).
            top = max(final.values())
            lift = top - min(final[key] for key in first) + 1e-6
            for key in first:
                final[key] += lift
        order = sorted(final, key=lambda key: -final[key])[:k]
        return [_to_hit(best[key], final[key]) for key in order]

    @staticmethod
    def _collect(ranking: list[tuple[ChunkRow, float]], scores: dict[_Key, float], best: dict[_Key, ChunkRow]) -> None:
        for row, score in ranking:
            key = _unit(row)
            if key not in scores:
                scores[key] = score
                best[key] = row

    def _semantic_weight(self) -> float:
        if self.options.semantic_weight is not None:
            return self.options.semantic_weight
        return float(self.embedder.profile.semantic_weight)

    def _fuse(
        self,
        dense: list[tuple[ChunkRow, float]],
        sparse: list[tuple[ChunkRow, float]],
        scores: dict[_Key, float],
        best: dict[_Key, ChunkRow],
    ) -> None:
        """Weighted RRF (``weight / (rrf_k + rank)``, rank 1-based) or a weighted sum of min-max normalised
        scores (each list scaled to [0, 1] over its own candidates; absent from a list counts 0)."""
        opts = self.options
        fusion = opts.fusion or self.embedder.profile.fusion
        for ranking, weight in ((dense, self._semantic_weight()), (sparse, opts.keyword_weight)):
            if fusion == "score" and ranking:
                top, low = ranking[0][1], ranking[-1][1]
                span = (top - low) or 1.0
                contributions = [weight * (score - low) / span for _row, score in ranking]
            else:
                contributions = [weight / (opts.rrf_k + rank) for rank in range(1, len(ranking) + 1)]
            for (row, _score), value in zip(ranking, contributions, strict=True):
                key = _unit(row)
                scores[key] = scores.get(key, 0.0) + value
                best.setdefault(key, row)

    def _definitions(
        self, names: list[str], keep: RowFilter | None, scores: dict[_Key, float], best: dict[_Key, ChunkRow]
    ) -> set[_Key]:
        """Units that define one of ``names`` (added to the candidates with score 0 if missing)."""
        found: set[_Key] = set()
        for ident in names:
            scope, name = split_qualified(ident)
            for row in self.store.find_definitions(name, scope=scope, where=keep):
                key = _unit(row)
                found.add(key)
                if key not in scores:
                    scores[key] = 0.0
                    best[key] = row
        return found

    def _rerank(self, query: str, scores: dict[_Key, float], best: dict[_Key, ChunkRow]) -> dict[_Key, float]:
        """Apply the path-class, identifier-stem and file-coherence signals (see :class:`SearchOptions`)."""
        opts = self.options
        final = dict(scores)
        if opts.stem_boost:
            stems = query_stems(query, STOPWORDS)
            for key, row in best.items():
                share = stem_overlap(row.symbol, stems)
                if share:
                    final[key] = _scaled(final[key], 1.0 + opts.stem_boost * share)
        if opts.file_coherence and final:
            top = max(abs(v) for v in final.values()) or 1.0
            per_file: dict[tuple[str | None, str], float] = {}
            for key, value in final.items():
                per_file[key[:2]] = per_file.get(key[:2], 0.0) + max(value, 0.0)
            for key, value in list(final.items()):
                others = per_file[key[:2]] - max(value, 0.0)
                final[key] = value + opts.file_coherence * others / top * abs(value)
        if opts.centrality_boost and final:
            central = self._centrality()
            for key, row in best.items():
                c = central.get((row.path, row.qualified_symbol or ""), 0.0)
                if c:
                    final[key] = _scaled(final[key], 1.0 + opts.centrality_boost * c)
        if opts.tests == "demote":
            for key in final:
                if path_class(key[1]) is not None:
                    final[key] = _scaled(final[key], opts.demote_factor)
        return final

    def _centrality(self) -> dict[tuple[str, str], float]:
        """PageRank percentiles of the index's definitions, computed once per searcher."""
        if self._central is None:
            from .graph.query import Graph
            from .graph.rank import centrality

            self._central = centrality(Graph(self.store))
        return self._central

    def _semantic(self, query: str, k: int, keep: RowFilter | None) -> list[tuple[ChunkRow, float]]:
        vector = self.embedder.embed_queries([query])[0]
        total = self.store.count("embeddings")
        fetch = min(max(k * 2, 20) if keep is None else max(k * 10, 200), MAX_KNN_K)
        while True:
            neighbours = self.store.knn(vector, min(fetch, MAX_KNN_K))
            by_emb = self.store.chunks_by_embedding([e for e, _ in neighbours], where=keep)
            ranked = _group(((row, 1.0 - dist) for emb, dist in neighbours for row in by_emb.get(emb, ())), k)
            if len(ranked) >= k or fetch >= total or fetch >= MAX_KNN_K:
                break
            fetch *= 4
        if len(ranked) < k and fetch < total and keep is not None:
            ranked = self._semantic_scan(vector, k, keep)
        return ranked

    def _semantic_scan(self, vector: npt.NDArray[np.float32], k: int, keep: RowFilter) -> list[tuple[ChunkRow, float]]:
        """Exhaustive cosine scan inside SQLite over the chunks that pass the filters (KNN fallback)."""
        distances = self.store.cosine_scan(vector, limit=max(20 * k, 200), where=keep)
        by_id = self.store.chunks_by_id([c for c, _ in distances])
        return _group(((by_id[c], 1.0 - d) for c, d in distances), k)

    def _keyword(self, query: str, k: int, keep: RowFilter | None) -> list[tuple[ChunkRow, float]]:
        total = self.store.count("chunks")
        fetch = max(k * 2, 20)
        while True:
            scored = self.store.bm25(query, fetch, where=keep)
            rows = self.store.chunks_by_id([c for c, _ in scored])
            ranked = _group(((rows[c], s) for c, s in scored if c in rows), k)
            if len(ranked) >= k or fetch >= total or len(scored) < fetch:
                return ranked
            fetch *= 4


def _scaled(score: float, factor: float) -> float:
    """``score`` moved by ``factor`` in the direction of better (>1) or worse (<1), whatever its sign."""
    return score * factor if score >= 0 else score / factor


def _row_filter(filters: Filters, *, exclude_demoted: bool) -> RowFilter | None:
    """The store's SQL-side filter for ``--lang``, ``--path`` and ``--tests exclude``; ``None`` when none."""
    spec = None
    if filters.path_glob:
        import pathspec  # only --path needs it (~25 ms to import)

        spec = pathspec.GitIgnoreSpec.from_lines([filters.path_glob])
    if not filters.languages and spec is None and not exclude_demoted:
        return None

    def path_ok(path: str) -> bool:
        if exclude_demoted and path_class(path) is not None:
            return False
        return spec is None or spec.match_file(path)

    needs_path = spec is not None or exclude_demoted
    return RowFilter(languages=filters.languages or None, path_ok=path_ok if needs_path else None)


def _group(scored: Iterable[tuple[ChunkRow, float]], k: int) -> list[tuple[ChunkRow, float]]:
    """Keep the first (best) chunk per reported unit, in input order, up to ``k`` units."""
    out: list[tuple[ChunkRow, float]] = []
    seen: set[_Key] = set()
    for row, score in scored:
        key = _unit(row)
        if key in seen:
            continue
        seen.add(key)
        out.append((row, score))
        if len(out) >= k:
            break
    return out
