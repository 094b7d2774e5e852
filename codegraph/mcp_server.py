"""``codegraph mcp``: a Model Context Protocol server over stdio that answers a coding agent from one open index.

The server is a thin layer over :class:`codegraph.service.Workspace` (opened once by the caller, reused by every
call): each tool calls one workspace method and makes its answer compact, so an agent spends few tokens on it.
Every tool is read-only (annotated so) and answers two ways: ``structuredContent`` (the JSON object, described by
the tool's output schema) and one text block holding the same object as compact JSON.

Tools and answers (lines are 1-based and inclusive; paths relative to the repository root, ``/`` separators):

- ``search(query, k, mode, lang, path, tests, context, snippet_lines)``: ``{"query", "mode", "results": [{"path",
  "start_line", "end_line", "symbol", "kind", "score", "snippet"}]}``, best first; a snippet longer than
  ``snippet_lines`` is cut and ends with a ``… N more lines`` marker.
- ``definition(name)``, ``references(name, limit)``, ``callers(name, depth, limit)``, ``callees(name, depth,
  limit)``: ``{"query", "results": [{"path", "start_line", "end_line", "symbol", "kind"}]}``; references and
  callers add ``line`` (the reference's own line) and ``resolution``; ``depth`` is given when asked for more than 1;
  ``total`` and ``truncated`` appear when ``limit`` cut the list.
- ``outline(path)``: ``{"path", "results": [{"symbol", "kind", "start_line", "end_line"}]}`` in line order.
- ``deps(path)``: ``{"path", "imports": [{"path", "line"}], "imported_by": [...]}``.
- ``tree(path, depth, blocks)``: nested ``{"path", "kind", "children"}`` nodes, cut at ``depth`` levels (a cut
  node says how many ``entries`` it holds).
- ``read(path, start_line, end_line)``: ``{"path", "start_line", "end_line", "total_lines", "truncated", "text"}``,
  at most :data:`codegraph.service.READ_MAX_LINES` lines.
- ``status()``: as ``codegraph status --json``.

With freshness ``report`` an answer from a stale index carries ``"stale": {"changed", "new", "removed"}``; an
answer from an index that another process is building, whose last run did not finish, or that is empty carries
``"notice"``: the line the CLI prints on stderr then.

Errors never end the server: a :class:`~codegraph.errors.CodegraphError` (bad path, bad language, unknown symbol,
...) and arguments outside the schema come back as a tool error (``isError``) whose text says what to do; an
unexpected exception is logged with its traceback on stderr and also answered as a tool error. stdout carries the
protocol only: the SDK's stdio transport points file descriptor 1 at stderr while it serves, so a stray print
cannot corrupt it; the SDK's own logging goes to stderr at level WARNING.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Annotated, Any, Literal, ParamSpec

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field
from typing_extensions import NotRequired, TypedDict

from .errors import CodegraphError
from .service import READ_MAX_LINES

if TYPE_CHECKING:
    from .service import Workspace

__all__ = ["RESULT_LIMIT", "SNIPPET_LINES", "TREE_DEPTH", "build_server", "serve"]

logger = logging.getLogger("codegraph.mcp")

SNIPPET_LINES = 12
"""Default most lines of a search result's snippet (the ``snippet_lines`` argument; 0 drops snippets)."""

RESULT_LIMIT = 50
"""Default most results of ``references``, ``callers`` and ``callees`` (the ``limit`` argument)."""

TREE_DEPTH = 2
"""Default levels of ``tree`` below the node asked for (the ``depth`` argument)."""

INSTRUCTIONS = """\
codegraph answers questions about this repository from a local index (semantic + keyword search and a code graph \
built with tree-sitter). Prefer it to grepping or reading whole files:
- search: find code by what it does ("where do we retry failed uploads") or by an identifier; start here.
- definition: where a symbol is defined. references: every use. callers / callees: the call graph (depth for more \
steps). Names are bare (send) or qualified (Client.send, Recv.Method for Go, Type::method for Rust).
- outline: the definitions of one file. deps: what a file imports and what imports it. tree: the project layout.
- read: the lines of a file you found (1-based, inclusive, at most 400 per call).
- status: which index this is, how big, and whether files changed since it was built.
Paths are relative to the repository root with / separators; lines are 1-based and inclusive."""

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
"""Every tool reads the index and the repository's files; none changes them (a refresh only updates the index)."""

P = ParamSpec("P")

