"""Preparing changed files for the indexer: read, parse once, chunk, extract the code graph and compute cache
keys, in this process or, when many files need reading, in a pool of worker processes (:func:`prepare_files`).

The pool keeps the pipeline one-way (discover → prepare → embed → store): workers only read files and compute;
the indexer's process alone embeds and writes the index. Results come back **in discovery order** through a
bounded window (at most :data:`FILES_IN_FLIGHT` files in flight), so the index ends up exactly as a one-process
run would leave it, row ids included, and the indexer embeds and stores one group while the workers parse the
next.

Workers are started with ``forkserver`` (``spawn`` where the OS has no forkserver): a fresh interpreter, so they
inherit no SQLite connection, no onnxruntime session and no thread of the indexer. They ignore SIGINT: Ctrl-C
reaches the indexer, which cancels the tasks not started and lets the running ones (one task of
:data:`TASK_FILES` files each) finish; the index stays as consistent as after an interrupted one-process run.
A file whose chunking raises is a skipped file with the error as its reason, in both modes; a worker that dies
(a crash in a parser) ends the pool and the files it had not finished are prepared in this process.

As with any use of ``multiprocessing`` outside ``fork``, a script that calls :func:`~codegraph.index_repo` must
guard its entry point with ``if __name__ == "__main__":`` (workers import the main module), or set
``index_workers = 1``; ``codegraph`` itself, ``python -m codegraph`` and pytest need nothing.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Generator, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import xxhash

from .changes import FileCheck, check_file
from .chunk import CHUNKER_VERSION, chunk_source, embedding_text
from .chunk.chunker import LineTokenCounter, TokenCounter
from .chunk.grammars import ts_parser
from .embed.counting import CountsInWorkers, TokenCounting
from .embed.protocol import Embedder
from .graph.extract import FileGraph, extract
from .languages import TEXT
from .store import FileRow
from .types import Chunk, SourceFile

PARALLEL_MIN_FILES = 64
"""Fewest files to read before a run uses worker processes. Starting the pool costs ~0.1-0.3 s (forkserver and
workers, the tokenizer loaded in each; ``docs/parallel.md``), about what one process needs to prepare 30-60
files, so below this a pool cannot pay for itself; an edit or a ``watch`` batch stays in one process."""

MAX_DEFAULT_WORKERS = 4
"""Upper bound of the default worker count: beyond it the indexer's own serial part (embedding, writing)
dominates (Amdahl's law, measured in ``docs/parallel.md``) and each worker costs ~60 MB."""

TASK_FILES = 16
"""Files per task sent to a worker: large enough to amortise the round trip (~0.1 ms), small enough that
Ctrl-C waits for little and the work stays balanced."""

FILES_IN_FLIGHT = 512
"""Most files sent to the workers and not yet taken back by the indexer. More than two of the indexer's groups
(:data:`codegraph.index.STORE_FILES_PER_TXN` = 200 files), so that the workers prepare the next group while the
indexer embeds and stores one; memory holds at most this many prepared files (~50 KB each on the standard
library, pickled)."""

WORKER_ENV = {"TOKENIZERS_PARALLELISM": "false"}
"""Environment of the workers: each counts tokens on one thread, the pool being the parallelism (the tokenizer's
own thread pool in every worker would oversubscribe the cores)."""


SAFE_PATH_ENV = "PYTHONSAFEPATH"
"""Set while the pool starts its processes: the forkserver, multiprocessing's resource tracker and ``spawn``
workers run ``python -c ...``, which puts the working directory first on ``sys.path``, so an indexed repository
with a root-level ``types.py``, ``enum.py`` or ``signal.py`` (the standard library's own tree, for one) would
shadow the standard library and kill them as they start. ``PYTHONSAFEPATH`` (Python >= 3.11, the ``-P``
option) keeps the working directory off ``sys.path``; on 3.10 such a directory is prepared in this process."""


def _children_start_cleanly() -> bool:
    """Whether processes started here can import the standard library: on Python >= 3.11 always (see
    :data:`SAFE_PATH_ENV`); on 3.10 unless the working directory holds a module named like one of it."""
    if sys.version_info >= (3, 11):
        return True
    try:
        names = {entry.name.removesuffix(".py") for entry in os.scandir(".")}
    except OSError:
        return False
    return not names & set(sys.stdlib_module_names)


TRACKER_WARNING_FILTER = "ignore::UserWarning:multiprocessing.resource_tracker"
"""Added to ``PYTHONWARNINGS`` of the processes the pool starts: when the indexer is killed (``kill -9``, the
OOM killer), multiprocessing's resource tracker outlives it, removes the pool's semaphores itself and warns
"There appear to be N leaked semaphore objects" on the terminal, a stray line after a crash that the next
``index`` completes anyway."""


@contextmanager
def _child_environment() -> Iterator[None]:
    """This process's environment, for the children started meanwhile (restored after): :data:`SAFE_PATH_ENV` set,
    and :data:`TRACKER_WARNING_FILTER` appended to ``PYTHONWARNINGS``."""
    previous = {name: os.environ.get(name) for name in (SAFE_PATH_ENV, "PYTHONWARNINGS")}
    os.environ[SAFE_PATH_ENV] = "1"
    warnings = previous["PYTHONWARNINGS"]
    os.environ["PYTHONWARNINGS"] = f"{warnings},{TRACKER_WARNING_FILTER}" if warnings else TRACKER_WARNING_FILTER
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def default_workers() -> int:
    """The default worker count: ``min(MAX_DEFAULT_WORKERS, cores this process may run on)``."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(MAX_DEFAULT_WORKERS, cores))


def cache_key(model_id: str, text: str) -> bytes:
    """The embedding cache key: xxh3_128 (16 bytes) of model id, chunker version and the embedded text.

    xxh3: https://github.com/Cyan4973/xxHash (non-cryptographic; 128 bits make accidental collisions
    negligible at repository scale).
    """
    h = xxhash.xxh3_128()
    h.update(model_id.encode())
    h.update(b"\0")
    h.update(CHUNKER_VERSION.encode())
    h.update(b"\0")
    h.update(text.encode("utf-8", "surrogatepass"))
    return h.digest()


@dataclass(slots=True)
class PreparedFile:
    """A changed file, chunked: its embedded texts and their cache keys, one per chunk, and its code graph."""

    file: SourceFile
    language: str
    content_hash: str
    chunks: list[Chunk]
    texts: list[str]
    keys: list[bytes]
    graph: FileGraph | None


@dataclass(frozen=True, slots=True)
class Chunking:
    """What chunking needs from the model: its id (for cache keys), the chunk size limit (tokens) and its token
    counters (the encoder's own in the indexer's process, a :class:`~.embed.counting.TokenCounting` in a
    worker)."""

    model_id: str
    max_tokens: int
    count_tokens: TokenCounter
    count_line_tokens: LineTokenCounter

    @classmethod
    def of(cls, embedder: Embedder) -> Chunking:
        """The chunking of ``embedder`` with its own counters."""
        return cls(embedder.model_id, embedder.profile.chunk_tokens, embedder.count_tokens, embedder.count_line_tokens)


Prepared = tuple[SourceFile, FileCheck, "PreparedFile | None"]
"""One file's outcome: the file, its check (``text`` emptied) and, for a new or changed file, its chunks."""


