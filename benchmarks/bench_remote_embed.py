#!/usr/bin/env python
"""Remote embedding throughput: requests in flight against a server with a fixed latency (not a test).

Usage::

    python benchmarks/bench_remote_embed.py [--latency-ms 200] [--concurrency 1,4,8] [--packages json,email,http]

Chunks standard-library packages once (codegraph's chunker, with the remote encoder's estimated token counts:
the texts ``codegraph index --model openai:MODEL`` would send), then embeds every chunk text through
:class:`codegraph.embed.RemoteEncoder` and the real ``openai`` client against the tests' local embeddings server
(``tests/fake_embeddings.py``), which sleeps ``--latency-ms`` per request, once per concurrency setting, each on
a fresh server (no cache in between: the encoder is called directly) after one untimed warm-up request. Reports
chunks per second, requests, the most requests the server saw in flight, and the ratio against the first setting
(the baseline, in the same run).
The server answers instantly apart from the sleep, so this measures what overlapping requests buys when the
API's latency dominates, as it does for a hosted API.
"""

from __future__ import annotations

import argparse
import os
import sys
import sysconfig
import time
from pathlib import Path

from _harness import Bench, fmt_rate

from codegraph.chunk import chunk_source, embedding_text
from codegraph.embed.remote import RemoteEncoder, RemoteOptions
from codegraph.languages import detect_language

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: tests/ is a package there
from tests.fake_embeddings import fake_embeddings  # noqa: E402 - after the path above

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--latency-ms", type=float, default=200.0, help="server latency per request (ms)")
    ap.add_argument("--concurrency", default="1,4,8", help="requests in flight to compare; the first is the baseline")
    ap.add_argument("--batch-size", type=int, default=64, help="inputs per request (embed_batch_size)")
    ap.add_argument("--packages", default="json,email,http", help="standard-library packages to chunk")
    return ap.parse_args()


def chunk_texts(encoder: RemoteEncoder, packages: list[str]) -> list[str]:
    """The embedded texts of every chunk of ``packages`` (Python files, without tests), deduplicated."""
    texts: dict[str, None] = {}
    for package in packages:
        for path in sorted((STDLIB / package).rglob("*.py")):
            if {"test", "tests"} & set(path.parts):
                continue
            rel = path.relative_to(STDLIB).as_posix()
            language = detect_language(rel)
            source = path.read_text(encoding="utf-8", errors="replace")
            for c in chunk_source(
                rel,
                language,
                source,
                max_tokens=encoder.profile.chunk_tokens,
                count_tokens=encoder.count_tokens,
                count_line_tokens=encoder.count_line_tokens,
            ):
                texts[embedding_text(c.path, c.kind, c.qualified_symbol, c.code)] = None
    return list(texts)


def main() -> None:
    args = parse_args()
    settings = [int(c) for c in args.concurrency.split(",")]
    packages = args.packages.split(",")
    bench = Bench("bench_remote_embed")
    os.environ.setdefault("CODEGRAPH_EMBED_API_KEY", "benchmark")
    options = RemoteOptions(base_url="http://127.0.0.1:9/v1", batch_size=args.batch_size)
    texts = chunk_texts(RemoteEncoder("fake-embed", options=options, dim=32), packages)
    requests = -(-len(texts) // args.batch_size)
    bench.report.header += [
        f"codegraph bench_remote_embed  {bench.started_at}",
        f"corpus: standard-library packages {', '.join(packages)} (no tests): {len(texts)} distinct chunk texts, "
        f"{sum(len(t.encode()) for t in texts) / 1e6:.1f} MB; {args.batch_size} inputs per request: "
        f"{requests} requests",
        f"server: tests/fake_embeddings.py on 127.0.0.1, {args.latency_ms:.0f} ms latency per request, "
        "32-dim vectors; client: openai (real), base64 encoding",
        f"machine: {os.cpu_count()} cores; codegraph code: {bench.version_start}",
        f"load average (1/5/15 min) at start: {bench.load_start}",
    ]
    baseline: float | None = None
    for n, concurrency in enumerate(settings, 1):
        bench.section(str(n), f"{len(texts)} chunks, {concurrency} request(s) in flight")
        with fake_embeddings(latency_s=args.latency_ms / 1000) as server:
            run_options = RemoteOptions(base_url=server.base_url, batch_size=args.batch_size, concurrency=concurrency)
            with RemoteEncoder("fake-embed", options=run_options, dim=32) as encoder:
                encoder.embed_queries(["warm up"])  # untimed: the client's first request builds its models
                started = time.perf_counter()
                embedded = sum(len(idx) for idx, _vectors in encoder.iter_embed_documents(texts))
                seconds = time.perf_counter() - started
        assert embedded == len(texts)
        rate = embedded / seconds
        baseline = baseline or rate
        bench.report.add(
            str(n),
            f"embed {embedded} chunks, {concurrency} in flight",
            f"{fmt_rate(rate)} chunks/s ({seconds:.2f} s)",
            f"{fmt_rate(baseline)} chunks/s (1st row)",
            f"{rate / baseline:.2f}x",
            "",
            f"{len(server.requests) - 1} requests (+1 untimed warm-up), server saw at most "
            f"{server.max_in_flight} in flight; "
            f"floor {requests * args.latency_ms / 1000 / concurrency:.2f} s",
        )
    bench.finish()


if __name__ == "__main__":
    main()
