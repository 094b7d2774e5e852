#!/usr/bin/env python
"""Freshness benchmark for codegraph: how cheaply the index stays up to date (measures, does not assert).

Usage::

    python benchmarks/bench_fresh.py [--edits N] [--repeat N] [--process-runs N] [--release SPEC ...] [--keep]

Three sections, each on temporary directories (nothing is written outside them):

1. **No-change re-index of a large tree**: a copy of the running Python's standard library (``Lib`` without
   ``site-packages`` and ``__pycache__``: ~2,450 files, ~2,260 of them indexable text). Indexing all of it
   with the real model would take ~35-40 minutes on 2 cores, so the script first estimates the build time
   (chunks per byte and embedding rate measured on a sample); above ``--max-build-minutes`` every text file
   is cut to its first ``--head-lines`` lines (binary files are copied unchanged). The tree keeps its real
   files, paths and count, which is all a no-change run looks at. Then: ``index_repo`` with nothing changed
   (median of ``--repeat``) vs ``walk_files`` alone; ``codegraph index . --json -q`` as a process vs a process
   that only loads the model; ``codegraph index --check`` as a process vs ``python -c pass``.
2. **One-file edit through watch**: ``codegraph.watch.watch_repo`` runs in a thread on the same tree; the
   edited files are first restored to their full real content (and indexed). ``--edits`` edits per debounce
   setting (default ``DEBOUNCE_S`` and 20 ms), one at a time, each appending a uniquely named function to a
   different file and waiting (``threading.Condition``) for the batch that contains that path. The encoder is
   wrapped in a timing proxy, so the embedding of the changed chunks is measured inside the refresh.
3. **Embedding cache across releases**: three consecutive wheels of real packages (``pip download``; rich,
   requests, click by default), indexed in turn in one working tree per package (package directory at the
   root); per step the share of the version's chunks that needed no embedding (the target), the files changed,
   and ``IndexStats.cache_hit_ratio`` inside the changed files against its ceiling (the share of those chunks
   whose text some earlier version already had; every version is chunked independently of the index).

Load averages are printed at start, at each section and at the end. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import threading
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _harness import (
    CODEGRAPH_EXE,
    EDIT_MAX_BYTES,
    EDIT_MIN_BYTES,
    STDLIB_EXCLUDED_DIRS,
    Bench,
    alternate,
    log,
    median,
    p50_p95_ms,
    percentile,
    stdlib_files,
    target_mark,
    temp_dir,
    time_index,
    time_walk,
    timed_process,
)
from _measure import TimingEmbedder

import codegraph
import codegraph.embed
import codegraph.status
import codegraph.store
import codegraph.watch
from codegraph.chunk import chunk_source, embedding_text
from codegraph.config import resolve_settings
from codegraph.discover import BINARY_SNIFF_BYTES, read_source, walk_files
from codegraph.index import cache_key
from codegraph.languages import detect_language
from codegraph.types import SourceFile

# codegraph imports its modules lazily; the ones above are imported now so that one version of the library is
# used throughout even if its files change while the benchmark runs (the footer warns if they did).

MODEL = "minilm"

DEFAULT_RELEASES = ("rich==13.7.0,13.7.1,13.8.0", "requests==2.31.0,2.32.0,2.32.3", "click==8.1.5,8.1.6,8.1.7")
"""Consecutive releases indexed in section 3, ``name==v1,v2,v3``: rich (78 modules, ~2,000 chunks; 2 and 23
files changed), requests (18 modules, ~420 chunks; 13 and 2 files changed with new and rewritten functions),
click (16 modules, ~800 chunks; 2 and 3 files with small fixes)."""

FAST_DEBOUNCE_S = 0.02


def ms(x: float) -> str:
    return f"{x * 1000:.0f}"


def model_load_cmd() -> list[str]:
    """A child that imports codegraph and loads the model. Run it with a cwd outside the stdlib copy: ``-c``
    puts the cwd first on ``sys.path``, where the copy would shadow the real standard library."""
    return [
        sys.executable,
        "-c",
        f"import codegraph; codegraph.OnnxEncoder(codegraph.resolve_model({MODEL!r}))",
    ]


# -- section 1: corpus -------------------------------------------------------------------------------------


def is_binary(data: bytes) -> bool:
    return b"\0" in data[:BINARY_SNIFF_BYTES]


def head_lines(data: bytes, n: int) -> bytes:
    """The first ``n`` lines of ``data`` (bytes, so files in other encodings stay as they are)."""
    return b"".join(data.splitlines(keepends=True)[:n])


@dataclass
class BuildEstimate:
    text_files: int
    text_bytes: int
    chunks_per_kb: float
    embed_rate: float  # chunks/s

    @property
    def chunks(self) -> float:
        return self.text_bytes / 1000 * self.chunks_per_kb

    @property
    def seconds(self) -> float:
        return self.chunks / self.embed_rate


def estimate_build(stdlib: Path, rels: list[str], enc: Any, every: int = 25) -> BuildEstimate:
    """Chunks per KB from chunking every ``every``-th text file with the real token counter; the embedding
    rate from embedding 64 of those chunks (after a warm-up)."""
    sizes: list[tuple[str, int]] = []
    for rel in rels:
        data = (stdlib / rel).read_bytes()
        if not is_binary(data):
            sizes.append((rel, len(data)))
    sample_bytes = chunks = 0
    texts: list[str] = []
    for rel, _ in sizes[::every]:
        path = stdlib / rel
        st = path.stat()
        file = SourceFile(rel, str(path), st.st_size, st.st_mtime_ns, detect_language(path.name))
        try:
            _, text, language = read_source(file)
        except (OSError, ValueError):
            continue
        found = chunk_source(rel, language, text, max_tokens=enc.max_tokens, count_tokens=enc.count_tokens)
        sample_bytes += st.st_size
        chunks += len(found)
        texts += [embedding_text(c.path, c.kind, c.qualified_symbol, c.code) for c in found]
    step = max(1, len(texts) // 64)
    probe = texts[::step][:64]
    enc.embed_documents(probe[:8])  # warm-up
    t0 = time.perf_counter()
    enc.embed_documents(probe)
    rate = len(probe) / (time.perf_counter() - t0)
    return BuildEstimate(len(sizes), sum(s for _, s in sizes), chunks / max(1, sample_bytes) * 1000, rate)


def build_tree(stdlib: Path, rels: list[str], dest: Path, head: int | None) -> tuple[int, int]:
    """Copy ``rels`` to ``dest``; with ``head``, text files are cut to their first ``head`` lines.
    Returns (text files, bytes written for text files)."""
    n_text = n_bytes = 0
    for rel in rels:
        data = (stdlib / rel).read_bytes()
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not is_binary(data):
            if head is not None:
                data = head_lines(data, head)
            n_text += 1
            n_bytes += len(data)
        target.write_bytes(data)
    return n_text, n_bytes


# -- section 2: watch ---------------------------------------------------------------------------------------


@dataclass
class Edit:
    path: str
    size: int  # bytes after the edit
    latency: float  # Batch.latency_s: first event -> end of refresh
    from_write: float  # just before the write -> on_batch called
    index_s: float  # IndexStats.seconds of the refresh
    embed_s: float
    count_s: float
    embedded: int
    batch_paths: int  # paths in the matching batch (1 unless events of another edit were coalesced)


@dataclass
class Block:
    debounce: float
    edits: list[Edit] = field(default_factory=list)
    batches: int = 0  # batches seen, warm-up included
    extra: int = 0  # batches seen minus edits made


def edit_text(tag: str, n: int) -> str:
    name = f"codegraph_bench_{tag}_{n:03d}"
    return (
        f"\n\ndef {name}(values, factor={n + 2}):\n"
        f'    """Benchmark edit {tag}/{n}: scale every value by a factor and drop negatives."""\n'
        f"    return [v * factor for v in values if v >= 0]\n"
    )


def append_edit(path: Path, text: str) -> None:
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        newline = fh.read(1) == b"\n"
    with path.open("a", encoding="utf-8") as fh:  # one write() at close: modified + closed events
        fh.write(text if newline else "\n" + text)


def watch_block(
    root: Path, timing: TimingEmbedder, settings: Any, debounce: float, files: list[str], warmup: str, tag: str
) -> Block:
    """Run ``watch_repo`` in a thread and edit ``files`` one at a time (after one unrecorded warm-up edit)."""
    block = Block(debounce)
    seen: list[tuple[float, Any, tuple[float, float, int]]] = []
    cond = threading.Condition()
    ready = threading.Event()
    stop = threading.Event()
    errors: list[BaseException] = []

    def on_batch(batch: Any) -> None:
        done = time.monotonic()
        snap = timing.take()
        with cond:
            seen.append((done, batch, snap))
            cond.notify_all()

    def run() -> None:
        try:
            codegraph.watch.watch_repo(
                root, timing, settings=settings, on_batch=on_batch, on_ready=ready.set, stop=stop, debounce_s=debounce
            )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            ready.set()
            with cond:
                cond.notify_all()

    thread = threading.Thread(target=run, name=f"watch-{tag}", daemon=True)
    thread.start()
    if not ready.wait(60):
        raise RuntimeError("watch_repo did not become ready within 60 s")
    try:
        for n, rel in enumerate([warmup, *files]):
            path = root / rel
            with cond:
                start = len(seen)
            t_write = time.monotonic()
            append_edit(path, edit_text(tag, n))
            with cond:
                ok = cond.wait_for(functools.partial(_arrived, errors, seen, rel, start), 60)
                if errors:
                    raise RuntimeError(f"watch_repo failed: {errors[0]!r}")
                if not ok:
                    raise RuntimeError(f"no batch with {rel} within 60 s of the edit")
                done, batch, (embed_s, count_s, _texts) = next(s for s in seen[start:] if rel in s[1].paths)
            if n == 0:
                continue
            block.edits.append(
                Edit(
                    rel,
                    path.stat().st_size,
                    batch.latency_s,
                    done - t_write,
                    batch.stats.seconds,
                    embed_s,
                    count_s,
                    batch.stats.embedded,
                    len(batch.paths),
                )
            )
    finally:
        stop.set()
        thread.join(10)
    block.batches = len(seen)
    block.extra = len(seen) - len(files) - 1  # more batches than edits: events of one edit split over two
    return block


def pick_edit_files(stdlib: Path, tree: Path, count: int) -> list[str]:
    """``count`` Python files of the tree, evenly spread over the size range [EDIT_MIN_BYTES, EDIT_MAX_BYTES]
    of their real (full) content, all indexable (UTF-8, no minified lines)."""
    candidates: list[tuple[int, str]] = []
    for path in sorted(tree.rglob("*.py")):
        rel = path.relative_to(tree).as_posix()
        original = stdlib / rel
        size = original.stat().st_size
        if not EDIT_MIN_BYTES <= size <= EDIT_MAX_BYTES:
            continue
        file = SourceFile(rel, str(original), size, 0, "python")
        try:
            read_source(file)
        except (OSError, ValueError):
            continue
        candidates.append((size, rel))
    candidates.sort()
    if len(candidates) < count:
        raise SystemExit(f"only {len(candidates)} stdlib files in the size range for {count} edits")
    step = len(candidates) / count
    return [candidates[int(i * step)][1] for i in range(count)]


def _arrived(errors: list[BaseException], seen: list[Any], rel: str, start: int) -> bool:
    """The watcher failed, or a batch containing ``rel`` arrived after index ``start`` of ``seen``."""
    return bool(errors) or any(rel in b.paths for _, b, _ in seen[start:])


# -- section 3: releases ------------------------------------------------------------------------------------


def parse_release(spec: str) -> tuple[str, list[str]]:
    name, _, versions = spec.partition("==")
    out = [v.strip() for v in versions.split(",") if v.strip()]
    if not name or len(out) < 2:
        raise SystemExit(f"--release {spec!r}: expected name==v1,v2[,v3...]")
    return name.strip(), out


def download_wheel(name: str, version: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:"]
    proc = subprocess.run([*cmd, "-d", str(dest), f"{name}=={version}"], capture_output=True, text=True, check=False)
    wheels = [
        p
        for p in dest.glob("*.whl")
        if p.name.split("-")[1] == version and p.name.split("-")[0].lower() == name.lower().replace("-", "_")
    ]
    if proc.returncode != 0 or not wheels:
        raise RuntimeError(f"pip download {name}=={version} failed: {proc.stderr.strip()[-500:]}")
    return wheels[0]


def unpack_wheel(wheel: Path, dest: Path) -> None:
    """Extract the wheel's importable contents (not ``*.dist-info`` / ``*.data``) into ``dest``."""
    with zipfile.ZipFile(wheel) as zf:
        for member in zf.namelist():
            top = member.split("/", 1)[0]
            if top.endswith((".dist-info", ".data")) or member.endswith("/"):
                continue
            target = dest / member
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(member))


