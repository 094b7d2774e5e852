#!/usr/bin/env python
"""Indexing and search benchmark for codegraph (not a test: it measures and prints, it does not assert).

Usage::

    python benchmarks/bench_index.py [--corpus DIR] [--repeat N] [--process-runs N] [--keep]

Measures, on a temporary copy of a corpus (default: a fixed list of standard-library packages of the running
Python, without their ``test``/``tests`` directories):

1. the corpus: files, bytes, chunks, distinct embedded texts;
2. discovery + read + ``chunk_source`` with the model's real token counter;
3. ``codegraph.index_repo`` from an empty index (end to end) vs the same texts run through a plain
   ``onnxruntime.InferenceSession`` (only ``session.run`` timed), alternated, same batch size and threads;
4. ``index_repo`` again with nothing changed, vs discovery alone;
5. in-process ``Searcher.search`` latency per mode (30 queries), vs ``embed_queries`` alone;
6. ``codegraph search ... --json -k 10`` as a subprocess, vs ``python -c pass``;
7. peak RSS of ``codegraph index`` in a child process, vs a child that only loads the model.

Timed sections are repeated (``--repeat``, default 3) and reported as medians; baseline and pipeline runs
alternate so that noise from other processes on a shared machine hits both. The 1/5/15-minute load averages
are printed at start and end. See ``benchmarks/README.md`` for what each row means.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from _harness import (
    CODEGRAPH_EXE,
    Bench,
    alternate,
    copy_corpus,
    fresh_copy,
    log,
    median,
    percentile,
    target_mark,
    temp_dir,
    time_index,
    time_walk,
    timed_process,
)
from _measure import ChunkRun, chunk_corpus, index_peak_rss, pipeline_vs_raw

import codegraph
import codegraph.embed
import codegraph.search
import codegraph.store
from codegraph.config import resolve_settings

# codegraph imports its modules lazily; the ones above are imported now so that one version of the library is
# used throughout even if its files change while the benchmark runs (the footer warns if they did).

MODEL = "minilm"

QUERIES = (
    "parse an email header",
    "retry a failed connection",
    "decode a JSON string into Python objects",
    "serialize an object to JSON with indentation",
    "send an HTTP request and read the response",
    "parse cookies from a Set-Cookie header",
    "rotate log files when they get too big",
    "format a log record with a timestamp",
    "run a function in a pool of worker threads",
    "cancel a pending future",
    "wait for the first of several tasks to finish",
    "start a subprocess and read its output asynchronously",
    "open a TCP connection and get reader and writer streams",
    "limit concurrent access with a semaphore",
    "schedule a callback after a delay",
    "load a module from a file path",
    "find the module spec on sys.path",
    "read a data file shipped inside a package",
    "assert two values are equal and show a diff",
    "skip a test when a condition holds",
    "replace an attribute with a mock during a test",
    "discover test modules in a directory",
    "encode non-ASCII text in a MIME header",
    "build a multipart message with an attachment",
    "split an email address into name and address",
    "follow HTTP redirects",
    "serve files over HTTP from the current directory",
    "configure logging from a dictionary",
    "close the event loop and its transports",
    "detect a circular reference while encoding",
)
"""Natural-language queries for the search latency rows (written for the default corpus)."""

MODES = ("hybrid", "semantic", "keyword")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, help="directory to index (copied to a temp dir first)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each timed section (median)")
    parser.add_argument("--process-runs", type=int, default=10, help="runs of the search subprocess")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (path on stderr)")
    return parser.parse_args(argv)


def chunking_rows(bench: Bench, corpus: Path, enc: Any, max_file_bytes: int, repeat: int) -> ChunkRun:
    """Rows 1 and 2: the corpus, and discover + read + chunk with the model's token counter."""
    bench.section("2", "chunking")
    runs = [chunk_corpus(corpus, enc, max_file_bytes) for _ in range(repeat)]
    cr = runs[-1]
    t_chunk = median([r.total for r in runs])
    bench.report.add(
        "1",
        "corpus",
        f"{cr.files - cr.skipped:,} files, {cr.bytes / 1e6:.2f} MB, {cr.chunks:,} chunks",
        notes=f"{len(cr.texts):,} distinct embedding texts"
        + (f"; {cr.skipped} more files discovered but skipped (binary...)" if cr.skipped else ""),
    )
    bench.report.add(
        "2",
        "discover+read+chunk (s)",
        f"{t_chunk:.2f}",
        notes=f"{cr.chunks / t_chunk:,.0f} chunks/s, "
        f"{(cr.files - cr.skipped) / t_chunk:,.0f} files/s; discover "
        f"{median([r.t_discover for r in runs]):.3f} s, read {median([r.t_read for r in runs]):.3f} s, "
        f"chunk_source {median([r.t_chunk for r in runs]):.2f} s "
        f"(of which count_tokens {median([r.t_count for r in runs]):.2f} s)",
    )
    return cr


def no_change_row(bench: Bench, corpus: Path, enc: Any, max_file_bytes: int, repeat: int) -> None:
    """Row 4: ``index_repo`` with nothing changed vs ``walk_files`` alone."""
    bench.section("4", "no-change re-index")
    reruns, walks = alternate(repeat, lambda: time_index(corpus, enc), lambda: time_walk(corpus, max_file_bytes))
    re_embedded = sorted({s.embedded for _, s in reruns})
    t_re = median([t for t, _ in reruns])
    t_walk = median(walks)
    bench.report.add(
        "4",
        "index_repo, nothing changed (s)",
        f"{t_re:.3f}",
        f"{t_walk:.3f} (walk_files only)",
        f"{t_re / t_walk:.1f}x",
        f"embeds 0: {target_mark(re_embedded == [0])}",
        f"embedded {re_embedded}, files unchanged {reruns[-1][1].files_unchanged:,}/{reruns[-1][1].files_seen:,}",
    )


