#!/usr/bin/env python
"""Indexing and search benchmark for codegraph (not a test: it measures and prints, it does not assert).

Usage::

    python benchmarks/bench_index.py [--corpus DIR] [--repeat N] [--process-runs N] [--keep]

Measures, on a temporary copy of a corpus (default: a fixed list of standard-library packages of the running
Python, without their ``test``/``tests`` directories):

1. the corpus: files, bytes, chunks, distinct embedded texts;
2. discovery + read + ``chunk_source`` with the model's real token counter;
3. ``codegraph.index_repo`` from an empty index (end to end) vs the same texts run through a plain
   ``onnxruntime.InferenceSession`` (only ``session.run`` timed), alternated, same batch size and threads;
4. ``index_repo`` again with nothing changed, vs discovery alone;
5. in-process ``Searcher.search`` latency per mode (30 queries), vs ``embed_queries`` alone;
6. ``codegraph search ... --json -k 10`` as a subprocess, vs ``python -c pass``;
7. peak RSS of ``codegraph index`` in a child process, vs a child that only loads the model.

Timed sections are repeated (``--repeat``, default 3) and reported as medians; baseline and pipeline runs
alternate so that noise from other processes on a shared machine hits both. The 1/5/15-minute load averages
are printed at start and end. See ``benchmarks/README.md`` for what each row means.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import codegraph
import codegraph.embed
import codegraph.search
import codegraph.store
from codegraph.chunk import chunk_source, embedding_text
from codegraph.config import resolve_settings
from codegraph.discover import read_source, walk_files
from codegraph.index import cache_key

# codegraph imports its modules lazily; the ones above are imported now so that one version of the library is
# used throughout even if its files change while the benchmark runs (see code_version()).

DEFAULT_PACKAGES = (
    "asyncio",
    "concurrent",
    "email",
    "http",
    "importlib",
    "json",
    "logging",
    "unittest",
)
"""Standard-library packages copied into the default corpus (~4,800 chunks with minilm on CPython 3.11)."""

EXCLUDED_DIRS = ("test", "tests", "__pycache__")
"""Directory names left out of the default corpus."""

MODEL = "minilm"

QUERIES = (
    "parse an email header",
    "retry a failed connection",
    "decode a JSON string into Python objects",
    "serialize an object to JSON with indentation",
    "send an HTTP request and read the response",
    "parse cookies from a Set-Cookie header",
    "rotate log files when they get too big",
    "format a log record with a timestamp",
    "run a function in a pool of worker threads",
    "cancel a pending future",
    "wait for the first of several tasks to finish",
    "start a subprocess and read its output asynchronously",
    "open a TCP connection and get reader and writer streams",
    "limit concurrent access with a semaphore",
    "schedule a callback after a delay",
    "load a module from a file path",
    "find the module spec on sys.path",
    "read a data file shipped inside a package",
    "assert two values are equal and show a diff",
    "skip a test when a condition holds",
    "replace an attribute with a mock during a test",
    "discover test modules in a directory",
    "encode non-ASCII text in a MIME header",
    "build a multipart message with an attachment",
    "split an email address into name and address",
    "follow HTTP redirects",
    "serve files over HTTP from the current directory",
    "configure logging from a dictionary",
    "close the event loop and its transports",
    "detect a circular reference while encoding",
)
"""Natural-language queries for the search latency rows (written for the default corpus)."""

MODES = ("hybrid", "semantic", "keyword")


# -- small helpers -------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolation percentile (numpy's default method)."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), pct))


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def loadavg() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "n/a"
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def log(message: str) -> None:
    """Progress on stderr (the table goes to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


SECTION_LOADS: list[str] = []
"""``"<section> <1-min load>"`` at the start of each section, printed under the table."""


def section(number: str, message: str) -> None:
    """Start of a measured section: log it and note the load average."""
    SECTION_LOADS.append(f"{number}: {loadavg().split()[0]}")
    log(f"{number}. {message}")


def code_fingerprint() -> str:
    """sha256 prefix of codegraph's source files (``.py``, ``.scm``): detects edits made during the run."""
    package = Path(codegraph.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".scm") and "__pycache__" not in path.parts and path.is_file():
            digest.update(str(path.relative_to(package)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def code_version() -> str:
    """``git commit (+dirty) / source fingerprint`` of the codegraph package."""
    package = Path(codegraph.__file__).resolve().parent
    commit = "no git"
    try:
        head = subprocess.run(
            ["git", "-C", str(package), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(package), "status", "--porcelain", "--", "."], capture_output=True, text=True, check=True
        ).stdout.strip()
        commit = head + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        pass
    return f"git {commit}, source fingerprint {code_fingerprint()}"


def fmt_rate(x: float) -> str:
    return f"{x:,.1f}"


@dataclass
class Row:
    section: str
    what: str
    value: str
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    notes: str = ""


@dataclass
class Report:
    header: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    footer: list[str] = field(default_factory=list)

    def add(self, *args: Any, **kwargs: Any) -> None:
        self.rows.append(Row(*args, **kwargs))

    def render(self) -> str:
        cols = ("#", "measurement", "value", "baseline (same run)", "ratio", "target", "notes")
        table = [cols]
        table += [(r.section, r.what, r.value, r.baseline, r.ratio, r.target, r.notes) for r in self.rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(cols))]

        def line(cells: Sequence[str]) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

        out = list(self.header) + [""]
        out.append(line(cols))
        out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        out += [line(r) for r in table[1:]]
        out += [""] + list(self.footer)
        return "\n".join(out)


def target_mark(ok: bool) -> str:
    return "met" if ok else "MISSED"


# -- corpus --------------------------------------------------------------------------------------------------


def copy_corpus(source: Path | None, dest: Path) -> str:
    """Fill ``dest`` with the corpus; returns a one-line description."""
    if source is None:
        stdlib = Path(sysconfig.get_paths()["stdlib"])
        dest.mkdir(parents=True)
        for pkg in DEFAULT_PACKAGES:
            shutil.copytree(stdlib / pkg, dest / pkg, ignore=shutil.ignore_patterns(*EXCLUDED_DIRS))
        return f"stdlib of Python {platform.python_version()} ({stdlib}): {', '.join(DEFAULT_PACKAGES)}"
    source = source.resolve()
    if not source.is_dir():
        raise SystemExit(f"--corpus {source}: not a directory")
    # Not copied: .codegraph (an existing index), __pycache__ (bytecode), .git (can be large and is never
    # indexed) except .git/info/exclude, which discovery honours.
    shutil.copytree(source, dest, symlinks=True, ignore=shutil.ignore_patterns(".codegraph", ".git", "__pycache__"))
    exclude = source / ".git" / "info" / "exclude"
    if exclude.is_file():
        (dest / ".git" / "info").mkdir(parents=True)
        shutil.copy2(exclude, dest / ".git" / "info" / "exclude")
    return f"copy of {source}"


def fresh_copy(corpus: Path, dest: Path) -> None:
    shutil.copytree(corpus, dest, symlinks=True, ignore=shutil.ignore_patterns(".codegraph"))


def drop_index(root: Path) -> None:
    shutil.rmtree(root / ".codegraph", ignore_errors=True)


# -- 2. discovery + chunking ---------------------------------------------------------------------------------


@dataclass
class ChunkRun:
    files: int  # discovered
    skipped: int  # discovered but not indexable (binary, undecodable, minified, ...)
    bytes: int
    chunks: int
    texts: list[str]  # distinct embedding texts, in the pipeline's order (deduplicated by cache key)
    t_discover: float
    t_read: float
    t_chunk: float
    t_count: float  # part of t_chunk spent in the token counter

    @property
    def total(self) -> float:
        return self.t_discover + self.t_read + self.t_chunk


def chunk_corpus(root: Path, enc: Any, max_file_bytes: int) -> ChunkRun:
    t0 = time.perf_counter()
    files = list(walk_files(root, max_file_bytes=max_file_bytes))
    t1 = time.perf_counter()
    t_read = t_chunk = 0.0
    t_count = [0.0]

    def count_tokens(texts: Sequence[str]) -> list[int]:
        a = time.perf_counter()
        counts: list[int] = enc.count_tokens(texts)
        t_count[0] += time.perf_counter() - a
        return counts

    nbytes = nchunks = skipped = 0
    texts: dict[bytes, str] = {}
    for f in files:
        a = time.perf_counter()
        try:
            data, text, language = read_source(f)
        except (OSError, ValueError):
            t_read += time.perf_counter() - a
            skipped += 1
            continue
        b = time.perf_counter()
        chunks = chunk_source(f.path, language, text, max_tokens=enc.max_tokens, count_tokens=count_tokens)
        c = time.perf_counter()
        t_read += b - a
        t_chunk += c - b
        nbytes += len(data)
        nchunks += len(chunks)
        for ch in chunks:  # outside the timed region: this is the pipeline's dedup, for the baseline texts
            body = embedding_text(ch.path, ch.kind, ch.qualified_symbol, ch.code)
            texts.setdefault(cache_key(enc.model_id, body), body)
    prefix = enc.profile.document_prefix
    distinct = [prefix + t for t in texts.values()]
    return ChunkRun(len(files), skipped, nbytes, nchunks, distinct, t1 - t0, t_read, t_chunk, t_count[0])


# -- 3. raw onnxruntime baseline -----------------------------------------------------------------------------


def raw_session(model_path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])


@dataclass
class RawRun:
    t_tokenize: float  # encode_batch + sort + pad
    t_run: float  # sum of session.run
    t_pool: float  # mean pooling + L2 norm
    tokens: int
    padded: int


def run_raw(session: Any, tokenizer: Any, texts: list[str], max_tokens: int, batch_size: int) -> RawRun:
    input_names = {i.name for i in session.get_inputs()}
    output = session.get_outputs()[0].name
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_tokens)
    t0 = time.perf_counter()
    encodings = tokenizer.encode_batch(texts)
    lengths = np.array([len(e.ids) for e in encodings], dtype=np.int64)
    order = np.argsort(lengths, kind="stable")
    feeds: list[dict[str, Any]] = []
    padded = 0
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        width = int(lengths[idx].max())
        ids = np.zeros((len(idx), width), dtype=np.int64)
        mask = np.zeros((len(idx), width), dtype=np.int64)
        for row, i in enumerate(idx):
            ids[row, : lengths[i]] = encodings[i].ids
            mask[row, : lengths[i]] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in input_names:
            feed["token_type_ids"] = np.zeros_like(ids)
        feeds.append(feed)
        padded += ids.size
    t_tok = time.perf_counter() - t0
    t_run = t_pool = 0.0
    for feed in feeds:
        a = time.perf_counter()
        hidden = session.run([output], feed)[0]
        b = time.perf_counter()
        w = feed["attention_mask"][:, :, None].astype(np.float32)
        pooled = (hidden * w).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        t_run += b - a
        t_pool += time.perf_counter() - b
    return RawRun(t_tok, t_run, t_pool, int(lengths.sum()), padded)


