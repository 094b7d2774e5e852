"""codegraph's per-user directory: ``$CODEGRAPH_HOME``, default ``<user cache dir>/codegraph`` (e.g.
``~/.cache/codegraph`` on Linux, by ``platformdirs``). It holds the model store (``models/``), the
graph-optimised ONNX cache (``ort-cache/``) and the verified-checksum cache (``verified.json``)."""

from __future__ import annotations

import os
from pathlib import Path


def codegraph_home() -> Path:
    """``$CODEGRAPH_HOME`` (``~`` expanded) when set, else ``<user cache dir>/codegraph``; not created here."""
    home = os.environ.get("CODEGRAPH_HOME")
    if home:
        return Path(home).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("codegraph", appauthor=False))
