"""Search quality on the user's own repository: documented functions become queries.

The method is the dev benchmark's (``shared/eval/README.md``, "Method" and "Scoring"), which follows
CodeSearchNet (Husain et al., 2019, arXiv:1909.09436): each documented function gives one query, the first
sentence of its doc comment (:func:`codegraph.docstrings.first_sentence`), and one target, the function itself.
The sampled targets' doc comments are deleted from a temporary copy of the repository (so the answer cannot be
found by matching the doc text), the copy is indexed with each model, every query is searched in each mode, and
the rank of the first relevant hit gives MRR@10 and recall@k.

Relevance is the benchmark's *lenient* variant: a hit is relevant when it has the target's path and its line
range overlaps the target's. With r the rank (1-based) of the first relevant hit among the top 10:
MRR@10 = 1/r and Recall@k = [r <= k]; a query with no relevant hit in the top 10 scores 0 on every metric.

Pipeline: :func:`build_eval_set` (read-only walk of the repository) -> :func:`materialise` (write the stripped
copy) -> :func:`evaluate` (per model: index the copy, search, score). The original repository is never written.
"""

from __future__ import annotations

import random
import shutil
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Settings, resolve_settings
from .discover import read_source, walk_files
from .docstrings import DocumentedDef, find_documented, normalize_query, query_ok, strip_docs
from .errors import ConfigError, EvalError, SourceError
from .ranking import path_class

if TYPE_CHECKING:
    from .search import SearchOptions
    from .types import Hit

K = 10
"""Results asked for per query; MRR is cut off at this rank (MRR@10)."""

RECALL_AT = (1, 5, 10)
"""The k of the recall@k metrics."""

DEFAULT_LIMIT = 200
DEFAULT_SEED = 1729
"""The dev benchmark's sampling seed."""

EvalProgressFn = Callable[[str, str, int, int], None]
"""``progress(model, stage, done, total)``; stages: ``"load"`` (the model), ``"chunk"`` (files), ``"embed"``
(chunks), ``"store"`` (files), as :func:`codegraph.index.index_repo` reports them, then ``"search"`` (queries
times modes)."""

_BOM = "\ufeff"


# --------------------------------------------------------------------------------------------------------------
# Eval set
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EvalQuery:
    """One query and its one target.

    Attributes:
        id: ``"<language>-<n>"``, numbered in path order within the language (stable for a seed).
        language: language id of the target.
        query: the first sentence of the target's doc comment.
        path: repository-relative POSIX path of the target's file.
        start_line: first line of the target in the stripped copy (1-based; decorators/attributes included).
        end_line: last line of the target in the stripped copy (1-based, inclusive).
        symbol: qualified symbol (``Class.method``, ``Recv.Method``).
    """

    id: str
    language: str
    query: str
    path: str
    start_line: int
    end_line: int
    symbol: str

    def to_json(self) -> dict[str, Any]:
        """The query as a JSON-ready dict (the fields above)."""
        return {
            "id": self.id,
            "language": self.language,
            "query": self.query,
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "symbol": self.symbol,
        }


@dataclass(frozen=True, slots=True)
class EvalSet:
    """Queries over one repository and what is needed to write its stripped copy.

    Attributes:
        root: the repository (absolute).
        queries: the sampled queries, ordered by language, then path and line.
        files: every discovered file (repository-relative POSIX paths): the copy holds exactly these.
        stripped: text of each file that holds a target, with the targets' doc comments deleted.
        documented: documented functions found (every language with doc-comment support).
        candidates: those left after the filters, per language (before sampling).
        dropped: documented functions left out, by reason: ``"language"`` (not in ``languages``), ``"path"``
            (test, example, vendored or generated code), ``"query"`` (first sentence too short, boilerplate, ...),
            ``"duplicate"`` (the same query for several functions), ``"unmapped"`` (the target could not be
            re-located in the stripped text).
        seed: the sampling seed.
        limit: the most queries asked for.
    """

    root: Path
    queries: tuple[EvalQuery, ...]
    files: tuple[str, ...]
    stripped: Mapping[str, str]
    documented: int
    candidates: Mapping[str, int]
    dropped: Mapping[str, int]
    seed: int
    limit: int

    def languages(self) -> dict[str, int]:
        """Queries per language id, in language order."""
        return dict(Counter(q.language for q in self.queries))

    def to_json(self) -> dict[str, Any]:
        """Summary and queries as a JSON-ready dict (the stripped texts are left out)."""
        return {
            "root": str(self.root),
            "seed": self.seed,
            "limit": self.limit,
            "files": len(self.files),
            "documented": self.documented,
            "candidates": dict(self.candidates),
            "dropped": dict(self.dropped),
            "languages": self.languages(),
            "queries": [q.to_json() for q in self.queries],
        }