Name = Annotated[
    str,
    Field(
        min_length=1,
        description="A symbol: bare (send) or qualified (Client.send; Recv.Method in Go; Type::method in Rust).",
    ),
]
FilePath = Annotated[
    str, Field(min_length=1, description="A file of the repository, relative to its root (pkg/net.py).")
]
Limit = Annotated[int, Field(ge=1, le=500, description="Return at most this many results.")]
Depth = Annotated[int, Field(ge=1, le=10, description="Follow calls this many steps (1 = direct).")]


# -- output shapes (the tools' output schemas) ----------------------------------------------------------------


class Stale(TypedDict):
    """How many indexed files changed, appeared or went since the index was built (freshness ``report``)."""

    changed: int
    new: int
    removed: int


class CallContext(TypedDict):
    """Distinct callers (or callees) of a search result: ``count`` and the ``top`` qualified names."""

    count: int
    top: list[str]


class SearchResult(TypedDict):
    """One search result (lines 1-based inclusive; ``score`` higher is better)."""

    path: str
    start_line: int
    end_line: int
    symbol: str | None
    kind: str
    score: float
    snippet: NotRequired[str]
    callers: NotRequired[CallContext]
    callees: NotRequired[CallContext]


class SearchAnswer(TypedDict):
    """The ``search`` tool's answer."""

    query: str
    mode: str
    results: list[SearchResult]
    stale: NotRequired[Stale]
    notice: NotRequired[str]


class GraphResult(TypedDict):
    """A definition (for references and callers: the one the reference is made in)."""

    path: str
    start_line: int
    end_line: int
    symbol: str | None
    kind: str
    line: NotRequired[int]
    resolution: NotRequired[str]
    depth: NotRequired[int]


class GraphAnswer(TypedDict):
    """The answer of ``definition``, ``references``, ``callers`` and ``callees``."""

    query: str
    results: list[GraphResult]
    total: NotRequired[int]
    truncated: NotRequired[bool]
    stale: NotRequired[Stale]
    notice: NotRequired[str]


class OutlineItem(TypedDict):
    """One definition of a file."""

    symbol: str | None
    kind: str
    start_line: int
    end_line: int


class OutlineAnswer(TypedDict):
    """The ``outline`` tool's answer."""

    path: str
    results: list[OutlineItem]
    stale: NotRequired[Stale]
    notice: NotRequired[str]


class ImportEdge(TypedDict):
    """A file and the line of the import statement."""

    path: str
    line: int


class DepsAnswer(TypedDict):
    """The ``deps`` tool's answer."""

    path: str
    imports: list[ImportEdge]
    imported_by: list[ImportEdge]
    stale: NotRequired[Stale]
    notice: NotRequired[str]


class ReadAnswer(TypedDict):
    """The ``read`` tool's answer."""

    path: str
    start_line: int
    end_line: int
    total_lines: int
    truncated: bool
    text: str
    stale: NotRequired[Stale]
    notice: NotRequired[str]


# -- building the server ---------------------------------------------------------------------------------------