def replace_tree(tree: Path, source: Path) -> None:
    """Make ``tree`` hold exactly ``source``'s files (keeping ``tree/.codegraph``)."""
    for entry in tree.iterdir():
        if entry.name == ".codegraph":
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    shutil.copytree(source, tree, dirs_exist_ok=True)


@dataclass(frozen=True)
class ChunkKey:
    path: str
    key: bytes
    window: bool  # one of several windows of a definition too long for the model
    definition: tuple[str, str | None]  # (kind, qualified symbol)
    code: str


def tree_keys(tree: Path, enc: Any, max_file_bytes: int) -> tuple[dict[str, bytes], list[ChunkKey]]:
    """Content of each indexable file and the cache key of every chunk, chunked independently of the index."""
    contents: dict[str, bytes] = {}
    keys: list[ChunkKey] = []
    for file in walk_files(tree, max_file_bytes=max_file_bytes):
        try:
            data, text, language = read_source(file)
        except (OSError, ValueError):
            continue
        contents[file.path] = data
        for c in chunk_source(file.path, language, text, max_tokens=enc.max_tokens, count_tokens=enc.count_tokens):
            key = cache_key(enc.model_id, embedding_text(c.path, c.kind, c.qualified_symbol, c.code))
            window = (c.start_line, c.end_line) != (c.span_start, c.span_end)
            keys.append(ChunkKey(c.path, key, window, (c.kind, c.qualified_symbol), c.code))
    return contents, keys


