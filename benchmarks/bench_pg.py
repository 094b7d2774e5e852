#!/usr/bin/env python
"""The same tree indexed into the SQLite file and into a PostgreSQL + pgvector store (not a test: it measures
and prints the table of ``docs/postgres.md``).

Usage::

    python benchmarks/bench_pg.py [--model fast] [--store postgresql://...] [--searches 10] [--queries 40]
        [--baseline-code DIR] [--index-only]

Copies the running interpreter's standard library (~2,450 files, without ``site-packages`` and
``__pycache__``) and runs ``codegraph index . --json --model M`` as a child process twice: into the SQLite file
(the default) and into a PostgreSQL store (``--store``; default: a ``pgserver`` server started here, data in a
temporary directory, stopped at the end). Reports wall time, size (the SQLite file with its WAL; the sum of
``pg_total_relation_size`` of codegraph's tables) and ``codegraph search --json`` as a process (P50 / P95 over
``--searches`` runs of 3 queries, the backends alternating). Keyword ranking (FTS5 BM25 against ``tsvector`` +
``ts_rank_cd``) is compared on ``--queries`` doc-comment queries (first docstring line -> its function, as
``codegraph eval`` builds them): MRR@10 of each backend in keyword and hybrid mode. Then a second project (this
repository's ``codegraph/`` package) goes into the same server and one query is searched per project and with
``--all``.

``--baseline-code DIR`` (a directory holding another version's ``codegraph/`` package, e.g. ``git archive
COMMIT codegraph | tar -x -C DIR``) also indexes the tree into a second database of the same server with that
code, right before the current code: before/after rows of one run. ``--index-only`` stops after the index rows.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import warnings
from pathlib import Path

from _harness import STDLIB_EXCLUDED_DIRS, alternate, banner, log, percentile

CODEGRAPH = [sys.executable, "-m", "codegraph"]
STDLIB = Path(sysconfig.get_paths()["stdlib"])
QUERIES = ("ThreadPoolExecutor", "parse an email address header", "how are HTTP chunked responses read")
REPO = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="fast")
    ap.add_argument("--store", help="a PostgreSQL URL (default: start a pgserver here)")
    ap.add_argument("--searches", type=int, default=10, help="runs of each search query per backend")
    ap.add_argument("--queries", type=int, default=40, help="doc-comment queries for the ranking comparison")
    ap.add_argument("--only", help="comma-separated top-level stdlib entries to copy (a quick run)")
    ap.add_argument("--baseline-code", type=Path, help="a directory with another version's codegraph/ package")
    ap.add_argument("--index-only", action="store_true", help="only the index rows (no searches, no ranking)")
    return ap.parse_args()


def run(args: list[str], cwd: Path, stdin: str | None = None, code: Path | None = None) -> tuple[float, str]:
    """Run ``python -m codegraph ARGS`` in ``cwd`` (with the package found in ``code`` when given): (wall, stdout)."""
    env = None if code is None else {**os.environ, "PYTHONPATH": str(code)}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [*CODEGRAPH, *args], cwd=cwd, input=stdin, capture_output=True, text=True, check=False, env=env
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"codegraph {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()[-800:]}")
    return wall, proc.stdout


def pg_size(url: str) -> int:
    import psycopg

    tables = ("projects", "meta", "files", "chunks", "embeddings", "graph_defs", "graph_refs", "graph_imports")
    with psycopg.connect(url) as conn:
        return sum(int(conn.execute("SELECT pg_total_relation_size(%s)", (t,)).fetchone()[0]) for t in tables)


def other_database(url: str, name: str) -> str:
    """Create (empty) database ``name`` on the server of ``url``; returns its URL."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    before, after = url.split("?", 1) if "?" in url else (url, "")
    return before.rsplit("/", 1)[0] + "/" + name + ("?" + after if after else "")


