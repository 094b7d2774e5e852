"""One index opened once and answered from many times: the library behind ``codegraph mcp`` and ``codegraph serve``.

A :class:`Workspace` holds the index's database connection (the SQLite file, or a project of a PostgreSQL
store), its model (loaded on the first search) and its code graph, and answers the same questions as the CLI
commands with the same JSON shapes (``search --json``, ``def --json``, ...), so a long-running front end never
re-implements a command. Every answer first makes sure the index is fresh (see :data:`Freshness`): by default a
changed tree is re-indexed incrementally before the answer, at most once per :attr:`Workspace.check_interval_s`.

Thread safety: one lock serialises all calls (a server's worker threads may share one workspace).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from .errors import ConfigError, SourceError

if TYPE_CHECKING:
    from .config import Settings
    from .embed.protocol import Embedder
    from .graph.query import Graph
    from .status import Staleness
    from .store import IndexStore

Freshness = Literal["refresh", "report", "off"]
"""What a :class:`Workspace` does when files changed since the last index run: ``refresh`` re-indexes them
incrementally before answering (default), ``report`` answers from the index as it is and adds a ``stale`` field
(``{"changed", "new", "removed"}`` counts) to the answer, ``off`` does not look."""

FRESHNESS: tuple[Freshness, ...] = ("refresh", "report", "off")

READ_MAX_LINES = 400
"""The most lines :meth:`Workspace.read` returns in one answer (an agent pages with ``start_line``)."""

T = TypeVar("T")


class Workspace:
    """The index at or above a directory, kept open for repeated questions.

    Use :meth:`open`; close with :meth:`close` (or ``with``). Methods return JSON-ready dicts in the shapes of
    the CLI's ``--json`` output and raise :class:`~codegraph.errors.CodegraphError` subclasses with a message that
    says how to fix the problem.

    Args:
        store: the open index (opened with ``any_thread=True`` when threads share the workspace).
        settings: resolved settings for the index's root.
        freshness: see :data:`Freshness`.
        check_interval_s: the least time between two looks at the tree for changes (seconds).
    """

    def __init__(
        self, store: IndexStore, settings: Settings, *, freshness: Freshness = "refresh", check_interval_s: float = 2.0
    ) -> None:
        if freshness not in FRESHNESS:
            raise ConfigError(f"unknown freshness {freshness!r}; use one of: {', '.join(FRESHNESS)}")
        self._store = store
        self.settings = settings
        self.freshness = freshness
        self.check_interval_s = check_interval_s
        self.lock = threading.RLock()
        self._embedder: Embedder | None = None
        self._graph: Graph | None = None
        self._checked_at = float("-inf")
        self._stale: Staleness | None = None
        self._noticed_at = float("-inf")
        self._notice: str | None = None

    @classmethod
    def open(
        cls,
        start: Path,
        *,
        freshness: Freshness = "refresh",
        check_interval_s: float = 2.0,
        store: str | None = None,
        project: str | None = None,
    ) -> Workspace:
        """Open the index found at or above ``start`` (like git finds ``.git``), or the project of a PostgreSQL
        store that covers ``start`` (or is named ``project``).

        Args:
            start: a directory of the repository.
            freshness, check_interval_s: see :class:`Workspace`.
            store: the store's URL (``--store``; else ``CODEGRAPH_STORE`` or the user's config; else the SQLite
                file).
            project: the project's name in a PostgreSQL store (``--project``).

        Raises:
            IndexNotFoundError: no index at or above ``start`` (no such project).
            StoreError, IndexUnusableError: as for :func:`codegraph.store.open_index`.
            ConfigError: ``project`` without a PostgreSQL store.
        """
        from .config import resolve_settings
        from .store import open_index
        from .store.postgres import PgStore

        # The store (SQLite file or PostgreSQL server) comes from flags, the environment or the user's config,
        # never from a repository's: resolve it before knowing the root.
        overrides = {"store": store, "project": project}
        opened = open_index(
            start, settings=resolve_settings(None, overrides=overrides), project=project, any_thread=True
        )
        if isinstance(opened, PgStore):  # refreshes write the project that was opened, whatever its name
            overrides["project"] = opened.project.name
        try:
            settings = resolve_settings(opened.root, overrides=overrides)
        except BaseException:
            opened.close()
            raise
        return cls(opened, settings, freshness=freshness, check_interval_s=check_interval_s)

    @property
    def store(self) -> IndexStore:
        """The open index; first reopened if another process replaced it (:meth:`follow_rebuild`)."""
        self.follow_rebuild()
        return self._store

    @property
    def root(self) -> Path:
        """The repository root (absolute)."""
        return Path(self._store.root)

    def close(self) -> None:
        """Close the database."""
        with self.lock:
            self._store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- state ----------------------------------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The model that built the index, loaded on first use.

        Raises:
            IndexUnusableError, ModelError: see :func:`codegraph.embed.encoder_for_index`.
        """
        if self._embedder is None:
            from .embed import encoder_for_index

            self._embedder = encoder_for_index(
                self.store.get_meta("model_id"),
                threads=self.settings.threads,
                batch_size=self.settings.batch_size,
                settings=self.settings,
            )
        return self._embedder

    @property
    def graph(self) -> Graph:
        """The code graph (rebuilt after each refresh, since it memoises the file list).

        Raises:
            IndexUnusableError: the index was built before the graph existed.
        """
        if self._graph is None:
            from .graph.query import Graph

            self._graph = Graph.of(self.store)
        return self._graph

    def ensure_fresh(self, *, force: bool = False) -> dict[str, int] | None:
        """Look for changed files (at most once per ``check_interval_s`` unless ``force``) and, with freshness
        ``refresh``, re-index them. Returns the stale counts still standing (``report``), else ``None``.

        Raises:
            IndexBusyError: another process held the writer lock for over 10 s.
        """
        if self.freshness == "off":
            return None
        now = time.monotonic()
        if force or now - self._checked_at >= self.check_interval_s:
            from .status import find_stale

            found = self._stale = find_stale(self.store, settings=self.settings)
            self._checked_at = now
            if found.count and self.freshness == "refresh":
                from .index import index_repo

                # Only what find_stale saw differ (as watch does): no second walk, and no damage check of the
                # whole file on every refresh (codegraph.index.VERIFY_MAX_BYTES).
                index_repo(
                    self.root,
                    self.embedder,
                    settings=self.settings,
                    lock_timeout_s=10.0,
                    paths=[*found.changed, *found.new, *found.removed],
                )
                self._graph = None
                self._stale = None
                self._noticed_at = float("-inf")
        stale = self._stale
        if stale is None or not stale.count:
            return None
        return {"changed": len(stale.changed), "new": len(stale.new), "removed": len(stale.removed)}

    def state_notice(self) -> str | None:
        """Why answers may be missing results, as the CLI says it on stderr (:func:`~codegraph.status.state_hint`,
        without its ``codegraph:`` prefix): another process is building the index, the last run did not finish,
        or the index is empty; ``None`` for a complete index. Looked at most once per ``check_interval_s``."""
        now = time.monotonic()
        if now - self._noticed_at >= self.check_interval_s:
            from .status import index_state, state_hint

            hint = state_hint(*index_state(self.store))
            self._notice = hint.removeprefix("codegraph: ") if hint else None
            self._noticed_at = now
        return self._notice

    def follow_rebuild(self) -> bool:
        """If the index was replaced since it was opened (``codegraph index --rebuild`` in another process swaps
        in a new file; so does deleting it and indexing again), reopen it, so that answers come from the index
        on disk rather than from the old file this connection still holds. Returns whether it reopened."""
        with self.lock:
            if not self._store.replaced():
                return False
            fresh = self._store.reopen(any_thread=True)
            old, self._store = self._store, fresh
            old.close()
            self._embedder = None  # the new index may have been built with another model
            self._graph = None
            self._stale = None
            self._checked_at = self._noticed_at = float("-inf")
            return True

    def _answer(self, ask: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        with self.lock:
            stale = self.ensure_fresh()
            answer = ask()
            notice = self.state_notice()
        if stale:
            answer["stale"] = stale
        if notice:
            answer["notice"] = notice
        return answer

    # -- questions ------------------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        mode: str = "hybrid",
        languages: tuple[str, ...] | None = None,
        path_glob: str | None = None,
        tests: str = "demote",
        context: bool = False,
    ) -> dict[str, Any]:
        """``codegraph search --json``: ``{"query", "mode", "results": [{"path", "start_line", "end_line",
        "symbol", "kind", "language", "score", "snippet"}]}`` (lines 1-based, inclusive); with ``context`` each
        result also has ``callers``/``callees`` (see :func:`codegraph.graph.query.call_context`).

        Raises:
            ConfigError: unknown mode, tests mode or language; ``k < 1``.
        """
        from .languages import parse_languages
        from .search import Filters, Searcher, SearchOptions
        from .types import SearchResults

        def ask() -> dict[str, Any]:
            filters = Filters(languages=parse_languages(languages), path_glob=path_glob)
            searcher = Searcher(self.store, self.embedder, options=SearchOptions(tests=tests))
            hits = searcher.search(query, k=k, mode=mode, filters=filters)
            answer = SearchResults(query, mode, tuple(hits)).to_json()
            if context:
                from .graph.query import call_context

                for record, hit in zip(answer["results"], hits, strict=True):
                    record.update(call_context(self.graph, hit.symbol))
            return answer

        return self._answer(ask)

    def definition(self, name: str) -> dict[str, Any]:
        """``codegraph def NAME --json``: ``{"query", "results": [...]}`` (see
        :func:`codegraph.graph.query.hits_json`)."""
        from .graph.query import def_hit, hits_json

        return self._answer(lambda: hits_json(name, [def_hit(d) for d in self.graph.definitions(name)]))

    def references(self, name: str) -> dict[str, Any]:
        """``codegraph refs NAME --json``."""
        from .graph.query import hits_json

        return self._answer(lambda: hits_json(name, self.graph.refs(name)))

    def callers(self, name: str, depth: int = 1) -> dict[str, Any]:
        """``codegraph callers NAME --depth N --json``.

        Raises:
            ConfigError: ``depth`` outside 1..10.
        """
        from .graph.query import hits_json

        _check_depth(depth)
        return self._answer(lambda: hits_json(name, self.graph.callers(name, depth)))

    def callees(self, name: str, depth: int = 1) -> dict[str, Any]:
        """``codegraph callees NAME --depth N --json``.

        Raises:
            ConfigError: ``depth`` outside 1..10.
        """
        from .graph.query import hits_json

        _check_depth(depth)
        return self._answer(lambda: hits_json(name, self.graph.callees(name, depth)))

    def outline(self, path: str) -> dict[str, Any]:
        """``codegraph outline FILE --json``: ``{"path", "results": [definition, ...]}`` in line order.

        Raises:
            SourceError: ``path`` is not an indexed file.
        """
        from .graph.query import def_hit
        from .store.graph import definitions_in

        def ask() -> dict[str, Any]:
            rel = self.indexed_path(path)
            return {"path": rel, "results": [def_hit(d).to_json() for d in definitions_in(self.store, rel)]}

        return self._answer(ask)

    def deps(self, path: str) -> dict[str, Any]:
        """``codegraph deps FILE --json``: ``{"path", "imports": [{"path", "line"}], "imported_by": [...]}``.

        Raises:
            SourceError: ``path`` is not an indexed file.
        """
        from .graph.query import imports_json

        return self._answer(lambda: imports_json(self.graph, self.indexed_path(path)))

    def tree(self, under: str = "", *, blocks: bool = False) -> dict[str, Any]:
        """``codegraph tree [PATH] --json``: nested ``{"path", "kind", "children"}`` nodes.

        Raises:
            SourceError: ``under`` is neither the project nor an indexed directory or file.
        """
        from .graph.query import project_tree

        def ask() -> dict[str, Any]:
            try:
                return project_tree(self.graph, under.strip().strip("/").removeprefix("./"), blocks=blocks)
            except KeyError:
                raise SourceError(f"{under}: no indexed file at or under this path") from None

        return self._answer(ask)

    def files(self) -> list[dict[str, Any]]:
        """Every indexed file as ``{"path", "language"}``, in path order."""
        with self.lock:
            self.ensure_fresh()
            return [{"path": p, "language": lang} for p, lang in sorted(self.store.file_languages().items())]

    def status(self) -> dict[str, Any]:
        """``codegraph status --json`` for this index (a fresh look at the tree, whatever the freshness)."""
        from .status import index_status

        with self.lock:
            return index_status(self.root, settings=self.settings).to_json()

    def read(self, path: str, start_line: int = 1, end_line: int | None = None) -> dict[str, Any]:
        """Lines of an indexed file: ``{"path", "start_line", "end_line", "total_lines", "text"}`` (1-based,
        inclusive), at most :data:`READ_MAX_LINES` lines (``truncated`` is true when more were asked for).

        Only files of the index can be read (what the index skips, such as ``.env`` files or ignored paths, stays
        unreadable through the workspace).

        Raises:
            SourceError: not an indexed file, unreadable, or ``start_line`` past its end.
            ConfigError: ``start_line < 1`` or ``end_line < start_line``.
        """
        if start_line < 1 or (end_line is not None and end_line < start_line):
            raise ConfigError(f"bad line range {start_line}-{end_line}: lines are 1-based and end >= start")

        def ask() -> dict[str, Any]:
            rel = self.indexed_path(path)
            try:
                lines = (self.root / rel).read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError as exc:
                raise SourceError(f"{rel}: cannot read it ({exc.strerror or exc})") from None
            if lines and start_line > len(lines):
                raise SourceError(f"{rel} has {len(lines)} lines; start_line {start_line} is past its end")
            wanted = len(lines) if end_line is None else min(end_line, len(lines))
            last = min(wanted, start_line + READ_MAX_LINES - 1)
            return {
                "path": rel,
                "start_line": start_line,
                "end_line": last,
                "total_lines": len(lines),
                "truncated": last < wanted,
                "text": "\n".join(lines[start_line - 1 : last]),
            }

        return self._answer(ask)

    def indexed_path(self, path: str) -> str:
        """``path`` (repository-relative, ``./``-prefixed or absolute under the root) as the index's POSIX path.

        Raises:
            SourceError: not an indexed file of this repository.
        """
        text = path.strip()
        candidate = Path(text)
        if candidate.is_absolute():
            try:
                text = candidate.resolve().relative_to(self.root.resolve()).as_posix()
            except ValueError:
                raise SourceError(f"{path}: outside the indexed repository {self.root}") from None
        rel = text.removeprefix("./").strip("/")
        if rel not in self.store.file_languages():
            raise SourceError(f"{path}: not an indexed file of {self.root} (paths are relative to it)")
        return rel


def _check_depth(depth: int) -> None:
    if not 1 <= depth <= 10:
        raise ConfigError(f"depth must be between 1 and 10, got {depth}")
