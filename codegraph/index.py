"""The indexer: discover → chunk → hash → cache lookup → embed misses → store.

Crash safety: changed files are chunked, embedded and stored in groups as the walk goes on (:class:`_Run`);
embeddings are committed to the content-hash cache batch by batch as they are computed, and each group's
files are replaced together with their ``files`` rows in one transaction, after all their embeddings exist. A
crash or Ctrl-C therefore keeps every finished group and leaves every file either fully old or fully new; the
next run sees the stale ``size``/``mtime_ns`` of the rest and finishes the work, re-using every embedding
already cached. ``meta.run_started_at`` later than ``meta.last_indexed_at`` marks an unfinished run.

Many changed files are read, parsed and chunked by worker processes (:mod:`codegraph.prepare`; setting
``index_workers``) while this process embeds and stores what they return, in discovery order: the same index as
one process would write.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .chunk import CHUNKER_VERSION
from .config import Settings, resolve_settings
from .discover import Skipped, read_source, stat_paths, undecodable_name, walk_files
from .embed.protocol import Embedder
from .errors import IndexUnusableError, SourceError
from .graph import GRAPH_VERSION
from .graph.extract import FileGraph
from .graph.packages import record_packages
from .prepare import PreparedFile, default_workers, parse_source, prepare_files
from .prepare import cache_key as cache_key  # re-exported: benchmarks and callers key embeddings with it
from .store import IndexStore, Store, index_lock, open_store, store_url
from .store.lock import DEFAULT_WAIT_S
from .store.rebuild import RebuildReport, empty_project, fresh_sqlite_index
from .store.sqlite import REBUILD_HINT
from .types import IndexStats, ProgressFn, SourceFile

if TYPE_CHECKING:
    import numpy.typing as npt


EMBED_COMMIT_ROWS = 64
"""Embeddings per cache transaction while embedding (a crash loses at most this many)."""

STORE_FILES_PER_TXN = 200
"""Files per transaction when writing chunks (and most files in one group of :class:`_Run`)."""

VERIFY_MAX_BYTES = 32 << 20
"""A SQLite index up to this size is checked for damage (``PRAGMA quick_check``) at the start of every run:
~0.2 s at this size on the development machine (the check reads the whole file at ~170 MB/s: 2.7-3.0 s for a
480 MB index, whose no-change ``index`` takes 2.1 s). Larger ones are checked every :data:`VERIFY_EVERY_S`
(recorded in ``meta.verified_at``), and on ``codegraph index --verify``. Damage that only reading reveals (SQLite
has no page checksums) is otherwise found only by the query that reads the damaged page."""

VERIFY_EVERY_S = 7 * 24 * 3600.0
"""How often a run checks a SQLite index larger than :data:`VERIFY_MAX_BYTES` (seconds)."""

GROUP_CHUNKS = 4096
"""Most chunks in one group: changed files are embedded and stored group by group, so an interrupted run keeps
every finished group and memory holds one group's chunks at a time."""


def _check_root(root: Path) -> Path:
    if not root.exists():
        raise SourceError(f"{root}: no such directory")
    if not root.is_dir():
        raise SourceError(f"{root}: not a directory (codegraph indexes a directory tree)")
    return root.resolve()


