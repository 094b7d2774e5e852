"""The one place that picks a SQLite module and loads sqlite-vec.

Many Python builds (pyenv's, macOS's system Python) compile the standard ``sqlite3`` module without
``enable_load_extension``, so sqlite-vec cannot be loaded into it. codegraph then uses ``sqlean`` (PyPI
``sqlean-py``, a maintained drop-in with the same DB-API and loadable extensions, wheels for Linux, macOS and
Windows). The choice is made once per process: loading sqlite-vec into two SQLite modules in one process has
crashed (see ``../shared/FACTS.md``). ``CODEGRAPH_SQLITE=sqlite3|sqlean`` forces a module.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import StoreError

BUSY_TIMEOUT_MS = 10_000
"""How long a connection waits for another writer before raising "database is locked" (milliseconds)."""


@cache
def vec_extension_path() -> str:
    """The sqlite-vec loadable extension (``vec0`` beside the ``sqlite_vec`` package: what
    ``sqlite_vec.loadable_path()`` returns), found without importing the package, whose ``__init__`` imports
    numpy (~0.15 s of every command's start, and the graph commands never touch a vector).

    Raises:
        StoreError: sqlite-vec is not installed.
    """
    import importlib.util

    spec = importlib.util.find_spec("sqlite_vec")
    if spec is None or not spec.submodule_search_locations:
        raise StoreError("sqlite-vec is not installed: pip install sqlite-vec")
    return os.path.normpath(os.path.join(next(iter(spec.submodule_search_locations)), "vec0"))


def _can_load(module: ModuleType) -> bool:
    try:
        conn = module.connect(":memory:")
        try:
            conn.enable_load_extension(True)
            conn.load_extension(vec_extension_path())
            conn.execute("select vec_version()")
        finally:
            conn.close()
    except (AttributeError, Exception):  # noqa: BLE001 - any failure means "cannot load here"
        return False
    return True


@cache
def sqlite_module() -> ModuleType:
    """The DB-API module to use: the standard ``sqlite3`` if it can load sqlite-vec, else ``sqlean``.

    Raises:
        StoreError: neither module can load sqlite-vec (the message says what to install).
    """
    forced = os.environ.get("CODEGRAPH_SQLITE", "")
    if forced not in ("", "sqlite3", "sqlean"):
        raise StoreError(f"CODEGRAPH_SQLITE must be 'sqlite3' or 'sqlean', got {forced!r}")
    if forced != "sqlean":
        import sqlite3

        if hasattr(sqlite3.Connection, "enable_load_extension") and _can_load(sqlite3):
            return sqlite3
        if forced == "sqlite3":
            raise StoreError("CODEGRAPH_SQLITE=sqlite3, but this Python's sqlite3 cannot load extensions")
    try:
        import sqlean
    except ImportError:
        raise StoreError(
            "this Python's sqlite3 module cannot load SQLite extensions and sqlean is not installed: "
            "pip install sqlean-py"
        ) from None
    return sqlean  # type: ignore[no-any-return]


READ_ONLY_MODES = ("ro", "immutable")
"""How :func:`connect` opens a file it must not write: ``ro`` (``?mode=ro``: SQLite reads the WAL and takes
read locks through ``index.db-shm``, creating it when the directory allows) or ``immutable`` (``?immutable=1``:
no locks, no WAL, no -shm; see :func:`codegraph.store.store.read_only_mode`)."""


def connect(path: Path | str, *, any_thread: bool = False, read_only: str | None = None) -> Any:
    """Open a SQLite connection with sqlite-vec loaded, WAL journaling and a busy timeout.

    Args:
        path: database file (created if missing) or ``":memory:"``.
        any_thread: allow use from threads other than the opening one (``check_same_thread=False``); the
            caller then serialises access itself (a server's worker threads, :mod:`codegraph.service`).
        read_only: ``None`` (read-write), or one of :data:`READ_ONLY_MODES`: open the existing file through a
            ``file:`` URI that never writes it (no journal-mode change either).

    Returns:
        A DB-API connection in autocommit mode (``isolation_level=None``): callers open transactions
        explicitly with ``BEGIN IMMEDIATE``.

    Raises:
        StoreError: the file cannot be opened or sqlite-vec cannot be loaded.
    """
    module = sqlite_module()
    if read_only is not None and read_only not in READ_ONLY_MODES:
        raise ValueError(read_only)
    target, uri = str(path), False
    if read_only is not None:
        query = "mode=ro" if read_only == "ro" else "mode=ro&immutable=1"
        target, uri = f"{Path(path).resolve().as_uri()}?{query}", True
    try:
        conn = module.connect(
            target, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=not any_thread, uri=uri
        )
        conn.enable_load_extension(True)
        conn.load_extension(vec_extension_path())
        conn.enable_load_extension(False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if str(path) != ":memory:" and read_only is None:
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except module.Error as exc:
        raise StoreError(f"cannot open {path}: {explain(str(exc))}") from None
    return conn


REBUILD_HINT = "run: codegraph index --rebuild (it keeps the stored snippets and test runs that can still be read)"
"""The way out of a damaged index (:mod:`codegraph.store.rebuild`)."""

_DAMAGED = f"the index is damaged; {REBUILD_HINT}"

_HINTS = (
    (
        "disk is full",
        "free some space and run the command again (the index keeps its last committed state; the next "
        "`codegraph index` completes it)",
    ),
    ("readonly database", "codegraph index and watch need write access to the .codegraph directory"),
    (
        "unable to open database file",
        "the .codegraph directory must be writable: SQLite keeps index.db-wal and index.db-shm next to the index",
    ),
    ("malformed", _DAMAGED),
    ("not a database", _DAMAGED),
    ("disk i/o error", "check the disk, then run the command again"),
    ("database is locked", "another process kept the index locked; run the command again"),
)
"""What to do about a SQLite error, by a fragment of its message (lower case)."""


def explain(message: str) -> str:
    """A SQLite error message with what to do about it appended (``message`` alone when there is no hint)."""
    lowered = message.lower()
    hint = next((h for fragment, h in _HINTS if fragment in lowered), None)
    return f"{message}; {hint}" if hint else message


def store_error(exc: BaseException) -> StoreError | None:
    """A :class:`StoreError` that says what happened and what to do, for an error that the SQLite module (or
    psycopg, for a PostgreSQL store) raised while an index was in use (a full disk, a damaged file, a read-only
    directory, a lost server); ``None`` for any other."""
    for name in ("sqlite3", "sqlean"):
        module = sys.modules.get(name)
        if module is not None and isinstance(exc, module.Error):
            return StoreError(f"the index database failed: {explain(str(exc))}")
    if "psycopg" in sys.modules:
        from .postgres_schema import store_error as pg_error

        return pg_error(exc)
    return None


def store_errors() -> tuple[type[BaseException], ...]:
    """The exception classes of the database modules loaded in this process (SQLite's, psycopg's)."""
    found: list[type[BaseException]] = []
    for name in ("sqlite3", "sqlean", "psycopg"):
        module = sys.modules.get(name)
        if module is not None:
            found.append(module.Error)
    return tuple(found)
