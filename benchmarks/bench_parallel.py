#!/usr/bin/env python
"""Parallel chunking benchmark: read + parse + chunk + graph in 1, 2 and 4 worker processes (not a test).

Usage::

    python benchmarks/bench_parallel.py [--workers 1,2,4] [--repeat N] [--model fast] [--keep]

On a temporary copy of the whole standard library of the running Python (without ``site-packages`` and
bytecode caches; ~2,300 files), measures:

1. pool start: the first files through a pool of 2 workers, cold (the forkserver starts too) and warm, vs the
   same files in this process;
2. ``prepare_files`` alone (read, parse once, chunk with the model's token counter, extract the graph, cache
   keys: everything the workers do, no embedding, nothing stored) with each worker count;
3. ``index_repo`` from an empty index with each worker count and the ``fast`` model (static embeddings are
   cheap, so parsing is a large share), with the time this process spent embedding and storing (the part that
   stays serial);
4. the serial fraction of (3) at 1 worker and the speed-ups Amdahl's law and the pipeline bound predict.

Worker counts run in rotated order every round (1 2 4, 2 4 1, 4 1 2, ...) so that load from other processes
hits each alike; medians of ``--repeat`` rounds. Workers = 1 is the serial baseline of the same run. The load
average is printed at start, per section and at the end.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import sysconfig
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from _harness import STDLIB_EXCLUDED_DIRS, Bench, log, median, temp_dir

import codegraph
import codegraph.embed
import codegraph.index
import codegraph.prepare
from codegraph.config import resolve_settings
from codegraph.discover import walk_files

# codegraph imports its modules lazily; the ones above are imported now so that one version of the library is
# used throughout even if its files change while the benchmark runs (the footer warns if they did).


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated (1 = serial baseline)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each timed section (median)")
    parser.add_argument("--model", default="fast", help="model whose token counter chunks and which embeds")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (path on stderr)")
    return parser.parse_args(argv)


def rotations(counts: list[int], repeat: int) -> list[list[int]]:
    """``repeat`` orders of ``counts``, each rotated by one from the last."""
    return [counts[i % len(counts) :] + counts[: i % len(counts)] for i in range(repeat)]


def prepare_all(files: list[Any], enc: Any, workers: int) -> tuple[float, int]:
    """(seconds, chunks) of ``prepare_files`` over ``files`` from an empty index."""
    t0 = time.perf_counter()
    chunks = sum(len(p.chunks) for _, _, p in codegraph.prepare.prepare_files(files, {}, enc, workers=workers) if p)
    return time.perf_counter() - t0, chunks


def start_rows(bench: Bench, files: list[Any], enc: Any) -> None:
    """Section 1: pool start cost, cold and warm, on the first PARALLEL_MIN_FILES + 16 files."""
    bench.section("1", "pool start")
    head = files[: codegraph.prepare.PARALLEL_MIN_FILES + 16]
    cold, _ = prepare_all(head, enc, 2)  # the first pool of this process: the forkserver starts too
    warm = [prepare_all(head, enc, 2)[0] for _ in range(3)]
    serial = [prepare_all(head, enc, 1)[0] for _ in range(3)]
    base = median(serial)
    bench.report.add(
        "1", f"first {len(head)} files, 2 workers, cold (s)", f"{cold:.2f}", f"{base:.2f} (1 process)", "", "", ""
    )
    bench.report.add(
        "1",
        f"first {len(head)} files, 2 workers, warm (s)",
        f"{median(warm):.2f}",
        f"{base:.2f} (1 process)",
        f"{median(warm) / base:.2f}x",
        "",
        "warm: forkserver already running, workers start fresh per run",
    )


def prepare_rows(bench: Bench, files: list[Any], enc: Any, counts: list[int], repeat: int) -> float:
    """Section 2: ``prepare_files`` per worker count; returns the 1-worker median (s)."""
    bench.section("2", f"prepare_files (no embedding): workers {counts} x {repeat}")
    times: dict[int, list[float]] = {w: [] for w in counts}
    chunks = 0
    for order in rotations(counts, repeat):
        for w in order:
            seconds, chunks = prepare_all(files, enc, w)
            times[w].append(seconds)
            log(f"   prepare, {w} workers: {seconds:.1f} s")
    base = median(times[counts[0]])
    for w in counts:
        t = median(times[w])
        bench.report.add(
            "2",
            f"read+parse+chunk+graph, {w} worker{'s' if w > 1 else ''} (s)",
            f"{t:.2f}",
            f"{base:.2f} ({counts[0]} worker)" if w != counts[0] else "",
            f"{base / t:.2f}x" if w != counts[0] else "",
            "",
            f"{len(files) / t:,.0f} files/s, {chunks / t:,.0f} chunks/s; "
            f"runs {', '.join(f'{x:.1f}' for x in times[w])}",
        )
    return base


class StageClock:
    """Times the indexer's serial stage: ``_Run.flush`` (embed the group's misses, store its files)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        run_class: Any = codegraph.index._Run
        original = run_class.flush
        clock = self

        def flush(run: Any) -> None:
            t0 = time.perf_counter()
            original(run)
            clock.seconds += time.perf_counter() - t0

        run_class.flush = flush


