"""Regression tests of the failures the reliability campaign found (docs/reliability.md, "Failures found"): small,
portable versions of what ``tests/test_reliability.py`` checks at campaign scale."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import sys
from pathlib import Path

import pytest

from codegraph.assist import sandbox as sb
from codegraph.embed import Embedder, open_embedder, resolve_model
from codegraph.errors import StoreError
from codegraph.index import index_repo
from codegraph.store import Store
from codegraph.store.lock import writer_lock
from codegraph.store.sqlite import store_error

from .conftest import RunCli, write_files


def test_a_full_disk_mid_transaction_raises_the_full_disk_error(tmp_path: Path) -> None:
    """SQLite rolls back by itself after SQLITE_FULL; the ROLLBACK that followed failed ("cannot rollback - no
    transaction is active") and hid the real error. ``max_page_count`` makes a real SQLITE_FULL here."""
    store = Store.open(tmp_path, create=True)
    try:
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages + 1}")
        with pytest.raises(Exception, match="database or disk is full") as caught:
            with store.transaction():
                store.conn.execute("INSERT INTO meta(key, value) VALUES ('big', ?)", ("x" * 1_000_000,))
        assert not store.conn.in_transaction
        error = store_error(caught.value)
        assert error is not None and "free some space" in str(error)
        assert store.get_meta("big") is None
    finally:
        store.close()
    assert store_error(ValueError("not from SQLite")) is None
    assert store_error(sqlite3.OperationalError("database disk image is malformed")) is not None


def test_a_damaged_index_is_one_line_that_says_how_to_recover(tmp_repo: Path, run_cli: RunCli) -> None:
    assert run_cli("index", ".", "-q", cwd=tmp_repo).returncode == 0
    db = tmp_repo / ".codegraph" / "index.db"
    with db.open("r+b") as fh:  # page 2 onwards: the header still says "SQLite", the b-trees are garbage
        fh.seek(4096)
        fh.write(b"\xa5" * 16384)
    for args in (("search", "retry", "--json"), ("status",), ("index", ".", "-q")):
        proc = run_cli(*args, cwd=tmp_repo)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1 and "codegraph index --rebuild" in proc.stderr, proc.stderr


def test_an_unwritable_index_directory_is_a_store_error(tmp_path: Path, tmp_repo: Path, run_cli: RunCli) -> None:
    """A read-only file system or a forbidden directory made ``index`` die with filelock's OSError traceback;
    a file where the directory should be fails the same way as root and as a user."""
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / ".codegraph").write_text("not a directory")
    with pytest.raises(StoreError, match="cannot take the writer lock .*need write access"):
        with writer_lock(blocked / ".codegraph"):
            pass
    (tmp_repo / ".codegraph").write_text("not a directory")
    proc = run_cli("index", ".", "-q", cwd=tmp_repo)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "need write access" in proc.stderr


@pytest.fixture(scope="module")
def fast_encoder() -> Embedder:
    return open_embedder(resolve_model("fast"))


def test_file_names_that_are_not_utf8_are_skipped_with_a_warning(
    tmp_path: Path, run_cli: RunCli, fast_encoder: Embedder
) -> None:
    """They crashed ``index`` (the tokenizer refused the path's lone surrogates) and ``watch`` (SQLite did)."""
    write_files(tmp_path, {"ok.py": "def fine():\n    return 1\n"})
    raw = os.fsencode(tmp_path)
    with open(raw + b"/bad\xff.py", "wb") as fh:
        fh.write(b"def hidden():\n    return 2\n")
    os.mkdir(raw + b"/dir\xfe")
    with open(raw + b"/dir\xfe/inner.py", "wb") as fh:
        fh.write(b"def inner():\n    return 3\n")
    proc = run_cli("index", ".", "--json", "--model", "fast", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(proc.stdout)
    assert stats["chunks"] == 1 and sorted(stats["warnings"]) == [
        "bad\ufffd.py: file name is not valid UTF-8 (not indexed)",
        "dir\ufffd: file name is not valid UTF-8 (not indexed)",
    ]
    # watch refreshes the paths it saw change, undecodable ones included
    bad = os.fsdecode(b"bad\xff.py")
    refreshed = index_repo(tmp_path, fast_encoder, paths=[bad, "ok.py"])
    assert refreshed.warnings == ["bad\ufffd.py: file name is not valid UTF-8 (not indexed)"]
    assert run_cli("index", "--check", cwd=tmp_path).returncode == 0


def test_a_file_swapped_for_a_symlink_after_discovery_is_not_followed(tmp_path: Path, fast_encoder: Embedder) -> None:
    """Discovery never follows symlinks, but the read did: a file replaced by a symlink between the walk and the
    read had the link's target indexed (a file outside the repository, here)."""
    outside = tmp_path / "outside.py"
    outside.write_text("def private_key_loader():\n    return 'campaign-outside-secret'\n", encoding="utf-8")
    repo = tmp_path / "repo"
    write_files(repo, {"a.py": "def first():\n    return 1\n", "b.py": "def second():\n    return 2\n"})

    def swap(stage: str, done: int, total: int) -> None:
        if stage == "chunk" and done == 1:  # a.py has been read, b.py not yet
            (repo / "b.py").unlink()
            (repo / "b.py").symlink_to(outside)

    stats = index_repo(repo, fast_encoder, progress=swap)
    assert stats.warnings == ["b.py: became a symlink after discovery (not followed)"]
    with Store.open(repo) as store:
        codes = [row[0] for row in store.conn.execute("SELECT code FROM chunks")]
    assert len(codes) == 1 and "campaign-outside-secret" not in codes[0]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox tests need Linux")
def test_a_test_that_floods_its_output_is_reported_with_the_reason() -> None:
    """pytest captures output in a file, so a flood hits RLIMIT_FSIZE and pytest cannot write its JUnit report;
    the run was reported as 'pytest exited with status 1 without results' and a traceback of pytest's."""
    files = {
        "test_flood.py": "import sys\n\n\ndef test_flood():\n    for _ in range(12):\n"
        "        sys.stdout.write('y' * (1 << 20))\n\n\ndef test_quiet():\n    assert True\n"
    }
    report = sb.run_tests("python", files, sb.SandboxLimits(max_file_bytes=4 * sb.MIB))
    assert report.collection_error is not None and "more than the file-size limit (4 MiB" in report.collection_error
    assert {t.name: t.outcome for t in report.tests} == {
        "test_flood.py::test_flood": "failed",
        "test_flood.py::test_quiet": "passed",
    }


def test_a_full_or_read_only_file_system_is_one_line_with_what_to_do() -> None:
    """Outside SQLite (the index directory's .gitignore, writer.json) the same conditions raise OSError."""
    from codegraph.cli.app import _environment_error

    full = _environment_error(OSError(errno.ENOSPC, "No space left on device"))
    assert full is not None and full.startswith("No space left on device; free some space and run the command again")
    read_only = _environment_error(OSError(errno.EROFS, "Read-only file system", "/repo/.codegraph/.gitignore"))
    assert read_only is not None and read_only.startswith("Read-only file system: /repo/.codegraph/.gitignore; ")
    assert _environment_error(OSError(errno.ENOENT, "No such file or directory")) is None  # a bug: traceback
    assert _environment_error(ValueError("x")) is None