# -- 3. pipeline --------------------------------------------------------------------------------------------


@dataclass
class PipeRun:
    wall: float
    stats: Any
    stages: dict[str, float]


def run_pipeline(root: Path, enc: Any) -> PipeRun:
    """``index_repo`` from an empty index; stage times from the progress callback's first/last calls."""
    drop_index(root)
    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        marks.setdefault(stage + "0", now)
        marks[stage + "1"] = now

    t0 = time.perf_counter()
    stats = codegraph.index_repo(root, enc, progress=progress)
    t1 = time.perf_counter()
    stages = {}
    if {"chunk1", "embed0", "embed1"} <= marks.keys():
        stages = {
            "discover+chunk": marks["chunk1"] - t0,
            "dedup+lookup": marks["embed0"] - marks["chunk1"],
            "embed": marks["embed1"] - marks["embed0"],
            "store": marks.get("store1", marks["embed1"]) - marks["embed1"],
            "finish": t1 - marks.get("store1", marks["embed1"]),
        }
    return PipeRun(t1 - t0, stats, stages)


# -- 6/7. subprocesses --------------------------------------------------------------------------------------


def timed_process(cmd: list[str], cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd!r} exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return wall, proc.stdout


_RSS_LAUNCHER = (
    "import json, os, sys\n"
    "pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "with open(sys.argv[1], 'w') as fh:\n"
    "    json.dump({'rc': os.waitstatus_to_exitcode(status), 'maxrss': usage.ru_maxrss}, fh)\n"
)
"""Runs a command and records its exit code and ``ru_maxrss``. The command is started from this small
launcher and not from the benchmark process itself because on Linux a child's ``ru_maxrss`` starts at the RSS
of the process that forked it (the high-water mark of the pre-``exec`` address space is kept), which for the
benchmark is several hundred MB after the model has run."""