def parse_source(language: str, text: str) -> tuple[Any, FileGraph | None]:
    """Parse a file once for its chunks and its code graph: ``(tree, graph)``, both ``None`` without a
    grammar (plain text)."""
    if language == TEXT:
        return None, None
    source = text.encode("utf-8")
    tree = ts_parser(language).parse(source)
    return tree, extract(language, tree, source)


def prepare_file(file: SourceFile, check: FileCheck, chunking: Chunking) -> PreparedFile:
    """Chunk a ``new`` or ``changed`` file, extract its code graph from the same parse, and compute its chunks'
    embedded texts and cache keys."""
    tree, graph = parse_source(check.language, check.text)
    chunks = chunk_source(
        file.path,
        check.language,
        check.text,
        max_tokens=chunking.max_tokens,
        count_tokens=chunking.count_tokens,
        count_line_tokens=chunking.count_line_tokens,
        tree=tree,
    )
    texts = [embedding_text(c.path, c.kind, c.qualified_symbol, c.code) for c in chunks]
    keys = [cache_key(chunking.model_id, t) for t in texts]
    return PreparedFile(file, check.language, check.content_hash, chunks, texts, keys, graph)


def check_and_prepare(
    file: SourceFile, row: FileRow | None, chunking: Chunking
) -> tuple[FileCheck, PreparedFile | None]:
    """:func:`~.changes.check_file`, then :func:`prepare_file` for a new or changed file.

    Never raises for the file's own problems: a file whose parsing or chunking raises an exception comes back
    ``unreadable`` with ``"cannot be chunked (ExcType: message)"`` as its reason, so that the run goes on and
    reports it like a file it cannot read. The returned check's ``text`` is emptied (the chunks carry it).
    """
    check = check_file(file, row)
    if check.kind not in ("new", "changed"):
        return check, None
    try:
        prepared = prepare_file(file, check, chunking)
    except Exception as exc:  # a parser or chunker bug on one file: a counted warning, not the end of the run
        return FileCheck("unreadable", reason=f"cannot be chunked ({type(exc).__name__}: {exc})"), None
    return replace(check, text=""), prepared


def _stat_unchanged(file: SourceFile, row: FileRow | None) -> bool:
    """:func:`~.changes.check_file`'s no-read answer: same size and mtime_ns as the index row."""
    return row is not None and (row.size, row.mtime_ns) == (file.size, file.mtime_ns)


