"""Shared harness of the benchmark scripts in this folder (not a benchmark itself).

Every script here imports from this module and from codegraph, never from another script (run as
``python benchmarks/<script>.py``, this folder is ``sys.path[0]``). What it holds:

* **the run**: :class:`Bench` (code version and source fingerprint, load averages at start, per section and at
  the end, the standard header and footer, the table on stdout), :func:`log` (progress on stderr),
  :func:`temp_dir`, :func:`scoped_env`;
* **the report**: :class:`Row` / :class:`Report` (a markdown table: value, baseline measured in the same run,
  ratio, target, notes), :func:`target_mark` and number formats;
* **timing**: :func:`median`, :func:`percentile`, :func:`alternate` (A B, B A, ... so that load from other
  processes hits both), :func:`time_index`, :func:`time_walk`, :func:`timed_process`, :func:`child_peak_rss`
  (peak RSS of one child through a launcher), :class:`TimingEmbedder` (times the model inside a pipeline);
* **corpora**: the standard-library packages of the default corpus, :func:`copy_corpus`,
  :func:`copy_packages`, :func:`fresh_copy`, :func:`drop_index`, :func:`stdlib_files`;
* **measurements shared by several scripts**: :func:`chunk_corpus` (discover + read + chunk),
  :func:`run_raw` (the raw onnxruntime baseline), :func:`run_pipeline` (``index_repo`` from an empty index with
  its stage times), :func:`pipeline_vs_raw` (the two rows comparing them), :func:`index_peak_rss`.
"""

from __future__ import annotations

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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import codegraph
from codegraph.chunk import chunk_source, embedding_text
from codegraph.discover import read_source, walk_files
from codegraph.index import cache_key
from codegraph.store.sqlite import sqlite_module

# codegraph imports its modules lazily; the scripts import the ones they use at start so that one version of the
# library is used throughout even if its files change while a benchmark runs (the footer warns if they did).

CODEGRAPH_EXE = Path(sys.executable).parent / "codegraph"
"""The ``codegraph`` command installed next to the running interpreter."""

DEFAULT_PACKAGES = ("asyncio", "concurrent", "email", "http", "importlib", "json", "logging", "unittest")
"""Standard-library packages copied into the default corpus (~4,800 chunks with minilm on CPython 3.11)."""

EXCLUDED_DIRS = ("test", "tests", "__pycache__")
"""Directory names left out of copied standard-library packages."""

STDLIB_EXCLUDED_DIRS = ("site-packages", "__pycache__")
"""Left out of a copy of the whole standard library: installed third-party packages and bytecode caches."""

EDIT_MIN_BYTES, EDIT_MAX_BYTES = 2_000, 64_000
"""Size range of the files the edit-latency rows edit."""


# -- progress and the run ------------------------------------------------------------------------------------


def log(message: str) -> None:
    """Progress on stderr (the table goes to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def loadavg() -> str:
    """The 1/5/15-minute load averages, ``"0.53 2.65 2.92"`` (``"n/a"`` where the OS has none)."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "n/a"
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


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


def package_version(name: str) -> str:
    """Version of an installed distribution; onnxruntime and numpy as the imported modules report it."""
    if name == "onnxruntime":
        import onnxruntime as ort

        return str(ort.__version__)
    if name == "numpy":
        return str(np.__version__)
    from importlib.metadata import version

    return version(name)


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
    """Header lines, a markdown table of :class:`Row`, footer lines."""

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


