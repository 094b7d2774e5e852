"""The change check shared by ``index`` and ``status``: has a file changed since the index saw it?

A file whose size and mtime_ns equal the indexed ones is unchanged without being read; otherwise its bytes are
read and their content hash (xxh3_128, https://github.com/Cyan4973/xxHash) decides: equal bytes with a new
mtime are only *touched*.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import xxhash

from .discover import read_source
from .store import FileRow
from .types import SourceFile

ChangeKind = Literal["unchanged", "touched", "new", "changed", "unreadable"]


def content_hash(data: bytes) -> str:
    """The content hash of a file's bytes as stored in ``files.content_hash``: xxh3_128, 32 hex digits.

    Non-cryptographic; 128 bits make accidental collisions negligible at repository scale.
    """
    return xxhash.xxh3_128_hexdigest(data)


@dataclass(frozen=True, slots=True)
class FileCheck:
    """The outcome of :func:`check_file`.

    Attributes:
        kind: ``unchanged`` (same size and mtime_ns; not read), ``touched`` (same content hash, new stat),
            ``new`` (not in the index), ``changed`` (content differs) or ``unreadable`` (not indexable now).
        text: the file's text (``new``/``changed`` only, else ``""``); a UTF-8 BOM is dropped.
        language: language id settled by :func:`~codegraph.discover.read_source` (``new``/``changed``).
        content_hash: :func:`content_hash` of the bytes (``touched``/``new``/``changed``).
        reason: why the file is ``unreadable`` (binary, too large, permission denied, ...), else ``""``.
    """

    kind: ChangeKind
    text: str = ""
    language: str = ""
    content_hash: str = ""
    reason: str = ""


def check_file(file: SourceFile, row: FileRow | None) -> FileCheck:
    """Compare a discovered file with its index row (``None``: the index does not have it).

    Never raises for the file's own problems: an unreadable or unindexable file is ``kind="unreadable"``.
    """
    if row is not None and (row.size, row.mtime_ns) == (file.size, file.mtime_ns):
        return FileCheck("unchanged")
    try:
        data, text, language = read_source(file)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return FileCheck("unreadable", reason=reason)
    digest = content_hash(data)
    if row is None:
        return FileCheck("new", text, language, digest)
    if row.content_hash == digest:
        return FileCheck("touched", content_hash=digest)
    return FileCheck("changed", text, language, digest)