def doc_queries(root: Path, n: int) -> list[tuple[str, str, str]]:
    """``n`` (query, path, function name) triples: the first docstring line of random documented functions."""
    found: list[tuple[str, str, str]] = []
    for path in sorted(root.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_"):
                doc = ast.get_docstring(node)
                first = doc.strip().splitlines()[0].strip() if doc and doc.strip() else ""
                if len(first.split()) >= 5:
                    found.append((first, path.relative_to(root).as_posix(), node.name))
    random.Random(14).shuffle(found)
    return found[:n]


def mrr(root: Path, queries: list[tuple[str, str, str]], mode: str, store: list[str]) -> float:
    """MRR@10 of ``search - --mode MODE`` over ``queries`` (a hit: same path and symbol name)."""
    _wall, out = run(
        ["search", "-", "--json", "-k", "10", "--mode", mode, *store], root, "\n".join(q for q, _p, _n in queries)
    )
    total = 0.0
    for line, (_q, path, name) in zip(out.splitlines(), queries, strict=True):
        for rank, hit in enumerate(json.loads(line)["results"], 1):
            if hit["path"] == path and (hit["symbol"] or "").rsplit(".", 1)[-1] == name:
                total += 1 / rank
                break
    return total / len(queries)


def main() -> None:
    args = parse_args()
    print(banner("bench_pg: the same tree in SQLite and in PostgreSQL + pgvector"))
    server = None
    url = args.store
    with tempfile.TemporaryDirectory(prefix="cg-pg-") as tmp:
        if url is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import pgserver

                server = pgserver.get_server(Path(tmp) / "pgdata", cleanup_mode="stop")
            url = str(server.get_uri())
        try:
            root = Path(tmp) / "stdlib"
            ignore = [*STDLIB_EXCLUDED_DIRS]
            if args.only:
                root.mkdir()
                for name in args.only.split(","):
                    src = STDLIB / name
                    if src.is_dir():
                        shutil.copytree(src, root / name, ignore=shutil.ignore_patterns(*ignore))
                    else:
                        shutil.copy2(src, root / name)
            else:
                shutil.copytree(STDLIB, root, ignore=shutil.ignore_patterns(*ignore), symlinks=True)
            subprocess.run(["git", "init", "-q", str(root)], check=False)
            pg = ["--store", url]
            rows: dict = {}
            runs: list[tuple[str, list[str], Path | None]] = [("SQLite file", [], None)]
            if args.baseline_code is not None:
                base_url = other_database(url, "cg_bench_baseline")
                runs.append(("PostgreSQL + pgvector, baseline code", ["--store", base_url], args.baseline_code))
            runs.append(("PostgreSQL + pgvector", pg, None))
            for label, extra, code in runs:
                log(f"{label}: indexing {root} with {args.model} (load {os.getloadavg()[0]:.2f})")
                wall, out = run(["index", ".", "--json", "--quiet", "--model", args.model, *extra], root, code=code)
                stats = json.loads(out)
                rows[label] = {"wall": wall, "files": stats["files_seen"], "chunks": stats["chunks"]}
                again, _ = run(["index", ".", "--json", "--quiet", "--model", args.model, *extra], root, code=code)
                rows[label]["again"] = again
                if extra:
                    rows[label]["size"] = pg_size(extra[1])
                log(f"{label}: {wall:.1f} s (load {os.getloadavg()[0]:.2f})")
            db = root / ".codegraph" / "index.db"
            wal = db.with_name("index.db-wal")
            rows["SQLite file"]["size"] = db.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
            if args.index_only:
                print("\n| store | files | chunks | index wall | no-change re-index | size |")
                print("|---|---:|---:|---:|---:|---:|")
                for label, r in rows.items():
                    print(
                        f"| {label} | {r['files']:,} | {r['chunks']:,} | {r['wall']:.1f} s | {r['again']:.2f} s "
                        f"| {r['size'] / 1e6:.0f} MB |"
                    )
                return
            rows.pop("PostgreSQL + pgvector, baseline code", None)

            log("search as a process")
            lite: list[float] = []
            post: list[float] = []
            for q in QUERIES:
                a, b = alternate(
                    args.searches,
                    lambda q=q: run(["search", q, "--json"], root)[0],
                    lambda q=q: run(["search", q, "--json", *pg], root)[0],
                )
                lite += a
                post += b
            rows["SQLite file"]["search"] = lite
            rows["PostgreSQL + pgvector"]["search"] = post

            log("ranking on doc-comment queries")
            queries = doc_queries(root, args.queries)
            for label, extra in (("SQLite file", []), ("PostgreSQL + pgvector", pg)):
                rows[label]["mrr_kw"] = mrr(root, queries, "keyword", extra)
                rows[label]["mrr_hy"] = mrr(root, queries, "hybrid", extra)

            print()
            print(
                "| store | files | chunks | index wall | no-change re-index | size | search as a process P50 / P95 "
                f"| keyword MRR@10 ({len(queries)} q) | hybrid MRR@10 |"
            )
            print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
            for label, r in rows.items():
                print(
                    f"| {label} | {r['files']:,} | {r['chunks']:,} | {r['wall']:.1f} s | {r['again']:.2f} s "
                    f"| {r['size'] / 1e6:.0f} MB | {percentile(r['search'], 50) * 1000:.0f} / "
                    f"{percentile(r['search'], 95) * 1000:.0f} ms | {r['mrr_kw']:.3f} | {r['mrr_hy']:.3f} |"
                )

            log("a second project in the same server")
            second = Path(tmp) / "codegraph-src"  # not codegraph/ itself: `python -m codegraph` there would import it
            shutil.copytree(
                REPO / "codegraph", second / "src" / "codegraph", ignore=shutil.ignore_patterns("__pycache__")
            )
            wall, _ = run(["index", ".", "--json", "--quiet", "--model", args.model, *pg], second)
            print(f"\nsecond project (codegraph/ package) indexed into the same server in {wall:.1f} s")
            _w, listed = run(["projects", "--json", *pg], second)
            for p in json.loads(listed)["projects"]:
                print(f"- project {p['name']}: {p['files']:,} files, {p['chunks']:,} chunks")
            q = "reciprocal rank fusion of keyword and vector results"
            for label, where, extra in (
                ("project stdlib (from its root)", root, []),
                ("project codegraph-src (from its root)", second, []),
                ("--all", second, ["--all"]),
            ):
                _w, out = run(["search", q, "--json", "-k", "3", *pg, *extra], where)
                firsts = [
                    f"{h.get('project', '') + ':' if 'project' in h else ''}{h['path']}"
                    for h in json.loads(out)["results"]
                ]
                print(f"- {q!r}, {label}: {', '.join(firsts)}")
        finally:
            if server is not None:
                server.cleanup()


if __name__ == "__main__":
    main()
