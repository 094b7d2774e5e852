#!/usr/bin/env python
"""Compact vectors on PostgreSQL at scale: float vs halfvec vs binary + float rescoring HNSW indexes (not a test:
it measures and prints the PostgreSQL table of ``docs/vectors.md``).

Usage::

    python benchmarks/bench_pg_vectors.py --index DIR [--store postgresql://...] [--queries 500]
        [--candidates 100,200,400,1000] [--only float,half,binary]

Reuses the float32 vectors of a SQLite index built with ``--model fast`` (``benchmarks/bench_vectors.py`` builds
one: the standard library with its tests plus numpy, scipy and pygments, 141,741 chunks) rather than embedding
again: they are copied into a PostgreSQL store (default: a ``pgserver`` started here, data in a temporary
directory) as one project's embeddings (``COPY``, same ids), with one chunk per vector. Then, per format, the
model's index is converted by ``PgStore.settle_vectors`` (what ``codegraph index --store URL --vectors X`` does
at the end of a run) and measured:

* recall@10 of ``PgStore.knn(q, 10)`` against exact float search (numpy, all vectors), over real queries: the
  first docstring line of functions of the corpus, embedded as queries; ``as search``: the top 10 of
  ``knn(q, 100)`` (what ``codegraph search`` asks for at its default depth);
* sizes: the model's HNSW index (``pg_relation_size``) and the ``embeddings`` table with every index
  (``pg_total_relation_size``);
* KNN latency p50 / p95 in process (``knn(q, 10)``, each query once after a warm-up pass);
* the conversion time (building the index; the float row is the build after a bulk load).

For float and half, ``--ef`` sweeps the floor of ``hnsw.ef_search``; for binary, ``--candidates`` sweeps the
number of hamming candidates rescored for ``k`` = 10 (``knn(q, 100)`` rescores ten times as many, at most 1,000).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from _harness import Bench, docstring_queries, log, p50_p95_ms, package_version, temp_dir
from bench_vectors import float_vectors, recall

import codegraph
from codegraph.config import Settings
from codegraph.embed import open_embedder, resolve_model
from codegraph.store import Store
from codegraph.store import postgres_vectors as pv
from codegraph.store.postgres import PgStore
from codegraph.store.postgres_schema import ensure_project, pool_for

MIN_CHUNKS = 100_000


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, required=True, help="a corpus directory indexed with --model fast (float)")
    ap.add_argument("--store", help="a PostgreSQL URL of an empty database (default: start a pgserver here)")
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--candidates", default="100,200,400,1000", help="binary: hamming candidates to rescore")
    ap.add_argument("--ef", default="40,100,200", help="float and half: hnsw.ef_search floors to measure")
    ap.add_argument("--only", help="comma-separated formats (float,half,binary; default: all)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (and the server's data)")
    return ap.parse_args()


def load(url: str, corpus: Path, ids: np.ndarray, x: np.ndarray, model: str) -> PgStore:
    """One project whose chunks use every vector: embeddings (same ids as the SQLite index) and chunks by COPY."""
    pool = pool_for(url)
    with pool.connection() as conn:
        project = ensure_project(conn, "bench", str(corpus), None)
    store = PgStore(pool, url, project, [project], corpus)
    assert not store.bind_model(model, x.shape[1], vectors="float")
    with store.transaction(), store.conn.cursor() as cur:
        file_id = cur.execute(
            "INSERT INTO files(project_id, path, language, size, mtime_ns, content_hash, indexed_at) "
            "VALUES (%s, 'all.py', 'python', 0, 0, '', 0) RETURNING id",
            (project.id,),
        ).fetchone()[0]
        with cur.copy("COPY embeddings(id, model, key, embedding) FROM STDIN") as copy:
            for i, v in zip(ids.tolist(), x, strict=True):
                copy.write_row((i, model, i.to_bytes(16, "big"), v))
        with cur.copy(
            "COPY chunks(project_id, file_id, embedding_id, kind, start_line, end_line, span_start, "
            "span_end, code, fts) FROM STDIN"
        ) as copy:
            for i in ids.tolist():
                copy.write_row((project.id, file_id, i, "function", 1, 1, 0, 0, "", ""))
        cur.execute("SELECT setval('embeddings_id_seq', (SELECT max(id) FROM embeddings))")
    store.conn.execute("ANALYZE embeddings")
    store.conn.execute("ANALYZE chunks")
    return store


def sizes(store: PgStore, model: str, fmt: str) -> tuple[int, int]:
    """(bytes of the model's HNSW index, bytes of ``embeddings`` with all its indexes)."""
    row = store._one(
        "SELECT coalesce(pg_relation_size(to_regclass(%s)), 0), pg_total_relation_size('embeddings')",
        (pv.index_name(model, fmt),),
    )
    assert row is not None
    return int(row[0]), int(row[1])


def main() -> None:
    args = parse_args()
    bench = Bench("bench_pg_vectors")
    encoder = open_embedder(resolve_model("fast"), threads=0, batch_size=8, settings=Settings())
    corpus = args.index.resolve()
    with Store.open(corpus) as lite:
        chunks, model = lite.count("chunks"), lite.get_meta("model_id") or ""
        ids, x = float_vectors(lite)
    if chunks < MIN_CHUNKS:
        raise SystemExit(f"only {chunks} chunks; the benchmark needs {MIN_CHUNKS}")
    server = None
    with temp_dir("cg-pgvec-", keep=args.keep) as work:
        url = args.store
        if url is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import pgserver

                server = pgserver.get_server(work / "pgdata", cleanup_mode=None if args.keep else "stop")
            url = str(server.get_uri())
        try:
            bench.section("1", f"copying {len(ids)} vectors into PostgreSQL")
            t0 = time.perf_counter()
            store = load(url, corpus, ids, x, model)
            load_s = time.perf_counter() - t0
            version = store._one("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            server_version = store._one("SHOW server_version")
            buffers = store._one("SHOW shared_buffers")
            bench.report.header += [
                f"codegraph {codegraph.__version__} bench_pg_vectors  {bench.started_at}",
                f"PostgreSQL {server_version[0] if server_version else '?'} (shared_buffers "
                f"{buffers[0] if buffers else '?'}), pgvector {version[0] if version else '?'}, psycopg "
                f"{package_version('psycopg')}; same machine, Unix socket; model {model}",
                f"codegraph code: {bench.version_start}",
                f"corpus: {corpus}: {chunks} chunks, {len(ids)} distinct vectors of {x.shape[1]} dims, copied in "
                f"{load_s:.0f} s (COPY)",
                f"load average (1/5/15 min) at start: {bench.load_start}",
            ]
            bench.section("2", f"{args.queries} queries and the exact float top-10")
            queries = docstring_queries(corpus, args.queries)
            q = encoder.embed_queries(queries)
            exact = [set(ids[np.argsort(-(x @ v), kind="stable")[:10]].tolist()) for v in q]
            configs: list[tuple[str, str, int]] = []
            for fmt in ("float", "half"):
                configs += [(f"{fmt}, ef_search >= {ef}", fmt, int(ef)) for ef in args.ef.split(",")]
            configs += [(f"binary + rescore, {c} candidates", "binary", int(c)) for c in args.candidates.split(",")]
            if args.only:
                configs = [c for c in configs if c[1] in args.only.split(",")]
            built: str | None = None
            for n, (label, fmt, candidates) in enumerate(configs, 3):
                bench.section(str(n), label)
                convert = "-"
                if built != fmt:
                    store.set_meta({"vectors": fmt})
                    t0 = time.perf_counter()
                    store.settle_vectors()
                    convert = f"index built in {time.perf_counter() - t0:.1f} s"
                    built = fmt
                    store.conn.execute("ANALYZE embeddings")
                if fmt == "binary":
                    pv.RESCORE_MIN_CANDIDATES, pv.RESCORE_FACTOR = candidates, candidates // 10
                else:
                    pv.HNSW_EF_MIN = candidates
                for v in q[:20]:  # warm the index pages
                    store.knn(v, 10)
                got, as_search, times = [], [], []
                for v in q:
                    t0 = time.perf_counter()
                    got.append([e for e, _ in store.knn(v, 10)])
                    times.append(time.perf_counter() - t0)
                    as_search.append([e for e, _ in store.knn(v, 100)])
                index_b, table_b = sizes(store, model, fmt)
                bench.report.add(
                    str(n),
                    label,
                    f"recall@10 {recall(exact, got):.3f} (as search {recall(exact, as_search):.3f}); index "
                    f"{index_b / 1e6:.1f} MB ({index_b / len(ids):.0f} B/vector); p50/p95 {p50_p95_ms(times)} ms",
                    f"embeddings with indexes {table_b / 1e6:.1f} MB",
                    "",
                    "",
                    convert,
                )
            store.close()
        finally:
            if server is not None and not args.keep:
                server.cleanup()
    log("done")
    bench.finish()


if __name__ == "__main__":
    main()