# -- sections -----------------------------------------------------------------------------------------------


@dataclass
class Ctx:
    args: argparse.Namespace
    bench: Bench
    tmp: Path
    stdlib: Path
    enc: Any
    settings: Any


def build_stdlib_tree(ctx: Ctx) -> Path:
    """Section 1's corpus: copy the stdlib (text files cut when the estimated build is too long), index it
    from an empty index; header lines and the corpus row. Returns the tree."""
    args, report, enc, settings, stdlib = ctx.args, ctx.bench.report, ctx.enc, ctx.settings, ctx.stdlib
    tree = ctx.tmp / "stdlib"
    tree.mkdir()
    ctx.bench.section("1", f"estimating the build time of a copy of {stdlib}")
    rels = stdlib_files(stdlib, args.max_files)
    est = estimate_build(stdlib, rels, enc)
    trim = est.seconds > args.max_build_minutes * 60
    head = args.head_lines if trim else None
    log(
        f"{len(rels)} files ({est.text_files} text, {est.text_bytes / 1e6:.1f} MB): ~{est.chunks:,.0f} chunks at "
        f"{est.embed_rate:.0f} chunks/s = ~{est.seconds / 60:.0f} min"
        + (f" > {args.max_build_minutes:g} min: text files cut to {head} lines" if trim else "")
    )
    n_text, n_bytes = build_tree(stdlib, rels, tree, head)
    report.header.append(
        f"corpus 1+2: copy of {stdlib} without {'/'.join(STDLIB_EXCLUDED_DIRS)}"
        + (f" (first {args.max_files} files only)" if args.max_files else "")
        + f": {len(rels):,} files, {n_text:,} of them text ({sum(r.endswith('.py') for r in rels):,} .py)"
    )
    report.header.append(
        f"  full build estimated at ~{est.chunks:,.0f} chunks, ~{est.seconds / 60:.0f} min "
        f"({est.chunks_per_kb:.2f} chunks/KB from every 25th text file, {est.embed_rate:.0f} chunks/s); "
        + (
            f"over {args.max_build_minutes:g} min, so TEXT FILES ARE CUT TO THEIR FIRST {head} LINES "
            f"({n_bytes / 1e6:.2f} MB of text); binary files are copied whole; section 2 restores the "
            "edited files to their full content"
            if trim
            else "files copied whole"
        )
    )
    log("initial build (index_repo from an empty index)")
    t_build, first = time_index(tree, enc, settings=settings)
    report.add(
        "1",
        "corpus: files / chunks",
        f"{first.files_changed:,} files indexed, {first.chunks:,} chunks",
        notes=f"{first.files_seen:,} files discovered, of which {first.files_seen - first.files_changed} not indexable "
        f"(binary, undecodable, minified); {first.files_skipped - (first.files_seen - first.files_changed)} more over "
        f"{settings.max_file_bytes:,} bytes; initial build {t_build:.0f} s, {first.embedded:,} embedded "
        f"({first.embedded / t_build:.0f}/s)",
    )
    return tree


