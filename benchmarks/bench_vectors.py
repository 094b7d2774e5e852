#!/usr/bin/env python
"""Compact vectors at scale: float32 vs int8 vs binary + rescoring, each also PCA-reduced (not a test: it
measures and prints).

Usage::

    python benchmarks/bench_vectors.py [--index DIR] [--queries 500] [--pca-dims 128] [--only binary] [--keep]

Builds (or, with ``--index``, copies an existing ``.codegraph/index.db`` of) a float32 index of at least 100k
chunks embedded with the ``fast`` static model: the running interpreter's standard library (with its tests) plus
numpy, scipy and pygments from codegraph's own environment. Then, per representation, a copy of that index is
converted by ``Store.settle_vectors`` (what ``codegraph index --vectors X`` does at the end of a run) and
measured:

* recall@10 of ``Store.knn(q, 10)`` against exact float search (numpy, all vectors), over real queries: the
  first docstring line of functions of the corpus, embedded as queries;
* ``as search``: recall@10 of the top 10 of ``knn(q, 100)``, which is what ``codegraph search`` asks for with
  its default depth of 50 candidates per ranking (``fetch = 2 * depth``);
* size of the vector table on disk (``dbstat`` over ``embeddings_vec``'s shadow tables), bytes per vector;
* KNN latency p50 / p95 in process, each query timed right after the float baseline on the same query;
* conversion time from the float index.
"""

from __future__ import annotations

import argparse
import shutil
import sysconfig
import time
from pathlib import Path

import numpy as np
from _harness import Bench, docstring_queries, log, p50_p95_ms, package_version, percentile, temp_dir

import codegraph
from codegraph.config import Settings
from codegraph.embed import open_embedder, resolve_model
from codegraph.store import Store
from codegraph.store.sqlite import sqlite_module
from codegraph.store.vectors import VectorCodec

LIBS = ("numpy", "scipy", "pygments")
"""Packages of codegraph's environment added to the standard library to pass 100k chunks."""

MIN_CHUNKS = 100_000


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, help="a corpus directory already indexed with --model fast (float)")
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--pca-dims", type=int, default=128, help="PCA width (the fast model has 256 dims)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--only", help="comma-separated formats to measure (float,int8,binary; default: all)")
    return ap.parse_args()


def build_corpus(dest: Path) -> None:
    """The standard library (without site-packages) and :data:`LIBS`, without compiled extensions."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    ignore = shutil.ignore_patterns("site-packages", "__pycache__", "*.so")
    shutil.copytree(stdlib, dest / "stdlib", ignore=ignore, symlinks=True)
    site = Path(sysconfig.get_paths()["purelib"])
    for name in LIBS:
        shutil.copytree(site / name, dest / "libs" / name, ignore=ignore, symlinks=True)


def float_vectors(store: Store) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, float32 (n, dim))`` of every stored vector of a float index."""
    rows = store.conn.execute("SELECT rowid, embedding FROM embeddings_vec ORDER BY rowid").fetchall()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    return ids, np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)


def recall(exact: list[set[int]], got: list[list[int]]) -> float:
    return float(np.mean([len(e & set(g[:10])) / 10 for e, g in zip(exact, got, strict=True)]))


def converted_copy(source_db: Path, work: Path, name: str, vectors: str, dims: int | None, model: str) -> tuple:
    """A copy of the float index converted to ``vectors`` / ``dims``: (store, seconds of the conversion)."""
    root = work / name
    (root / ".codegraph").mkdir(parents=True)
    shutil.copy2(source_db, root / ".codegraph" / "index.db")
    store = Store.open(root)
    dim = int(store.get_meta("dim") or 0)
    chunker = store.get_meta("chunker_version") or ""
    assert not store.bind_model(model, dim, chunker_version=chunker, vectors=vectors, vector_dims=dims)
    t0 = time.perf_counter()
    store.settle_vectors()
    return store, time.perf_counter() - t0


