"""Choosing and opening a backend: the SQLite file of a repository (the default) or a project of a PostgreSQL
store (the ``store`` setting: ``--store postgresql://...``, ``CODEGRAPH_STORE`` or the user's config file).

In a PostgreSQL store a project is named (``--project NAME`` / ``CODEGRAPH_PROJECT``, default: the git remote's
repository name, else the root directory's name) so that CI runners that check the same repository out at
different paths write the same project, one at a time.
"""

from __future__ import annotations

import configparser
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from ..errors import ConfigError, IndexNotFoundError
from .lock import DEFAULT_WAIT_S, writer_lock
from .store import INDEX_DIR, Store, find_index_root

if TYPE_CHECKING:
    from ..config import Settings
    from .base import IndexStore
    from .postgres_schema import Project


def store_url(settings: Settings | None) -> str | None:
    """The PostgreSQL URL the settings name, or ``None`` for the SQLite default (``store`` unset, ``"sqlite"``).

    Raises:
        ConfigError: ``store`` is neither a ``postgresql://`` URL nor ``sqlite``.
    """
    url = settings.store if settings is not None else None
    if not url or url == "sqlite":
        return None
    from .postgres_schema import is_postgres_url

    if not is_postgres_url(url):
        raise ConfigError(f"store must be a postgresql://user:password@host/dbname URL or 'sqlite', got {url!r}")
    return url


def git_remote(root: Path) -> str | None:
    """The ``origin`` remote URL of the git work tree at ``root`` (read from ``.git/config``), with any user
    name or password removed; ``None`` when there is none."""
    git = root / ".git"
    config = git / "config"
    if git.is_file():  # a worktree or submodule: "gitdir: <path>"
        text = git.read_text(encoding="utf-8", errors="replace").strip()
        if text.startswith("gitdir:"):
            gitdir = (root / text.split(":", 1)[1].strip()).resolve()
            common = gitdir / "commondir"
            base = (gitdir / common.read_text(encoding="utf-8").strip()).resolve() if common.is_file() else gitdir
            config = base / "config"
    if not config.is_file():
        return None
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        parser.read(config, encoding="utf-8")
    except configparser.Error:
        return None
    url = parser.get('remote "origin"', "url", fallback=None)
    if not url:
        return None
    if "://" in url:
        parts = urlsplit(url)
        if parts.username or parts.password:
            url = urlunsplit(parts._replace(netloc=(parts.hostname or "") + (f":{parts.port}" if parts.port else "")))
    return url


def default_project_name(root: Path) -> str:
    """The project name of ``root`` when none is given: the git remote's repository name (``owner/repo.git`` ->
    ``repo``), else the directory's name."""
    remote = git_remote(root)
    if remote:
        name = remote.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git")
        if name:
            return name
    return root.resolve().name or "root"


def _identity(root: Path, settings: Settings | None) -> tuple[str, str, str | None]:
    """``(name, absolute root, remote URL)`` of the project written from ``root``."""
    root = root.resolve()
    name = (settings.project if settings is not None else None) or default_project_name(root)
    return name, str(root), git_remote(root)


def open_store(
    root: Path,
    *,
    create: bool = False,
    settings: Settings | None = None,
    any_thread: bool = False,
    read_only_ok: bool = False,
) -> IndexStore:
    """Open the index of ``root`` in the backend the settings name (see :func:`store_url`).

    Args:
        root: repository root.
        create: create the index (SQLite file, or PostgreSQL project) when missing.
        settings: resolved settings (``store``, ``project``); ``None``: the SQLite file.
        any_thread: the SQLite connection may be used from any thread (PostgreSQL connections always may).
        read_only_ok: a SQLite file that may not be written is opened read-only (see
            :meth:`~codegraph.store.store.Store.open`); for readers only.

    Raises:
        IndexNotFoundError: no index (no project of that name) and not ``create``.
        StoreError: the database cannot be opened (server unreachable, pgvector missing: the message says).
        IndexUnusableError: its schema is newer than this codegraph.
        ConfigError: an invalid ``store`` setting.
    """
    url = store_url(settings)
    if url is None:
        return Store.open(root, create=create, any_thread=any_thread, read_only_ok=read_only_ok)
    from .postgres import PgStore
    from .postgres_schema import ensure_project, list_projects, pool_for, translated

    name, abs_root, remote = _identity(root, settings)
    pool = pool_for(url)
    with translated(url), pool.connection() as conn:
        if create:
            project = ensure_project(conn, name, abs_root, remote)
        else:
            found = [p for p in list_projects(conn) if p.name == name]
            if not found:
                raise IndexNotFoundError(f"no project {name!r} in the store; build it with: codegraph index {root}")
            project = found[0]
    return PgStore(pool, url, project, [project], Path(abs_root))


