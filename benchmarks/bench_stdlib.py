#!/usr/bin/env python
"""The whole Python standard library indexed end to end, as a user would (not a test: it measures and prints).

Usage::

    python benchmarks/bench_stdlib.py [--models code,fast] [--no-tests] [--only NAMES]

Copies the running interpreter's standard library (``sysconfig``'s ``stdlib``: every package and its ``test``
directories, without ``site-packages`` and ``__pycache__``; ~2,450 files on CPython 3.11) into a fresh
directory and runs ``codegraph index . --json --model NAME`` as a child process per model, reporting wall time,
peak RSS of that child (``getrusage``), files, chunks and chunks embedded per second; then a no-change re-index
and a few searches (``ThreadPoolExecutor``, ``parse an email address header``) as processes. ``--only`` copies
just some top-level entries of the standard library (a quick run: ``--models fast --only json``). A run that
crashes is reported with its error: this tree once crashed the token-count memo (issue 9).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from _harness import STDLIB_EXCLUDED_DIRS, banner, log
from _measure import child_peak_rss

QUERIES = ("ThreadPoolExecutor", "parse an email address header", "how are HTTP chunked responses read")
CODEGRAPH = [sys.executable, "-m", "codegraph"]
STDLIB = Path(sysconfig.get_paths()["stdlib"])


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="code,fast")
    ap.add_argument("--no-tests", action="store_true", help="leave out test/ and tests/ directories")
    ap.add_argument("--only", help="comma-separated top-level entries of the stdlib to copy (default: all)")
    args = ap.parse_args()
    args.only = args.only.split(",") if args.only else []
    for name in args.only:
        if not (STDLIB / name).exists():
            ap.error(f"--only {name}: not in {STDLIB}")
    return args


def copy_stdlib(root: Path, ignore: list[str], only: list[str]) -> None:
    """Copy the standard library (``only`` these top-level entries if given) to ``root``, without ``ignore``."""
    if not only:
        shutil.copytree(STDLIB, root, ignore=shutil.ignore_patterns(*ignore), symlinks=True)
        return
    root.mkdir()
    for name in only:
        if (STDLIB / name).is_dir():
            shutil.copytree(STDLIB / name, root / name, ignore=shutil.ignore_patterns(*ignore), symlinks=True)
        else:
            shutil.copy2(STDLIB / name, root / name)


def first_hits(root: Path) -> list[str]:
    """``'query' -> path:line symbol`` of the first hit of each of ``QUERIES`` (``-`` where none)."""
    firsts = []
    for query in QUERIES:
        proc = subprocess.run(
            [*CODEGRAPH, "search", query, "--json", "-k", "1"], cwd=root, capture_output=True, text=True
        )
        hits = json.loads(proc.stdout)["results"] if proc.returncode == 0 else []
        firsts.append(f"{query!r} -> {hits[0]['path']}:{hits[0]['start_line']} {hits[0]['symbol']}" if hits else "-")
    return firsts


def model_row(model: str, ignore: list[str], only: list[str]) -> str:
    """One table row: index a fresh copy of the stdlib with ``model`` as a process, re-index it, search it."""
    with tempfile.TemporaryDirectory(prefix="cg-stdlib-") as tmp:
        root = Path(tmp) / "stdlib"
        copy_stdlib(root, ignore, only)
        log(f"{model}: indexing {root}")
        try:
            wall, rss, out = child_peak_rss([*CODEGRAPH, "index", ".", "--json", "-q", "--model", model], root)
        except RuntimeError as exc:
            return f"| {model} | - | - | crashed: {str(exc)[:200]} | | | | |"
        stats = json.loads(out)
        t0 = time.perf_counter()
        subprocess.run([*CODEGRAPH, "index", ".", "-q", "--model", model], cwd=root, check=True, capture_output=True)
        again = time.perf_counter() - t0
        firsts = first_hits(root)
    rate = stats["embedded"] / wall if wall else 0.0
    return (
        f"| {model} | {stats['files_seen']} | {stats['chunks']} | {wall:.0f} | {rate:.1f} | {rss:.0f} | "
        f"{again:.1f} | {'; '.join(firsts)} |"
    )


def main() -> None:
    args = parse_args()
    ignore = [*STDLIB_EXCLUDED_DIRS, *(["test", "tests"] if args.no_tests else [])]
    print(banner("bench_stdlib"))
    only = f" (only {', '.join(args.only)})" if args.only else ""
    print(f"corpus: {STDLIB}{only} without {', '.join(ignore)}\n")
    print("| model | files | chunks | index s | chunks/s | peak RSS MiB | no-change re-index s | first hit per query |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for model in args.models.split(","):
        print(model_row(model, ignore, args.only), flush=True)


if __name__ == "__main__":
    main()