def main() -> None:
    args = parse_args()
    bench = Bench("bench_vectors")
    encoder = open_embedder(resolve_model("fast"), threads=0, batch_size=8, settings=Settings())
    sqlite = sqlite_module()
    bench.report.header += [
        f"codegraph {codegraph.__version__} bench_vectors  {bench.started_at}",
        f"numpy {package_version('numpy')}  sqlite-vec {package_version('sqlite-vec')}  sqlite module "
        f"{sqlite.__name__} (SQLite {sqlite.sqlite_version}); model {encoder.model_id}",
        f"codegraph code: {bench.version_start}",
        f"load average (1/5/15 min) at start: {bench.load_start}",
    ]
    with temp_dir("cg-vectors-", keep=args.keep) as work:
        if args.index is None:
            corpus = work / "corpus"
            bench.section("1", f"copying the corpus to {corpus} and indexing it (fast, float)")
            build_corpus(corpus)
            t0 = time.perf_counter()
            stats = codegraph.index_repo(corpus, encoder, settings=Settings(vectors="float"))
            index_s, how = time.perf_counter() - t0, f"indexed here in {time.perf_counter() - t0:.0f} s"
            log(f"{stats.chunks} chunks, {stats.embedded} embedded in {index_s:.0f} s")
        else:
            corpus, how = args.index.resolve(), f"index reused from {args.index}"
        source_db = corpus / ".codegraph" / "index.db"
        with Store.open(corpus) as store:
            chunks, model = store.count("chunks"), store.get_meta("model_id") or ""
            assert store.vector_codec() == VectorCodec("float", encoder.dim), "the source index must be float"
            ids, x = float_vectors(store)
        if chunks < MIN_CHUNKS:
            raise SystemExit(f"only {chunks} chunks; the benchmark needs {MIN_CHUNKS}")
        bench.section("2", f"{args.queries} queries and exact float top-10 over {len(ids)} vectors")
        queries = docstring_queries(corpus, args.queries)
        q = encoder.embed_queries(queries)
        exact = [set(ids[np.argsort(-(x @ v), kind="stable")[:10]].tolist()) for v in q]
        report = bench.report
        report.header += [
            f"corpus: {corpus} (stdlib + {', '.join(LIBS)}): {chunks} chunks, {len(ids)} distinct vectors of "
            f"{encoder.dim} dims; {how}",
            f"queries: {len(queries)} docstring first lines of the corpus' functions; PCA width {args.pca_dims}",
        ]
        configs = [
            ("float", "float", None),
            ("int8", "int8", None),
            ("binary + rescore", "binary", None),
            (f"float PCA-{args.pca_dims}", "float", args.pca_dims),
            (f"int8 PCA-{args.pca_dims}", "int8", args.pca_dims),
            (f"binary PCA-{args.pca_dims} + rescore", "binary", args.pca_dims),
        ]
        if args.only:
            configs = [c for c in configs if c[1] in args.only.split(",")]
        baseline = Store.open(corpus)
        float_bytes = baseline.vector_bytes()
        for n, (label, vectors, dims) in enumerate(configs, 3):
            bench.section(str(n), label)
            store, convert_s = converted_copy(source_db, work, f"c{n}", vectors, dims, model)
            size = store.vector_bytes()
            got, as_search, times, base_times = [], [], [], []
            for v in q:
                t0 = time.perf_counter()
                baseline.knn(v, 10)
                t1 = time.perf_counter()
                got.append([e for e, _ in store.knn(v, 10)])
                t2 = time.perf_counter()
                base_times.append(t1 - t0)
                times.append(t2 - t1)
                as_search.append([e for e, _ in store.knn(v, 100)])
            speed = percentile(base_times, 50) / percentile(times, 50)
            report.add(
                str(n),
                label,
                f"recall@10 {recall(exact, got):.3f} (as search {recall(exact, as_search):.3f}); "
                f"{size / 1e6:.1f} MB ({size / len(ids):.0f} B/vector); p50/p95 {p50_p95_ms(times)} ms",
                f"float: {float_bytes / 1e6:.1f} MB; p50/p95 {p50_p95_ms(base_times)} ms",
                f"size x{size / float_bytes:.2f}, p50 {speed:.1f}x faster",
                "",
                "-" if vectors == "float" and dims is None else f"converted from float in {convert_s:.1f} s",
            )
            store.close()
            shutil.rmtree(work / f"c{n}", ignore_errors=True)
        baseline.close()
    bench.finish()


if __name__ == "__main__":
    main()
