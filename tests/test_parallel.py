"""Parallel chunking (``codegraph.prepare``): worker processes read, parse and chunk, and the index they lead to
equals a one-process build, row for row; per-file errors, dead workers and Ctrl-C behave as in one process."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import sysconfig
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from codegraph import prepare
from codegraph.config import resolve_settings
from codegraph.embed import open_embedder, resolve_model
from codegraph.index import index_repo
from codegraph.store import Store
from codegraph.types import IndexStats

from . import campaign as cp
from .conftest import CODEGRAPH, SAMPLE_FILES, default_sigint, wait_until, write_files
from .fake_embedder import BOOM, CRASH, FaultyEncoder, HashingEncoder

TIMESTAMPS = {"meta": "key NOT IN ('created_at', 'run_started_at', 'last_indexed_at', 'verified_at')"}
"""Rows that hold the time of the run, left out of the comparison (``files.indexed_at`` is dropped below)."""


def dump(root: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of ``root``'s index (FTS5 and vec0 shadow tables through their own tables),
    in rowid order, without the timestamps."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with Store.open(root) as store:
        tables = [
            r[0]
            for r in store.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "AND name NOT LIKE 'chunks_fts_%' AND name NOT LIKE 'embeddings_vec_%'"
            )
        ]
        for table in tables:
            where = f" WHERE {TIMESTAMPS[table]}" if table in TIMESTAMPS else ""
            rows = [tuple(r) for r in store.conn.execute(f"SELECT * FROM {table}{where} ORDER BY rowid")]
            out[table] = [r[:-1] for r in rows] if table == "files" else rows  # files.indexed_at is last
    return out


class PoolSpy:
    """Counts the process pools :mod:`codegraph.prepare` starts (a real pool: the spy subclasses it)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = 0
        spy = self

        class Counted(prepare.ProcessPoolExecutor):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                spy.started += 1
                super().__init__(*args, **kwargs)

        monkeypatch.setattr(prepare, "ProcessPoolExecutor", Counted)


def index_with(root: Path, encoder: Any, workers: int) -> IndexStats:
    return index_repo(root, encoder, settings=replace(resolve_settings(root), index_workers=workers))


def synthetic_tree(root: Path, files: int = 100) -> None:
    """``files`` Python modules plus the multi-language sample project (above the parallel threshold)."""
    cp.write_tree(root, cp.make_corpus(files, 6))
    write_files(root, SAMPLE_FILES)
    big = "\n".join(f"    value_{i} = compute_{i}(argument_{i}, other_{i})" for i in range(400))
    write_files(root, {"pkg0/long.py": f"def very_long_function():\n{big}\n    return value_1\n"})  # windows


def serial_and_parallel(tmp_path: Path, make: Any, encoder: Any, monkeypatch: pytest.MonkeyPatch) -> PoolSpy:
    """Build the same tree with 1 and 2 workers, assert both indexes are equal row for row; returns the spy."""
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    make(serial)
    shutil.copytree(serial, parallel)  # same bytes and mtimes
    spy = PoolSpy(monkeypatch)
    one = index_with(serial, encoder, 1)
    assert spy.started == 0  # workers=1: no pool
    two = index_with(parallel, encoder, 2)
    assert spy.started == 1
    for field in ("files_seen", "files_changed", "files_skipped", "chunks", "embedded", "cache_hits", "warnings"):
        assert getattr(one, field) == getattr(two, field), field
    want, got = dump(serial), dump(parallel)
    assert want.keys() == got.keys()
    for table in want:
        assert got[table] == want[table], table
    assert len(want["chunks"]) > 0 and len(want["graph_refs"]) > 0
    return spy


def test_token_counting_in_a_worker_equals_the_encoders(fake_encoder: HashingEncoder) -> None:
    texts = ["", "def f(x):\n    return x\n", "ünïcödé ✓ 𝔘", "class A:\n\n    pass\n" * 40]
    for encoder in (fake_encoder, open_embedder(resolve_model("fast"))):
        counting = pickle.loads(pickle.dumps(encoder.token_counting()))  # as a worker receives it
        assert counting.count_tokens(texts) == encoder.count_tokens(texts)
        assert [counting.count_line_tokens(t) for t in texts] == [encoder.count_line_tokens(t) for t in texts]


