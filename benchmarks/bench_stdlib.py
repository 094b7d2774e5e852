#!/usr/bin/env python
"""The whole Python standard library indexed end to end, as a user would (not a test: it measures and prints).

Usage::

    python benchmarks/bench_stdlib.py [--models code,fast] [--no-tests]

Copies the running interpreter's standard library (``sysconfig``'s ``stdlib``: every package and its ``test``
directories, without ``site-packages`` and ``__pycache__``; ~2,450 files on CPython 3.11) into a fresh
directory and runs ``codegraph index . --json --model NAME`` as a child process per model, reporting wall time,
peak RSS of that child (``getrusage``), files, chunks and chunks embedded per second; then a no-change re-index
and a few searches (``ThreadPoolExecutor``, ``parse an email address header``) as processes. A run that
crashes is reported with its error: this tree once crashed the token-count memo (issue 9).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_index import child_peak_rss  # noqa: E402

QUERIES = ("ThreadPoolExecutor", "parse an email address header", "how are HTTP chunked responses read")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="code,fast")
    ap.add_argument("--no-tests", action="store_true", help="leave out test/ and tests/ directories")
    args = ap.parse_args()
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    ignore = ["site-packages", "__pycache__", *(["test", "tests"] if args.no_tests else [])]
    cg = [sys.executable, "-m", "codegraph"]
    print(f"# bench_stdlib ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load {os.getloadavg()})")
    print(f"corpus: {stdlib} without {', '.join(ignore)}\n")
    print("| model | files | chunks | index s | chunks/s | peak RSS MiB | no-change re-index s | first hit per query |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for model in args.models.split(","):
        with tempfile.TemporaryDirectory(prefix="cg-stdlib-") as tmp:
            root = Path(tmp) / "stdlib"
            shutil.copytree(stdlib, root, ignore=shutil.ignore_patterns(*ignore), symlinks=True)
            print(f"{model}: indexing {root}", file=sys.stderr, flush=True)
            try:
                wall, rss, out = child_peak_rss([*cg, "index", ".", "--json", "-q", "--model", model], root)
            except RuntimeError as exc:
                print(f"| {model} | - | - | crashed: {str(exc)[:200]} | | | | |")
                continue
            stats = json.loads(out)
            t0 = time.perf_counter()
            subprocess.run([*cg, "index", ".", "-q", "--model", model], cwd=root, check=True, capture_output=True)
            again = time.perf_counter() - t0
            firsts = []
            for query in QUERIES:
                proc = subprocess.run(
                    [*cg, "search", query, "--json", "-k", "1"], cwd=root, capture_output=True, text=True
                )
                hits = json.loads(proc.stdout)["results"] if proc.returncode == 0 else []
                firsts.append(
                    f"{query!r} -> {hits[0]['path']}:{hits[0]['start_line']} {hits[0]['symbol']}" if hits else "-"
                )
            rate = stats["embedded"] / wall if wall else 0.0
            print(
                f"| {model} | {stats['files_seen']} | {stats['chunks']} | {wall:.0f} | {rate:.1f} | {rss:.0f} | "
                f"{again:.1f} | {'; '.join(firsts)} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
