"""What the index holds and how far it is behind the working tree (``codegraph status``, ``index --check``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .changes import check_file
from .config import Settings, resolve_settings
from .discover import walk_files
from .store import IndexStore, open_store
from .store.lock import Writer

STATUS_STALE_PATHS = 50
"""Most paths per list (new, changed, removed) in ``codegraph status --json``."""

IndexState = Literal["empty", "building", "incomplete", "complete"]
"""``building``: a process holds the writer lock now; ``incomplete``: the last run did not finish (interrupted
or killed; ``meta.run_started_at`` later than ``meta.last_indexed_at``); ``empty``: no chunks; else
``complete``."""


def index_state(store: IndexStore) -> tuple[IndexState, Writer | None]:
    """The index's state and, when ``building``, the writing process. Cheap: no walk of the tree."""
    writer = store.writer()
    if writer is not None:
        return "building", writer
    started, last = store.get_meta("run_started_at"), store.get_meta("last_indexed_at")
    if started and (not last or float(started) > float(last)):
        return "incomplete", None
    if store.count("chunks") == 0:
        return "empty", None
    return "complete", None


def state_hint(state: IndexState, writer: Writer | None) -> str | None:
    """One line telling a user why results may be missing, or ``None`` when the index is ``complete``."""
    if state == "building" and writer is not None:
        who = f"pid {writer.pid}: {writer.command}" if writer.pid else "another process"
        return f"codegraph: the index is being built ({who}); results may be incomplete until it finishes"
    if state == "incomplete":
        return (
            "codegraph: the last index run did not finish (interrupted?); results may be incomplete; "
            "run: codegraph index"
        )
    if state == "empty":
        return "codegraph: the index is empty; run: codegraph index"
    return None


@dataclass(slots=True)
class Staleness:
    """Files whose indexed state differs from the tree (repository-relative POSIX paths, sorted).

    Attributes:
        new: indexable files the index does not have.
        changed: indexed files whose content differs (size/mtime changed *and* content hash differs).
        removed: indexed files that are gone, now ignored, or no longer indexable.
    """

    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Number of stale files."""
        return len(self.new) + len(self.changed) + len(self.removed)

    def to_json(self, *, limit: int | None = None) -> dict[str, Any]:
        """``{"count", "new", "changed", "removed", "truncated"}``: the ``stale`` object of ``codegraph status
        --json``; with ``limit``, each path list holds at most ``limit`` paths and ``truncated`` says whether any
        was cut (``count`` always counts them all; ``index --check --json`` lists every path)."""
        end = limit if limit is not None else None
        return {
            "count": self.count,
            "new": self.new[:end],
            "changed": self.changed[:end],
            "removed": self.removed[:end],
            "truncated": limit is not None and max(len(self.new), len(self.changed), len(self.removed)) > limit,
        }

    def check_json(self) -> dict[str, Any]:
        """``{"fresh", "new", "changed", "removed"}``: what ``codegraph index --check --json`` prints."""
        return {"fresh": self.count == 0, "new": self.new, "changed": self.changed, "removed": self.removed}


@dataclass(frozen=True, slots=True)
class VectorsStatus:
    """How the index stores its vectors (:mod:`codegraph.store.vectors`).

    Attributes:
        setting: the ``vectors`` setting it was last indexed with (``auto``, ``float``, ``int8``, ``binary``).
        format: what the vector table holds now: ``float``, ``int8`` or ``binary``.
        dims: the stored vectors' width.
        pca: whether they are PCA-reduced (``vector_dims``).
        size_bytes: bytes of the vector table on disk (``dbstat``).
    """

    setting: str
    format: str
    dims: int
    pca: bool
    size_bytes: int

    def to_json(self) -> dict[str, Any]:
        """``{"setting", "format", "dims", "pca", "size_bytes"}``."""
        return {
            "setting": self.setting,
            "format": self.format,
            "dims": self.dims,
            "pca": self.pca,
            "size_bytes": self.size_bytes,
        }


def vectors_status(store: IndexStore) -> VectorsStatus | None:
    """The vectors' representation and size (the SQLite file's vector table; on PostgreSQL the model's HNSW
    index and the project's share of the embeddings table), or ``None`` before a model has bound the index."""
    vector_bytes = getattr(store, "vector_bytes", None)  # both backends have it; not part of IndexStore
    if vector_bytes is None or not store.has_vectors():
        return None
    codec = store.vector_codec()
    return VectorsStatus(
        setting=store.get_meta("vectors") or "float",
        format=codec.format,
        dims=codec.width,
        pca=codec.components is not None,
        size_bytes=int(vector_bytes()),
    )