def index_repo(
    root: Path,
    embedder: Embedder,
    *,
    settings: Settings | None = None,
    progress: ProgressFn | None = None,
    lock_timeout_s: float = DEFAULT_WAIT_S,
    on_wait: Callable[[], None] | None = None,
    paths: Iterable[str] | None = None,
    rebuild: bool = False,
) -> IndexStats:
    """Build or refresh the index of ``root`` in ``root/.codegraph/index.db``, or in its project of the
    PostgreSQL store that ``settings.store`` names.

    Unchanged files (same size and mtime_ns, or same content hash) are not re-chunked; chunks whose cache key
    is already stored are not re-embedded; files that vanished or became ignored leave the index.

    Args:
        root: repository root directory.
        embedder: the model (see :class:`Embedder`); if the index was built with another model or chunker
            version it is emptied and rebuilt (``stats.rebuilt``).
        settings: resolved settings (default: resolved from ``root``'s config and the environment);
            ``index_workers`` processes prepare the changed files when more than
            :data:`~codegraph.prepare.PARALLEL_MIN_FILES` need reading (a calling script needs the
            ``if __name__ == "__main__":`` guard then, see :mod:`codegraph.prepare`).
        progress: optional callback, see :data:`~codegraph.types.ProgressFn`.
        lock_timeout_s: how long to wait while another process writes the index (seconds).
        on_wait: called once when that wait begins.
        paths: refresh only these repository-relative paths (``watch`` passes the files it saw change);
            ``None`` walks the whole tree.
        rebuild: start from an empty index that keeps the stored snippets and test runs (a new SQLite file,
            the old one's readable rows copied over; a PostgreSQL project's files emptied), then index every
            file (see :mod:`codegraph.store.rebuild`); ``stats.rebuild`` says what was kept and lost.

    Returns:
        :class:`~codegraph.types.IndexStats` for this run.

    Raises:
        SourceError: ``root`` does not exist or is not a directory.
        StoreError, IndexUnusableError: the database cannot be opened or is from a newer codegraph.
        IndexBusyError: another writer held the index for longer than ``lock_timeout_s``.
        IndexUnusableError: the SQLite file is damaged (found by the check of :data:`VERIFY_MAX_BYTES`); the
            message says to run ``codegraph index --rebuild``.
        KeyboardInterrupt: propagated; the index stays consistent (see module docstring).
    """
    started = time.perf_counter()
    root = _check_root(root)
    settings = settings or resolve_settings(root)
    report = progress or (lambda stage, done, total: None)
    stats = IndexStats(model=embedder.model_id)
    with index_lock(root, settings=settings, timeout_s=lock_timeout_s, on_wait=on_wait):
        if rebuild:
            stats.rebuild = _fresh_index(root, settings).to_json()
        _index_locked(root, embedder, settings, report, stats, None if paths is None else set(paths))
    stats.seconds = time.perf_counter() - started
    return stats


def _fresh_index(root: Path, settings: Settings) -> RebuildReport:
    """Empty the index for ``--rebuild``, keeping snippets and test runs (the writer lock is held)."""
    if store_url(settings) is None:
        return fresh_sqlite_index(root)
    store = open_store(root, create=True, settings=settings)
    try:
        return empty_project(store)
    finally:
        store.close()


def verify_index(store: IndexStore) -> None:
    """Check a SQLite index for damage (``PRAGMA quick_check``; reads the whole file) and record when.

    Raises:
        IndexUnusableError: damage found; the message says to run ``codegraph index --rebuild``.
    """
    if not isinstance(store, Store):
        return  # PostgreSQL keeps its own pages consistent (and checksums them where the cluster enables it)
    problems = store.quick_check()
    if problems:
        first = " ".join(problems[0].replace("*** in database main ***", "").split())[:160]
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        raise IndexUnusableError(f"the index is damaged (PRAGMA quick_check: {first}{more}); {REBUILD_HINT}")
    if not store.read_only:
        store.set_meta({"verified_at": f"{time.time():.3f}"})


def _due_for_check(store: IndexStore) -> bool:
    """Whether this run checks the SQLite file first (see :data:`VERIFY_MAX_BYTES`)."""
    if not isinstance(store, Store):
        return False
    if store.database.stat().st_size <= VERIFY_MAX_BYTES:
        return True
    last = store.get_meta("verified_at")
    return last is None or time.time() - float(last) > VERIFY_EVERY_S


