"""Writing files so that a reader never sees half of one: write a temporary sibling, then rename it over the
target (``os.replace`` is atomic on POSIX and Windows when both names are on one filesystem)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write; on a normal exit it replaces ``path`` atomically, on an
    exception it is deleted and ``path`` is left as it was.

    The temporary name carries the process id, so two processes writing the same target do not collide.

    Raises:
        OSError: the rename failed (the temporary file is removed).
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through :func:`replacing`.

    Raises:
        OSError: the directory is not writable.
    """
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
