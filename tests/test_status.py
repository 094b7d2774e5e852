"""Keeping the index fresh: status, `index --check`, the writer lock, crash safety."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from codegraph.embed import OnnxEncoder
from codegraph.errors import IndexBusyError
from codegraph.index import index_repo
from codegraph.status import index_status
from codegraph.store import Store
from codegraph.store.lock import writer_lock

from .conftest import CODEGRAPH, RunCli, wait_until, write_files
from .fake_embedder import HashingEncoder


def test_status_reports_counts_and_staleness(tmp_repo: Path, encoder: OnnxEncoder) -> None:
    stats = index_repo(tmp_repo, encoder)
    st = index_status(tmp_repo)
    assert (st.files, st.chunks, st.model) == (5, stats.chunks, encoder.model_id)
    assert st.size_bytes > 0 and st.last_indexed_at is not None and st.stale.count == 0
    (tmp_repo / "app" / "retry.py").write_text("def changed():\n    pass\n", encoding="utf-8")
    (tmp_repo / "new.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_repo / "README.md").unlink()
    (tmp_repo / "app" / "parse_config.py").touch()  # new mtime, same bytes: not stale
    os.utime(tmp_repo / "app" / "parse_config.py", ns=(1, 1))
    stale = index_status(tmp_repo).stale
    assert (stale.new, stale.changed, stale.removed) == (["new.py"], ["app/retry.py"], ["README.md"])


def test_index_check_exit_codes(tmp_repo: Path, run_cli: RunCli) -> None:
    missing = run_cli("index", "--check", cwd=tmp_repo)
    assert missing.returncode == 1 and "codegraph index" in missing.stderr
    assert run_cli("index", ".", "-q", cwd=tmp_repo).returncode == 0
    fresh = run_cli("index", "--check", cwd=tmp_repo)
    assert (fresh.returncode, fresh.stdout) == (0, "")
    (tmp_repo / "web" / "cart.js").write_text("// emptied\n", encoding="utf-8")
    stale = run_cli("index", "--check", cwd=tmp_repo)
    assert stale.returncode == 1
    assert stale.stdout == "changed\tweb/cart.js\n" and "run: codegraph index" in stale.stderr
    as_json = json.loads(run_cli("index", "--check", "--json", cwd=tmp_repo).stdout)
    assert as_json == {"fresh": False, "new": [], "changed": ["web/cart.js"], "removed": []}
    status = json.loads(run_cli("status", "--json", cwd=tmp_repo / "web").stdout)
    assert status["stale"]["changed"] == ["web/cart.js"] and status["files"] == 5


def test_a_second_writer_waits_or_says_one_is_running(tmp_path: Path, fake_encoder: HashingEncoder) -> None:
    encoder = fake_encoder
    index_dir = tmp_path / ".codegraph"
    waited: list[bool] = []
    with writer_lock(index_dir):
        with pytest.raises(IndexBusyError, match="another codegraph process"):
            index_repo(tmp_path, encoder, lock_timeout_s=0.2, on_wait=lambda: waited.append(True))
    assert waited == [True]
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold, args=(index_dir, held, release))
    holder.start()
    assert held.wait(10)
    # The holder lets go only once this writer has started waiting, so the wait is certain, not timed.
    stats = index_repo(tmp_path, encoder, lock_timeout_s=30, on_wait=release.set)
    holder.join()
    assert release.is_set() and stats.files_seen == 0


def _hold(index_dir: Path, held: threading.Event, release: threading.Event) -> None:
    with writer_lock(index_dir):
        held.set()
        release.wait(30)  # keep the lock until the other writer is waiting for it


def _snapshot(root: Path) -> dict[tuple[str, int, int, str | None], bytes]:
    store = Store.open(root)
    rows = store.conn.execute(
        "SELECT f.path, c.start_line, c.end_line, c.symbol, v.embedding FROM chunks c "
        "JOIN files f ON f.id = c.file_id JOIN embeddings_vec v ON v.rowid = c.embedding_id"
    ).fetchall()
    store.close()
    return {(p, s, e, sym): bytes(vec) for p, s, e, sym, vec in rows}


@pytest.mark.slow
def test_kill_9_at_several_points_then_index_equals_a_clean_build(tmp_path: Path, run_cli: RunCli) -> None:
    files = {
        f"pkg/mod_{f}.py": "\n\n".join(
            f"def op_{f}_{i}(x):\n    '''Operation {i} of module {f}.'''\n    return x * {i} + {f}\n" for i in range(20)
        )
        for f in range(30)
    }
    clean = tmp_path / "clean"
    write_files(clean, files)
    assert run_cli("index", ".", "-q", cwd=clean).returncode == 0
    expected = _snapshot(clean)
    assert len(expected) == 600

    crashed = tmp_path / "crashed"
    write_files(crashed, files)
    db = crashed / ".codegraph" / "index.db"
    for fraction in (0.0, 0.3, 0.7):  # kill before any embedding, and at ~30 % and ~70 % of them
        proc = subprocess.Popen(
            [*CODEGRAPH, "index", ".", "-q"], cwd=crashed, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

        def reached(fraction: float = fraction, proc: subprocess.Popen[bytes] = proc) -> bool:
            if proc.poll() is not None:
                return True
            if not db.exists():
                return False
            store = Store.open(crashed)
            done = store.count("embeddings")
            store.close()
            return done >= fraction * 600 and (fraction > 0 or done == 0)

        wait_until(reached)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if db.exists():
            store = Store.open(crashed)
            assert store.check_integrity() == "ok"
            store.close()
            found = run_cli("search", "operation", "--json", cwd=crashed)
            # Killed before the model was recorded, the index holds nothing yet: search says how to fill it.
            empty = "the index is empty (no model recorded); run: codegraph index" in found.stderr
            assert found.returncode == 0 or (found.returncode == 1 and empty), found.stderr
    finish = json.loads(run_cli("index", ".", "--json", cwd=crashed).stdout)
    assert finish["chunks"] == 600
    assert _snapshot(crashed) == expected


def test_a_restored_index_works_at_another_path(tmp_repo: Path, tmp_path: Path, run_cli: RunCli) -> None:
    """CI restores .codegraph/ from a cache into a fresh checkout at another path, with new mtimes."""
    assert run_cli("index", ".", "-q", cwd=tmp_repo).returncode == 0
    moved = tmp_path / "elsewhere" / "checkout"
    shutil.copytree(tmp_repo, moved)  # copytree keeps mtimes; a git checkout does not: touch every file
    for path in moved.rglob("*"):
        if path.is_file() and ".codegraph" not in path.parts:
            os.utime(path)
    run = json.loads(run_cli("index", ".", "--json", cwd=moved).stdout)
    assert (run["files_changed"], run["embedded"], run["files_unchanged"]) == (0, 0, 5)
    hits = json.loads(run_cli("search", "retry failed uploads", "--json", cwd=moved).stdout)["results"]
    assert hits[0]["path"] == "app/retry.py"
    assert run_cli("index", "--check", cwd=moved).returncode == 0


def test_search_and_status_run_while_an_index_is_writing(tmp_path: Path, run_cli: RunCli) -> None:
    files = {f"m{f}.py": "\n\n".join(f"def fn_{f}_{i}(x):\n    return x + {i}\n" for i in range(30)) for f in range(20)}
    write_files(tmp_path, {"seed.py": "def seed():\n    return 0\n"})
    assert run_cli("index", ".", "-q", cwd=tmp_path).returncode == 0
    write_files(tmp_path, files)
    writer = subprocess.Popen([*CODEGRAPH, "index", ".", "-q"], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    results = []
    while writer.poll() is None and len(results) < 6:  # readers during the write
        results.append(run_cli("search", "seed", "--json", cwd=tmp_path))
        results.append(run_cli("status", "--json", cwd=tmp_path))
    _, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, err
    assert results, "the writer finished before any reader ran"
    for proc in results:
        assert proc.returncode == 0, proc.stderr
        assert "locked" not in proc.stderr


def test_no_colour_or_progress_codes_when_not_a_terminal(tmp_repo: Path, run_cli: RunCli) -> None:
    index = run_cli("index", ".", cwd=tmp_repo)
    search = run_cli("search", "cart total", cwd=tmp_repo)
    for text in (index.stdout, index.stderr, search.stdout, search.stderr):
        assert "\x1b[" not in text


def test_status_and_search_say_who_is_building_the_index(tmp_repo: Path, run_cli: RunCli) -> None:
    assert run_cli("index", ".", "-q", cwd=tmp_repo).returncode == 0
    with writer_lock(tmp_repo / ".codegraph"):  # this process is "an index run" now
        building = json.loads(run_cli("status", "--json", cwd=tmp_repo).stdout)
        assert building["state"] == "building" and building["writer"]["pid"] == os.getpid()
        human = run_cli("status", "-C", str(tmp_repo / "app"), cwd=tmp_repo.parent)
        assert human.returncode == 0 and f"being built (pid {os.getpid()}" in human.stdout
        search = run_cli("search", "retry upload", "--json", cwd=tmp_repo)
        assert search.returncode == 0 and "the index is being built" in search.stderr
    done = json.loads(run_cli("status", "--json", cwd=tmp_repo).stdout)
    assert (done["state"], done["writer"]) == ("complete", None)
    assert run_cli("search", "retry upload", cwd=tmp_repo).stderr == ""


def test_status_json_caps_the_stale_paths_with_a_count(tmp_repo: Path, run_cli: RunCli) -> None:
    assert run_cli("index", ".", "-q", cwd=tmp_repo).returncode == 0
    write_files(tmp_repo, {f"extra/mod_{i}.py": f"X_{i} = {i}\n" for i in range(60)})
    stale = json.loads(run_cli("status", "--json", cwd=tmp_repo).stdout)["stale"]
    assert stale["count"] == 60 and len(stale["new"]) == 50 and stale["truncated"] is True
    check = json.loads(run_cli("index", "--check", "--json", cwd=tmp_repo).stdout)
    assert len(check["new"]) == 60  # the CI check lists every path


def test_progress_is_a_line_every_few_seconds_when_stderr_is_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from codegraph.cli import render

    monkeypatch.setattr(render, "PROGRESS_LINE_S", 0.0)
    with render.err.capture() as captured, render.index_progress(True) as progress:
        progress("chunk", 10, 40)
        progress("embed", 30, 120)
    lines = captured.get().splitlines()
    assert lines[0].startswith("codegraph: chunking files 10/40 (25%)") and "s elapsed" in lines[0]
    assert "embedding chunks 30/120 (25%)" in lines[1] and "of chunking left" in lines[1]
    with render.err.capture() as quiet, render.index_progress(False) as progress:
        progress("chunk", 10, 40)
    assert quiet.get() == ""
