"""One writer per index: an advisory lock file, ``.codegraph/index.lock`` (``filelock``: fcntl/msvcrt).

Readers (``search``, ``status``) never take it: SQLite's WAL lets them read while a writer commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import IndexBusyError

LOCK_FILE = "index.lock"

DEFAULT_WAIT_S = 600.0
"""How long a writer waits for another to finish before giving up (seconds)."""


@contextmanager
def writer_lock(
    index_dir: Path, *, timeout_s: float = DEFAULT_WAIT_S, on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold the index's writer lock for the duration of the block.

    Args:
        index_dir: the ``.codegraph`` directory (created if missing).
        timeout_s: how long to wait for another writer (seconds); 0 fails at once.
        on_wait: called once if the lock is busy, before waiting (e.g. to tell the user).

    Raises:
        IndexBusyError: still busy after ``timeout_s``.
    """
    from filelock import FileLock, Timeout

    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if on_wait is not None:
            on_wait()
        try:
            lock.acquire(timeout=timeout_s)
        except Timeout:
            raise IndexBusyError(
                f"another codegraph process (index or watch) is writing {index_dir.parent} and did not finish "
                f"within {timeout_s:g}s; wait for it or stop it, then retry"
            ) from None
    try:
        yield
    finally:
        lock.release()
