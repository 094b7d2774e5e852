"""Shared harness of the benchmark scripts in this folder (not a benchmark itself).

Every script here imports from this module, from ``_measure.py`` (the measurements several scripts share) and
from codegraph, never from another script (run as ``python benchmarks/<script>.py``, this folder is
``sys.path[0]``). What it holds:

* **the run**: :class:`Bench` (code version and source fingerprint, load averages at start, per section and at
  the end, the standard header and footer, the table on stdout), :func:`banner` (the one-line title of the
  scripts that print their own tables), :func:`log` (progress on stderr), :func:`temp_dir`, :func:`scoped_env`;
* **the report**: :class:`Row` / :class:`Report` (a markdown table: value, baseline measured in the same run,
  ratio, target, notes), :func:`target_mark` and number formats;
* **timing**: :func:`median`, :func:`percentile`, :func:`alternate` (A B, B A, ... so that load from other
  processes hits both), :func:`time_index`, :func:`time_walk`, :func:`timed_process`;
* **corpora**: the standard-library packages of the default corpus, :func:`copy_corpus`,
  :func:`copy_packages`, :func:`fresh_copy`, :func:`stdlib_files`, :func:`docstring_queries`.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import os
import platform
import random
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
from codegraph.discover import walk_files
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


def banner(name: str) -> str:
    """``# NAME (date time, N cores, load (1, 5, 15))``: the title line of the scripts without a :class:`Bench`."""
    return f"# {name} ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load {os.getloadavg()})"


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


def docstring_queries(root: Path, n: int) -> list[str]:
    """First docstring line of the first documented function of ``n`` random Python files (seeded)."""
    files = sorted(root.rglob("*.py"))
    random.Random(1).shuffle(files)
    queries: list[str] = []
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node)
                if doc and len(doc.split()) >= 3:
                    queries.append(doc.strip().splitlines()[0])
                    break
        if len(queries) >= n:
            break
    return queries
