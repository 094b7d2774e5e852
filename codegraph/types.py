"""Frozen value types shared by every pipeline stage (discover → chunk → embed → store → search)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

ProgressFn = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: ``done`` of ``total`` items of a stage are finished. Stages of an index run:
``"chunk"`` (files), ``"embed"`` (chunks), ``"store"`` (files); the encoders report ``"embed"`` (texts)."""


def qualified_symbol(scope: str | None, symbol: str | None) -> str | None:
    """``scope.symbol`` when both exist, else whichever exists, else ``None`` (``("Client", "send")`` ->
    ``"Client.send"``). Used for chunks being written and for rows read back, so both spell it alike."""
    if symbol and scope:
        return f"{scope}.{symbol}"
    return symbol or scope


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file found by discovery.

    Attributes:
        path: path relative to the repository root, POSIX separators (``"pkg/mod.py"``).
        abspath: absolute filesystem path.
        size: size in bytes.
        mtime_ns: modification time in nanoseconds since the epoch.
        language: language id (``"python"``, ``"tsx"``, ...) or ``"text"`` for files chunked by line windows.
    """

    path: str
    abspath: str
    size: int
    mtime_ns: int
    language: str


@dataclass(frozen=True, slots=True)
class Chunk:
    """One unit of search: a function, method, class part, module remainder or line window.

    Lines are 1-based and inclusive. A definition longer than the model's token limit is split into several
    chunks (windows); each window keeps its own ``start_line``/``end_line`` while ``span_start``/``span_end``
    give the whole definition, which is what search reports.

    Attributes:
        path: repository-relative POSIX path.
        language: language id.
        kind: ``"function"``, ``"method"``, ``"class"``, ``"module"`` or ``"window"`` (plain-text files).
        symbol: name of the definition (``None`` for module remainder and text windows).
        scope: dotted enclosing scope (``"Outer.Inner"``), ``None`` at module level.
        start_line: first line of this chunk (1-based).
        end_line: last line of this chunk (1-based, inclusive).
        span_start: first line of the whole definition (== start_line unless split).
        span_end: last line of the whole definition (== end_line unless split).
        code: the source text of lines ``start_line..end_line``.
    """

    path: str
    language: str
    kind: str
    symbol: str | None
    scope: str | None
    start_line: int
    end_line: int
    span_start: int
    span_end: int
    code: str

    @property
    def qualified_symbol(self) -> str | None:
        """See :func:`qualified_symbol`."""
        return qualified_symbol(self.scope, self.symbol)


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result, best first in a result list.

    Attributes:
        path: repository-relative POSIX path.
        start_line: first line (1-based).
        end_line: last line (1-based, inclusive).
        symbol: qualified symbol (``Class.method``) or ``None``.
        kind: chunk kind (see :class:`Chunk`).
        language: language id.
        score: higher is better. Hybrid: reciprocal-rank-fusion score; semantic: cosine similarity in [-1, 1];
            keyword: negated FTS5 BM25 (higher is better).
        excerpt: source text of the best-matching chunk (the JSON key is ``snippet``, per the CLI contract).
        excerpt_line: line number of the excerpt's first line (1-based); not part of the JSON contract.
        project: the project of a result from several projects of a PostgreSQL store (``search --all``; the
            JSON then has a ``project`` key), else ``None`` (and no such key).
    """

    path: str
    start_line: int
    end_line: int
    symbol: str | None
    kind: str
    language: str
    score: float
    excerpt: str
    excerpt_line: int = 1
    project: str | None = None

    def to_json(self) -> dict[str, object]:
        """The hit as in the CLI contract (``codegraph search --json``); ``project`` first when set."""
        head: dict[str, object] = {} if self.project is None else {"project": self.project}
        return {
            **head,
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "symbol": self.symbol,
            "kind": self.kind,
            "language": self.language,
            "score": round(self.score, 6),
            "snippet": self.excerpt,
        }


@dataclass(frozen=True, slots=True)
class SearchResults:
    """One query's results, best first (``codegraph search --json`` prints one; stdin mode one per line).

    Attributes:
        query: the query as given.
        mode: ``hybrid``, ``semantic`` or ``keyword``.
        hits: the results, best first.
    """

    query: str
    mode: str
    hits: tuple[Hit, ...]

    def to_json(self) -> dict[str, Any]:
        """``{"query", "mode", "results": [hit, ...]}`` with each hit as :meth:`Hit.to_json`."""
        return {"query": self.query, "mode": self.mode, "results": [h.to_json() for h in self.hits]}