def prepare_files(
    files: Sequence[SourceFile],
    known: Mapping[str, FileRow],
    embedder: Embedder,
    *,
    workers: int,
    notes: list[str] | None = None,
) -> Generator[Prepared, None, None]:
    """Check every file against the index and prepare the new and changed ones, yielding one outcome per file.

    With ``workers > 1``, more than :data:`PARALLEL_MIN_FILES` files to read (not unchanged by size and
    mtime_ns) and an encoder that can count tokens in other processes (:class:`~.embed.counting.CountsInWorkers`),
    the files are read and prepared by ``workers`` processes; otherwise in this process. Either way files
    unchanged by stat come first, then the others in the order of ``files``, with equal results.

    Args:
        files: discovered files, in discovery order.
        known: the index's rows by path (files missing from it are new).
        embedder: the model (its id, chunk size and token counters).
        workers: worker processes; 1 prepares everything in this process (no pool).
        notes: if given, gets one line if the pool broke and this process finished the work.

    Yields:
        :data:`Prepared` tuples; the generator must be closed (run out, or ``close()``) to stop the pool.
    """
    chunking = Chunking.of(embedder)
    to_read: list[SourceFile] = []
    for file in files:
        if _stat_unchanged(file, known.get(file.path)):
            yield file, FileCheck("unchanged"), None
        else:
            to_read.append(file)
    if (
        workers <= 1
        or len(to_read) <= PARALLEL_MIN_FILES
        or not isinstance(embedder, CountsInWorkers)
        or not _children_start_cleanly()
    ):
        for file in to_read:
            yield (file, *check_and_prepare(file, known.get(file.path), chunking))
        return
    done = 0
    try:
        for outcome in _pooled(to_read, known, chunking, embedder.token_counting(), workers):
            yield outcome
            done += 1
    except BrokenProcessPool as exc:
        if notes is not None:
            notes.append(f"parse workers stopped ({exc}); {len(to_read) - done} files were prepared in this process")
        for file in to_read[done:]:
            yield (file, *check_and_prepare(file, known.get(file.path), chunking))


def _pooled(
    files: list[SourceFile], known: Mapping[str, FileRow], chunking: Chunking, counting: TokenCounting, workers: int
) -> Generator[Prepared, None, None]:
    """Prepare ``files`` in a pool of ``workers`` processes, :data:`TASK_FILES` per task, results in order.

    Raises:
        BrokenProcessPool: a worker died, or could not start; nothing of its task was yielded.
    """
    # The pool starts processes from its creation (the resource tracker) to its submits (the forkserver, spawned
    # workers): all of them start with the working directory kept off their sys.path.
    with _child_environment():
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload([__name__])  # imported once in the server, not in every worker
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(chunking.model_id, chunking.max_tokens, counting),
        )
        window: deque[tuple[list[SourceFile], Future[list[tuple[FileCheck, PreparedFile | None]]]]] = deque()
        finished = False
        try:
            for start in range(0, len(files), TASK_FILES):
                batch = files[start : start + TASK_FILES]
                try:
                    future = pool.submit(_prepare_task, [(f, known.get(f.path)) for f in batch])
                except OSError as exc:  # a process could not start (BrokenPipeError: the forkserver died)
                    raise BrokenProcessPool(f"a worker process could not start: {exc}") from exc
                window.append((batch, future))
                while len(window) * TASK_FILES >= FILES_IN_FLIGHT:
                    yield from _outcomes(window.popleft())
            while window:
                yield from _outcomes(window.popleft())
            finished = True
        finally:
            # Interrupted or abandoned: drop the queued tasks and return now; the running ones end on their own.
            pool.shutdown(wait=finished, cancel_futures=not finished)


def _outcomes(
    entry: tuple[list[SourceFile], Future[list[tuple[FileCheck, PreparedFile | None]]]],
) -> Generator[Prepared, None, None]:
    batch, future = entry
    for file, (check, prepared) in zip(batch, future.result(), strict=True):
        yield file, check, prepared


_worker_chunking: Chunking | None = None
"""The chunking of this worker process, set by :func:`_init_worker`."""


def _init_worker(model_id: str, max_tokens: int, counting: TokenCounting) -> None:
    """Worker start: ignore SIGINT (the indexer stops the pool), exit with the indexer, one tokenizer thread,
    the chunking."""
    global _worker_chunking
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    indexer = multiprocessing.parent_process()
    if indexer is not None:
        threading.Thread(target=_exit_with, args=(indexer,), name="exit-with-indexer", daemon=True).start()
    os.environ.update(WORKER_ENV)
    _worker_chunking = Chunking(model_id, max_tokens, counting.count_tokens, counting.count_line_tokens)


def _exit_with(indexer: Any) -> None:
    """End this worker when the indexer's process ends without stopping the pool (``kill -9``, the OOM killer):
    a worker of ``concurrent.futures`` would otherwise wait for work forever, and keep the forkserver alive.
    ``parent_process()`` is the indexer even under forkserver (its sentinel is the indexer's end of a pipe)."""
    indexer.join()
    os._exit(0)


def _prepare_task(items: list[tuple[SourceFile, FileRow | None]]) -> list[tuple[FileCheck, PreparedFile | None]]:
    """One task in a worker: :func:`check_and_prepare` for each ``(file, index row)``."""
    assert _worker_chunking is not None, "worker not initialised"
    return [check_and_prepare(file, row, _worker_chunking) for file, row in items]
