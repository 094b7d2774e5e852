"""Checksums of model files: sha256 of a file, a cache of verified digests, and the ``manifest.json`` that
records them (file name -> hex sha256; the weights' digest is the model's identity)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..errors import ModelError
from ..files import write_text_atomic
from ..home import codegraph_home


def sha256_file(path: Path, *, chunk_bytes: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in ``chunk_bytes`` pieces."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


def checked_sha256(path: Path) -> str:
    """sha256 of a model file, re-hashed only when its size or mtime changed since the last check.

    Hashing the 23 MB bundled model costs ~40 ms, a tenth of a one-shot ``codegraph search``; the results are
    remembered in ``<codegraph home>/verified.json`` keyed by path, size and mtime_ns (best effort: an
    unwritable cache only means hashing every time).
    """
    st = path.stat()
    stamp = f"{st.st_size}:{st.st_mtime_ns}"
    cache_file = codegraph_home() / "verified.json"
    try:
        cache = json.loads(cache_file.read_text(encoding="utf-8"))
        if not isinstance(cache, dict):
            cache = {}
    except (OSError, ValueError):
        cache = {}
    entry = cache.get(str(path))
    if isinstance(entry, dict) and entry.get("stamp") == stamp and isinstance(entry.get("sha256"), str):
        return str(entry["sha256"])
    digest = sha256_file(path)
    cache[str(path)] = {"stamp": stamp, "sha256": digest}
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(cache_file, json.dumps(cache))
    except OSError:
        pass
    return digest


def read_manifest(directory: Path) -> dict[str, object]:
    """``directory/manifest.json`` as a dict with a ``sha256`` table (file name -> hex digest).

    Raises:
        ModelError: the manifest is missing, unreadable, or has no ``sha256`` table.
    """
    path = directory / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read manifest ({exc}); reinstall the model") from None
    if not isinstance(data, dict) or not isinstance(data.get("sha256"), dict):
        raise ModelError(f"{path}: manifest has no sha256 table; reinstall the model")
    return data
