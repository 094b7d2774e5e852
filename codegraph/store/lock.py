"""One writer per index: an advisory lock file, ``.codegraph/index.lock`` (``filelock``: fcntl/msvcrt).

Readers (``search``, ``status``) never take it: SQLite's WAL lets them read while a writer commits. The holder
describes itself in ``.codegraph/writer.json`` (pid, command line, start time) so that ``status`` and
``search`` can say that an index is being built and by which process (:func:`current_writer`).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import IndexBusyError, StoreError

LOCK_FILE = "index.lock"
WRITER_FILE = "writer.json"


@dataclass(frozen=True, slots=True)
class Writer:
    """The process holding an index's writer lock.

    Attributes:
        pid: its process id.
        command: its command line (``codegraph index .``), as one string.
        started_at: unix time (seconds) it took the lock.
    """

    pid: int
    command: str
    started_at: float


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
        StoreError: the lock file cannot be created (a read-only or full file system, no permission).
    """
    from filelock import FileLock, Timeout

    lock = FileLock(str(index_dir / LOCK_FILE))
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if on_wait is not None:
                on_wait()
            lock.acquire(timeout=timeout_s)
    except Timeout:
        raise IndexBusyError(
            f"another codegraph process (index or watch) is writing {index_dir.parent} and did not finish "
            f"within {timeout_s:g}s; wait for it or stop it, then retry"
        ) from None
    except OSError as exc:  # a read-only or full file system, no permission (Timeout is an OSError too)
        raise StoreError(
            f"cannot take the writer lock {index_dir / LOCK_FILE}: {exc.strerror or exc}; codegraph index and "
            f"watch need write access to {index_dir}"
        ) from None
    record = index_dir / WRITER_FILE
    try:
        _write_record(record)
        yield
    finally:
        record.unlink(missing_ok=True)
        lock.release()


def _write_record(record: Path) -> None:
    """Describe this process in ``writer.json`` (best effort: an unwritable file only loses the description)."""
    from ..files import write_text_atomic

    argv = [Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:]]
    data = {"pid": os.getpid(), "command": " ".join(argv), "started_at": round(time.time(), 3)}
    try:
        write_text_atomic(record, json.dumps(data))
    except OSError:
        pass


def current_writer(index_dir: Path) -> Writer | None:
    """The process writing this index now, or ``None`` when no process holds the writer lock.

    Probes the lock without waiting (a writer starting at that instant waits a few milliseconds). A lock held
    by a process that left no readable ``writer.json`` is reported with pid 0 and command ``"unknown"``.
    """
    from filelock import FileLock, Timeout

    path = index_dir / LOCK_FILE
    if not path.exists():
        return None
    probe = FileLock(str(path))
    try:
        probe.acquire(timeout=0)
    except Timeout:
        pass
    except OSError:
        return None  # read-only index directory: nobody can be writing it
    else:
        probe.release()
        return None
    try:
        data = json.loads((index_dir / WRITER_FILE).read_text(encoding="utf-8"))
        return Writer(int(data["pid"]), str(data["command"]), float(data["started_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return Writer(0, "unknown", 0.0)