def _index_locked(
    root: Path, embedder: Embedder, settings: Settings, report: ProgressFn, stats: IndexStats, paths: set[str] | None
) -> None:
    store = open_store(root, create=True, settings=settings)
    try:
        if paths is None and _due_for_check(store):  # watch's small refreshes never pay for it
            verify_index(store)
            stats.verified = True
        previous_model = store.get_meta("model_id") or ""
        previous_vectors = store.vector_codec().format if store.has_vectors() else ""
        stats.rebuilt = store.bind_model(
            embedder.model_id,
            embedder.dim,
            chunker_version=CHUNKER_VERSION,
            model_sha256=embedder.model_sha256,
            vectors=settings.vectors,
            vector_dims=settings.vector_dims,
        )
        if stats.rebuilt:
            stats.previous_model, stats.previous_vectors = previous_model, previous_vectors
        store.set_meta({"run_started_at": f"{time.time():.3f}"})
        # Names that are not UTF-8 cannot be stored (stat_paths reports them); watch passes whatever changed.
        known = store.file_rows(None if paths is None else [p for p in paths if not undecodable_name(p)])
        skipped: list[Skipped] = []
        binary: list[str] = []
        if paths is None:
            files = list(walk_files(root, max_file_bytes=settings.max_file_bytes, skipped=skipped, binary=binary))
        else:
            files = stat_paths(root, paths, max_file_bytes=settings.max_file_bytes, skipped=skipped, binary=binary)
        stats.files_seen = len(files)
        stats.files_binary = len(binary)
        seen_paths = {f.path for f in files}

        run = _Run(store, embedder, stats, report)
        touched: list[tuple[int, int, int]] = []
        regraph = store.get_meta("graph_version") != GRAPH_VERSION  # built before this graph extraction
        stale_graphs: list[SourceFile] = []
        notes: list[str] = []
        workers = settings.index_workers or default_workers()
        with closing(prepare_files(files, known, embedder, workers=workers, notes=notes)) as outcomes:
            for n, (file, check, prepared) in enumerate(outcomes, 1):
                row = known.get(file.path)
                if check.kind == "unreadable":
                    skipped.append(Skipped(file.path, check.reason))
                    seen_paths.discard(file.path)
                elif check.kind in ("unchanged", "touched"):
                    if row is not None and check.kind == "touched":  # same bytes, new mtime
                        touched.append((row.id, file.size, file.mtime_ns))
                    if regraph:
                        stale_graphs.append(file)
                    stats.files_unchanged += 1
                elif prepared is not None:
                    run.add(prepared)
                report("chunk", n, len(files))
        run.finish()
        stats.files_skipped = len(skipped)
        stats.warnings = [f"{s.path}: {s.reason}" for s in skipped] + notes
        if touched:
            store.touch_files(touched)
        _refresh_graphs(store, stale_graphs, report)
        store.set_meta({"graph_version": GRAPH_VERSION})
        record_packages(store, root)  # read every run: the manifests may not be indexed files (graph.packages)
        stats.files_removed = store.remove_files(sorted(set(known) - seen_paths))
        store.settle_vectors()  # convert the vectors once the index is large enough (codegraph.store.vectors)
        stats.vectors = store.vector_codec().format
        stats.chunks = store.count("chunks")
        looked_up = stats.cache_hits + stats.embedded
        stats.cache_hit_ratio = round(stats.cache_hits / looked_up, 4) if looked_up else 1.0
        store.set_meta({"last_indexed_at": f"{time.time():.3f}"})
    finally:
        store.close()


def _refresh_graphs(store: IndexStore, files: list[SourceFile], report: ProgressFn) -> None:
    """Extract and store the code graph of unchanged files (an index built before the graph, or by another
    extraction version): parsed again, never re-chunked or re-embedded; written :data:`STORE_FILES_PER_TXN`
    files per transaction."""
    batch: list[tuple[str, FileGraph]] = []
    for n, file in enumerate(files, 1):
        try:
            _data, text, language = read_source(file)
        except (OSError, ValueError):
            continue  # unreadable now: the next run drops or re-indexes it
        _tree, graph = parse_source(language, text)
        if graph is not None:
            batch.append((file.path, graph))
        if len(batch) >= STORE_FILES_PER_TXN or n == len(files):
            store.replace_graphs(batch)
            batch = []
        report("graph", n, len(files))
    if batch:
        store.replace_graphs(batch)