def no_change_row(ctx: Ctx, tree: Path) -> None:
    """Section 1: ``index_repo`` with nothing changed vs ``walk_files`` alone."""
    enc, settings, repeat = ctx.enc, ctx.settings, max(1, ctx.args.repeat)
    ctx.bench.section("1", f"{repeat} x (index_repo nothing changed, walk_files) alternated")
    time_index(tree, enc, settings=settings)  # warm-up (page cache, SQLite)
    reruns, walks = alternate(
        repeat, lambda: time_index(tree, enc, settings=settings), lambda: time_walk(tree, settings.max_file_bytes)
    )
    t_re = median([t for t, _ in reruns])
    t_walk = median(walks)
    last = reruns[-1][1]
    re_embedded = sorted({s.embedded for _, s in reruns})
    re_changed = sorted({s.files_changed for _, s in reruns})
    ctx.bench.report.add(
        "1",
        "index_repo, nothing changed (s)",
        f"{t_re:.3f}",
        f"{t_walk:.3f} (walk_files only)",
        f"{t_re / t_walk:.1f}x",
        f"< 1 s: {target_mark(t_re < 1.0 and re_embedded == [0])}",
        f"median of {repeat}: " + " ".join(f"{t:.3f}" for t, _ in reruns) + f"; embedded {re_embedded}, "
        f"files changed {re_changed}, unchanged {last.files_unchanged:,}/{last.files_seen:,}, "
        f"{last.files_seen - last.files_unchanged} not indexable files read again on every run",
    )