def test_parallel_index_equals_serial_on_a_synthetic_tree(
    tmp_path: Path, fake_encoder: HashingEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial_and_parallel(tmp_path, synthetic_tree, fake_encoder, monkeypatch)


@pytest.mark.slow
def test_parallel_index_equals_serial_on_300_stdlib_files(
    tmp_path: Path, fake_encoder: HashingEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    sources = sorted(
        p for p in stdlib.rglob("*.py") if not {"site-packages", "test", "tests", "__pycache__"} & set(p.parts)
    )[:300]

    def make(root: Path) -> None:
        for path in sources:
            dest = root / path.relative_to(stdlib)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)

    serial_and_parallel(tmp_path, make, fake_encoder, monkeypatch)


def test_below_the_threshold_or_with_one_worker_no_pool_starts(
    tmp_path: Path, fake_encoder: HashingEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = PoolSpy(monkeypatch)
    small = tmp_path / "small"
    cp.write_tree(small, cp.make_corpus(prepare.PARALLEL_MIN_FILES, 2))
    assert index_with(small, fake_encoder, 4).files_changed == prepare.PARALLEL_MIN_FILES
    big = tmp_path / "big"
    synthetic_tree(big)
    assert index_with(big, fake_encoder, 1).files_changed > prepare.PARALLEL_MIN_FILES
    assert spy.started == 0
    monkeypatch.setenv("CODEGRAPH_INDEX_WORKERS", "1")
    assert resolve_settings(big).index_workers == 1


def test_a_file_that_breaks_the_chunker_is_a_warning_in_both_modes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = FaultyEncoder()

    def make(root: Path) -> None:
        synthetic_tree(root)
        write_files(root, {"pkg3/bad.py": f"def {BOOM}():\n    return 1\n"})

    serial_and_parallel(tmp_path, make, encoder, monkeypatch)
    stats = index_with(tmp_path / "parallel", encoder, 2)  # the bad file is retried, the rest is unchanged
    assert stats.files_skipped == 1 and stats.files_changed == 0
    assert stats.warnings == ["pkg3/bad.py: cannot be chunked (RuntimeError: the chunker tripped)"]


def test_a_dead_worker_ends_the_pool_and_this_process_finishes(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    synthetic_tree(root)
    write_files(root, {"pkg5/crash.py": f"def {CRASH}():\n    return 1\n"})
    stats = index_with(root, FaultyEncoder(), 2)
    assert stats.files_skipped == 0 and stats.files_changed == stats.files_seen
    assert len(stats.warnings) == 1 and stats.warnings[0].startswith("parse workers stopped")
    clean = tmp_path / "clean"
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns(".codegraph"))
    index_with(clean, FaultyEncoder(), 1)
    assert dump(root) == dump(clean)


SHADOWS = {
    name: f"# a module of the repository named like the standard library's {name}\nVALUE = 1\n"
    for name in ("types.py", "enum.py", "functools.py", "signal.py", "threading.py", "re.py")
}
"""Root-level modules that shadow the standard library for a ``python -c`` child started in the repository
(the standard library's own tree has all of them)."""


def test_index_run_in_a_repository_that_shadows_the_standard_library(tmp_path: Path) -> None:
    """``codegraph index .`` run inside a tree with ``types.py`` at its root (the standard library copied to a
    folder): the pool's processes start with the working directory off ``sys.path`` and prepare every file;
    before the fix the forkserver died on ``import types`` and the run exited 1 with no message."""
    script = Path(sys.executable).with_name("codegraph")  # `python -m` would shadow in this process already
    if not script.exists():
        pytest.skip(f"no console script next to {sys.executable}")
    root = tmp_path / "repo"
    synthetic_tree(root)
    write_files(root, SHADOWS)
    run = subprocess.run(
        [str(script), "index", ".", "--model", "fast", "--json", "--quiet"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and "parse workers stopped" not in run.stdout + run.stderr
    stats = json.loads(run.stdout)
    assert stats["files_changed"] == stats["files_seen"] > prepare.PARALLEL_MIN_FILES
    assert stats["files_skipped"] == 0
    assert "PYTHONSAFEPATH" not in os.environ  # restored in this process too (the API path below)


def test_a_pool_that_cannot_start_is_prepared_in_this_process(
    tmp_path: Path, fake_encoder: HashingEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that cannot be started (the forkserver's pipe broken) is a broken pool: this process prepares
    the files and the run says so once, instead of click reading the BrokenPipeError as a closed stdout."""

    class Unstartable(prepare.ProcessPoolExecutor):
        def submit(self, *args: Any, **kwargs: Any) -> Any:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(prepare, "ProcessPoolExecutor", Unstartable)
    root = tmp_path / "repo"
    synthetic_tree(root)
    stats = index_with(root, fake_encoder, 2)
    assert stats.files_changed == stats.files_seen and stats.files_skipped == 0
    assert len(stats.warnings) == 1 and "could not start" in stats.warnings[0]
    assert "PYTHONSAFEPATH" not in os.environ


def _processes_with_env(marker: str) -> list[int]:
    """Pids of live processes whose environment holds ``marker`` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{entry}/environ").read_bytes():
                    found.append(int(entry))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_during_a_parallel_index_stops_the_workers_and_the_next_run_completes(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    cp.write_tree(root, cp.make_corpus(240, 8))
    marker = f"CODEGRAPH_TEST_RUN={uuid.uuid4().hex}"
    env = {**os.environ, "CODEGRAPH_INDEX_WORKERS": "2", marker.split("=")[0]: marker.split("=")[1]}
    proc = subprocess.Popen(
        [*CODEGRAPH, "index", ".", "-q"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
        start_new_session=True,  # its own process group, which Ctrl-C in a terminal signals as a whole
    )
    db = root / ".codegraph" / "index.db"
    # Wait for the first stored group (or for the run to end too early to be interrupted).
    wait_until(lambda: proc.poll() is not None or _stored(db))
    assert proc.poll() is None, "index finished before it could be interrupted"
    assert len(_processes_with_env(marker)) >= 3  # the indexer, the forkserver, workers
    os.killpg(proc.pid, signal.SIGINT)  # workers and forkserver get it too, and ignore it
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err, err
    assert wait_until(lambda: not _processes_with_env(marker), timeout_s=30), "processes left behind"
    assert cp.integrity(db) == "ok"
    finish = cp.cli("index", ".", "--json", cwd=root, env=env)
    assert finish.returncode == 0, finish.stderr
    resumed = json.loads(finish.stdout)
    assert resumed["files_unchanged"] > 0  # the groups stored before Ctrl-C were kept
    assert resumed["files_unchanged"] + resumed["files_changed"] == 240
    clean = tmp_path / "clean"
    cp.copy_tree(root, clean)
    serial = cp.cli("index", ".", "-q", cwd=clean, env={**os.environ, "CODEGRAPH_INDEX_WORKERS": "1"})
    assert serial.returncode == 0, serial.stderr
    # Vectors: the INT8 model quantises activations per batch, and the resumed run batched differently.
    comparison = cp.compare(cp.snapshot(root), cp.snapshot(clean))
    assert comparison.lost == 0 and comparison.equal(min_cosine=0.98), comparison.describe()


def _stored(db: Path) -> bool:
    counts = cp.db_counts(db)
    return counts is not None and counts.chunks > 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_the_indexer_ends_its_workers_and_the_next_run_completes(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    cp.write_tree(root, cp.make_corpus(240, 8))
    marker = uuid.uuid4().hex
    env = {**os.environ, "CODEGRAPH_INDEX_WORKERS": "2", "CODEGRAPH_TEST_RUN": marker}
    stderr = tmp_path / "stderr.txt"
    with stderr.open("wb") as err:  # a file, not a pipe: the pool's processes inherit it and may outlive us
        proc = subprocess.Popen([*CODEGRAPH, "index", ".", "-q"], cwd=root, env=env, stderr=err)
    db = root / ".codegraph" / "index.db"
    wait_until(lambda: proc.poll() is not None or _stored(db))
    assert proc.poll() is None, "index finished before it could be killed"
    assert len(_processes_with_env(marker)) >= 3
    proc.kill()  # the indexer only: nothing stops the pool
    proc.wait(timeout=60)
    assert wait_until(lambda: not _processes_with_env(marker), timeout_s=30), "workers outlived the indexer"
    left = stderr.read_text(encoding="utf-8", errors="replace")
    assert "leaked semaphore" not in left and "Traceback" not in left, left  # nothing stray after the kill
    finish = cp.cli("index", ".", "--json", cwd=root, env=env)
    assert finish.returncode == 0, finish.stderr
    assert json.loads(finish.stdout)["chunks"] == 240 * 8
