#!/usr/bin/env python
"""Per-model indexing throughput and time to first result (not a test: it measures and prints).

Usage::

    python benchmarks/bench_models.py [--models minilm,code,fast] [--corpus DIR] [--skip-first]
                                      [--first-packages NAMES] [--query TEXT]

1. **Throughput per model on the same real tree** (default: the standard-library packages of
   ``bench_index.py``): ``codegraph.index_repo`` from an empty index, end to end, in distinct texts embedded
   per second; baseline in the same run: the same texts through the model alone (onnx models: a plain
   ``onnxruntime.InferenceSession`` run over length-sorted, per-batch-padded inputs, as ``bench_index.py``;
   static models: tokenisation + numpy gather/mean, i.e. the encoder's own ``embed_documents``).
2. **Time to first result on a fresh repository** of ~10k chunks (default: a larger standard-library set,
   ``--first-packages`` picks others; copied into a fresh git work tree): ``codegraph search QUERY --json`` as a
   process on the unindexed tree (it indexes with the fast static model first), against ``codegraph index`` with
   the default model followed by the same search.

Results go to stdout as tables; progress to stderr.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from _harness import banner, copy_corpus, copy_packages, log
from _measure import raw_session, run_raw

from codegraph.chunk import embedding_text
from codegraph.embed import OnnxEncoder, StaticEncoder, open_embedder, resolve_model
from codegraph.index import cache_key, index_repo

FIRST_PACKAGES = (
    "asyncio",
    "email",
    "http",
    "json",
    "logging",
    "unittest",
    "concurrent",
    "importlib",
    "xml",
    "multiprocessing",
    "urllib",
    "sqlite3",
    "tomllib",
    "zoneinfo",
    "ctypes",
    "curses",
    "dbm",
    "html",
    "wsgiref",
    "xmlrpc",
    "lib2to3",
    "pydoc_data",
    "idlelib",
)
"""Standard-library packages for the time-to-first-result tree (~10k chunks on CPython 3.11)."""


def distinct_texts(root: Path, enc: OnnxEncoder | StaticEncoder) -> list[str]:
    """The distinct embedded texts of the index at ``root`` (as the pipeline embedded them)."""
    from codegraph.store import Store

    with Store.open(root) as store:
        rows = store.conn.execute(
            "SELECT f.path, c.kind, c.symbol, c.scope, c.code FROM chunks c JOIN files f ON f.id = c.file_id"
        ).fetchall()
    seen: dict[bytes, str] = {}
    for path, kind, symbol, scope, code in rows:
        qualified = f"{scope}.{symbol}" if scope and symbol else (symbol or scope)
        text = embedding_text(path, kind, qualified, code)
        seen.setdefault(cache_key(enc.model_id, text), text)
    return list(seen.values())


def throughput(models: list[str], corpus: Path) -> list[tuple[str, int, float, float, str]]:
    rows = []
    for name in models:
        enc = open_embedder(resolve_model(name))
        with tempfile.TemporaryDirectory(prefix="cg-bench-") as tmp:
            root = Path(tmp) / "repo"
            copy_corpus(corpus, root)
            started = time.perf_counter()
            stats = index_repo(root, enc)
            wall = time.perf_counter() - started
            texts = distinct_texts(root, enc)
        if isinstance(enc, StaticEncoder):
            t0 = time.perf_counter()
            enc.embed_documents(texts)
            raw = time.perf_counter() - t0
            baseline = "StaticEncoder.embed_documents (tokenise + gather + mean)"
        else:
            session = raw_session(enc.model.path / "model.onnx", enc.threads)
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(enc.model.path / "tokenizer.json"))
            run = run_raw(session, tok, texts, enc.max_tokens, enc.batch_size)
            raw = run.t_tokenize + run.t_run + run.t_pool
            baseline = "raw onnxruntime session.run (+ tokenise, pool)"
        rows.append((name, stats.embedded, stats.embedded / wall, len(texts) / raw, baseline))
        log(f"{name}: {stats.embedded} embedded in {wall:.1f} s; raw {raw:.1f} s")
    return rows


def first_result(corpus_packages: Sequence[str], query: str) -> list[tuple[str, float, str]]:
    cg = [sys.executable, "-m", "codegraph"]
    out = []
    with tempfile.TemporaryDirectory(prefix="cg-first-") as tmp:
        for label in ("fast", "full"):
            root = Path(tmp) / label
            copy_packages(root, corpus_packages, skip_missing=True)
            subprocess.run(["git", "init", "-q", str(root)], check=True)
            t0 = time.perf_counter()
            if label == "full":
                subprocess.run([*cg, "index", ".", "-q"], cwd=root, check=True, capture_output=True)
            proc = subprocess.run([*cg, "search", query, "--json"], cwd=root, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            note = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
            out.append((label, wall, note))
            log(f"{label}: {wall:.1f} s; {note}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="minilm,code,fast")
    ap.add_argument("--corpus", type=Path, default=None, help="tree for throughput (default: bench_index's)")
    ap.add_argument("--skip-first", action="store_true", help="leave out the time-to-first-result table")
    ap.add_argument(
        "--first-packages",
        default=",".join(FIRST_PACKAGES),
        help="comma-separated stdlib packages of the time-to-first-result tree (default: ~10k chunks' worth)",
    )
    ap.add_argument("--query", default="parse an email address header")
    args = ap.parse_args()
    print(banner("bench_models"))
    rows = throughput(args.models.split(","), args.corpus)
    print("\n| model | texts embedded | pipeline chunks/s | model alone chunks/s | ratio | baseline |")
    print("|---|---:|---:|---:|---:|---|")
    for name, n, pipe, raw, baseline in rows:
        print(f"| {name} | {n} | {pipe:.1f} | {raw:.1f} | {pipe / raw:.2f} | {baseline} |")
    if not args.skip_first:
        first = first_result(args.first_packages.split(","), args.query)
        print("\n| fresh git work tree | seconds to first result | what happened |")
        print("|---|---:|---|")
        for label, wall, note in first:
            what = "codegraph search (auto-index, fast model)" if label == "fast" else "codegraph index + search"
            print(f"| {what} | {wall:.1f} | {note[:150]} |")


if __name__ == "__main__":
    main()
