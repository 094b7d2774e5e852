"""Regression tests of the failures the reliability campaign found (docs/reliability.md, "Failures found"): small,
portable versions of what ``tests/test_reliability.py`` checks at campaign scale."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from codegraph.errors import StoreError
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
        assert proc.stderr.count("\n") == 1 and "delete the .codegraph directory" in proc.stderr, proc.stderr


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