class _Run:
    """The changed files of one run, embedded and stored group by group as chunking goes on, so that an
    interrupted first index keeps every finished group (files, chunks and embeddings), not only its embeddings.

    A group closes at :data:`STORE_FILES_PER_TXN` files or :data:`GROUP_CHUNKS` chunks: its missing embeddings
    are computed (committed every :data:`EMBED_COMMIT_ROWS`), then its files are written in one transaction.
    """

    def __init__(self, store: IndexStore, embedder: Embedder, stats: IndexStats, report: ProgressFn) -> None:
        self.store, self.embedder, self.stats, self.report = store, embedder, stats, report
        self.group: list[PreparedFile] = []
        self.group_chunks = 0
        self.embedded_now: set[bytes] = set()  # keys embedded by this run: not cache hits when seen again
        self.to_embed = 0  # distinct texts found missing so far (the embed bar's total)
        self.stored = 0

    def add(self, pending: PreparedFile) -> None:
        self.group.append(pending)
        self.group_chunks += len(pending.keys)
        self.stats.files_changed += 1
        if len(self.group) >= STORE_FILES_PER_TXN or self.group_chunks >= GROUP_CHUNKS:
            self.flush()

    def finish(self) -> None:
        self.flush()

    def flush(self) -> None:
        if not self.group:
            return
        ids = self._embed_missing(self.group)
        for start in range(0, len(self.group), STORE_FILES_PER_TXN):
            part = self.group[start : start + STORE_FILES_PER_TXN]
            self.stats.chunks_new += self.store.replace_files(
                [(p.file, p.language, p.content_hash, p.chunks, [ids[k] for k in p.keys], p.graph) for p in part]
            )
            self.stored += len(part)
            self.report("store", self.stored, self.stats.files_changed)
        self.group, self.group_chunks = [], 0

    def _embed_missing(self, group: list[PreparedFile]) -> dict[bytes, int]:
        """Embedding id for every key of ``group``: from the cache, or embedded now and committed per batch."""
        texts_by_key: dict[bytes, str] = {}
        for p in group:
            for text, key in zip(p.texts, p.keys, strict=True):
                texts_by_key.setdefault(key, text)
        ids = self.store.lookup_embeddings(list(texts_by_key))
        missing = [k for k in texts_by_key if k not in ids]
        self.stats.cache_hits += sum(1 for p in group for k in p.keys if k in ids and k not in self.embedded_now)
        self.stats.embedded += len(missing)
        self.embedded_now.update(missing)
        done = self.to_embed
        self.to_embed += len(missing)
        self.report("embed", done, self.to_embed)
        buf_keys: list[bytes] = []
        buf_vecs: list[npt.NDArray[np.float32]] = []

        def flush() -> None:
            if buf_keys:
                ids.update(zip(buf_keys, self.store.add_embeddings(buf_keys, np.vstack(buf_vecs)), strict=True))
                buf_keys.clear()
                buf_vecs.clear()

        truncated_before = getattr(self.embedder, "truncated", 0)
        batches = self.embedder.iter_embed_documents([texts_by_key[k] for k in missing])
        while True:
            try:
                idx, vectors = next(batches)
            except StopIteration:
                break
            except BaseException:
                flush()  # the encoder failed or was interrupted: keep what it delivered (a remote API's, paid for)
                raise
            buf_keys.extend(missing[i] for i in idx)
            buf_vecs.append(vectors)
            done += len(idx)
            if len(buf_keys) >= EMBED_COMMIT_ROWS:
                flush()
            self.report("embed", done, self.to_embed)
        flush()
        self.stats.truncated += getattr(self.embedder, "truncated", 0) - truncated_before
        return ids
