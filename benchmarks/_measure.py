"""Measurements shared by several benchmark scripts (not a benchmark itself; see ``_harness.py``).

* :func:`child_peak_rss`: wall time and peak RSS of one child process, started through a launcher;
* :class:`TimingEmbedder`: wraps an encoder and times the model (and the token counting) inside a pipeline;
* :func:`chunk_corpus`: discover + read + chunk a tree with the model's token counter, timing each part, and the
  distinct texts the pipeline would embed;
* :func:`raw_session` / :func:`run_raw`: the raw onnxruntime baseline (tokenize, sort, pad per batch,
  ``session.run``, mean-pool);
* :func:`run_pipeline` / :func:`pipeline_vs_raw`: ``index_repo`` from an empty index with its stage times, and the
  two report rows comparing it with the raw baseline;
* :func:`index_peak_rss`: peak RSS of ``codegraph index`` in a child vs a child that only loads the model.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _harness import CODEGRAPH_EXE, Bench, Report, alternate, fmt_rate, median, target_mark

import codegraph
from codegraph.chunk import chunk_source, embedding_text
from codegraph.discover import read_source, walk_files
from codegraph.index import cache_key

# -- child processes -----------------------------------------------------------------------------------------

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
    """Run ``cmd``; returns (wall seconds, peak RSS in MiB of that child alone, stdout).

    Raises ``RuntimeError`` if it exits non-zero.
    """
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


# -- timing the model inside a pipeline ----------------------------------------------------------------------


class TimingEmbedder:
    """Wraps an encoder (the ``Embedder`` protocol of ``codegraph.index``) and times its calls.

    ``embed_s`` is the time spent inside ``iter_embed_documents`` (tokenize + ONNX + pooling of the changed
    chunks), excluding the caller's work between batches; ``count_s`` the chunker's token counting
    (``count_tokens`` and ``count_line_tokens``).
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.embed_s = 0.0
        self.count_s = 0.0
        self.texts = 0

    @property
    def model_id(self) -> str:
        return str(self.inner.model_id)

    @property
    def profile(self) -> Any:
        return self.inner.profile

    @property
    def model_sha256(self) -> str:
        return str(self.inner.model_sha256)

    @property
    def dim(self) -> int:
        return int(self.inner.dim)

    @property
    def max_tokens(self) -> int:
        return int(self.inner.max_tokens)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        t0 = time.perf_counter()
        try:
            return list(self.inner.count_tokens(texts))
        finally:
            self.count_s += time.perf_counter() - t0

    def count_line_tokens(self, text: str) -> list[int]:
        t0 = time.perf_counter()
        try:
            return list(self.inner.count_line_tokens(text))
        finally:
            self.count_s += time.perf_counter() - t0

    def iter_embed_documents(self, texts: Sequence[str]) -> Iterator[tuple[Any, Any]]:
        self.texts += len(texts)
        it = iter(self.inner.iter_embed_documents(texts))
        while True:
            t0 = time.perf_counter()
            try:
                item = next(it)
            except StopIteration:
                self.embed_s += time.perf_counter() - t0
                return
            self.embed_s += time.perf_counter() - t0
            yield item

    def embed_queries(self, texts: Sequence[str]) -> Any:
        return self.inner.embed_queries(texts)

    def take(self) -> tuple[float, float, int]:
        """(embed seconds, count_tokens seconds, texts embedded) since the last call; resets them."""
        out = (self.embed_s, self.count_s, self.texts)
        self.embed_s = self.count_s = 0.0
        self.texts = 0
        return out


# -- measurements shared by several scripts ------------------------------------------------------------------


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
    """Discover, read and chunk ``root`` with the encoder's token counter, timing each part."""
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


def raw_session(model_path: Path, threads: int) -> Any:
    """A plain ``onnxruntime.InferenceSession`` of ``model_path`` on the CPU with ``threads`` intra-op threads."""
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
    """The raw onnxruntime baseline: tokenize, sort by length, pad per batch, ``session.run``, mean-pool."""
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


def drop_index(root: Path) -> None:
    shutil.rmtree(root / ".codegraph", ignore_errors=True)


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


