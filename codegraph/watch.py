"""Keep an index fresh while files change: a watchdog observer feeding debounced, coalesced updates.

Events are collected per path. A batch is processed once no new event arrived for ``debounce_s`` (or
``max_delay_s`` after its first event, whichever comes first). File events refresh just those paths
(:func:`codegraph.index.index_repo` with ``paths``): an editor's atomic save (write a temp file, rename it over
the original) is a created/moved pair whose temp path is gone by then and whose target is re-chunked. Events on
directories (created, deleted, moved) and on ignore files (``.gitignore``, ``.codegraphignore``) can change
which files belong to the index, so they trigger a full (stat-only for unchanged files) refresh. Events under
``.git`` and ``.codegraph`` are ignored.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEventHandler

from .config import Settings, resolve_settings
from .discover import ALWAYS_SKIPPED_DIRS, IGNORE_FILES
from .embed.protocol import Embedder
from .index import index_repo
from .types import IndexStats

DEBOUNCE_S = 0.15
"""Quiet time that closes a batch (seconds)."""

MAX_DELAY_S = 1.0
"""A batch is processed at the latest this long after its first event, even if events keep coming (seconds)."""


@dataclass(frozen=True, slots=True)
class Batch:
    """One processed batch of changes.

    Attributes:
        paths: repository-relative paths that changed (empty for a full refresh).
        full: the whole tree was refreshed (directory or ignore-file change).
        stats: the refresh's :class:`~codegraph.types.IndexStats`.
        latency_s: from the batch's first event to the end of the refresh (seconds).
    """

    paths: frozenset[str]
    full: bool
    stats: IndexStats
    latency_s: float


class _Collector(FileSystemEventHandler):
    """watchdog event handler that accumulates relative paths (thread-safe)."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = str(root)
        self.lock = threading.Lock()
        self.paths: set[str] = set()
        self.full = False
        self.first_event = 0.0
        self.wakeup = threading.Event()

    def on_any_event(self, event: Any) -> None:
        kind = event.event_type
        if kind in ("opened", "closed_no_write"):
            return
        if event.is_directory and kind == "modified":
            return  # a directory's mtime changes with every file in it; the file events say what changed
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if not raw:
                continue
            path = os.fsdecode(raw)
            rel = os.path.relpath(path, self.root).replace(os.sep, "/")
            if rel.startswith("../") or rel == "..":
                continue
            parts = rel.split("/")
            if any(part in ALWAYS_SKIPPED_DIRS for part in parts):
                continue
            with self.lock:
                if not self.paths and not self.full:
                    self.first_event = time.monotonic()
                if event.is_directory or parts[-1] in IGNORE_FILES or rel == ".":
                    self.full = True
                else:
                    self.paths.add(rel)
            self.wakeup.set()

    def take(self) -> tuple[frozenset[str], bool, float]:
        with self.lock:
            out = (frozenset(self.paths), self.full, self.first_event)
            self.paths.clear()
            self.full = False
            return out


def watch_repo(
    root: Path,
    embedder: Embedder,
    *,
    settings: Settings | None = None,
    on_batch: Callable[[Batch], None] | None = None,
    on_ready: Callable[[], None] | None = None,
    stop: threading.Event | None = None,
    debounce_s: float = DEBOUNCE_S,
    max_delay_s: float = MAX_DELAY_S,
) -> None:
    """Watch ``root`` and refresh its index after every batch of changes, until ``stop`` is set (or Ctrl-C).

    The caller should run a full :func:`~codegraph.index.index_repo` first; this only applies changes.

    Args:
        root: repository root with an index (or one to create).
        embedder: the index's model.
        settings: resolved settings (default: from ``root``).
        on_batch: called after each refresh with a :class:`Batch`.
        on_ready: called once the observer is running (events from then on are seen).
        stop: set it to return; ``None`` runs until KeyboardInterrupt.
        debounce_s: quiet time that closes a batch (seconds).
        max_delay_s: longest wait from a batch's first event to its processing (seconds).

    Raises:
        KeyboardInterrupt: propagated after the observer stopped; the index is consistent.
        CodegraphError: from the refresh (e.g. IndexBusyError).
    """
    from watchdog.observers import Observer

    root = root.resolve()
    settings = settings or resolve_settings(root)
    stop = stop or threading.Event()
    collector = _Collector(root)
    observer = Observer()
    observer.schedule(collector, str(root), recursive=True)
    observer.start()
    try:
        if on_ready is not None:
            on_ready()
        while not stop.is_set():
            if not collector.wakeup.wait(timeout=0.2):
                continue
            # debounce: wait for a quiet gap, but never longer than max_delay_s after the first event
            while True:
                collector.wakeup.clear()
                with collector.lock:
                    waited = time.monotonic() - collector.first_event
                if waited >= max_delay_s or not collector.wakeup.wait(timeout=min(debounce_s, max_delay_s - waited)):
                    break
            paths, full, first = collector.take()
            if not paths and not full:
                continue
            stats = index_repo(root, embedder, settings=settings, paths=None if full else paths)
            if on_batch is not None:
                on_batch(Batch(paths=paths, full=full, stats=stats, latency_s=time.monotonic() - first))
    finally:
        observer.stop()
        observer.join(timeout=5)
