#!/usr/bin/env python
"""What the code graph costs at the index level, over the whole Python standard library (``fast`` model).

Usage::

    python benchmarks/bench_graph.py [--model fast] [--only json,email] [--process-runs 3] [--keep]

``bench_graph_extract.py`` times extraction against chunking file by file; this script measures what a user
pays for the graph in ``codegraph index`` and in the graph commands. The corpus is a copy of the running
interpreter's standard library (without ``site-packages`` and ``__pycache__``; ~2,450 files on CPython 3.11;
``--only`` copies some top-level entries, for a quick run). Rows:

1. **full index with the graph**: ``codegraph.index_repo`` in process on a fresh copy, with the time spent in
   ``extract`` (on the chunker's tree) and in writing the graph rows (``insert_file_graph``) summed over files;
2. **full index without the graph** (baseline, same run): the same on another fresh copy with ``extract``
   replaced by an empty graph, so the difference is the whole graph's cost (extraction, rows, their indexes);
   the two runs are noisy on a busy machine, rows 1's summed ``extract`` and write times are the sharper number;
3. **index size**: ``index.db`` with and without the graph, and the graph tables with their indexes (SQLite
   ``dbstat``), with their row counts;
4. **no-change re-index**: ``codegraph index .`` as a process on the graph index, median of ``--process-runs``
   (target < 1 s);
5. **graph command latency**: ``codegraph def|refs|callers NAME --json`` as processes over :data:`NAMES`
   (symbols specific and common), median and p95 per command; run on the standard-library index (~74k chunks)
   and on a ~10k-chunk index of some standard-library packages (the target, < 0.3 s, is stated for ~10k
   chunks). ``codegraph --version`` (the CLI started, no index opened) is the floor of these processes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import sysconfig
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _harness import (
    STDLIB_EXCLUDED_DIRS,
    Bench,
    copy_packages,
    median,
    percentile,
    target_mark,
    temp_dir,
    timed_process,
)

import codegraph
import codegraph.index as cg_index
import codegraph.store.store as cg_store
from codegraph.embed import open_embedder, resolve_model
from codegraph.graph.extract import FileGraph
from codegraph.store import Store

STDLIB = Path(sysconfig.get_paths()["stdlib"])
CODEGRAPH = [sys.executable, "-m", "codegraph"]
NAMES = (
    "ThreadPoolExecutor",
    "HTTPConnection.request",
    "Message.get_payload",
    "urlopen",
    "JSONDecoder.decode",
    "TestCase.assertEqual",
    "join",
    "parse",
    "run",
    "__init__",
)
"""Symbols asked of ``def``/``refs``/``callers``: five specific, then five that many definitions share."""

SMALL_PACKAGES = (
    *("asyncio", "email", "http", "json", "logging", "unittest", "concurrent", "importlib", "xml"),
    *("multiprocessing", "urllib", "sqlite3", "tomllib", "zoneinfo", "ctypes", "curses", "dbm", "html"),
    *("wsgiref", "xmlrpc", "lib2to3", "pydoc_data", "idlelib"),
)
"""Standard-library packages of the ~10k-chunk latency index (no test directories; ``bench_models.py``'s
time-to-first-result tree)."""

GRAPH_TABLES = ("graph_defs", "graph_refs", "graph_imports")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="fast")
    ap.add_argument("--only", help="comma-separated top-level entries of the stdlib to copy (default: all)")
    ap.add_argument("--process-runs", type=int, default=3, help="runs of each process row (default 3)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    args.only = args.only.split(",") if args.only else []
    return args


def copy_stdlib(dest: Path, only: list[str]) -> None:
    ignore = shutil.ignore_patterns(*STDLIB_EXCLUDED_DIRS)
    if not only:
        shutil.copytree(STDLIB, dest, ignore=ignore, symlinks=True)
        return
    dest.mkdir()
    for name in only:
        if (STDLIB / name).is_dir():
            shutil.copytree(STDLIB / name, dest / name, ignore=ignore, symlinks=True)
        else:
            shutil.copy2(STDLIB / name, dest / name)


@contextmanager
def timing(module: Any, name: str, totals: dict[str, float]) -> Iterator[None]:
    """Sum the seconds spent in ``module.name`` into ``totals[name]`` while active."""
    inner = getattr(module, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            totals[name] = totals.get(name, 0.0) + time.perf_counter() - t0

    setattr(module, name, timed)
    try:
        yield
    finally:
        setattr(module, name, inner)


@contextmanager
def no_graph() -> Iterator[None]:
    """``codegraph.index`` extracts an empty graph (the baseline index)."""
    inner = cg_index.extract

    def empty(language: str, tree: Any, source: bytes) -> FileGraph:
        return FileGraph(language, (), (), ())

    cg_index.extract = empty  # type: ignore[assignment]
    try:
        yield
    finally:
        cg_index.extract = inner


def index_once(root: Path, enc: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    stats = codegraph.index_repo(root, enc)
    return time.perf_counter() - t0, stats


def db_path(root: Path) -> Path:
    return root / ".codegraph" / "index.db"


def graph_bytes(root: Path) -> tuple[int, dict[str, int], str]:
    """(bytes of the graph tables and their indexes, rows per table, how the bytes were measured)."""
    with Store.open(root) as store:
        conn = store.conn
        rows = {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in GRAPH_TABLES}
        try:
            names = list(GRAPH_TABLES)
            names += [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE tbl_name LIKE 'graph_%'")]
            found = conn.execute(
                f"SELECT SUM(pgsize) FROM dbstat WHERE name IN ({', '.join('?' * len(set(names)))})",
                sorted(set(names)),
            ).fetchone()[0]
            return int(found or 0), rows, "dbstat"
        except Exception:  # noqa: BLE001 - SQLite built without dbstat
            return 0, rows, "no dbstat"


def process_latency(root: Path, runs: int) -> dict[str, tuple[list[float], str]]:
    """Per command: wall seconds of every run, and the slowest name with its median and result count."""
    out: dict[str, tuple[list[float], str]] = {}
    for command in ("def", "refs", "callers"):
        times: list[float] = []
        per_name: dict[str, list[float]] = {}
        counts: dict[str, int] = {}
        for _ in range(runs):
            for name in NAMES:
                wall, stdout = timed_process([*CODEGRAPH, command, name, "--json"], root)
                times.append(wall)
                per_name.setdefault(name, []).append(wall)
                counts[name] = len(json.loads(stdout)["results"])
        slow = max(per_name, key=lambda n: median(per_name[n]))
        out[command] = (times, f"slowest {slow} {median(per_name[slow]):.2f} s ({counts[slow]:,} results)")
    return out


def fmt_mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def main() -> None:
    args = parse_args()
    bench = Bench("bench_graph")
    model = resolve_model(args.model)
    enc = open_embedder(model)
    report = bench.report
    corpus = f"stdlib of Python {sys.version.split()[0]} ({STDLIB})" + (
        f": {', '.join(args.only)}" if args.only else ""
    )
    report.header += [
        f"codegraph {codegraph.__version__} bench_graph  {bench.started_at}",
        f"python {sys.version.split()[0]}; model {enc.model_id}; {sys.platform}, load and code version below",
        f"codegraph code: {bench.version_start}",
        f"corpus: {corpus} without {', '.join(STDLIB_EXCLUDED_DIRS)}",
        f"load average (1/5/15 min) at start: {bench.load_start}",
    ]
    with temp_dir("cg-bench-graph-", keep=args.keep) as tmp:
        with_graph, without = tmp / "graph" / "stdlib", tmp / "nograph" / "stdlib"
        with_graph.parent.mkdir()
        without.parent.mkdir()
        copy_stdlib(with_graph, args.only)
        copy_stdlib(without, args.only)

        bench.section("1", f"full index with the graph ({with_graph})")
        totals: dict[str, float] = {}
        with timing(cg_index, "extract", totals), timing(cg_store, "insert_file_graph", totals):
            t_graph, stats = index_once(with_graph, enc)
        bench.section("2", "full index without the graph (baseline)")
        with no_graph():
            t_base, _stats = index_once(without, enc)
        extra = t_graph - t_base
        report.add(
            "1",
            "full index (s)",
            f"{t_graph:.1f}",
            f"{t_base:.1f} without graph",
            f"{t_graph / t_base:.2f}",
            "",
            f"{stats.files_seen} files, {stats.chunks} chunks; graph adds {extra:+.1f} s ({extra / t_base:+.0%})",
        )
        ext, ins = totals.get("extract", 0.0), totals.get("insert_file_graph", 0.0)
        report.add(
            "1",
            "graph work inside the index run (s)",
            f"{ext + ins:.1f}",
            f"{t_graph:.1f} whole run",
            f"{(ext + ins) / t_graph:.2f}",
            "",
            f"extract {ext:.1f} s on the chunker's trees, writing graph rows {ins:.1f} s",
        )

        bench.section("3", "index size")
        size, size_base = db_path(with_graph).stat().st_size, db_path(without).stat().st_size
        gbytes, rows, how = graph_bytes(with_graph)
        report.add(
            "3",
            "index.db size",
            fmt_mib(size),
            fmt_mib(size_base) + " without graph",
            f"{size / size_base:.2f}",
            "",
            f"+{fmt_mib(size - size_base)}",
        )
        report.add(
            "3",
            "graph tables + their indexes",
            fmt_mib(gbytes),
            fmt_mib(size) + " whole db",
            f"{gbytes / size:.2f}" if size else "",
            "",
            f"{how}; rows: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()),
        )

        bench.section("4", "no-change re-index as a process")
        reindex = [
            timed_process([*CODEGRAPH, "index", ".", "-q", "--model", args.model], with_graph)[0]
            for _ in range(args.process_runs)
        ]
        floor = [timed_process([sys.executable, "-c", "pass"], with_graph)[0] for _ in range(args.process_runs)]
        report.add(
            "4",
            "no-change re-index, process (s)",
            f"{median(reindex):.2f}",
            f"{median(floor):.2f} python -c pass",
            "",
            f"< 1 s: {target_mark(median(reindex) < 1.0)}",
            f"median of {len(reindex)}",
        )

        small = tmp / "small"
        bench.section("5", "graph command latency")
        copy_packages(small, SMALL_PACKAGES, skip_missing=True)
        small_stats = codegraph.index_repo(small, enc)
        for label, root, chunks in (("stdlib", with_graph, stats.chunks), ("~10k", small, small_stats.chunks)):
            version = [timed_process([*CODEGRAPH, "--version"], root)[0] for _ in range(args.process_runs)]
            lat = process_latency(root, 1 if label == "stdlib" else args.process_runs)
            for command, (times, slowest) in lat.items():
                p50, p95 = percentile(times, 50), percentile(times, 95)
                report.add(
                    "5",
                    f"codegraph {command} ({label} index: {chunks:,} chunks), s",
                    f"{p50:.2f} / {p95:.2f}",
                    f"{median(version):.2f} codegraph --version",
                    "",
                    f"< 0.3 s: {target_mark(p95 < 0.3)}" if label == "~10k" else "",
                    f"median / p95 of {len(times)} runs over {len(NAMES)} names; {slowest}",
                )
    bench.finish()


if __name__ == "__main__":
    main()