def child_peak_rss(cmd: list[str], cwd: Path) -> tuple[float, float, str]:
    """Run ``cmd``; returns (wall seconds, peak RSS in MiB of that child alone, stdout)."""
    with tempfile.TemporaryDirectory() as scratch:
        result = Path(scratch) / "rusage.json"
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", _RSS_LAUNCHER, str(result), *cmd],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - t0
        info = json.loads(result.read_text()) if result.is_file() else {"rc": proc.returncode, "maxrss": 0}
    if proc.returncode != 0 or info["rc"] != 0:
        raise RuntimeError(f"{cmd!r} exited {info['rc']}: {proc.stderr.strip()[-500:]}")
    kib = info["maxrss"] if sys.platform != "darwin" else info["maxrss"] / 1024  # macOS reports bytes
    return wall, kib / 1024, proc.stdout


# -- main ---------------------------------------------------------------------------------------------------


def finish(report: Report, fingerprint_start: str, started: float, *, steps: str, loads: list[str]) -> None:
    """Footer (source-change warning, load averages, total time) and print the table."""
    fingerprint_end = code_fingerprint()
    if fingerprint_end != fingerprint_start:
        report.footer.append(
            f"WARNING: codegraph's source changed during the run ({fingerprint_start} -> {fingerprint_end}); "
            "subprocess rows may have run other code than in-process rows. Re-run on a quiet tree."
        )
    report.footer += [
        f"1-min load average at the start of each {steps}: {', '.join(loads)}",
        f"load average (1/5/15 min) at end: {loadavg()}",
        f"total benchmark time: {time.perf_counter() - started:.0f} s",
    ]
    print(report.render())