def pipeline_vs_raw(bench: Bench, number: str, root: Path, enc: Any, texts: list[str], repeat: int, notes: str) -> None:
    """Rows ``number`` and ``number``b: ``index_repo`` from an empty index of ``root`` vs the raw onnxruntime
    baseline on its distinct ``texts``, alternated ``repeat`` times after a warm-up; ``notes`` starts the notes."""
    report, n = bench.report, len(texts)
    session = raw_session(enc.model.path / "model.onnx", enc.threads)
    bench.section(number, f"warm-up; then {repeat} x (index_repo, raw onnxruntime) alternated on {n} texts")
    enc.embed_documents(texts[:16])
    run_raw(session, enc.tokenizer, texts[:16], enc.max_tokens, enc.batch_size)
    pipes, raws = alternate(
        repeat,
        lambda: run_pipeline(root, enc),
        lambda: run_raw(session, enc.tokenizer, texts, enc.max_tokens, enc.batch_size),
    )
    embedded = [p.stats.embedded for p in pipes]
    if any(e != n for e in embedded):
        report.footer.append(f"WARNING: index_repo embedded {embedded} texts, the baseline {n}")
    pipe_wall = median([p.wall for p in pipes])
    raw_run = median([r.t_run for r in raws])
    raw_all = median([r.t_tokenize + r.t_run + r.t_pool for r in raws])
    pipe_rate, raw_rate = n / pipe_wall, n / raw_run
    stages = {k: median([p.stages.get(k, float("nan")) for p in pipes]) for k in pipes[-1].stages}
    r0 = raws[-1]
    report.add(
        number,
        "index_repo, empty index (chunks embedded/s)",
        fmt_rate(pipe_rate),
        f"{fmt_rate(raw_rate)} (session.run only)",
        f"{pipe_rate / raw_rate:.2f}",
        f">= 0.9: {target_mark(pipe_rate / raw_rate >= 0.9)}",
        f"{notes}{n:,} texts; wall {pipe_wall:.1f} s vs session.run {raw_run:.1f} s; stages: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items())
        + "; each run (s): index_repo "
        + " ".join(f"{p.wall:.1f}" for p in pipes)
        + ", session.run "
        + " ".join(f"{r.t_run:.1f}" for r in raws),
    )
    report.add(
        f"{number}b",
        "  same, baseline incl. tokenize+pad+pool",
        fmt_rate(pipe_rate),
        fmt_rate(n / raw_all),
        f"{pipe_rate / (n / raw_all):.2f}",
        "",
        f"baseline tokenize+pad {median([r.t_tokenize for r in raws]):.2f} s, pool "
        f"{median([r.t_pool for r in raws]):.2f} s; {r0.tokens:,} tokens, {r0.padded:,} padded "
        f"({100 * (1 - r0.tokens / max(1, r0.padded)):.1f} % padding)",
    )


@dataclass
class RssRun:
    wall: float  # of the codegraph index child
    rss: float  # MiB
    base_rss: float  # MiB of a child that only loads the model and embeds one text
    stats: dict[str, Any]  # the child's --json output

    def cells(self) -> tuple[str, str, str]:
        """The row's value, baseline and ratio."""
        return f"{self.rss:.0f}", f"{self.base_rss:.0f} (model load + 1 embed)", f"{self.rss / self.base_rss:.1f}x"

    def notes(self) -> str:
        st = self.stats
        return (
            f"child wall {self.wall:.1f} s, {st['embedded']:,} embedded, {st['chunks']:,} chunks "
            f"({st['embedded'] / self.wall:,.1f} chunks/s incl. start-up)"
        )


def index_peak_rss(report: Report, model: str, tree: Path, *, cwd: Path, chunks: int) -> RssRun:
    """Peak RSS of ``codegraph index TREE -q --json -m MODEL`` in a child, and of a child that only loads the
    model and embeds one text; a footer warning if the child made another number of ``chunks``."""
    load_only = (
        f"import codegraph; e = codegraph.OnnxEncoder(codegraph.resolve_model({model!r})); "
        "e.embed_documents(['def f(x):\\n    return x'])"
    )
    _, base_rss, _ = child_peak_rss([sys.executable, "-c", load_only], cwd)
    wall, rss, out = child_peak_rss([str(CODEGRAPH_EXE), "index", str(tree), "-q", "--json", "-m", model], cwd)
    st = json.loads(out)
    if st["chunks"] != chunks:
        report.footer.append(
            f"WARNING: the codegraph index child made {st['chunks']:,} chunks, the in-process run "
            f"{chunks:,}: the library on disk differs from the one imported at start"
        )
    return RssRun(wall, rss, base_rss, st)
