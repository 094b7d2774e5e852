"""The storage interface: what the indexer, search, status, watch, the code graph and the stored snippets and
test runs of ``generate`` / ``test`` ask of an index.

Two backends implement it: :class:`codegraph.store.store.Store` (one SQLite file, ``.codegraph/index.db``, the
default) and :class:`codegraph.store.postgres.PgStore` (a PostgreSQL + pgvector server shared by many projects,
chosen with ``--store postgresql://...``). :func:`codegraph.store.open_store` picks one from the settings.

Conventions shared by both: paths are repository-relative POSIX strings; lines are 1-based and inclusive;
every write method runs in one transaction, so a crash leaves the previous consistent state; cosine distance is
in [0, 2] (lower is nearer); keyword scores are higher-is-better. Backend errors surface as
:class:`~codegraph.errors.StoreError` with a message that says what to do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ..graph.extract import FileGraph
    from ..types import Chunk, Snippet, SnippetDraft, SourceFile
    from .graph import DefRow, ImportRow, RefRow
    from .lock import Writer
    from .snippets import TestRun, TestRunDraft
    from .store import ChunkRow, FileRow, RowFilter
    from .vectors import VectorCodec


class IndexStore(Protocol):
    """An open index (one project of a store). Close it with :meth:`close` or ``with``.

    Attributes:
        root: the repository root the index belongs to (absolute).
        backend: ``"sqlite"`` or ``"postgresql"``.
    """

    root: Path
    backend: str

    def close(self) -> None:
        """Release the connection."""

    def reopen(self, *, any_thread: bool = False) -> IndexStore:
        """Another connection to the same index (project and scope), for another thread (``any_thread``: for
        any thread, callers serialising); close it when done."""
        ...

    def replaced(self) -> bool:
        """Whether the index this store reads was replaced since it was opened (``codegraph index --rebuild``,
        or the file deleted and built again), so that a long-lived reader should :meth:`reopen`."""
        ...

    def __enter__(self) -> IndexStore: ...

    def __exit__(self, *exc: object) -> None: ...

    def transaction(self) -> AbstractContextManager[None]:
        """A write transaction, rolled back on any exception (KeyboardInterrupt included)."""
        ...

    # -- meta, model ------------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A value of the index's ``meta`` table, or ``None``."""
        ...

    def set_meta(self, items: dict[str, str]) -> None:
        """Upsert ``meta`` values."""

    def has_vectors(self) -> bool:
        """Whether a model has bound the index (the vector table/index exists)."""
        ...

    def bind_model(
        self,
        model_id: str,
        dim: int,
        *,
        chunker_version: str = "",
        model_sha256: str = "",
        vectors: str = "auto",
        vector_dims: int | None = None,
    ) -> bool:
        """Record the model, chunker and vector setting (see :mod:`codegraph.store.vectors`) that fill this index;
        empty it first if others built it. Returns whether it was emptied because of such a change.

        Raises:
            ConfigError: a vector setting this store cannot hold.
        """
        ...

    def vector_codec(self) -> VectorCodec:
        """How stored vectors are represented (format, width, int8 scale, PCA)."""
        ...

    def settle_vectors(self) -> bool:
        """At the end of an index run: convert the stored vectors to the representation the setting asks for
        now (``auto`` turns int8 above a size), in one transaction; returns whether they were converted."""
        ...

    # -- files and chunks -----------------------------------------------------------------------------------
    def file_rows(self, paths: Iterable[str] | None = None) -> dict[str, FileRow]:
        """Indexed files by path: all, or only those among ``paths``."""
        ...

    def touch_files(self, updates: Sequence[tuple[int, int, int]]) -> None:
        """Record new ``(id, size in bytes, mtime_ns)`` of files whose content did not change."""

    def remove_files(self, paths: Iterable[str]) -> int:
        """Drop files with their chunks and graph rows. Returns how many paths were given."""
        ...

    def replace_files(
        self, items: Sequence[tuple[SourceFile, str, str, Sequence[Chunk], Sequence[int], FileGraph | None]]
    ) -> int:
        """Replace files' chunks and graphs in one transaction: ``(file, language, content_hash, chunks,
        embedding_ids, graph)``. Returns the number of chunks written."""
        ...

    def replace_graphs(self, items: Sequence[tuple[str, FileGraph]]) -> None:
        """Replace the code graphs of indexed files by path (unknown paths skipped), one transaction."""

    # -- embeddings cache -----------------------------------------------------------------------------------
    def lookup_embeddings(self, keys: Sequence[bytes]) -> dict[bytes, int]:
        """Embedding ids of the 16-byte cache keys already stored (missing keys absent)."""
        ...

    def add_embeddings(self, keys: Sequence[bytes], vectors: npt.NDArray[np.float32]) -> list[int]:
        """Store float32 ``(len(keys), dim)`` vectors under their keys (one transaction). Returns their ids."""
        ...

    # -- search -----------------------------------------------------------------------------------------------
    def knn(self, vector: npt.NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """Up to ``k`` nearest embeddings used by this index: ``[(embedding_id, cosine distance)]``, nearest
        first."""
        ...

    def cosine_scan(
        self, vector: npt.NDArray[np.float32], *, limit: int, where: RowFilter | None = None
    ) -> list[tuple[int, float]]:
        """Exact scan: the ``limit`` chunks nearest to ``vector`` among those passing ``where``:
        ``[(chunk_id, cosine distance)]``, nearest first."""
        ...

    def bm25(self, query: str, k: int, *, where: RowFilter | None = None) -> list[tuple[int, float]]:
        """Best ``k`` chunks for a keyword query: ``[(chunk_id, score)]``, best first, higher is better."""
        ...

    def chunks_by_embedding(
        self, embedding_ids: Sequence[int], *, where: RowFilter | None = None
    ) -> dict[int, list[ChunkRow]]:
        """Chunks using each embedding id that pass ``where``."""
        ...

    def chunks_by_id(self, chunk_ids: Sequence[int], *, where: RowFilter | None = None) -> dict[int, ChunkRow]:
        """Chunks by id (those that pass ``where``)."""
        ...

    def find_definition(self, path: str, name: str) -> tuple[int, int, str] | None:
        """``(span_start, span_end, language)`` of the first definition ``name`` in ``path``, or ``None``."""
        ...

    def find_definitions(
        self, name: str, *, scope: str | None = None, limit: int = 50, where: RowFilter | None = None
    ) -> list[ChunkRow]:
        """Function, method and class chunks named ``name`` (exact case first), up to ``limit``."""
        ...

    def file_languages(self) -> dict[str, str]:
        """Every indexed file's path mapped to its language id."""
        ...

    def indexed_files(self, language: str) -> list[tuple[str, int]]:
        """``(path, size in bytes)`` of every indexed file of ``language``, by path."""
        ...

    def count(self, table: str) -> int:
        """Rows of ``files``, ``chunks``, ``embeddings`` or a graph table in this index."""
        ...

    def check_integrity(self) -> str:
        """``"ok"`` when healthy, else what is wrong."""
        ...

    # -- the code graph ---------------------------------------------------------------------------------------
    def definitions_named(self, name: str) -> list[DefRow]:
        """Definitions whose bare name is ``name``, in path and line order."""
        ...

    def definitions_in(self, path: str) -> list[DefRow]:
        """The definitions of one file, in line order."""
        ...

    def references_named(self, name: str, kinds: Sequence[str] | None = None) -> list[RefRow]:
        """References to the bare name ``name`` (of ``kinds``), in path and line order."""
        ...

    def references_in(self, path: str, enclosing: str | None, kinds: Sequence[str] | None = None) -> list[RefRow]:
        """References made inside ``enclosing`` of ``path`` (``None``: the whole file), in line order."""
        ...

    def all_definitions(self) -> list[DefRow]:
        """Every definition, in path and line order."""
        ...

    def all_references(self) -> list[RefRow]:
        """Every reference, in path and line order."""
        ...

    def all_imports(self) -> list[ImportRow]:
        """Every import statement, in path and line order."""
        ...

    def file_hashes(self) -> Iterator[tuple[str, str]]:
        """``(path, xxh3-128 hex content hash)`` of every indexed file, in path order."""
        ...

    def ranks(self) -> list[tuple[DefRow, float]]:
        """The stored PageRank of every definition, best first."""
        ...

    def definition_ids(self) -> dict[tuple[str, int, str], int]:
        """``{(path, start_line, name): definition id}``."""
        ...

    def store_ranks(self, fingerprint: str, scores: Sequence[tuple[int, float]]) -> None:
        """Replace the stored PageRank (one transaction). Raises StoreError when it cannot be written."""

    # -- snippets and test runs (see codegraph.store.snippets) ---------------------------------------------------
    def insert_snippet(self, draft: SnippetDraft) -> int:
        """Store one snippet revision (one transaction; ``created_at`` is now). Returns its id."""
        ...

    def select_snippet(self, snippet_id: int) -> Snippet | None:
        """The snippet with this id (of this project), or ``None``."""
        ...

    def select_snippets(self) -> list[Snippet]:
        """Every snippet (of this project), newest first."""
        ...

    def delete_snippet(self, snippet_id: int) -> bool:
        """Delete one revision and its test runs (child revisions keep a ``None`` parent). Returns whether it
        existed."""
        ...

    def insert_test_run(self, run: TestRunDraft) -> int:
        """Record one round of ``codegraph test`` (one transaction). Returns its id."""
        ...

    def select_test_runs(self, snippet_id: int) -> list[TestRun]:
        """The test runs of one snippet revision (of this project), oldest first."""
        ...

    # -- status -----------------------------------------------------------------------------------------------
    def location(self) -> str:
        """Where the index lives, for people: the database file, or the server URL (password removed) and
        project name."""
        ...

    def size_bytes(self) -> int:
        """Bytes the index takes: the file and its WAL, or the project's share of the server's tables."""
        ...

    def writer(self) -> Writer | None:
        """The process writing this index now (holding its writer lock), or ``None``."""
        ...
