#!/usr/bin/env python
"""Graph extraction (``codegraph.graph.extract``) next to chunking, over the Python standard library.

Usage::

    python benchmarks/bench_graph_extract.py [--repeat 3] [--only json,email] [--limit N] [--no-model]

The indexer will hand the chunker's syntax tree to :func:`codegraph.graph.extract.extract`, so what extraction
adds to indexing is the extraction alone: no second parse. ``chunk_source`` parses inside and does not hand its
tree out, so the rows time, over the same files (every standard-library file with a grammar, without
``site-packages`` and ``__pycache__``, read as UTF-8 beforehand):

1. the corpus: files, bytes, and what extraction finds (definitions, references, imports);
2. ``chunk_source`` as the indexer calls it, with the default model's token counter (``count_tokens`` /
   ``count_line_tokens``, ``max_tokens=profile.chunk_tokens``); skipped with ``--no-model``;
3. ``chunk_source`` with its default counter (``estimate_tokens``: characters / 3), the cheapest chunking there is;
4. the parse alone (``ts_parser(language).parse``), part of both rows above;
5. ``extract`` over trees parsed beforehand (the indexer's case), one file at a time keeping counts only, with
   its ratio to rows 2 and 3. The target is at most 25 % of chunking.

Each timed section runs ``--repeat`` times, chunking and extraction alternated (A B, B A, ...) so that load from
other processes hits both; the table gives medians of wall time and of this process's CPU time. On a busy machine
wall times are noisy: the CPU times (and their ratios) are what to compare.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _harness import STDLIB_EXCLUDED_DIRS, Bench, alternate, log, median, package_version, target_mark

from codegraph.chunk import chunk_source
from codegraph.chunk.grammars import ts_parser
from codegraph.graph.extract import extract
from codegraph.languages import TEXT, detect_language

STDLIB = Path(sysconfig.get_paths()["stdlib"])
TARGET = 0.25
"""Extraction may add at most this share of chunking's time."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="repetitions of each timed section (median)")
    ap.add_argument("--only", help="comma-separated top-level entries of the stdlib (default: all)")
    ap.add_argument("--limit", type=int, help="first N files only (sorted by path)")
    ap.add_argument("--no-model", action="store_true", help="skip chunking with the model's token counter")
    return ap.parse_args(argv)


def corpus(only: list[str], limit: int | None) -> list[tuple[str, str, str]]:
    """(relative path, language, text) of the stdlib files with a grammar, sorted by path."""
    roots = [STDLIB / name for name in only] if only else [STDLIB]
    out: list[tuple[str, str, str]] = []
    for root in roots:
        paths = [root] if root.is_file() else []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in STDLIB_EXCLUDED_DIRS)
            paths += [Path(dirpath) / name for name in filenames]
        for path in paths:
            rel = path.relative_to(STDLIB).as_posix()
            language = detect_language(rel)
            if language == TEXT or path.is_symlink() or not path.is_file():
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            out.append((rel, language, text))
    out.sort()
    return out[:limit] if limit else out