def search_latencies(corpus: Path, enc: Any, repeat: int) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Milliseconds per query of each mode and of ``embed_queries`` alone (order reversed every round), and
    the searches per mode that returned fewer than 10 hits."""
    searcher = codegraph.Searcher.open(corpus, enc)
    try:
        for mode in MODES:  # warm-up: SQLite page cache, FTS5 and vec0 tables
            for q in QUERIES[:3]:
                searcher.search(q, k=10, mode=mode)
        lat: dict[str, list[float]] = {m: [] for m in (*MODES, "embed")}
        empty: dict[str, int] = dict.fromkeys(MODES, 0)
        for i in range(repeat):
            order = list(MODES) + ["embed"]
            if i % 2:
                order.reverse()
            for mode in order:
                for q in QUERIES:
                    t0 = time.perf_counter()
                    if mode == "embed":
                        enc.embed_queries([q])
                    else:
                        hits = searcher.search(q, k=10, mode=mode)
                        empty[mode] += len(hits) < 10
                    lat[mode].append((time.perf_counter() - t0) * 1000)
    finally:
        searcher.close()
    return lat, empty


def search_rows(bench: Bench, corpus: Path, enc: Any, repeat: int) -> None:
    """Row 5: in-process search per mode vs ``embed_queries`` alone."""
    bench.section("5", f"in-process search: {len(QUERIES)} queries x {len(MODES)} modes x {repeat}")
    lat, empty = search_latencies(corpus, enc, repeat)
    emb_med = median(lat["embed"])
    for mode in MODES:
        vals = lat[mode]
        base = ratio = ""
        if mode != "keyword":
            base = f"{emb_med:.1f} / {percentile(lat['embed'], 95):.1f} (embed_queries only)"
            ratio = f"{median(vals) / emb_med:.1f}x"
        bench.report.add(
            "5",
            f"search in-process, {mode} (median / p95 ms)",
            f"{median(vals):.1f} / {percentile(vals, 95):.1f}",
            base,
            ratio,
            "",
            f"{len(vals)} searches, k=10" + (f"; {empty[mode]} returned < 10 hits" if empty[mode] else ""),
        )


def search_process_row(bench: Bench, corpus: Path, process_runs: int) -> None:
    """Row 6: ``codegraph search --json -k 10`` as a process vs ``python -c pass``."""
    runs_n = max(1, process_runs)
    bench.section("6", f"search subprocess: {runs_n} x (codegraph search, python -c pass) alternated")
    bare = [sys.executable, "-c", "pass"]

    def search_cmd(query: str) -> list[str]:
        return [str(CODEGRAPH_EXE), "search", query, "--json", "-k", "10"]

    timed_process(search_cmd(QUERIES[0]), corpus)  # warm the file cache
    timed_process(bare, corpus)
    queries = iter(QUERIES * (runs_n // len(QUERIES) + 1))
    bad: list[str] = []

    def search_process() -> float:
        q = next(queries)
        wall, out = timed_process(search_cmd(q), corpus)
        if len(json.loads(out)["results"]) != 10:
            bad.append(q)
        return wall

    proc_runs, bare_runs = alternate(runs_n, search_process, lambda: timed_process(bare, corpus)[0])
    p_med, b_med = median(proc_runs), median(bare_runs)
    bench.report.add(
        "6",
        "codegraph search --json -k 10 (median / p95 s)",
        f"{p_med:.3f} / {percentile(proc_runs, 95):.3f}",
        f"{b_med:.3f} / {percentile(bare_runs, 95):.3f} (python -c pass)",
        f"{p_med / b_med:.1f}x",
        f"<= 0.5 s: {target_mark(p_med <= 0.5)}",
        f"{runs_n} runs, hybrid mode" + (f"; {len(bad)} returned < 10 hits" if bad else ""),
    )


def peak_rss_row(bench: Bench, corpus: Path, fresh: Path, chunks: int) -> None:
    """Row 7: peak RSS of ``codegraph index`` in a child on a fresh copy vs a model-load-only child."""
    bench.section("7", "peak RSS: codegraph index in a child process on a fresh copy")
    fresh_copy(corpus, fresh)
    rss = index_peak_rss(bench.report, MODEL, fresh, cwd=fresh, chunks=chunks)
    bench.report.add("7", "codegraph index peak RSS (MiB)", *rss.cells(), "", rss.notes())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    repeat = max(1, args.repeat)
    bench = Bench("bench_index")
    with temp_dir("codegraph-bench-", keep=args.keep) as tmp:
        corpus = tmp / "corpus"
        log(f"copying corpus to {corpus}")
        description = copy_corpus(args.corpus, corpus)
        settings = resolve_settings(corpus)
        model = codegraph.resolve_model(MODEL)
        enc = codegraph.OnnxEncoder(model, threads=settings.threads, batch_size=settings.batch_size)
        bench.header(
            [enc],
            ("onnxruntime", "tokenizers", "numpy"),
            [f"corpus: {description}", f"repeat {repeat} (medians), search subprocess runs {args.process_runs}"],
        )
        cr = chunking_rows(bench, corpus, enc, settings.max_file_bytes, repeat)
        pipeline_vs_raw(bench, "3", corpus, enc, cr.texts, repeat, notes="")
        no_change_row(bench, corpus, enc, settings.max_file_bytes, repeat)
        search_rows(bench, corpus, enc, repeat)
        search_process_row(bench, corpus, args.process_runs)
        peak_rss_row(bench, corpus, tmp / "rss", cr.chunks)
    bench.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