def process_rows(ctx: Ctx, tree: Path) -> None:
    """Section 1: ``codegraph index`` and ``codegraph index --check`` as processes on the unchanged tree."""
    report, tmp, process_runs = ctx.bench.report, ctx.tmp, max(1, ctx.args.process_runs)
    ctx.bench.section("1", f"{process_runs} x (codegraph index . --json -q, model-load-only child) alternated")
    index_cmd = [str(CODEGRAPH_EXE), "index", ".", "--json", "-q", "-m", MODEL]
    timed_process(index_cmd, tree)  # warm-up
    outputs: list[dict[str, Any]] = []

    def index_process() -> float:
        wall, out = timed_process(index_cmd, tree)
        outputs.append(json.loads(out))
        return wall

    proc_idx, proc_load = alternate(process_runs, index_process, lambda: timed_process(model_load_cmd(), tmp)[0])
    p_idx = median(proc_idx)
    report.add(
        "1",
        "codegraph index . --json -q, nothing changed (s)",
        f"{p_idx:.3f}",
        f"{median(proc_load):.3f} (process: import + load model)",
        f"{p_idx / median(proc_load):.1f}x",
        f"< 1 s: {target_mark(p_idx < 1.0 and all(o['embedded'] == 0 for o in outputs))}",
        f"median of {process_runs}: "
        + " ".join(f"{t:.3f}" for t in proc_idx)
        + f"; embedded {sorted({o['embedded'] for o in outputs})}; index_repo inside "
        + " ".join(f"{o['seconds']:.3f}" for o in outputs)
        + " s",
    )

    ctx.bench.section("1", f"{process_runs} x (codegraph index --check, python -c pass) alternated")
    check_cmd = [str(CODEGRAPH_EXE), "index", "--check"]
    timed_process(check_cmd, tree)  # warm-up; exit 1 (stale) would raise
    proc_chk, proc_bare = alternate(
        process_runs,
        lambda: timed_process(check_cmd, tree)[0],
        lambda: timed_process([sys.executable, "-c", "pass"], tmp)[0],
    )
    p_chk = median(proc_chk)
    report.add(
        "1",
        "codegraph index --check, fresh (s)",
        f"{p_chk:.3f}",
        f"{median(proc_bare):.3f} (python -c pass)",
        f"{p_chk / median(proc_bare):.1f}x",
        f"< 1 s: {target_mark(p_chk < 1.0)}",
        f"median of {process_runs}: " + " ".join(f"{t:.3f}" for t in proc_chk) + "; exit 0 (fresh) every run",
    )


