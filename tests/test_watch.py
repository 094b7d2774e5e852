"""`watch`: real file changes in a temp repo, a real watchdog observer, the real model."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from codegraph.embed import OnnxEncoder
from codegraph.index import index_repo
from codegraph.search import Searcher
from codegraph.store import Store
from codegraph.watch import Batch, watch_repo

from .conftest import CODEGRAPH, default_sigint


class Watcher:
    def __init__(self, root: Path, encoder: OnnxEncoder) -> None:
        self.root = root
        self.encoder = encoder
        self.batches: list[Batch] = []
        self.changed = threading.Condition()
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        assert ready.wait(30), "observer did not start"

    def _run(self, ready: threading.Event) -> None:
        try:
            watch_repo(self.root, self.encoder, on_batch=self._record, on_ready=ready.set, stop=self.stop)
        except BaseException as exc:  # noqa: BLE001 - surfaced by the test
            self.errors.append(exc)

    def _record(self, batch: Batch) -> None:
        with self.changed:
            self.batches.append(batch)
            self.changed.notify_all()

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 20) -> None:
        with self.changed:
            assert self.changed.wait_for(predicate, timeout), f"timed out; batches: {self.batches}"

    def paths(self) -> set[str]:
        store = Store.open(self.root)
        try:
            return set(store.file_rows())
        finally:
            store.close()


@pytest.fixture
def watcher(tmp_repo: Path, encoder: OnnxEncoder) -> Iterator[Watcher]:
    index_repo(tmp_repo, encoder)
    w = Watcher(tmp_repo, encoder)
    yield w
    w.stop.set()
    w.thread.join(10)
    assert not w.errors


def _searchable(root: Path, encoder: OnnxEncoder, query: str, symbol: str) -> bool:
    with Searcher.open(root, encoder) as searcher:
        return any(h.symbol == symbol for h in searcher.search(query, k=3, mode="keyword"))


def test_edit_is_searchable_after_one_batch(watcher: Watcher, encoder: OnnxEncoder) -> None:
    path = watcher.root / "app" / "parse_config.py"
    path.write_text(path.read_text() + "\n\ndef compute_invoice_total(lines):\n    return sum(lines)\n")
    watcher.wait_until(lambda: any("app/parse_config.py" in b.paths for b in watcher.batches))
    batch = next(b for b in watcher.batches if "app/parse_config.py" in b.paths)
    assert not batch.full and batch.stats.files_changed == 1 and batch.stats.embedded == 1
    assert batch.latency_s < 5
    assert _searchable(watcher.root, encoder, "invoice total", "compute_invoice_total")


def test_atomic_save_and_swap_files(watcher: Watcher, encoder: OnnxEncoder) -> None:
    target = watcher.root / "web" / "cart.js"
    (watcher.root / "web" / ".cart.js.swp").write_bytes(b"vim swap\0data")
    tmp = watcher.root / "web" / "cart.js.tmp123"
    tmp.write_text("function applyCoupon(cart, code) {\n  return cart.discount(code);\n}\n")
    os.replace(tmp, target)  # editor atomic save
    watcher.wait_until(lambda: any("web/cart.js" in b.paths for b in watcher.batches))
    assert _searchable(watcher.root, encoder, "apply coupon", "applyCoupon")
    assert not {p for p in watcher.paths() if p.endswith((".swp", ".tmp123"))}


def test_new_and_deleted_directories_and_ignore_changes(watcher: Watcher) -> None:
    (watcher.root / "lib" / "deep").mkdir(parents=True)
    (watcher.root / "lib" / "deep" / "util.py").write_text("def helper():\n    return 1\n")
    watcher.wait_until(lambda: "lib/deep/util.py" in watcher.paths())
    shutil.rmtree(watcher.root / "cmd")
    watcher.wait_until(lambda: "cmd/server.go" not in watcher.paths())
    (watcher.root / ".gitignore").write_text("*.md\n")
    watcher.wait_until(lambda: "README.md" not in watcher.paths())
    assert any(b.full for b in watcher.batches)


def test_the_index_own_writes_do_not_trigger_batches(watcher: Watcher) -> None:
    (watcher.root / "app" / "new.py").write_text("X = 1\n")
    watcher.wait_until(lambda: len(watcher.batches) >= 1)
    with watcher.changed:  # after the batch the index wrote to .codegraph/: nothing more may arrive
        assert not watcher.changed.wait_for(lambda: len(watcher.batches) > 1, timeout=1.5)


def test_cli_watch_prints_a_line_per_batch_and_exits_130_on_ctrl_c(tmp_repo: Path) -> None:
    proc = subprocess.Popen(
        [*CODEGRAPH, "watch", "."],
        cwd=tmp_repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    assert proc.stderr is not None
    guard = threading.Timer(120, proc.kill)  # never hang the suite if a line does not come
    guard.start()
    lines: list[str] = []
    for line in proc.stderr:  # blocks until the watcher says it is ready
        lines.append(line)
        if line.startswith("watching"):
            break
    (tmp_repo / "app" / "retry.py").write_text("def retry_later():\n    return None\n")
    for line in proc.stderr:
        lines.append(line)
        if line.startswith("[watch]"):
            break
    proc.send_signal(signal.SIGINT)
    out, rest = proc.communicate(timeout=30)
    guard.cancel()
    text = "".join(lines) + rest
    assert proc.returncode == 130, text
    assert "[watch] 1 file(s): 1 changed, 0 removed, 1 chunk(s) embedded" in text
    assert "Traceback" not in text and out == ""
