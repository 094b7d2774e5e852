"""Scoring and running an evaluation: index the stripped copy with each model, search every query in each mode,
and compute MRR@10 and recall@k from the rank of the first relevant hit (see :mod:`codegraph.evaluate`)."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings, resolve_settings
from ..errors import ConfigError

if TYPE_CHECKING:
    from ..search import SearchOptions
    from ..types import Hit

from .evalset import EvalQuery, EvalSet, materialise

K = 10
"""Results asked for per query; MRR is cut off at this rank (MRR@10)."""

RECALL_AT = (1, 5, 10)
"""The k of the recall@k metrics."""

EvalProgressFn = Callable[[str, str, int, int], None]
"""``progress(model, stage, done, total)``; stages: ``"load"`` (the model), ``"chunk"`` (files), ``"embed"``
(chunks), ``"store"`` (files), as :func:`codegraph.index.index_repo` reports them, then ``"search"`` (queries
times modes)."""


def first_relevant_rank(hits: Sequence[Hit], query: EvalQuery, *, k: int = K) -> int | None:
    """Rank (1-based) of the first hit among the first ``k`` that is relevant to ``query`` (lenient), or ``None``.

    Lenient relevance (dev benchmark, ``score.py``): same path, and the hit's ``[start_line, end_line]``
    overlaps the target's (1-based inclusive lines).
    """
    for rank, hit in enumerate(hits[:k], 1):
        if hit.path == query.path and hit.start_line <= query.end_line and hit.end_line >= query.start_line:
            return rank
    return None


@dataclass(frozen=True, slots=True)
class Metrics:
    """Retrieval metrics over a set of queries (means over queries; every value in [0, 1], higher is better).

    Attributes:
        n: number of queries.
        mrr_at_10: mean reciprocal rank of the first relevant hit, 0 when it is not in the top 10.
        recall_at_1 / recall_at_5 / recall_at_10: share of queries with a relevant hit in the top k.
    """

    n: int
    mrr_at_10: float
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float

    @classmethod
    def from_ranks(cls, ranks: Sequence[int | None]) -> Metrics:
        """Metrics from each query's first relevant rank (``None``, or a rank past 10: not found)."""
        n = len(ranks)
        found = [r for r in ranks if r is not None and r <= K]
        if not n:
            return cls(0, 0.0, 0.0, 0.0, 0.0)
        recall = [sum(1 for r in found if r <= k) / n for k in RECALL_AT]
        return cls(n, sum(1 / r for r in found) / n, recall[0], recall[1], recall[2])

    def to_json(self) -> dict[str, Any]:
        """``{"n", "mrr@10", "recall@1", "recall@5", "recall@10"}``, rounded to 4 decimals."""
        return {
            "n": self.n,
            "mrr@10": round(self.mrr_at_10, 4),
            "recall@1": round(self.recall_at_1, 4),
            "recall@5": round(self.recall_at_5, 4),
            "recall@10": round(self.recall_at_10, 4),
        }


@dataclass(frozen=True, slots=True)
class ModeResult:
    """One model's results in one search mode.

    Attributes:
        mode: ``hybrid``, ``semantic`` or ``keyword``.
        overall: metrics over every query.
        by_language: metrics per language id.
        latency_ms_median: median wall time of one ``Searcher.search`` call (milliseconds).
        ranks: each query id's first relevant rank (``None``: not in the top 10).
    """

    mode: str
    overall: Metrics
    by_language: Mapping[str, Metrics]
    latency_ms_median: float
    ranks: Mapping[str, int | None]

    def to_json(self) -> dict[str, Any]:
        """Metrics and latency as a JSON-ready dict (ranks are reported per query by :class:`EvalReport`)."""
        return {
            "overall": self.overall.to_json(),
            "by_language": {lang: m.to_json() for lang, m in self.by_language.items()},
            "latency_ms_median": round(self.latency_ms_median, 2),
        }


@dataclass(frozen=True, slots=True)
class ModelResult:
    """One model's index run and its results per mode.

    Attributes:
        model: the model name as asked for.
        model_id: ``name@sha256prefix``, as the index records it.
        index_seconds: wall time of indexing the copy from scratch (seconds; chunking, embedding, storing).
        files: files indexed (discovered files less those skipped: binary, undecodable, ...).
        chunks: chunks in the index.
        chunks_per_s: ``chunks / index_seconds``.
        latency_ms_median: median wall time of one search over every mode (milliseconds).
        modes: results per mode, in the order asked for.
    """

    model: str
    model_id: str
    index_seconds: float
    files: int
    chunks: int
    chunks_per_s: float
    latency_ms_median: float
    modes: Mapping[str, ModeResult] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The model's timings and per-mode metrics as a JSON-ready dict."""
        return {
            "model": self.model,
            "model_id": self.model_id,
            "index": {
                "seconds": round(self.index_seconds, 3),
                "files": self.files,
                "chunks": self.chunks,
                "chunks_per_s": round(self.chunks_per_s, 1),
            },
            "latency_ms_median": round(self.latency_ms_median, 2),
            "modes": {mode: result.to_json() for mode, result in self.modes.items()},
        }