def timed(fn: Callable[[], Any]) -> Callable[[], tuple[float, float]]:
    """``fn`` as a function returning its (wall seconds, CPU seconds of this process)."""

    def run() -> tuple[float, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        return time.perf_counter() - t0, time.process_time() - c0

    return run


def medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return median([w for w, _ in runs]), median([c for _, c in runs])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    repeat = max(1, args.repeat)
    only = args.only.split(",") if args.only else []
    bench = Bench("bench_graph_extract")
    files = corpus(only, args.limit)
    if not files:
        raise SystemExit("no files with a grammar in the chosen corpus")
    sources = [(rel, language, text, text.encode("utf-8")) for rel, language, text in files]
    nbytes = sum(len(data) for *_, data in sources)
    bench.report.header += [
        f"bench_graph_extract  python {platform.python_version()}  tree-sitter {package_version('tree-sitter')}  "
        f"machine: {platform.machine()}, {os.cpu_count()} cores",
        f"corpus: {STDLIB}{' (only ' + ', '.join(only) + ')' if only else ''}, without "
        f"{', '.join(STDLIB_EXCLUDED_DIRS)}; repeat {repeat} (medians)",
        f"codegraph code: {bench.version_start}",
        f"load average (1/5/15 min) at start: {bench.load_start}",
    ]

    def parse_all() -> list[Any]:
        return [ts_parser(language).parse(data) for _rel, language, _text, data in sources]

    trees = parse_all()  # also warms the parsers and compiled queries up

    def extract_all() -> tuple[int, int, int]:
        """Extract every file, keeping counts only: as the indexer will, one file at a time (keeping every graph
        alive would make Python's garbage collector walk them all on each collection)."""
        defs = refs = imps = 0
        for (_rel, language, _text, data), tree in zip(sources, trees, strict=True):
            graph = extract(language, tree, data)
            defs, refs, imps = defs + len(graph.definitions), refs + len(graph.references), imps + len(graph.imports)
        return defs, refs, imps

    for rel, language, text, _data in sources[:1]:
        chunk_source(rel, language, text)

    def chunk_estimate() -> None:
        for rel, language, text, _data in sources:
            chunk_source(rel, language, text)

    bench.section("1", f"{len(sources):,} files: parse and extract")
    defs, refs, imps = extract_all()
    bench.report.add(
        "1",
        "corpus",
        f"{len(sources):,} files, {nbytes / 1e6:.2f} MB",
        notes=f"{defs:,} definitions, {refs:,} references, {imps:,} imports",
    )

    model: tuple[float, float] | None = None
    if not args.no_model:
        from codegraph.embed import open_embedder, resolve_model

        bench.section("2", "chunk_source with the model's token counter vs extract")
        enc = open_embedder(resolve_model(None))

        def chunk_model() -> None:
            for rel, language, text, _data in sources:
                chunk_source(
                    rel,
                    language,
                    text,
                    max_tokens=enc.profile.chunk_tokens,
                    count_tokens=enc.count_tokens,
                    count_line_tokens=enc.count_line_tokens,
                )

        model_runs, extract_runs_a = alternate(repeat, timed(chunk_model), timed(extract_all))
        model = medians(model_runs)
        bench.report.add(
            "2",
            "chunk_source, model's token counter: wall / CPU s",
            f"{model[0]:.2f} / {model[1]:.2f}",
            notes=f"as codegraph index calls it; model {enc.profile.name}, max_tokens {enc.profile.chunk_tokens}; "
            "CPU includes the tokenizer's threads",
        )
    else:
        extract_runs_a = []

    bench.section("3", "chunk_source with estimate_tokens vs extract")
    estimate_runs, extract_runs_b = alternate(repeat, timed(chunk_estimate), timed(extract_all))
    estimate = medians(estimate_runs)
    bench.report.add(
        "3",
        "chunk_source, estimate_tokens: wall / CPU s",
        f"{estimate[0]:.2f} / {estimate[1]:.2f}",
        notes="the default counter: no tokenizer",
    )

    bench.section("4", "parse alone")
    parse = medians([timed(parse_all)() for _ in range(repeat)])
    bench.report.add(
        "4",
        "parse alone: wall / CPU s",
        f"{parse[0]:.2f} / {parse[1]:.2f}",
        notes=f"inside both chunk_source rows: {parse[1] / estimate[1]:.0%} of row 3's CPU time",
    )

    runs = extract_runs_a + extract_runs_b
    ext = medians(runs)
    baselines = [("2", model)] if model is not None else []
    for row, base in [*baselines, ("3", estimate)]:
        wall, cpu = ext[0] / base[0], ext[1] / base[1]
        bench.report.add(
            "5",
            f"extract, tree reused, vs row {row}: wall / CPU s",
            f"{ext[0]:.2f} / {ext[1]:.2f}",
            f"{base[0]:.2f} / {base[1]:.2f}",
            f"{wall:.0%} / {cpu:.0%}",
            f"<= {TARGET:.0%} (CPU): {target_mark(cpu <= TARGET)}",
            f"median of {len(runs)} runs; {len(sources) / ext[0]:,.0f} files/s, {nbytes / 1e6 / ext[0]:.1f} MB/s",
        )
    log("done")
    bench.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