def index_rows(
    bench: Bench, corpus: Path, work: Path, enc: Any, counts: list[int], repeat: int
) -> dict[int, tuple[float, float]]:
    """Section 3: ``index_repo`` from empty per worker count; returns worker count -> (median s, median flush s)."""
    bench.section("3", f"index_repo from empty, model {enc.model_id}: workers {counts} x {repeat}")
    clock = StageClock()
    runs: dict[int, list[tuple[float, float]]] = {w: [] for w in counts}
    stats: Any = None
    for order in rotations(counts, repeat):
        for w in order:
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(corpus, work)
            settings = replace(resolve_settings(work), index_workers=w)
            clock.seconds = 0.0
            t0 = time.perf_counter()
            stats = codegraph.index_repo(work, enc, settings=settings)
            seconds = time.perf_counter() - t0
            runs[w].append((seconds, clock.seconds))
            log(f"   index, {w} workers: {seconds:.1f} s (embed+store {clock.seconds:.1f} s)")
    base = median([s for s, _ in runs[counts[0]]])
    out: dict[int, tuple[float, float]] = {}
    for w in counts:
        t = median([s for s, _ in runs[w]])
        flush = median([f for _, f in runs[w]])
        out[w] = (t, flush)
        bench.report.add(
            "3",
            f"index_repo, {w} worker{'s' if w > 1 else ''} (s)",
            f"{t:.2f}",
            f"{base:.2f} ({counts[0]} worker)" if w != counts[0] else "",
            f"{base / t:.2f}x" if w != counts[0] else "",
            "",
            f"{stats.files_changed / t:,.0f} files/s, {stats.chunks / t:,.0f} chunks/s; embed+store {flush:.1f} s; "
            f"runs {', '.join(f'{s:.1f}' for s, _ in runs[w])}",
        )
    return out


def scaling_rows(bench: Bench, prepare_1: float, index: dict[int, tuple[float, float]]) -> None:
    """Section 4: the serial fraction at 1 worker and the speed-ups it allows on 2/4/8/16 cores."""
    total, _flush = index[1]
    serial = max(0.0, total - prepare_1)  # discovery, embedding, storing: what workers cannot take over
    fraction = serial / total
    bench.report.add(
        "4",
        "serial fraction of index_repo at 1 worker",
        f"{fraction:.2f}",
        "",
        "",
        "",
        f"(index {total:.1f} s - prepare {prepare_1:.1f} s) / index; prepare is what workers do",
    )
    for n in (2, 4, 8, 16):
        amdahl = 1 / (fraction + (1 - fraction) / n)
        pipeline = total / max(serial, prepare_1 / n)
        bench.report.add(
            "4",
            f"predicted speed-up, {n} workers on {n}+ free cores",
            f"{amdahl:.2f}x",
            "",
            "",
            "",
            f"Amdahl (no overlap); {pipeline:.2f}x if parsing fully overlaps embedding "
            f"(bound 1/s = {1 / fraction:.2f}x)",
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    counts = [int(x) for x in args.workers.split(",")]
    if counts[0] != 1:
        counts = [1] + [c for c in counts if c != 1]  # the serial baseline first
    repeat = max(1, args.repeat)
    bench = Bench("bench_parallel", lettered=False)
    with temp_dir("codegraph-bench-par-", keep=args.keep) as tmp:
        stdlib = Path(sysconfig.get_paths()["stdlib"])
        corpus = tmp / "corpus"
        log(f"copying {stdlib} to {corpus}")
        shutil.copytree(stdlib, corpus, ignore=shutil.ignore_patterns(*STDLIB_EXCLUDED_DIRS))
        settings = resolve_settings(corpus)
        enc = codegraph.embed.open_embedder(codegraph.resolve_model(args.model))
        files = list(walk_files(corpus, max_file_bytes=settings.max_file_bytes))
        bench.header(
            [enc] if hasattr(enc, "threads") else [_Described(enc)],
            ("tokenizers", "tree-sitter", "numpy"),
            [
                f"corpus: the standard library of Python {sys.version.split()[0]} ({stdlib}), "
                f"{len(files):,} files discovered",
                f"worker counts {counts} (rotated order each round), repeat {repeat} (medians); "
                f"PARALLEL_MIN_FILES {codegraph.prepare.PARALLEL_MIN_FILES}, TASK_FILES "
                f"{codegraph.prepare.TASK_FILES}, FILES_IN_FLIGHT {codegraph.prepare.FILES_IN_FLIGHT}",
            ],
        )
        start_rows(bench, files, enc)
        prepare_1 = prepare_rows(bench, files, enc, counts, repeat)
        index = index_rows(bench, corpus, tmp / "work", enc, counts, repeat)
        scaling_rows(bench, prepare_1, index)
    bench.finish()
    return 0


class _Described:
    """A static encoder as the header describes it (it has no threads or batch size)."""

    def __init__(self, enc: Any) -> None:
        self.model_id, self.max_tokens = enc.model_id, enc.max_tokens
        self.threads, self.batch_size = "n/a (static)", "n/a"


if __name__ == "__main__":
    sys.exit(main())