def build_server(workspace: Workspace) -> MCPServer[Any]:
    """An MCP server whose tools answer from ``workspace`` (which the caller opened and closes).

    Returns:
        the server; run it with ``server.run("stdio")`` (or :func:`serve`).
    """
    from .distribution import version

    server: MCPServer[Any] = MCPServer(
        name="codegraph", version=version(), instructions=INSTRUCTIONS, log_level="WARNING"
    )
    ws = workspace

    def search(
        query: Annotated[str, Field(min_length=1, description="Natural language or an identifier.")],
        k: Annotated[int, Field(ge=1, le=50, description="Number of results.")] = 8,
        mode: Annotated[
            Literal["hybrid", "semantic", "keyword"],
            Field(description="hybrid (default) fuses semantic vectors and BM25 keywords."),
        ] = "hybrid",
        lang: Annotated[
            str | None, Field(description="Only these languages, comma-separated (python,go,typescript).")
        ] = None,
        path: Annotated[str | None, Field(description="Only paths matching this glob (src/**, *.py).")] = None,
        tests: Annotated[
            Literal["include", "demote", "exclude"],
            Field(description="Test, example, vendored and generated code: rank as any code, lower, or drop it."),
        ] = "demote",
        context: Annotated[bool, Field(description="Add each result's callers and callees (names).")] = False,
        snippet_lines: Annotated[
            int, Field(ge=0, le=200, description="Cut each snippet to this many lines (0: no snippet).")
        ] = SNIPPET_LINES,
    ) -> Annotated[CallToolResult, SearchAnswer]:
        """Search the repository's code by meaning or by name; start here. Returns the best matching functions,
        methods and classes, best first: path, start_line, end_line (1-based, inclusive), symbol (qualified,
        e.g. Client.send), kind, score (higher is better) and a snippet cut to snippet_lines lines. A query that
        names an identifier (parse_header, Client.send) ranks its definition first. Use read for more lines."""
        languages = tuple(lang.split(",")) if lang else None
        answer = ws.search(query, k=k, mode=mode, languages=languages, path_glob=path, tests=tests, context=context)
        for result in answer["results"]:
            result.pop("language", None)
            result["score"] = round(float(result["score"]), 4)
            if snippet_lines:
                result["snippet"] = _cut(result["snippet"], snippet_lines)
            else:
                result.pop("snippet", None)
        return _result(answer)

    def definition(name: Name) -> Annotated[CallToolResult, GraphAnswer]:
        """Where a symbol is defined (function, method, class, interface, struct, enum, trait, type, constant):
        path, start_line, end_line (1-based, inclusive), qualified symbol and kind. An unknown name is an error
        that suggests search."""
        answer = ws.definition(name)
        if not answer["results"]:
            raise ToolError(_unknown(name, answer))
        return _graph_result(answer, limit=RESULT_LIMIT)

    def references(name: Name, limit: Limit = RESULT_LIMIT) -> Annotated[CallToolResult, GraphAnswer]:
        """Every reference to a symbol (calls, type uses, imports, inheritance): for each, the definition it is
        made in (path, start_line, end_line, symbol), the reference's own line, and how it was resolved
        (same_file, import, or by_name: a guess by name)."""
        return _graph_result(_known(ws, name, ws.references(name)), limit=limit)

    def callers(name: Name, depth: Depth = 1, limit: Limit = RESULT_LIMIT) -> Annotated[CallToolResult, GraphAnswer]:
        """The functions and methods that call a symbol (with depth > 1 their callers too, nearest first): each
        with path, lines, symbol, the line of the call and how it was resolved."""
        return _graph_result(_known(ws, name, ws.callers(name, depth)), limit=limit, depth=depth > 1)

    def callees(name: Name, depth: Depth = 1, limit: Limit = RESULT_LIMIT) -> Annotated[CallToolResult, GraphAnswer]:
        """The repository's functions and methods that a symbol calls (with depth > 1 theirs too): where each
        is defined. Calls into libraries are not listed."""
        return _graph_result(_known(ws, name, ws.callees(name, depth)), limit=limit, depth=depth > 1)

    def outline(path: FilePath) -> Annotated[CallToolResult, OutlineAnswer]:
        """The definitions of one file in line order (symbol, kind, start_line, end_line): a cheap map of a file
        before reading it."""
        answer = ws.outline(path)
        answer["results"] = [
            {key: r[key] for key in ("symbol", "kind", "start_line", "end_line")} for r in answer["results"]
        ]
        return _result(answer)

    def deps(path: FilePath) -> Annotated[CallToolResult, DepsAnswer]:
        """What a file imports (repository files only) and which files import it, with the import's line."""
        return _result(ws.deps(path))

    def tree(
        path: Annotated[str, Field(description="A directory or file; empty for the whole project.")] = "",
        depth: Annotated[int, Field(ge=1, le=8, description="Levels below path to show.")] = TREE_DEPTH,
        blocks: Annotated[bool, Field(description="Also show each file's definitions.")] = False,
    ) -> Annotated[CallToolResult, dict[str, Any]]:
        """The project's structure: nested nodes {path, kind, children} (kind project, directory, file or a
        definition kind with blocks). Levels below depth are cut; a cut node gives its number of entries."""
        answer = ws.tree(path, blocks=blocks)
        kept: dict[str, Any] = {key: answer.pop(key) for key in ("stale", "notice") if key in answer}
        return _result({**_prune(answer, depth), **kept})

    def read(
        path: FilePath,
        start_line: Annotated[int, Field(ge=1, description="First line, 1-based.")] = 1,
        end_line: Annotated[
            int | None, Field(ge=1, description=f"Last line, inclusive (default: the end; {READ_MAX_LINES} at most).")
        ] = None,
    ) -> Annotated[CallToolResult, ReadAnswer]:
        """Read lines of an indexed file (1-based, inclusive), at most 400 lines per call: truncated is true when
        more were asked for, so page on with start_line. Files the index skips (.env, ignored paths) are
        unreadable."""
        return _result(ws.read(path, start_line, end_line))

    def status() -> Annotated[CallToolResult, dict[str, Any]]:
        """The index: root, model, files, chunks, size, state, last refresh, and the files changed since
        (stale). Use it when answers look out of date."""
        return _result(ws.status())

    tools: list[tuple[Callable[..., CallToolResult], str]] = [
        (search, "Search code"),
        (definition, "Find a definition"),
        (references, "Find references"),
        (callers, "Find callers"),
        (callees, "Find callees"),
        (outline, "Outline a file"),
        (deps, "File imports"),
        (tree, "Project tree"),
        (read, "Read file lines"),
        (status, "Index status"),
    ]
    for fn, title in tools:
        description = " ".join((fn.__doc__ or "").split())  # one paragraph, without the docstring's indentation
        server.add_tool(
            _guarded(fn), title=title, description=description, annotations=READ_ONLY, structured_output=True
        )
    return server