def open_index(
    start: Path,
    *,
    settings: Settings | None = None,
    project: str | None = None,
    all_projects: bool = False,
    any_thread: bool = False,
) -> IndexStore:
    """Open the index that a read command at ``start`` uses: the SQLite file at or above ``start`` (like git
    finds ``.git``), or in a PostgreSQL store the project named ``project``, else the project whose recorded root
    is ``start`` or its nearest ancestor, else the one named as an index run at ``start``'s git work tree would
    name it. ``all_projects`` reads every project of the store (``search --all``). A SQLite file that may not be
    written is opened read-only (its ``read_only`` attribute says how: see
    :meth:`~codegraph.store.store.Store.open`).

    Raises:
        IndexNotFoundError: no such index or project (the message says what to run).
        ConfigError: ``project`` or ``all_projects`` without a PostgreSQL store.
        StoreError, IndexUnusableError: as for :func:`open_store`.
    """
    url = store_url(settings)
    if url is None:
        if project or all_projects:
            raise ConfigError(
                "--project and --all need a PostgreSQL store (--store postgresql://... or CODEGRAPH_STORE)"
            )
        return Store.open(find_index_root(start), any_thread=any_thread, read_only_ok=True)
    from .postgres import PgStore
    from .postgres_schema import list_projects, pool_for, translated

    pool = pool_for(url)
    with translated(url), pool.connection() as conn:
        projects = list_projects(conn)
    here = start.resolve()
    chosen, root = _choose(projects, here, project or (settings.project if settings else None))
    if chosen is None and not all_projects:
        names = ", ".join(p.name for p in projects) or "none yet"
        raise IndexNotFoundError(
            f"no project of the store covers {here} (projects: {names}); index it with: codegraph index <repo root> "
            "--store ..., or pick one with --project NAME (codegraph projects lists them)"
        )
    if all_projects:
        if not projects:
            raise IndexNotFoundError("the store holds no project yet; build one with: codegraph index <repo root>")
        current = chosen or projects[0]
        return PgStore(pool, url, current, projects, root if chosen else Path(current.root))
    assert chosen is not None
    return PgStore(pool, url, chosen, [chosen], root)


def _choose(projects: list[Project], here: Path, name: str | None) -> tuple[Project | None, Path]:
    """The project a read at ``here`` means, with the root to use for it on this machine."""
    if name:
        for p in projects:
            if p.name == name:
                return p, _local_root(p, here)
        raise IndexNotFoundError(
            f"no project named {name!r} in the store (projects: {', '.join(p.name for p in projects) or 'none'})"
        )
    covering = [p for p in projects if here == Path(p.root) or Path(p.root) in here.parents]
    if covering:
        best = max(covering, key=lambda p: len(p.root))
        return best, Path(best.root)
    work_tree = next((d for d in (here, *here.parents) if (d / ".git").exists()), None)
    guess = default_project_name(work_tree or here)
    for p in projects:
        if p.name == guess:
            return p, work_tree or here
    return None, here


def _local_root(project: Project, here: Path) -> Path:
    """Where ``project`` is checked out here: its recorded root when it exists, else ``here``'s work tree."""
    recorded = Path(project.root)
    if recorded.is_dir():
        return recorded
    return next((d for d in (here, *here.parents) if (d / ".git").exists()), here)


