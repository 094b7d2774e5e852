#!/usr/bin/env python
"""Search latency of ``codegraph serve``: the same query in-process, through FastAPI's TestClient, and over HTTP
to a real ``codegraph serve`` process (uvicorn), measured in one run (measures, does not assert).

Usage::

    python benchmarks/bench_serve.py [--corpus DIR] [--requests N] [--k K]

The corpus (default: this checkout's ``codegraph/`` package) is copied to a temporary directory and indexed with
the default model. Then ``--requests`` searches per path, interleaved request by request (in-process, TestClient,
HTTP, page) so that load from other processes hits every path alike, cycling through :data:`QUERIES`:

1. ``Workspace.search`` in this process (the baseline: what every path below pays);
2. ``GET /api/search`` through ``fastapi.testclient.TestClient`` (the app in this process, no sockets);
3. ``GET /api/search`` over HTTP (``httpx``, one kept-alive connection) to ``codegraph serve --port 0``;
4. ``GET /?q=`` over HTTP: the page with its results highlighted by Pygments.

Every path uses the default freshness (``refresh``: a look at the tree for changes at most every 2 s). Requires
the ``serve`` extra and httpx.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from _harness import Bench, copy_corpus, log, p50_p95_ms, percentile, temp_dir
from fastapi.testclient import TestClient

from codegraph.config import resolve_settings
from codegraph.embed import open_embedder, resolve_model
from codegraph.index import index_repo
from codegraph.serve.app import create_app
from codegraph.service import Workspace

QUERIES = (
    "reciprocal rank fusion of keyword and vector results",
    "load the settings file",
    "where do we retry failed requests",
    "Workspace.search",
    "split identifiers on camelCase",
    "run the tests in a sandbox with a memory limit",
    "parse the model's answer strictly",
    "walk the repository and honour gitignore",
    "PageRank over the reference graph",
    "stream the chat completion",
)

WARMUP = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parent.parent / "codegraph")
    parser.add_argument("--requests", type=int, default=100, help="searches per path (default 100)")
    parser.add_argument("-k", type=int, default=10, help="results per search (default 10)")
    args = parser.parse_args()

    bench = Bench("bench_serve")
    with temp_dir("codegraph-bench-serve-", keep=False) as tmp:
        repo = tmp / "repo"
        corpus = copy_corpus(args.corpus, repo)
        settings = resolve_settings(repo)
        encoder = open_embedder(resolve_model(None), threads=settings.threads, batch_size=settings.batch_size)
        bench.section("0", f"indexing {corpus}")
        stats = index_repo(repo, encoder, settings=settings)
        bench.header(
            [encoder],
            ["fastapi", "uvicorn", "starlette", "httpx", "onnxruntime"],
            [
                f"corpus: {corpus} ({stats.files_seen} files, {stats.chunks} chunks); {args.requests} searches per "
                f"path, k={args.k}, {len(QUERIES)} queries in turn, interleaved; {WARMUP} warm-up requests each"
            ],
        )
        server, url = start_server(repo)
        try:
            with Workspace.open(repo) as ws, TestClient(create_app(ws), base_url="http://127.0.0.1") as client:
                with httpx.Client(base_url=url, timeout=60) as http:
                    paths: dict[str, Callable[[str], object]] = {
                        "in-process Workspace.search": lambda q: ws.search(q, k=args.k),
                        "TestClient GET /api/search": lambda q: ok(
                            client.get("/api/search", params={"q": q, "k": args.k})
                        ),
                        "HTTP GET /api/search (uvicorn)": lambda q: ok(
                            http.get("/api/search", params={"q": q, "k": args.k})
                        ),
                        "HTTP GET /?q= (page, highlighted)": lambda q: ok(http.get("/", params={"q": q, "k": args.k})),
                    }
                    bench.section("1", f"{args.requests} searches per path, interleaved")
                    times = measure(paths, args.requests)
        finally:
            server.send_signal(signal.SIGINT)
            server.communicate(timeout=60)

    base = percentile(times["in-process Workspace.search"], 50)
    for number, (name, values) in enumerate(times.items(), start=1):
        p50 = percentile(values, 50)
        bench.report.add(
            str(number),
            f"search p50 / p95, {name}",
            f"{p50_p95_ms(values)} ms",
            f"{base * 1000:.1f} ms p50 in-process",
            f"{p50 / base:.2f}x",
            notes=f"min {min(values) * 1000:.1f} ms, overhead p50 {(p50 - base) * 1000:+.1f} ms",
        )
    bench.finish()


def ok(response: httpx.Response) -> httpx.Response:
    response.raise_for_status()
    return response


def measure(paths: dict[str, Callable[[str], object]], requests: int) -> dict[str, list[float]]:
    """Seconds per request for each path: warm-up first, then ``requests`` rounds of one request per path."""
    for ask in paths.values():
        for i in range(WARMUP):
            ask(QUERIES[i % len(QUERIES)])
    times: dict[str, list[float]] = {name: [] for name in paths}
    for i in range(requests):
        query = QUERIES[i % len(QUERIES)]
        for name, ask in paths.items():
            start = time.perf_counter()
            ask(query)
            times[name].append(time.perf_counter() - start)
    return times


def start_server(repo: Path) -> tuple[subprocess.Popen[str], str]:
    """``codegraph serve --port 0`` in ``repo``; returns the process and its URL once it listens."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "codegraph", "serve", "--port", "0", "--dir", str(repo)],
        cwd=repo.parent,  # not the corpus itself: its modules (types.py, ...) would shadow the standard library
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    if "http://" not in line:
        raise SystemExit(f"codegraph serve did not start: {line}{proc.stderr.read()}")
    url = line.split()[2]
    log(f"codegraph serve at {url}")
    return proc, url


if __name__ == "__main__":
    main()
