"""What the index holds and how far it is behind the working tree (``codegraph status``, ``index --check``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .changes import check_file
from .config import Settings, resolve_settings
from .discover import walk_files
from .store import INDEX_DIR, INDEX_FILE, Store


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

    def to_json(self) -> dict[str, Any]:
        """``{"count", "new", "changed", "removed"}``: the ``stale`` object of ``codegraph status --json``."""
        return {"count": self.count, "new": self.new, "changed": self.changed, "removed": self.removed}

    def check_json(self) -> dict[str, Any]:
        """``{"fresh", "new", "changed", "removed"}``: what ``codegraph index --check --json`` prints."""
        return {"fresh": self.count == 0, "new": self.new, "changed": self.changed, "removed": self.removed}


@dataclass(slots=True)
class IndexStatus:
    """A snapshot of an index.

    Attributes:
        root: repository root (absolute).
        database: path of ``index.db``.
        model: model id that built it (``None`` if never filled).
        model_sha256: hex sha256 of that model's ``model.onnx`` (``None`` if not recorded).
        files: indexed files.
        chunks: indexed chunks.
        embeddings: cached embeddings (including ones no chunk uses now).
        size_bytes: bytes on disk (database plus its WAL).
        last_indexed_at: unix time of the last completed ``index`` run, or ``None``.
        stale: see :class:`Staleness`.
    """

    root: Path
    database: Path
    model: str | None
    model_sha256: str | None
    files: int
    chunks: int
    embeddings: int
    size_bytes: int
    last_indexed_at: float | None
    stale: Staleness

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
            "stale": self.stale.to_json(),
        }


def find_stale(store: Store, *, settings: Settings) -> Staleness:
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
    """Status of the index at ``root`` (which must hold ``.codegraph/index.db``).

    Raises:
        IndexNotFoundError: no index at ``root``.
    """
    store = Store.open(root)
    try:
        database = root / INDEX_DIR / INDEX_FILE
        wal = database.with_name(INDEX_FILE + "-wal")
        last = store.get_meta("last_indexed_at")
        return IndexStatus(
            root=root,
            database=database,
            model=store.get_meta("model_id"),
            model_sha256=store.get_meta("model_sha256"),
            files=store.count("files"),
            chunks=store.count("chunks"),
            embeddings=store.count("embeddings"),
            size_bytes=database.stat().st_size + (wal.stat().st_size if wal.exists() else 0),
            last_indexed_at=float(last) if last else None,
            stale=find_stale(store, settings=settings or resolve_settings(root)),
        )
    finally:
        store.close()