def alternate(repeat: int, first: Callable[[], Any], second: Callable[[], Any]) -> tuple[list[Any], list[Any]]:
    """Run ``first``/``second`` ``repeat`` times each, swapping their order every round (ABBA...)."""
    a: list[Any] = []
    b: list[Any] = []
    for i in range(repeat):
        if i % 2 == 0:
            a.append(first())
            b.append(second())
        else:
            b.append(second())
            a.append(first())
    return a, b


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, help="directory to index (copied to a temp dir first)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each timed section (median)")
    parser.add_argument("--process-runs", type=int, default=10, help="runs of the search subprocess")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (path on stderr)")
    args = parser.parse_args(argv)
    repeat = max(1, args.repeat)

    report = Report()
    load_start = loadavg()
    version_start = code_version()
    fingerprint_start = code_fingerprint()
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="codegraph-bench-"))
    try:
        corpus = tmp / "corpus"
        log(f"copying corpus to {corpus}")
        description = copy_corpus(args.corpus, corpus)
        settings = resolve_settings(corpus)
        model = codegraph.resolve_model(MODEL)
        enc = codegraph.OnnxEncoder(model, threads=settings.threads, batch_size=settings.batch_size)

        from importlib.metadata import version

        import onnxruntime as ort

        from codegraph.store.sqlite import sqlite_module

        report.header += [
            f"codegraph {codegraph.__version__} bench_index  {dt.datetime.now().isoformat(timespec='seconds')}",
            f"python {platform.python_version()}  onnxruntime {ort.__version__}  "
            f"tokenizers {version('tokenizers')}  numpy {np.__version__}  "
            f"sqlite module {sqlite_module().__name__}"
            f" (SQLite {sqlite_module().sqlite_version})",
            f"machine: {platform.machine()}, {os.cpu_count()} cores; encoder threads {enc.threads}, "
            f"batch size {enc.batch_size}; model {enc.model_id} (max_tokens {enc.max_tokens})",
            f"codegraph code: {version_start}",
            f"corpus: {description}",
            f"repeat {repeat} (medians), search subprocess runs {args.process_runs}",
            f"load average (1/5/15 min) at start: {load_start}",
        ]

        # 1 + 2. corpus and chunking -------------------------------------------------------------------------
        section("2", "chunking")
        runs = [chunk_corpus(corpus, enc, settings.max_file_bytes) for _ in range(repeat)]
        cr = runs[-1]
        t_chunk = median([r.total for r in runs])
        report.add(
            "1",
            "corpus",
            f"{cr.files - cr.skipped:,} files, {cr.bytes / 1e6:.2f} MB, {cr.chunks:,} chunks",
            notes=f"{len(cr.texts):,} distinct embedding texts"
            + (f"; {cr.skipped} more files discovered but skipped (binary...)" if cr.skipped else ""),
        )
        report.add(
            "2",
            "discover+read+chunk (s)",
            f"{t_chunk:.2f}",
            notes=f"{cr.chunks / t_chunk:,.0f} chunks/s, "
            f"{(cr.files - cr.skipped) / t_chunk:,.0f} files/s; discover "
            f"{median([r.t_discover for r in runs]):.3f} s, read {median([r.t_read for r in runs]):.3f} s, "
            f"chunk_source {median([r.t_chunk for r in runs]):.2f} s "
            f"(of which count_tokens {median([r.t_count for r in runs]):.2f} s)",
        )

        # 3. pipeline vs raw onnxruntime -------------------------------------------------------------------
        session = raw_session(model.path / "model.onnx", enc.threads)
        section("3", f"warm-up; then {repeat} x (index_repo, raw onnxruntime) alternated on {len(cr.texts)} texts")
        enc.embed_documents(cr.texts[:16])
        run_raw(session, enc.tokenizer, cr.texts[:16], enc.max_tokens, enc.batch_size)
        pipes, raws = alternate(
            repeat,
            lambda: run_pipeline(corpus, enc),
            lambda: run_raw(session, enc.tokenizer, cr.texts, enc.max_tokens, enc.batch_size),
        )
        n = len(cr.texts)
        embedded = [p.stats.embedded for p in pipes]
        if any(e != n for e in embedded):
            report.footer.append(f"WARNING: index_repo embedded {embedded} texts, the baseline {n}")
        pipe_wall = median([p.wall for p in pipes])
        raw_run = median([r.t_run for r in raws])
        raw_all = median([r.t_tokenize + r.t_run + r.t_pool for r in raws])
        pipe_rate = n / pipe_wall
        raw_rate = n / raw_run
        stages = {k: median([p.stages.get(k, float("nan")) for p in pipes]) for k in pipes[-1].stages}
        r0 = raws[-1]
        report.add(
            "3",
            "index_repo, empty index (chunks embedded/s)",
            fmt_rate(pipe_rate),
            f"{fmt_rate(raw_rate)} (session.run only)",
            f"{pipe_rate / raw_rate:.2f}",
            f">= 0.9: {target_mark(pipe_rate / raw_rate >= 0.9)}",
            f"{n:,} texts; wall {pipe_wall:.1f} s vs session.run {raw_run:.1f} s; stages: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items())
            + "; each run (s): index_repo "
            + " ".join(f"{p.wall:.1f}" for p in pipes)
            + ", session.run "
            + " ".join(f"{r.t_run:.1f}" for r in raws),
        )
        report.add(
            "3b",
            "  same, baseline incl. tokenize+pad+pool",
            fmt_rate(pipe_rate),
            f"{fmt_rate(n / raw_all)}",
            f"{pipe_rate / (n / raw_all):.2f}",
            "",
            f"baseline tokenize+pad {median([r.t_tokenize for r in raws]):.2f} s, pool "
            f"{median([r.t_pool for r in raws]):.2f} s; {r0.tokens:,} tokens, {r0.padded:,} padded "
            f"({100 * (1 - r0.tokens / max(1, r0.padded)):.1f} % padding)",
        )

        # 4. no-change re-index ----------------------------------------------------------------------------
        section("4", "no-change re-index")

        def reindex() -> tuple[float, Any]:
            t0 = time.perf_counter()
            stats = codegraph.index_repo(corpus, enc)
            return time.perf_counter() - t0, stats

        def discover_only() -> float:
            t0 = time.perf_counter()
            list(walk_files(corpus, max_file_bytes=settings.max_file_bytes))
            return time.perf_counter() - t0

        reruns, walks = alternate(repeat, reindex, discover_only)
        re_embedded = sorted({s.embedded for _, s in reruns})
        t_re = median([t for t, _ in reruns])
        t_walk = median(walks)
        report.add(
            "4",
            "index_repo, nothing changed (s)",
            f"{t_re:.3f}",
            f"{t_walk:.3f} (walk_files only)",
            f"{t_re / t_walk:.1f}x",
            f"embeds 0: {target_mark(re_embedded == [0])}",
            f"embedded {re_embedded}, files unchanged {reruns[-1][1].files_unchanged:,}/{reruns[-1][1].files_seen:,}",
        )

        # 5. search in-process ----------------------------------------------------------------------------
        section("5", f"in-process search: {len(QUERIES)} queries x {len(MODES)} modes x {repeat}")
        searcher = codegraph.Searcher.open(corpus, enc)
        try:
            for mode in MODES:  # warm-up: SQLite page cache, FTS5 and vec0 tables
                for q in QUERIES[:3]:
                    searcher.search(q, k=10, mode=mode)
            lat: dict[str, list[float]] = {m: [] for m in (*MODES, "embed")}
            empty: dict[str, int] = dict.fromkeys(MODES, 0)
            for i in range(repeat):
                order = list(MODES) + ["embed"]
                if i % 2:
                    order.reverse()
                for mode in order:
                    for q in QUERIES:
                        t0 = time.perf_counter()
                        if mode == "embed":
                            enc.embed_queries([q])
                        else:
                            hits = searcher.search(q, k=10, mode=mode)
                            empty[mode] += len(hits) < 10
                        lat[mode].append((time.perf_counter() - t0) * 1000)
        finally:
            searcher.close()
        emb_med = median(lat["embed"])
        for mode in MODES:
            vals = lat[mode]
            base = ""
            ratio = ""
            if mode != "keyword":
                base = f"{emb_med:.1f} / {percentile(lat['embed'], 95):.1f} (embed_queries only)"
                ratio = f"{median(vals) / emb_med:.1f}x"
            report.add(
                "5",
                f"search in-process, {mode} (median / p95 ms)",
                f"{median(vals):.1f} / {percentile(vals, 95):.1f}",
                base,
                ratio,
                "",
                f"{len(vals)} searches, k=10" + (f"; {empty[mode]} returned < 10 hits" if empty[mode] else ""),
            )

        # 6. search as a process -------------------------------------------------------------------------
        exe = Path(sys.executable).parent / "codegraph"
        runs_n = max(1, args.process_runs)
        section("6", f"search subprocess: {runs_n} x (codegraph search, python -c pass) alternated")
        timed_process([str(exe), "search", QUERIES[0], "--json", "-k", "10"], corpus)  # warm the file cache
        timed_process([sys.executable, "-c", "pass"], corpus)
        queries = iter(QUERIES * (runs_n // len(QUERIES) + 1))
        proc_runs: list[float] = []
        bad: list[str] = []

        def search_process() -> float:
            q = next(queries)
            wall, out = timed_process([str(exe), "search", q, "--json", "-k", "10"], corpus)
            if len(json.loads(out)["results"]) != 10:
                bad.append(q)
            return wall

        def bare_python() -> float:
            return timed_process([sys.executable, "-c", "pass"], corpus)[0]

        proc_runs, bare = alternate(runs_n, search_process, bare_python)
        p_med = median(proc_runs)
        b_med = median(bare)
        report.add(
            "6",
            "codegraph search --json -k 10 (median / p95 s)",
            f"{p_med:.3f} / {percentile(proc_runs, 95):.3f}",
            f"{b_med:.3f} / {percentile(bare, 95):.3f} (python -c pass)",
            f"{p_med / b_med:.1f}x",
            f"<= 0.5 s: {target_mark(p_med <= 0.5)}",
            f"{runs_n} runs, hybrid mode" + (f"; {len(bad)} returned < 10 hits" if bad else ""),
        )

        # 7. peak RSS ---------------------------------------------------------------------------------
        section("7", "peak RSS: codegraph index in a child process on a fresh copy")
        fresh = tmp / "rss"
        fresh_copy(corpus, fresh)
        load_only = (
            "import codegraph; e = codegraph.OnnxEncoder(codegraph.resolve_model('minilm')); "
            "e.embed_documents(['def f(x):\\n    return x'])"
        )
        _, base_rss, _ = child_peak_rss([sys.executable, "-c", load_only], fresh)
        wall, rss, out = child_peak_rss([str(exe), "index", str(fresh), "-q", "--json", "-m", MODEL], fresh)
        st = json.loads(out)
        if st["chunks"] != cr.chunks:
            report.footer.append(
                f"WARNING: the codegraph index child made {st['chunks']:,} chunks, the in-process run "
                f"{cr.chunks:,}: the library on disk differs from the one imported at start"
            )
        report.add(
            "7",
            "codegraph index peak RSS (MiB)",
            f"{rss:.0f}",
            f"{base_rss:.0f} (model load + 1 embed)",
            f"{rss / base_rss:.1f}x",
            "",
            f"child wall {wall:.1f} s, {st['embedded']:,} embedded, {st['chunks']:,} chunks "
            f"({st['embedded'] / wall:,.1f} chunks/s incl. start-up)",
        )
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    finish(report, fingerprint_start, started, steps="section", loads=SECTION_LOADS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