def serve(workspace: Workspace) -> None:
    """Serve ``workspace`` over stdio until the client closes stdin (blocks)."""
    build_server(workspace).run("stdio")


# -- helpers ---------------------------------------------------------------------------------------------------


def _guarded(fn: Callable[P, CallToolResult]) -> Callable[P, CallToolResult]:
    """``fn`` with every failure turned into a :class:`ToolError` (an ``isError`` result whose text says what to
    do), so the server answers the next call whatever happened in this one."""

    @wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> CallToolResult:
        try:
            return fn(*args, **kwargs)
        except ToolError:
            raise
        except CodegraphError as exc:
            raise ToolError(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - reported to the client and logged with its traceback
            from .store.sqlite import store_error

            error = store_error(exc)
            if error is not None:
                raise ToolError(str(error)) from None
            logger.exception("codegraph mcp: tool %s failed", fn.__name__)
            detail = str(exc).splitlines()[0][:200] if str(exc) else ""
            raise ToolError(
                f"internal error in codegraph ({type(exc).__name__}: {detail}); the server keeps running and logged "
                "the traceback on its stderr. Try the matching codegraph command in a shell to see more."
            ) from None

    return call


def _result(answer: dict[str, Any]) -> CallToolResult:
    """``answer`` as structured content plus one text block of compact JSON (what most clients show a model)."""
    text = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=answer)


def _cut(snippet: str, max_lines: int) -> str:
    """The first ``max_lines`` lines of ``snippet``, then a ``… N more lines`` marker when any were cut."""
    lines = snippet.splitlines()
    if len(lines) <= max_lines:
        return snippet
    return "\n".join([*lines[:max_lines], f"… {len(lines) - max_lines} more lines (use read)"])


def _graph_result(answer: dict[str, Any], *, limit: int, depth: bool = False) -> CallToolResult:
    """A graph answer without redundant fields (language; nulls; depth unless more than 1 step was asked for),
    cut to ``limit`` results (then with ``total`` and ``truncated``)."""
    results = answer["results"]
    compact = []
    for hit in results[:limit]:
        item = {key: hit[key] for key in ("path", "start_line", "end_line", "symbol", "kind")}
        for key in ("line", "resolution"):
            if hit.get(key) is not None:
                item[key] = hit[key]
        if depth:
            item["depth"] = hit["depth"]
        compact.append(item)
    answer["results"] = compact
    if len(results) > limit:
        answer["total"] = len(results)
        answer["truncated"] = True
    return _result(answer)


def _unknown(name: str, answer: dict[str, Any]) -> str:
    """The error text for a name the index does not define."""
    text = (
        f"no symbol named {name!r} is defined in the index. Names are bare (send) or qualified (Client.send); "
        "use the search tool to find it by meaning or by a part of its name."
    )
    stale = answer.get("stale")
    if stale:
        text += f" The index is stale ({stale['changed']} changed, {stale['new']} new files): run `codegraph index`."
    if answer.get("notice"):
        text += f" Note: {answer['notice']}."
    return text


def _known(ws: Workspace, name: str, answer: dict[str, Any]) -> dict[str, Any]:
    """``answer`` unchanged, or a :class:`ToolError` when it is empty because the index defines no ``name`` at
    all (an empty answer for a defined name, say one that nothing calls, is a real answer)."""
    if not answer["results"] and not ws.definition(name)["results"]:
        raise ToolError(_unknown(name, answer))
    return answer


def _prune(node: dict[str, Any], depth: int) -> dict[str, Any]:
    """A copy of the tree ``node`` keeping ``depth`` levels of children; a node whose children were cut gets
    ``entries`` (their number) instead; empty ``children`` lists are dropped."""
    out = {key: value for key, value in node.items() if key != "children"}
    children = node.get("children") or []
    if children and depth > 0:
        out["children"] = [_prune(child, depth - 1) for child in children]
    elif children:
        out["entries"] = len(children)
    return out
