"""Search: vector KNN (sqlite-vec) and BM25 (FTS5), fused by reciprocal rank fusion.

Results are grouped by what they point at: the windows of one long definition are one result, reported with
the definition's full line range and the best window as snippet.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError
from .store import ChunkRow, Store, find_index_root
from .types import Hit

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from .index import Embedder

MODES = ("hybrid", "semantic", "keyword")

RRF_K = 60
"""Reciprocal rank fusion constant: score = sum over rankings of 1 / (RRF_K + rank), rank 1-based.
Cormack, Clarke & Buettcher, "Reciprocal Rank Fusion outperforms Condorcet and individual rank learning
methods", SIGIR 2009 (k = 60)."""

SEMANTIC_WEIGHT = 1.0
KEYWORD_WEIGHT = 1.0
"""Weights of the two rankings in the fusion (weighted RRF)."""

MAX_KNN_K = 4096
"""sqlite-vec's largest ``k`` for one KNN query."""

_Key = tuple[str, int, int]


@dataclass(frozen=True, slots=True)
class Filters:
    """Result filters.

    Attributes:
        languages: keep only these language ids (``None``: all).
        path_glob: keep only paths matching this gitignore-style pattern (``"src/**"``, ``"*.py"``).
    """

    languages: frozenset[str] | None = None
    path_glob: str | None = None

    def active(self) -> bool:
        return bool(self.languages) or bool(self.path_glob)


def _unit(row: ChunkRow) -> _Key:
    return (row.path, row.span_start, row.span_end)


def _to_hit(row: ChunkRow, score: float) -> Hit:
    symbol = f"{row.scope}.{row.symbol}" if row.scope and row.symbol else (row.symbol or row.scope)
    return Hit(
        row.path,
        row.span_start,
        row.span_end,
        symbol,
        row.kind,
        row.language,
        score,
        row.code,
        row.start_line,
    )


class Searcher:
    """Runs queries against one index with one embedder (kept open for repeated queries).

    Args:
        store: the open index.
        embedder: the model that built the index (its ``model_id`` must match the index's).
    """

    def __init__(self, store: Store, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    @classmethod
    def open(cls, start: Path, embedder: Embedder) -> Searcher:
        """Find the index at or above ``start`` and open it. Raises ``IndexNotFoundError``."""
        return cls(Store.open(find_index_root(start)), embedder)

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
            mode: ``hybrid`` (RRF of both), ``semantic`` (vector KNN only) or ``keyword`` (BM25 only).
            filters: language / path filters.

        Returns:
            Up to ``k`` :class:`~codegraph.types.Hit`, best first. Scores: see ``Hit.score``.

        Raises:
            ConfigError: unknown ``mode`` or ``k < 1``.
        """
        if mode not in MODES:
            raise ConfigError(f"unknown search mode {mode!r}; use one of: {', '.join(MODES)}")
        if k < 1:
            raise ConfigError(f"k must be at least 1, got {k}")
        if not query.strip():
            return []
        keep = _Filter(filters or Filters())
        depth = max(50, 5 * k)
        if mode == "semantic":
            return [_to_hit(r, s) for r, s in self._semantic(query, k, keep)]
        if mode == "keyword":
            return [_to_hit(r, s) for r, s in self._keyword(query, k, keep)]
        dense = self._semantic(query, depth, keep)
        sparse = self._keyword(query, depth, keep)
        fused: dict[_Key, float] = {}
        best: dict[_Key, ChunkRow] = {}
        for ranking, weight in ((dense, SEMANTIC_WEIGHT), (sparse, KEYWORD_WEIGHT)):
            for rank, (row, _score) in enumerate(ranking, 1):
                key = _unit(row)
                fused[key] = fused.get(key, 0.0) + weight / (RRF_K + rank)
                best.setdefault(key, row)
        order = sorted(fused, key=lambda key: -fused[key])[:k]
        return [_to_hit(best[key], fused[key]) for key in order]

    def _semantic(self, query: str, k: int, keep: _Filter) -> list[tuple[ChunkRow, float]]:
        vector = self.embedder.embed_queries([query])[0]
        total = self.store.count("embeddings")
        fetch = min(max(k * 2, 20) if not keep.active else max(k * 10, 200), MAX_KNN_K)
        while True:
            neighbours = self.store.knn(vector, min(fetch, MAX_KNN_K))
            by_emb = self.store.chunks_by_embedding([e for e, _ in neighbours])
            ranked = _group(
                ((row, 1.0 - dist) for emb, dist in neighbours for row in by_emb.get(emb, ()) if keep(row)), k
            )
            if len(ranked) >= k or fetch >= total or fetch >= MAX_KNN_K:
                break
            fetch *= 4
        if len(ranked) < k and fetch < total and keep.active:
            ranked = self._semantic_scan(vector, k, keep)
        return ranked

    def _semantic_scan(self, vector: npt.NDArray[np.float32], k: int, keep: _Filter) -> list[tuple[ChunkRow, float]]:
        """Exhaustive cosine scan inside SQLite over the chunks that pass the filters (KNN fallback)."""
        distances = self.store.cosine_scan(vector)
        by_id = self.store.chunks_by_id([c for c, _ in distances])
        scored = sorted(((by_id[c], 1.0 - d) for c, d in distances if keep(by_id[c])), key=lambda t: -t[1])
        return _group(scored, k)

    def _keyword(self, query: str, k: int, keep: _Filter) -> list[tuple[ChunkRow, float]]:
        total = self.store.count("chunks")
        fetch = max(k * 2, 20) if not keep.active else max(k * 10, 200)
        while True:
            scored = self.store.bm25(query, fetch)
            rows = self.store.chunks_by_id([c for c, _ in scored])
            ranked = _group(((rows[c], s) for c, s in scored if c in rows and keep(rows[c])), k)
            if len(ranked) >= k or fetch >= total or len(scored) < fetch:
                return ranked
            fetch *= 4


class _Filter:
    def __init__(self, filters: Filters) -> None:
        self.languages = filters.languages
        self.spec = None
        if filters.path_glob:
            import pathspec  # only --path needs it (~25 ms to import)

            self.spec = pathspec.GitIgnoreSpec.from_lines([filters.path_glob])
        self.active = filters.active()

    def __call__(self, row: ChunkRow) -> bool:
        if self.languages and row.language not in self.languages:
            return False
        return self.spec is None or self.spec.match_file(row.path)


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


def parse_languages(values: Sequence[str] | None) -> frozenset[str] | None:
    """Validate ``--lang`` values (comma-separated or repeated).

    Raises:
        ConfigError: an unknown language id (the message lists the known ones).
    """
    from .chunk import LANGUAGE_NAMES

    if not values:
        return None
    names = {v.strip().lower() for value in values for v in value.split(",") if v.strip()}
    unknown = sorted(names - set(LANGUAGE_NAMES))
    if unknown:
        raise ConfigError(f"unknown language {', '.join(unknown)}; known: {', '.join(LANGUAGE_NAMES)}")
    return frozenset(names)