@contextmanager
def index_lock(
    root: Path,
    *,
    settings: Settings | None = None,
    timeout_s: float = DEFAULT_WAIT_S,
    on_wait: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Hold the writer lock of ``root``'s index for the block: the lock file ``.codegraph/index.lock`` (SQLite),
    or the project's advisory lock on the server (PostgreSQL; the project is created if missing).

    Raises:
        IndexBusyError: another writer held it for ``timeout_s`` seconds.
        StoreError: the lock cannot be taken (read-only directory, server unreachable).
    """
    url = store_url(settings)
    if url is None:
        with writer_lock(root / INDEX_DIR, timeout_s=timeout_s, on_wait=on_wait):
            yield
        return
    from .postgres_schema import ensure_project, pool_for, project_lock, translated

    name, abs_root, remote = _identity(root, settings)
    pool = pool_for(url)
    with translated(url), pool.connection() as conn:
        project = ensure_project(conn, name, abs_root, remote)
    with project_lock(pool, url, project, timeout_s=timeout_s, on_wait=on_wait):
        yield


def projects(settings: Settings) -> list[dict[str, object]]:
    """Every project of the PostgreSQL store the settings name: ``[{"name", "root", "remote_url", "files",
    "chunks", "model", "last_indexed_at"}]`` by name (``last_indexed_at`` unix seconds or ``None``).

    Raises:
        ConfigError: the settings name no PostgreSQL store.
        StoreError: the server failed.
    """
    url = store_url(settings)
    if url is None:
        raise ConfigError(
            "codegraph projects lists the projects of a PostgreSQL store: give --store postgresql://... (on the "
            "SQLite file only --prune applies)"
        )
    from .postgres_schema import pool_for, translated

    pool = pool_for(url)
    with translated(url), pool.connection() as conn:
        rows = conn.execute(
            "SELECT p.name, p.root, p.remote_url, "
            "(SELECT count(*) FROM files f WHERE f.project_id = p.id), "
            "(SELECT count(*) FROM chunks c WHERE c.project_id = p.id), "
            "(SELECT value FROM meta m WHERE m.project_id = p.id AND m.key = 'model_id'), "
            "(SELECT value FROM meta m WHERE m.project_id = p.id AND m.key = 'last_indexed_at') "
            "FROM projects p ORDER BY p.name"
        ).fetchall()
    return [
        {
            "name": n,
            "root": r,
            "remote_url": u,
            "files": int(f),
            "chunks": int(c),
            "model": m,
            "last_indexed_at": float(t) if t else None,
        }
        for n, r, u, f, c, m, t in rows
    ]


def remove_project(settings: Settings, name: str, *, timeout_s: float = 10.0) -> dict[str, object]:
    """Delete the project ``name`` of the PostgreSQL store and everything it owns (files, chunks, graph, meta,
    snippets and test runs), once no process is indexing it (its writer lock is taken first). The shared
    embedding cache is kept: other projects may use its vectors, and re-indexing the repository embeds nothing
    that is still there.

    Returns:
        ``{"name", "root", "files", "chunks", "snippets"}``: what was deleted.

    Raises:
        ConfigError: the settings name no PostgreSQL store.
        IndexNotFoundError: no project ``name``.
        IndexBusyError: a writer held the project for ``timeout_s`` seconds.
        StoreError: the server failed.
    """
    url = store_url(settings)
    if url is None:
        raise ConfigError("projects live in a PostgreSQL store: give --store postgresql://... (or CODEGRAPH_STORE)")
    from .postgres_schema import list_projects, pool_for, project_lock, translated

    pool = pool_for(url)
    with translated(url), pool.connection() as conn:
        found = [p for p in list_projects(conn) if p.name == name]
    if not found:
        raise IndexNotFoundError(f"no project named {name!r} in the store (codegraph projects lists them)")
    project = found[0]
    with project_lock(pool, url, project, timeout_s=timeout_s), translated(url), pool.connection() as conn:
        files, chunks, snippets = conn.execute(
            "SELECT (SELECT count(*) FROM files WHERE project_id = %(p)s), "
            "(SELECT count(*) FROM chunks WHERE project_id = %(p)s), "
            "(SELECT count(*) FROM snippets WHERE project_id = %(p)s)",
            {"p": project.id},
        ).fetchone()
        conn.execute("DELETE FROM projects WHERE id = %s", (project.id,))
    return {"name": name, "root": project.root, "files": int(files), "chunks": int(chunks), "snippets": int(snippets)}
