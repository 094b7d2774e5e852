#!/usr/bin/env python
"""Cost of the keyword ranking on a large SQLite index: FTS5 ``bm25()`` alone (the ranking before 2026-11-26,
the baseline) against ``Store.bm25`` (``bm25()`` picks 300 candidates, ``highlight()`` marks their matches,
:func:`codegraph.store.fts.rescore_keywords` orders them).

Usage::

    python benchmarks/bench_keyword.py --index DIR [--queries 200] [--depth 50] [--repeat 2]

``DIR`` is an indexed corpus (``codegraph index DIR``; ``bench_vectors.py --keep`` builds a 141k-chunk one). The
queries are the first docstring lines of the corpus's functions (seeded). Each query is answered by both
rankings in turn (ABBA, so load from other processes hits both), ``--depth`` results each (hybrid search asks
for ``max(depth, 5 * k)`` = 50 at ``-k 10``), with no filter and with a language filter (``--lang python``'s
SQL: a join to ``chunks`` and ``files``). The quality side is the dev set (``benchmarks/devset.py``).

This is a benchmark, not a test: it prints a table and asserts nothing.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _harness import Bench, docstring_queries, p50_p95_ms, package_version

from codegraph.store import Store
from codegraph.store.fts import fts_query
from codegraph.store.store import BM25_WEIGHTS, RowFilter


def plain_bm25(store: Store, query: str, k: int, where: RowFilter | None) -> list[tuple[int, float]]:
    """The keyword ranking before the rescoring: FTS5 ``bm25()`` with :data:`BM25_WEIGHTS`, best ``k``."""
    expression = fts_query(query)
    if expression is None:
        return []
    if where is None:
        sql = (
            "SELECT rowid, bm25(chunks_fts, ?, ?, ?) AS rank FROM chunks_fts WHERE chunks_fts MATCH ? "
            "ORDER BY rank LIMIT ?"
        )
        params: list[object] = [*BM25_WEIGHTS, expression, k]
    else:
        clause, extra = where.sql()
        sql = (
            "SELECT chunks_fts.rowid, bm25(chunks_fts, ?, ?, ?) AS rank FROM chunks_fts "
            "JOIN chunks c ON c.id = chunks_fts.rowid JOIN files f ON f.id = c.file_id "
            f"WHERE chunks_fts MATCH ?{clause} ORDER BY rank LIMIT ?"
        )
        params = [*BM25_WEIGHTS, expression, *extra, k]
    return [(int(r[0]), -float(r[1])) for r in store.conn.execute(sql, params)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, required=True, help="an indexed corpus directory")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--depth", type=int, default=50, help="results asked of each ranking (default: 50)")
    ap.add_argument("--repeat", type=int, default=2, help="rounds over the queries (default: 2)")
    args = ap.parse_args()
    bench = Bench("bench_keyword")
    store = Store.open(args.index, read_only_ok=True)
    chunks = store.count("chunks")
    queries = docstring_queries(args.index, args.queries)
    bench.report.header += [
        f"codegraph bench_keyword  {bench.started_at}",
        f"SQLite {store.conn.execute('SELECT sqlite_version()').fetchone()[0]}  sqlite-vec "
        f"{package_version('sqlite-vec')}",
        f"index: {args.index} ({chunks:,} chunks); {len(queries)} docstring queries x {args.repeat} rounds, "
        f"depth {args.depth}",
        f"codegraph code: {bench.version_start}",
        f"load average (1/5/15 min) at start: {bench.load_start}",
    ]
    for number, label, where in (("1", "no filter", None), ("2", "--lang python", RowFilter(frozenset({"python"})))):
        bench.section(number, f"{label}: {len(queries)} queries x {args.repeat}")
        old: list[float] = []
        new: list[float] = []
        for round_ in range(args.repeat):
            for i, query in enumerate(queries):
                for shipped in (False, True) if (i + round_) % 2 == 0 else (True, False):  # A B, B A, ...
                    start = time.perf_counter()
                    if shipped:
                        store.bm25(query, args.depth, where=where)
                    else:
                        plain_bm25(store, query, args.depth, where)
                    (new if shipped else old).append(time.perf_counter() - start)
        ratio = sorted(new)[len(new) // 2] / max(sorted(old)[len(old) // 2], 1e-9)
        bench.report.add(
            number,
            f"keyword ranking per query, {label}: P50 / P95",
            p50_p95_ms(new),
            p50_p95_ms(old),
            f"{ratio:.2f}x",
            notes="value: bm25() top 300 + highlight() + rescore; baseline: bm25() top depth",
        )
    bench.finish()


if __name__ == "__main__":
    main()