@dataclass(slots=True)
class IndexStats:
    """Summary of one ``index`` run (``codegraph index --json`` prints it).

    Attributes:
        files_seen: files discovery yielded.
        files_changed: files (re)chunked because they are new or their content changed.
        files_unchanged: files skipped because size+mtime_ns (or the content hash) matched the index.
        files_removed: files dropped from the index because they no longer exist or are now ignored.
        files_skipped: files skipped with a warning (binary, too large, undecodable, unreadable).
        files_binary: files passed over without a warning because their extension names a binary format
            (images, archives, fonts, compiled objects, ...: :data:`codegraph.discover.BINARY_EXTENSIONS`);
            not counted in ``files_skipped``.
        chunks: chunks in the index after the run.
        chunks_new: chunks written by this run.
        embedded: embeddings computed by the model in this run.
        cache_hits: chunks whose embedding came from the content-hash cache.
        cache_hit_ratio: cache_hits / (cache_hits + embedded) over the chunks of *changed* files (unchanged
            files are not counted at all); ``cache_hits`` counts chunks (duplicates included), ``embedded``
            distinct texts. 1.0 when nothing needed an embedding.
        seconds: wall time of the run.
        model: model id that built the index.
        rebuilt: the index was emptied first because another model or chunker version had built it.
        previous_model: when ``rebuilt``, the model id that had built the index (equal to ``model`` when only
            the chunker version or the vector representation changed), else ``""``.
        vectors: how the index stores its vectors after the run: ``float``, ``int8`` or ``binary``
            (:mod:`codegraph.store.vectors`).
        previous_vectors: when ``rebuilt``, the vector format before the run, else ``""``.
        warnings: one line per skipped file (path: reason).
        truncated: texts cut to the model's token limit before embedding, as counted by encoders that report it
            (remote ``openai:`` models: estimated tokens over ``embed_max_tokens``); 0 otherwise.
        verified: the run checked the SQLite file for damage first (``PRAGMA quick_check``; see
            :data:`codegraph.index.VERIFY_MAX_BYTES`) and found none.
        rebuild: for ``index --rebuild``, what was kept and lost
            (:meth:`codegraph.store.rebuild.RebuildReport.to_json`); ``None`` otherwise.
    """

    files_seen: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    files_skipped: int = 0
    chunks: int = 0
    chunks_new: int = 0
    embedded: int = 0
    cache_hits: int = 0
    cache_hit_ratio: float = 1.0
    seconds: float = 0.0
    model: str = ""
    rebuilt: bool = False
    previous_model: str = ""
    vectors: str = ""
    previous_vectors: str = ""
    warnings: list[str] = field(default_factory=list)
    files_binary: int = 0
    truncated: int = 0
    verified: bool = False
    rebuild: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The summary as printed by ``codegraph index --json`` (every attribute; seconds rounded to ms)."""
        return asdict(self) | {"seconds": round(self.seconds, 3)}


@dataclass(frozen=True, slots=True)
class SnippetDraft:
    """A snippet revision about to be stored (attributes as documented on :class:`Snippet`, which adds the
    ``id`` and ``created_at`` the store assigns)."""

    parent_id: int | None
    origin: str
    title: str
    language: str
    code: str
    explanation: str
    plan: str | None
    prompt: str
    model: str
    context: list[dict[str, Any]]
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class Snippet(SnippetDraft):
    """One stored snippet revision: a :class:`SnippetDraft` with the id and time the store gave it.

    Attributes:
        id: 1-based row id (what ``codegraph snippets show ID`` takes).
        parent_id: the revision this one refines, ``None`` for a first generation.
        origin: ``generate``, ``refine`` (feedback) or ``fix`` (``codegraph test --fix``).
        title, language, code, explanation: the parsed answer (language: an ``ASSIST_LANGUAGES`` id).
        plan: the model's plan when ``--plan`` was used, else ``None``.
        prompt: the request, the feedback, or the failure report the revision answers.
        model: model name reported by the server.
        context: the chunks given as context: dicts with path, start_line, end_line (1-based), symbol.
        prompt_tokens, completion_tokens: token usage reported by the server (0 if not reported).
        created_at: unix seconds.
    """

    id: int
    created_at: float

    def to_json(self) -> dict[str, Any]:
        """The record as printed by ``--json``."""
        return {
            "id": self.id,
            "parent_id": self.parent_id,
            "origin": self.origin,
            "title": self.title,
            "language": self.language,
            "code": self.code,
            "explanation": self.explanation,
            "plan": self.plan,
            "prompt": self.prompt,
            "model": self.model,
            "context": self.context,
            "usage": {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens},
            "created_at": self.created_at,
        }