@dataclass(frozen=True, slots=True)
class EvalReport:
    """What :func:`evaluate` measured.

    Attributes:
        eval_set: the queries.
        models: one result per model, in the order asked for.
        modes: the modes, in the order asked for.
    """

    eval_set: EvalSet
    models: tuple[ModelResult, ...]
    modes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """One JSON-ready object: the eval set's summary, per model/mode/language metrics and timings, and every
        query with its rank per model and mode (``null``: not in the top 10)."""
        summary = self.eval_set.to_json()
        queries = summary.pop("queries")
        for q in queries:
            q["ranks"] = {m.model: {mode: m.modes[mode].ranks[q["id"]] for mode in self.modes} for m in self.models}
        return {
            **summary,
            "relevance": "lenient",
            "k": K,
            "modes": list(self.modes),
            "models": [m.to_json() for m in self.models],
            "queries": queries,
        }


# --------------------------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------------------------
def _score(queries: Sequence[EvalQuery], ranks: Mapping[str, int | None]) -> tuple[Metrics, dict[str, Metrics]]:
    per_language: dict[str, list[int | None]] = defaultdict(list)
    for q in queries:
        per_language[q.language].append(ranks[q.id])
    overall = Metrics.from_ranks([ranks[q.id] for q in queries])
    return overall, {lang: Metrics.from_ranks(r) for lang, r in sorted(per_language.items())}


def evaluate(
    eval_set: EvalSet,
    models: Sequence[str],
    modes: Sequence[str],
    *,
    progress: EvalProgressFn | None = None,
    options: SearchOptions | None = None,
    settings: Settings | None = None,
) -> EvalReport:
    """Index the stripped copy with each model, answer every query in each mode, and score the answers.

    For each model the copy gets a fresh index (in a temporary directory, removed afterwards); each query is
    answered by ``Searcher.search(query, k=10, mode=mode)``, and the first relevant hit's rank (lenient:
    same path, overlapping lines) gives MRR@10 and recall@1/5/10, per language and overall.

    Args:
        eval_set: from :func:`build_eval_set`.
        models: model names (``minilm``, ``code``, ...); every one is resolved before any work starts.
        modes: search modes among :data:`codegraph.ranking.MODES`.
        progress: optional callback, see :data:`EvalProgressFn`.
        options: ranking options for :class:`~codegraph.search.Searcher` (default: the search defaults).
        settings: resolved settings (threads, batch size, file size limit); default: resolved from the
            repository.

    Returns:
        The :class:`EvalReport`.

    Raises:
        ConfigError: no model or mode given, or an unknown mode.
        ModelError: a model is unknown or not installed (the message says how to install it), or fails to load.
        StoreError: SQLite / sqlite-vec could not be opened for the temporary index.
        OSError: the temporary copy could not be written.
    """
    from ..embed import open_embedder, resolve_model
    from ..index import index_repo
    from ..ranking import MODES
    from ..search import Searcher
    from ..store import INDEX_DIR, Store

    if not models:
        raise ConfigError("give at least one model")
    if not modes:
        raise ConfigError("give at least one search mode")
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ConfigError(f"unknown search mode {', '.join(unknown)}; use one of: {', '.join(MODES)}")
    report = progress or (lambda model, stage, done, total: None)
    # The stripped copy is a scratch index: always a SQLite file in the temporary directory, never a project of a
    # shared PostgreSQL store the user's settings may name.
    settings = replace(settings or resolve_settings(eval_set.root), store=None, project=None)
    resolved = [resolve_model(name) for name in models]
    results: list[ModelResult] = []
    with tempfile.TemporaryDirectory(prefix="codegraph-eval-") as tmp:
        copy = Path(tmp) / "repo"
        materialise(eval_set, copy)
        for name, model in zip(models, resolved, strict=True):
            report(name, "load", 0, 1)
            embedder = open_embedder(model, threads=settings.threads, batch_size=settings.batch_size, settings=settings)
            report(name, "load", 1, 1)
            shutil.rmtree(copy / INDEX_DIR, ignore_errors=True)
            stats = index_repo(copy, embedder, settings=settings, progress=partial(report, name))
            store = Store.open(copy)
            try:
                searcher = Searcher(store, embedder, options=options)
                mode_results: dict[str, ModeResult] = {}
                latencies: list[float] = []
                total = len(eval_set.queries) * len(modes)
                done = 0
                for mode in modes:
                    ranks: dict[str, int | None] = {}
                    mode_latencies: list[float] = []
                    for q in eval_set.queries:
                        started = time.perf_counter()
                        hits = searcher.search(q.query, k=K, mode=mode)
                        mode_latencies.append((time.perf_counter() - started) * 1000)
                        ranks[q.id] = first_relevant_rank(hits, q)
                        done += 1
                        report(name, "search", done, total)
                    overall, by_language = _score(eval_set.queries, ranks)
                    mode_results[mode] = ModeResult(
                        mode, overall, by_language, statistics.median(mode_latencies), ranks
                    )
                    latencies.extend(mode_latencies)
            finally:
                store.close()
            results.append(
                ModelResult(
                    model=name,
                    model_id=embedder.model_id,
                    index_seconds=stats.seconds,
                    files=stats.files_seen - stats.files_skipped,
                    chunks=stats.chunks,
                    chunks_per_s=stats.chunks / stats.seconds if stats.seconds > 0 else 0.0,
                    latency_ms_median=statistics.median(latencies),
                    modes=mode_results,
                )
            )
    return EvalReport(eval_set=eval_set, models=tuple(results), modes=tuple(modes))