def remap_line(line: int, deleted: Sequence[tuple[int, int]]) -> int:
    """Where a line lands once some whole lines are deleted.

    Args:
        line: 1-based line number in the original text.
        deleted: deleted line ranges (1-based, inclusive), sorted and not overlapping.

    Returns:
        The 1-based line number in the text without the deleted lines. A deleted line maps to the line that
        follows the deletion.
    """
    shift = 0
    for first, last in deleted:
        if first > line:
            break
        shift += min(last, line - 1) - first + 1
    return line - shift


def _merge(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _sample(groups: dict[str, list[DocumentedDef]], limit: int, seed: int) -> list[DocumentedDef]:
    """Shuffle each language's candidates with one seeded generator, then take one per language in turn."""
    rng = random.Random(seed)
    order = sorted(groups)
    for language in order:
        rng.shuffle(groups[language])
    picked: list[DocumentedDef] = []
    cursor = dict.fromkeys(order, 0)
    while len(picked) < limit:
        progressed = False
        for language in order:
            if len(picked) >= limit:
                break
            if cursor[language] < len(groups[language]):
                picked.append(groups[language][cursor[language]])
                cursor[language] += 1
                progressed = True
        if not progressed:
            break
    return picked


def build_eval_set(
    root: Path,
    *,
    limit: int = DEFAULT_LIMIT,
    seed: int = DEFAULT_SEED,
    languages: frozenset[str] | None = None,
    settings: Settings | None = None,
) -> EvalSet:
    """Find the repository's documented functions and sample queries from them (reads files, writes nothing).

    Files are discovered by :func:`codegraph.discover.walk_files`, so ignore rules and size limits apply.
    A documented function (:func:`codegraph.docstrings.find_documented`: not nested, doc removable as whole
    lines, body of 3+ code lines) is a candidate when its path is ordinary code
    (:func:`codegraph.ranking.path_class` is ``None``), its query passes :func:`codegraph.docstrings.query_ok`,
    and no other documented function has the same query (compared by :func:`~codegraph.docstrings.normalize_query`;
    every member of such a group is dropped as ambiguous). Up to ``limit`` candidates are sampled with
    ``random.Random(seed)``, round-robin across languages, as the dev benchmark samples (seed 1729).

    Args:
        root: repository root.
        limit: most queries (>= 1).
        seed: sampling seed; the same repository and seed give the same queries.
        languages: take queries only from these language ids (``None``: all); the copy keeps every file.
        settings: resolved settings (``max_file_bytes``); default: resolved from ``root``.

    Returns:
        The :class:`EvalSet`, with each target's lines as they are in the stripped copy.

    Raises:
        SourceError: ``root`` does not exist or is not a directory.
        ConfigError: ``limit`` < 1.
        EvalError: no documented function made a usable query.
    """
    if not root.is_dir():
        raise SourceError(f"{root}: no such directory" if not root.exists() else f"{root}: not a directory")
    if limit < 1:
        raise ConfigError(f"limit must be at least 1, got {limit}")
    root = root.resolve()
    settings = settings or resolve_settings(root)
    files: list[str] = []
    texts: dict[str, str] = {}
    found: list[DocumentedDef] = []
    for file in walk_files(root, max_file_bytes=settings.max_file_bytes):
        files.append(file.path)
        try:
            _data, text, language = read_source(file)
        except (OSError, ValueError):
            continue  # copied as bytes; indexing the copy reports it
        defs = find_documented(file.path, language, text)
        if defs:
            texts[file.path] = text
            found.extend(defs)

    dropped: Counter[str] = Counter()
    seen = Counter(normalize_query(d.query) for d in found if d.query)
    groups: dict[str, list[DocumentedDef]] = defaultdict(list)
    for d in found:
        if languages is not None and d.language not in languages:
            dropped["language"] += 1
        elif path_class(d.path) is not None:
            dropped["path"] += 1
        elif not query_ok(d.query):
            dropped["query"] += 1
        elif seen[normalize_query(d.query)] > 1:
            dropped["duplicate"] += 1
        else:
            groups[d.language].append(d)
    candidates = {language: len(groups[language]) for language in sorted(groups)}
    picked = _sample(groups, limit, seed)

    by_file: dict[str, list[DocumentedDef]] = defaultdict(list)
    for d in picked:
        by_file[d.path].append(d)
    stripped: dict[str, str] = {}
    located: list[tuple[DocumentedDef, int, int]] = []
    for path, defs in sorted(by_file.items()):
        text = texts[path]
        new_text = strip_docs(text, defs)
        new_lines = [line.removesuffix("\r") for line in new_text.split("\n")]
        deleted = _merge([d.doc_lines for d in defs])
        kept = 0
        for d in sorted(defs, key=lambda d: d.start_line):
            start, end = remap_line(d.start_line, deleted), remap_line(d.end_line, deleted)
            if new_lines[start - 1 : end] != d.code.split("\n"):
                dropped["unmapped"] += 1  # defensive: the remapped lines must hold exactly the target's code
                continue
            located.append((d, start, end))
            kept += 1
        if kept:
            stripped[path] = new_text
    if not located:
        kinds = "Python docstrings, JSDoc /** */, Go/Rust/Ruby/C# doc lines, Javadoc"
        raise EvalError(
            f"no documented functions found in {root} (codegraph eval needs functions with doc comments: {kinds}; "
            f"a body of 3+ code lines and a first sentence of 5+ words, outside test/example/vendored code)"
            + (f"; {len(found)} documented function(s) were filtered out" if found else "")
        )
    located.sort(key=lambda item: (item[0].language, item[0].path, item[1]))
    numbers: Counter[str] = Counter()
    queries: list[EvalQuery] = []
    for d, start, end in located:
        numbers[d.language] += 1
        queries.append(
            EvalQuery(
                id=f"{d.language}-{numbers[d.language]:04d}",
                language=d.language,
                query=d.query,
                path=d.path,
                start_line=start,
                end_line=end,
                symbol=d.qualified_symbol,
            )
        )
    # Texts read with a BOM (dropped by read_source) get it back, so the copy differs only by deleted lines.
    for path in stripped:
        if (root / path).read_bytes().startswith(_BOM.encode()):
            stripped[path] = _BOM + stripped[path]
    return EvalSet(
        root=root,
        queries=tuple(queries),
        files=tuple(files),
        stripped=stripped,
        documented=len(found),
        candidates=candidates,
        dropped=dict(sorted(dropped.items())),
        seed=seed,
        limit=limit,
    )


def materialise(eval_set: EvalSet, dest: Path) -> None:
    """Write the stripped copy: every discovered file, the targets' files without the targets' doc comments.

    Only ``dest`` is written; the original repository is only read.

    Args:
        eval_set: from :func:`build_eval_set`.
        dest: a directory that does not exist or is empty, outside the repository.

    Raises:
        EvalError: ``dest`` is inside the repository, or is not an empty directory.
        OSError: a file could not be read or written.
    """
    dest = dest.resolve()
    root = eval_set.root
    if dest == root or dest.is_relative_to(root):
        raise EvalError(
            f"{dest}: the copy must be written outside the repository {root} (set TMPDIR to a directory outside it)"
        )
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise EvalError(f"{dest}: not an empty directory; give a new or empty directory for the copy")
    dest.mkdir(parents=True, exist_ok=True)
    for rel in eval_set.files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        text = eval_set.stripped.get(rel)
        if text is None:
            shutil.copyfile(root / rel, target)
        else:
            target.write_bytes(text.encode("utf-8", "surrogatepass"))


# --------------------------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------------------------
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
    from .embed import open_embedder, resolve_model
    from .index import index_repo
    from .ranking import MODES
    from .search import Searcher
    from .store import INDEX_DIR, Store

    if not models:
        raise ConfigError("give at least one model")
    if not modes:
        raise ConfigError("give at least one search mode")
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ConfigError(f"unknown search mode {', '.join(unknown)}; use one of: {', '.join(MODES)}")
    report = progress or (lambda model, stage, done, total: None)
    settings = settings or resolve_settings(eval_set.root)
    resolved = [resolve_model(name) for name in models]
    results: list[ModelResult] = []
    with tempfile.TemporaryDirectory(prefix="codegraph-eval-") as tmp:
        copy = Path(tmp) / "repo"
        materialise(eval_set, copy)
        for name, model in zip(models, resolved, strict=True):
            report(name, "load", 0, 1)
            embedder = open_embedder(model, threads=settings.threads, batch_size=settings.batch_size)
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


__all__ = [
    "EvalProgressFn",
    "EvalQuery",
    "EvalReport",
    "EvalSet",
    "Metrics",
    "ModeResult",
    "ModelResult",
    "build_eval_set",
    "evaluate",
    "first_relevant_rank",
    "materialise",
    "remap_line",
]