@dataclass(slots=True)
class IndexStatus:
    """A snapshot of an index.

    Attributes:
        root: repository root (absolute).
        database: path of ``index.db``, or for a PostgreSQL store ``<server URL without password>#<project>``.
        model: model id that built it (``None`` if never filled).
        model_sha256: hex sha256 of that model's ``model.onnx`` (``None`` if not recorded).
        files: indexed files.
        chunks: indexed chunks.
        embeddings: cached embeddings (including ones no chunk uses now).
        size_bytes: bytes on disk (database plus its WAL), or the project's share of the server's tables.
        last_indexed_at: unix time of the last completed ``index`` run, or ``None``.
        stale: see :class:`Staleness`.
        state: see :data:`IndexState`.
        writer: the process building the index when ``state`` is ``building``, else ``None``.
        vectors: see :class:`VectorsStatus`.
    """

    root: Path
    database: Path | str
    model: str | None
    model_sha256: str | None
    files: int
    chunks: int
    embeddings: int
    size_bytes: int
    last_indexed_at: float | None
    stale: Staleness
    state: IndexState = "complete"
    writer: Writer | None = None
    vectors: VectorsStatus | None = None

    def to_json(self) -> dict[str, Any]:
        """The snapshot as printed by ``codegraph status --json`` (paths as strings)."""
        return {
            "root": str(self.root),
            "database": str(self.database),
            "model": self.model,
            "model_sha256": self.model_sha256,
            "files": self.files,
            "chunks": self.chunks,
            "embeddings": self.embeddings,
            "size_bytes": self.size_bytes,
            "last_indexed_at": self.last_indexed_at,
            "stale": self.stale.to_json(limit=STATUS_STALE_PATHS),
            "state": self.state,
            "writer": None
            if self.writer is None
            else {"pid": self.writer.pid, "command": self.writer.command, "started_at": self.writer.started_at},
            "vectors": None if self.vectors is None else self.vectors.to_json(),
        }


def find_stale(store: IndexStore, *, settings: Settings) -> Staleness:
    """Compare the tree under ``store.root`` with the index, reading only files whose size or mtime changed.

    A file whose stat changed but whose bytes hash to the indexed content hash is not stale.
    """
    known = store.file_rows()
    out = Staleness()
    seen: set[str] = set()
    for file in walk_files(store.root, max_file_bytes=settings.max_file_bytes):
        check = check_file(file, known.get(file.path))
        if check.kind == "unreadable":
            continue  # not indexable: if it was indexed, it counts as removed below
        seen.add(file.path)
        if check.kind == "new":
            out.new.append(file.path)
        elif check.kind == "changed":
            out.changed.append(file.path)
    out.removed = sorted(set(known) - seen)
    out.new.sort()
    out.changed.sort()
    return out


def index_status(root: Path, *, settings: Settings | None = None) -> IndexStatus:
    """Status of the index of ``root`` (its ``.codegraph/index.db``, or its project of the PostgreSQL store that
    ``settings.store`` names).

    Raises:
        IndexNotFoundError: no index at ``root``.
        StoreError: the index cannot be opened.
    """
    settings = settings or resolve_settings(root)
    store = open_store(root, settings=settings)
    try:
        return status_of(store, settings=settings)
    finally:
        store.close()


def status_of(store: IndexStore, *, settings: Settings) -> IndexStatus:
    """Status of an open index (see :class:`IndexStatus`); walks ``store.root`` for stale files."""
    last = store.get_meta("last_indexed_at")
    state, writer = index_state(store)
    return IndexStatus(
        root=store.root,
        database=store.location(),
        model=store.get_meta("model_id"),
        model_sha256=store.get_meta("model_sha256"),
        files=store.count("files"),
        chunks=store.count("chunks"),
        embeddings=store.count("embeddings"),
        size_bytes=store.size_bytes(),
        last_indexed_at=float(last) if last else None,
        stale=find_stale(store, settings=settings),
        state=state,
        writer=writer,
        vectors=vectors_status(store),
    )