def run_watch(ctx: Ctx, tree: Path) -> None:
    """Section 2 on the tree of section 1: restore the edited files, then four watch blocks (ABBA)."""
    stdlib, enc, settings = ctx.stdlib, ctx.enc, ctx.settings
    edits = max(2, ctx.args.edits)
    ctx.bench.section("2", "watch: restoring the edited files to their full content and indexing them")
    targets = pick_edit_files(stdlib, tree, edits + 1)
    warmup, targets = targets[len(targets) // 2], targets[: len(targets) // 2] + targets[len(targets) // 2 + 1 :]
    for rel in [warmup, *targets]:
        (tree / rel).write_bytes((stdlib / rel).read_bytes())
    t_restore, restored = time_index(tree, enc, settings=settings)
    sizes = [(stdlib / rel).stat().st_size for rel in targets]
    timing = TimingEmbedder(enc)
    default_db = codegraph.watch.DEBOUNCE_S
    settings_order = (default_db, FAST_DEBOUNCE_S, FAST_DEBOUNCE_S, default_db)  # ABBA
    half = edits // 2
    blocks: dict[float, list[Block]] = {default_db: [], FAST_DEBOUNCE_S: []}
    for i, debounce in enumerate(settings_order):
        files = targets[:half] if i in (0, 1) else targets[half:]
        ctx.bench.section("2", f"watch block {i + 1}/4: debounce {debounce * 1000:.0f} ms, {len(files)} edits")
        tag = f"d{debounce * 1000:.0f}b{i}"
        blocks[debounce].append(watch_block(tree, timing, settings, debounce, files, warmup, tag))
    for debounce, label in ((default_db, "default DEBOUNCE_S"), (FAST_DEBOUNCE_S, "debounce_s")):
        watch_rows(ctx.bench, f"{label} {debounce * 1000:.0f} ms", debounce, blocks[debounce], sizes)
    ctx.bench.report.header.append(
        f"  section 2: {len(targets)} files restored to full size and indexed in {t_restore:.0f} s "
        f"({restored.embedded:,} embedded); watch blocks ABBA: debounce {default_db * 1000:.0f}, "
        f"{FAST_DEBOUNCE_S * 1000:.0f}, {FAST_DEBOUNCE_S * 1000:.0f}, {default_db * 1000:.0f} ms, "
        f"each after one unrecorded warm-up edit ({warmup})"
    )


def watch_rows(bench: Bench, name: str, debounce: float, blocks: list[Block], sizes: list[int]) -> None:
    """Section 2's three rows for one debounce setting: latency, minus debounce, minus debounce and embed."""
    done = [e for b in blocks for e in b.edits]
    lat = [e.latency for e in done]
    emb = [e.embed_s for e in done]
    less_db = [e.latency - debounce for e in done]
    overhead = [e.latency - debounce - e.embed_s for e in done]
    embedded = Counter(e.embedded for e in done)
    coalesced = sum(e.batch_paths > 1 for e in done)
    extra = sum(b.extra for b in blocks)
    slow = max(done, key=lambda e: e.latency - e.embed_s)
    bench.report.add(
        "2",
        f"watch, {name}: latency P50 / P95 (ms)",
        p50_p95_ms(lat),
        f"{p50_p95_ms(emb)} (embed changed chunks)",
        f"{median(lat) / median(emb):.1f}x",
        "",
        f"{len(done)} edits to {len({e.path for e in done})} files ({min(sizes) / 1e3:.0f}-"
        f"{max(sizes) / 1e3:.0f} KB, median {statistics.median(sizes) / 1e3:.0f} KB); chunks embedded "
        "per edit " + ", ".join(f"{k}: {v}x" for k, v in sorted(embedded.items())) + f"; from the write "
        f"{p50_p95_ms([e.from_write for e in done])} ms; index_repo {p50_p95_ms([e.index_s for e in done])} ms"
        f", of which count_tokens {p50_p95_ms([e.count_s for e in done])} ms",
    )
    bench.report.add(
        "2",
        "  latency - debounce P50 / P95 (ms)",
        p50_p95_ms(less_db),
        f"{p50_p95_ms(emb)} (embed changed chunks)",
        f"{median(less_db) / median(emb):.1f}x",
    )
    bench.report.add(
        "2",
        "  latency - debounce - embed P50 / P95 (ms)",
        p50_p95_ms(overhead),
        "",
        "",
        f"P95 < 100 ms: {target_mark(percentile(overhead, 95) < 0.1)}",
        f"max {ms(max(overhead))} ms; slowest (latency - embed): {slow.path} ({slow.size / 1e3:.0f} KB, "
        f"index_repo {ms(slow.index_s)} ms, count_tokens {ms(slow.count_s)} ms); {extra} extra batches, "
        f"{coalesced} batches with other paths",
    )


def run_releases(ctx: Ctx) -> None:
    """Section 3: each series of releases downloaded, unpacked and indexed in turn in one tree."""
    downloads = ctx.args.download_dir or ctx.tmp / "wheels"
    for name, versions in [parse_release(s) for s in (ctx.args.release or DEFAULT_RELEASES)]:
        ctx.bench.section("3", f"cache across releases: {name} {', '.join(versions)}")
        unpacked: list[Path] = []
        for v in versions:
            wheel = download_wheel(name, v, downloads)
            dest = ctx.tmp / f"src-{name}-{v}"
            unpack_wheel(wheel, dest)
            unpacked.append(dest)
        ctx.bench.report.header.append(
            f"corpus 3: {name} " + ", ".join(versions) + " wheels (pip download), importable package at the "
            "tree root, indexed in turn in one tree"
        )
        release_series(ctx, name, versions, unpacked)


def release_series(ctx: Ctx, name: str, versions: list[str], unpacked: list[Path]) -> None:
    """Section 3's rows for one series: per step the chunks not embedded and the cache_hit_ratio in the changed
    files against its ceiling (every version chunked independently of the index), then the series' total."""
    report, enc, settings = ctx.bench.report, ctx.enc, ctx.settings
    work = ctx.tmp / f"rel-{name}"
    work.mkdir()
    prev_contents: dict[str, bytes] = {}
    prev_defs: set[tuple[str, tuple[str, str | None]]] = set()
    seen_keys: set[bytes] = set()
    hits_total = looked_total = shifted_total = embedded_total = chunks_total = fresh_total = 0
    for step, (v, src) in enumerate(zip(versions, unpacked, strict=True)):
        replace_tree(work, src)
        contents, keys = tree_keys(work, enc, settings.max_file_bytes)
        changed = [p for p in contents if p in prev_contents and contents[p] != prev_contents[p]]
        added = [p for p in contents if p not in prev_contents]
        removed = [p for p in prev_contents if p not in contents]
        changed_set = set(changed) | set(added)
        new = {k.key: k for k in keys if k.key not in seen_keys}
        # chunks of the changed files whose text no earlier version had: no cache can serve them
        fresh = sum(1 for k in keys if k.path in changed_set and k.key not in seen_keys)
        # windows of a definition the file had before, whose code is verbatim in the previous version of
        # the file: only the window boundaries moved (lines inserted or removed earlier in the definition)
        shifted = sum(
            k.window
            and (k.path, k.definition) in prev_defs
            and k.code in prev_contents[k.path].decode("utf-8", "replace")
            for k in new.values()
        )
        wall, st = time_index(work, enc, settings=settings)
        seen_keys.update(k.key for k in keys)
        looked = st.cache_hits + st.embedded  # chunks of the changed files
        reused = 1 - st.embedded / max(1, st.chunks)
        if step == 0:
            what = f"{name} {v}, empty index"
        else:
            what = f"{name} {versions[step - 1]} -> {v}"
            hits_total += st.cache_hits
            looked_total += looked
            shifted_total += shifted
            embedded_total += st.embedded
            chunks_total += st.chunks
            fresh_total += fresh
        report.add(
            "3",
            f"{what}: chunks not embedded",
            f"{reused * 100:.1f} % ({st.embedded:,} of {st.chunks:,} embedded)",
            f"{len(new):,} new texts (chunked independently)",
            f"{st.embedded / len(new):.2f}" if new else "",
            f"> 85 %: {target_mark(reused > 0.85)}" if step else "",
            f"files changed {st.files_changed} (diff: {len(changed)} changed + {len(added)} added), removed "
            f"{st.files_removed} (diff {len(removed)}), unchanged {st.files_unchanged}; {wall:.1f} s",
        )
        if step:
            report.add(
                "3",
                "  cache_hit_ratio in the changed files",
                f"{st.cache_hit_ratio * 100:.1f} %",
                f"{100 * (1 - fresh / max(1, looked)):.1f} % (ceiling: texts seen before)",
                f"{st.cache_hit_ratio / max(1e-9, 1 - fresh / max(1, looked)):.2f}" if looked > fresh else "",
                "",
                f"cache hits {st.cache_hits:,} of {looked:,} chunks in changed files; {fresh:,} of them have a "
                f"text no earlier version had; {shifted} new texts are shifted windows (same definition, code "
                f"unchanged; as hits: {100 * (st.cache_hits + shifted) / max(1, looked):.1f} %)",
            )
        if st.files_changed != len(changed_set) or st.files_removed != len(removed):
            report.footer.append(
                f"WARNING: {name} {v}: index_repo saw {st.files_changed} changed / {st.files_removed} "
                f"removed files, the diff {len(changed_set)} / {len(removed)}"
            )
        prev_contents = contents
        prev_defs = {(k.path, k.definition) for k in keys}
    if chunks_total:
        report.add(
            "3",
            f"{name}, all updates: chunks not embedded",
            f"{100 * (1 - embedded_total / chunks_total):.1f} %",
            "",
            "",
            f"> 85 %: {target_mark(1 - embedded_total / chunks_total > 0.85)}",
            f"{embedded_total:,} embedded of {chunks_total:,} chunks; in the changed files cache_hit_ratio "
            f"{100 * hits_total / max(1, looked_total):.1f} % (ceiling "
            f"{100 * (1 - fresh_total / max(1, looked_total)):.1f} %), shifted windows as hits "
            f"{100 * (hits_total + shifted_total) / max(1, looked_total):.1f} %",
        )


# -- main ---------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of the in-process no-change re-index (median)")
    parser.add_argument("--process-runs", type=int, default=3, help="runs of each codegraph subprocess (median)")
    parser.add_argument("--edits", type=int, default=60, help="edits per debounce setting in section 2")
    parser.add_argument("--head-lines", type=int, default=40, help="lines kept per text file when trimming")
    parser.add_argument(
        "--max-build-minutes", type=float, default=15.0, help="trim the stdlib copy if its build would take longer"
    )
    parser.add_argument("--max-files", type=int, help="use only the first N stdlib files (quick development runs)")
    parser.add_argument(
        "--release",
        action="append",
        help="name==v1,v2,v3 for section 3 (repeatable; default: " + " and ".join(DEFAULT_RELEASES) + ")",
    )
    parser.add_argument("--download-dir", type=Path, help="where wheels are downloaded (default: the temp dir)")
    parser.add_argument("--sections", default="123", help="sections to run (2 needs 1), e.g. 3 or 12")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (path on stderr)")
    args = parser.parse_args(argv)
    if not set(args.sections) <= set("123") or ("2" in args.sections and "1" not in args.sections):
        parser.error("--sections: digits 1-3; section 2 needs section 1")
    for spec in args.release or ():
        parse_release(spec)  # fail early on a bad --release
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench = Bench("bench_fresh", lettered=True)
    with temp_dir("codegraph-fresh-", keep=args.keep) as tmp:
        settings = resolve_settings(tmp)
        model = codegraph.resolve_model(MODEL)
        enc = codegraph.OnnxEncoder(model, threads=settings.threads, batch_size=settings.batch_size)
        bench.header([enc], ("onnxruntime", "tokenizers", "watchdog", "numpy"))
        ctx = Ctx(args, bench, tmp, Path(sysconfig.get_paths()["stdlib"]), enc, settings)
        if "1" in args.sections:
            tree = build_stdlib_tree(ctx)
            no_change_row(ctx, tree)
            process_rows(ctx, tree)
            if "2" in args.sections:
                run_watch(ctx, tree)
        if "3" in args.sections:
            run_releases(ctx)
    bench.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