class Bench:
    """One benchmark run: its report, and what the header and footer say about the conditions it ran in.

    Created at the start of ``main()``: it notes the load average, codegraph's version and source fingerprint
    and the start time. :meth:`section` starts a measured section (progress line, 1-min load noted for the
    footer); :meth:`finish` adds the footer and prints the table.

    Args:
        name: the script's name in the header's first line.
        lettered: label the sections' load averages per step (``1a``, ``1b``, ...; named on stderr) instead of
            per section number.
    """

    def __init__(self, name: str, *, lettered: bool = False) -> None:
        self.name = name
        self.lettered = lettered
        self.report = Report()
        self.started_at = dt.datetime.now().isoformat(timespec="seconds")
        self.load_start = loadavg()
        self.version_start = code_version()
        self.fingerprint_start = code_fingerprint()
        self.started = time.perf_counter()
        self.loads: list[str] = []

    def section(self, number: str, message: str) -> None:
        """Start of a measured section: log it and note the 1-min load average."""
        load = loadavg()
        if not self.lettered:
            self.loads.append(f"{number}: {load.split()[0]}")
            log(f"{number}. {message}")
            return
        label = number + "abcdefghijklmnopqrstuvwxyz"[sum(x.startswith(number) for x in self.loads) % 26]
        self.loads.append(f"{label} {load.split()[0]}")
        log(f"{label}. {message}  (load {load})")

    def header(self, encoders: Sequence[Any], packages: Sequence[str], extra: Sequence[str] = ()) -> None:
        """The standard header: title, versions of ``packages`` (distribution names, in this order), machine and
        encoders, codegraph's code version, ``extra`` lines, the load average at start."""
        sqlite = sqlite_module()
        models = ", ".join(f"{e.model_id} (max_tokens {e.max_tokens})" for e in encoders)
        self.report.header += [
            f"codegraph {codegraph.__version__} {self.name}  {self.started_at}",
            f"python {platform.python_version()}  "
            + "  ".join(f"{name} {package_version(name)}" for name in packages)
            + f"  sqlite module {sqlite.__name__} (SQLite {sqlite.sqlite_version})",
            f"machine: {platform.machine()}, {os.cpu_count()} cores; encoder threads {encoders[0].threads}, "
            f"batch size {encoders[0].batch_size}; model{'s' if len(encoders) > 1 else ''} {models}",
            f"codegraph code: {self.version_start}",
            *extra,
            f"load average (1/5/15 min) at start: {self.load_start}",
        ]

    def finish(self) -> None:
        """Footer (source-change warning, load averages, total time), then print the table on stdout."""
        report = self.report
        fingerprint_end = code_fingerprint()
        if fingerprint_end != self.fingerprint_start:
            report.footer.append(
                f"WARNING: codegraph's source changed during the run ({self.fingerprint_start} -> "
                f"{fingerprint_end}); subprocess rows may have run other code than in-process rows. "
                "Re-run on a quiet tree."
            )
        steps = "step (named on stderr)" if self.lettered else "section"
        report.footer += [
            f"1-min load average at the start of each {steps}: {', '.join(self.loads)}",
            f"load average (1/5/15 min) at end: {loadavg()}",
            f"total benchmark time: {time.perf_counter() - self.started:.0f} s",
        ]
        print(report.render())


@contextmanager
def temp_dir(prefix: str, *, keep: bool) -> Iterator[Path]:
    """A temporary directory, removed at the end unless ``keep`` (then its path is logged)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield tmp
    finally:
        if keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def scoped_env(name: str, value: str) -> Iterator[None]:
    """Set the environment variable ``name`` (inherited by child processes) and restore it at the end."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


# -- numbers -------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolation percentile (numpy's default method)."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), pct))


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def fmt_rate(x: float) -> str:
    return f"{x:,.1f}"


def p50_p95_ms(values: Sequence[float]) -> str:
    """``"P50 / P95"`` of seconds, in whole milliseconds."""
    return f"{percentile(values, 50) * 1000:.0f} / {percentile(values, 95) * 1000:.0f}"


def target_mark(ok: bool) -> str:
    return "met" if ok else "MISSED"


# -- timing --------------------------------------------------------------------------------------------------


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


def time_index(root: Path, enc: Any, **kwargs: Any) -> tuple[float, Any]:
    """(seconds, ``IndexStats``) of one ``codegraph.index_repo(root, enc, **kwargs)``."""
    t0 = time.perf_counter()
    stats = codegraph.index_repo(root, enc, **kwargs)
    return time.perf_counter() - t0, stats


def time_walk(root: Path, max_file_bytes: int) -> float:
    """Seconds of ``walk_files`` alone (the floor of a no-change re-index)."""
    t0 = time.perf_counter()
    list(walk_files(root, max_file_bytes=max_file_bytes))
    return time.perf_counter() - t0


def timed_process(cmd: list[str], cwd: Path) -> tuple[float, str]:
    """Run ``cmd``; returns (wall seconds, stdout). Raises ``RuntimeError`` if it exits non-zero."""
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


# -- corpora -------------------------------------------------------------------------------------------------


def copy_packages(dest: Path, packages: Sequence[str], *, skip_missing: bool = False) -> str:
    """Copy standard-library ``packages`` (without ``EXCLUDED_DIRS``) into ``dest``; returns a description."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    dest.mkdir(parents=True)
    for pkg in packages:
        if skip_missing and not (stdlib / pkg).is_dir():
            continue
        shutil.copytree(stdlib / pkg, dest / pkg, ignore=shutil.ignore_patterns(*EXCLUDED_DIRS))
    return f"stdlib of Python {platform.python_version()} ({stdlib}): {', '.join(packages)}"


def copy_corpus(source: Path | None, dest: Path) -> str:
    """Fill ``dest`` with the corpus (``None``: ``DEFAULT_PACKAGES``); returns a one-line description."""
    if source is None:
        return copy_packages(dest, DEFAULT_PACKAGES)
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
    """Copy ``corpus`` to ``dest`` without its index."""
    shutil.copytree(corpus, dest, symlinks=True, ignore=shutil.ignore_patterns(".codegraph"))


def drop_index(root: Path) -> None:
    shutil.rmtree(root / ".codegraph", ignore_errors=True)


def stdlib_files(stdlib: Path, limit: int | None) -> list[str]:
    """Regular files of the stdlib (relative POSIX paths, sorted), without ``STDLIB_EXCLUDED_DIRS``."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(stdlib):
        dirnames[:] = sorted(d for d in dirnames if d not in STDLIB_EXCLUDED_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                out.append(path.relative_to(stdlib).as_posix())
    out.sort()
    return out[:limit] if limit else out


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
