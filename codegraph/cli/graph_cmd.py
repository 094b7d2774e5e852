"""``codegraph def | refs | callers | callees | deps | outline``: the code graph."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ..graph.query import Graph, GraphHit

from .common import AllProjectsOption, ProjectOption, StoreOption

NameArg = Annotated[
    str, typer.Argument(help="A symbol: bare (send), or qualified (Client.send, Recv.Method, Type::method).")
]
JsonOption = Annotated[bool, typer.Option("--json", help='Print {"query", "results": [...]} as one JSON object.')]
DirOption = Annotated[Path, typer.Option("--dir", "-C", help="Use the index at or above this directory.")]
DepthOption = Annotated[int, typer.Option("--depth", "-d", min=1, max=10, help="Follow calls this many steps.")]


@contextmanager
def _graph(directory: Path, store_url: str | None = None, project: str | None = None) -> Iterator[Graph]:
    """The graph of the index at or above ``directory`` (or of a PostgreSQL store's project: ``--store``,
    ``--project``); refuses an index built before the graph existed."""
    from ..graph.query import Graph
    from ..store import open_index
    from .common import read_only_notice, settings_for

    store = open_index(directory, settings=settings_for(None, store=store_url, project=project), project=project)
    read_only_notice(store)
    try:
        yield Graph.of(store)
    finally:
        store.close()


def _answer(query: str, hits: Sequence[GraphHit], *, as_json: bool, empty: str) -> None:
    from . import render
    from .common import stdout_json

    if as_json:
        from ..graph.query import hits_json

        stdout_json(hits_json(query, hits))
        return
    if not hits:
        render.err.print(empty, highlight=False, markup=False)
        return
    render.graph_hits(hits)


Ask = Callable[["Graph", Sequence[tuple[str, "Graph"]]], "list[GraphHit]"]
"""A question to a project's graph, given the other projects' ``(name, graph)`` (empty without ``--all``)."""


def _run(
    query: str,
    directory: Path,
    as_json: bool,
    empty: str,
    ask: Ask,
    *,
    store: str | None = None,
    project: str | None = None,
    all_projects: bool = False,
) -> None:
    if not all_projects:
        with _graph(directory, store, project) as graph:
            hits = ask(graph, ())
    else:
        hits = _ask_every_project(directory, store, project, ask)
    _answer(query, hits, as_json=as_json, empty=empty)


def _ask_every_project(directory: Path, store: str | None, project: str | None, ask: Ask) -> list[GraphHit]:
    """``ask`` of each project of the PostgreSQL store in name order, with the others' graphs (``--all``);
    every answer names its project. Within a project references resolve as without ``--all``; across
    projects only through imports (:meth:`~codegraph.graph.query.Graph.foreign_targets`), since two
    repositories' paths may coincide. A project indexed before the graph existed is skipped with a notice.

    Raises:
        typer.BadParameter: ``--project`` given too.
        ConfigError: no PostgreSQL store (``--all`` needs one).
    """
    from dataclasses import replace

    from ..errors import ConfigError, IndexUnusableError
    from ..graph.query import Graph
    from ..store import open_index, store_url
    from ..store.postgres import PgStore
    from . import render
    from .common import check_scope, settings_for

    check_scope(project, all_projects=True)
    settings = settings_for(None, store=store)
    if store_url(settings) is None:
        raise ConfigError("--all needs a PostgreSQL store (--store postgresql://... or CODEGRAPH_STORE)")
    whole = open_index(directory, settings=settings, all_projects=True)
    try:
        assert isinstance(whole, PgStore)
        graphs: list[tuple[str, Graph]] = []
        for view in whole.views():
            try:
                graphs.append((view.project.name, Graph.of(view)))
            except IndexUnusableError as exc:  # one project built before the graph does not hide the others
                render.notice(f"codegraph: project {view.project.name!r} skipped: {exc}")
        hits: list[GraphHit] = []
        for name, graph in graphs:
            others = [(other, g) for other, g in graphs if other != name]
            hits += [hit if hit.project else replace(hit, project=name) for hit in ask(graph, others)]
        return hits
    finally:
        whole.close()


def _across(
    own: Callable[..., list[GraphHit]], graph: Graph, others: Sequence[tuple[str, Graph]], *args: object
) -> list[GraphHit]:
    """``own(*args)`` of ``graph``, then ``own(*args, home=g)`` for each other project's graph ``g`` (what this
    project's code does with their definitions), each place once."""
    hits = own(*args)
    seen = {(h.path, h.start_line, h.line) for h in hits}
    for _, other in others:
        for hit in own(*args, home=other):
            if (hit.path, hit.start_line, hit.line) not in seen:
                seen.add((hit.path, hit.start_line, hit.line))
                hits.append(hit)
    return hits


def definition(
    name: NameArg,
    as_json: JsonOption = False,
    directory: DirOption = Path("."),
    store: StoreOption = None,
    project: ProjectOption = None,
    all_projects: AllProjectsOption = False,
) -> None:
    """Where NAME is defined (functions, methods, classes, interfaces, structs, enums, traits, types, modules,
    constants), in path order."""
    from ..graph.query import def_hit

    _run(
        name,
        directory,
        as_json,
        f"no definition of {name!r} in the index",
        lambda graph, _others: [def_hit(d) for d in graph.definitions(name)],
        store=store,
        project=project,
        all_projects=all_projects,
    )


def refs(
    name: NameArg,
    as_json: JsonOption = False,
    directory: DirOption = Path("."),
    store: StoreOption = None,
    project: ProjectOption = None,
    all_projects: AllProjectsOption = False,
) -> None:
    """Every reference to NAME (calls, type uses, imports, inheritance) with its line and the definition it is
    made in; each says how it was resolved: same_file, import, or by_name (a guess by name)."""
    _run(
        name,
        directory,
        as_json,
        f"no references to {name!r} in the index",
        lambda g, others: _across(g.refs, g, others, name),
        store=store,
        project=project,
        all_projects=all_projects,
    )


def callers(
    name: NameArg,
    depth: DepthOption = 1,
    as_json: JsonOption = False,
    directory: DirOption = Path("."),
    store: StoreOption = None,
    project: ProjectOption = None,
    all_projects: AllProjectsOption = False,
) -> None:
    """The definitions that call NAME, and with --depth N their callers too (nearest first)."""
    _run(
        name,
        directory,
        as_json,
        f"no callers of {name!r} in the index",
        lambda g, others: _across(g.callers, g, others, name, depth),
        store=store,
        project=project,
        all_projects=all_projects,
    )


def callees(
    name: NameArg,
    depth: DepthOption = 1,
    as_json: JsonOption = False,
    directory: DirOption = Path("."),
    store: StoreOption = None,
    project: ProjectOption = None,
    all_projects: AllProjectsOption = False,
) -> None:
    """The definitions NAME calls (those the repository defines), and with --depth N theirs too."""
    _run(
        name,
        directory,
        as_json,
        f"no calls from {name!r} to code in the index",
        lambda g, others: g.callees(name, depth, others=others),
        store=store,
        project=project,
        all_projects=all_projects,
    )


def deps(
    path: Annotated[Path, typer.Argument(help="A file of the repository.")],
    reverse: Annotated[bool, typer.Option("--reverse", "-r", help="Only what imports PATH.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"path", "imports": [...], "imported_by": [...]}.')
    ] = False,
    directory: DirOption = Path("."),
    store: StoreOption = None,
    project: ProjectOption = None,
) -> None:
    """What a file imports (repository files only) and what imports it."""
    from ..graph.query import imports_json
    from . import render
    from .common import stdout_json

    with _graph(directory, store, project) as graph:
        rel = _indexed_file(path, graph)
        answer = imports_json(graph, rel)
    if reverse:
        answer["imports"] = []
    if as_json:
        stdout_json(answer)
        return
    for label, key in (("imports", "imports"), ("imported by", "imported_by")):
        if reverse and key == "imports":
            continue
        items = answer[key]
        render.out.print(f"{label} ({len(items)}):", highlight=False, markup=False)
        for item in items:
            render.out.print(f"  {item['path']}  (line {item['line']})", highlight=False, markup=False)


def outline(
    path: Annotated[Path, typer.Argument(help="A file of the repository.")],
    as_json: Annotated[bool, typer.Option("--json", help='Print {"path", "results": [...]}.')] = False,
    directory: DirOption = Path("."),
    store: StoreOption = None,
    project: ProjectOption = None,
) -> None:
    """One file's definitions (kind, qualified name, lines), in line order."""
    from ..graph.query import def_hit
    from ..store.graph import definitions_in
    from . import render
    from .common import stdout_json

    with _graph(directory, store, project) as graph:
        rel = _indexed_file(path, graph)
        hits = [def_hit(d) for d in definitions_in(graph.store, rel)]
    if as_json:
        stdout_json({"path": rel, "results": [h.to_json() for h in hits]})
    else:
        render.graph_hits(hits, outline=True)


def _indexed_file(path: Path, graph: Graph) -> str:
    """``path`` as an indexed repository-relative path (see :func:`_relative`).

    Raises:
        SourceError: not a file of the index.
    """
    from ..errors import SourceError

    rel = _relative(path, graph)
    if rel not in graph.files:
        raise SourceError(f"{path}: not an indexed file of {graph.store.root}")
    return rel


def _relative(path: Path, graph: Graph) -> str:
    """``path`` as the index's repository-relative path: a path that exists is taken relative to the working
    directory (or absolute); any other is read as repository-relative already."""
    if path.exists():
        try:
            return path.resolve().relative_to(Path(graph.store.root).resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def impact(
    target: Annotated[str, typer.Argument(help="An indexed file (path) or a symbol (NAME, Class.method).")],
    depth: Annotated[int, typer.Option("--depth", "-d", min=1, max=10, help="Follow this many steps.")] = 10,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"query", "kind", "results": [...], "tests": [...]}.')
    ] = False,
    directory: DirOption = Path("."),
    store: StoreOption = None,
    project: ProjectOption = None,
) -> None:
    """What a change would touch: for a file, the files that import it (transitively); for a symbol, the
    definitions that call it (transitively); nearest first, test files marked. "tests" answers CI's question:
    which tests to run."""
    from ..graph.query import impact_json
    from . import render
    from .common import stdout_json

    with _graph(directory, store, project) as graph:
        query = _relative(Path(target), graph) if Path(target).exists() else target
        kind, hits = graph.impact(query, max_depth=depth)
    answer = impact_json(query, kind, hits)
    if as_json:
        stdout_json(answer)
        return
    if not hits:
        render.err.print(f"nothing in the index depends on {query!r}", highlight=False, markup=False)
        return
    for hit in hits:
        symbol = f"  {hit.symbol}" if hit.symbol else ""
        test = "  [test]" if hit.test else ""
        render.out.print(f"{hit.depth}  {hit.path}{symbol}{test}", highlight=False, markup=False)
    tests = answer["tests"]
    render.err.print(f"{len(hits)} affected, {len(tests)} test file(s)", highlight=False, markup=False)


def tree(
    path: Annotated[str, typer.Argument(help="A directory or file of the repository (default: the project).")] = "",
    blocks: Annotated[bool, typer.Option("--blocks", "-b", help="Show each file's definitions too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help='Print nested {"path", "kind", "children"} objects.')] = False,
    directory: DirOption = Path("."),
    store: StoreOption = None,
    project: ProjectOption = None,
) -> None:
    """The project's structure: directories, files (with their language) and, with --blocks, the definitions
    in each file (kind, symbol, lines)."""
    from ..errors import SourceError
    from ..graph.query import project_tree
    from . import render
    from .common import stdout_json

    with _graph(directory, store, project) as graph:
        under = _relative(Path(path), graph) if path else ""
        try:
            node = project_tree(graph, "" if under == "." else under, blocks=blocks)
        except KeyError:
            raise SourceError(f"{path}: no indexed file at or under it in {graph.store.root}") from None
    if as_json:
        stdout_json(node)
        return

    def show(n: dict[str, object], indent: int) -> None:
        children = n.get("children") or []
        assert isinstance(children, list)
        name = str(n["path"]).rsplit("/", 1)[-1] if n["kind"] in ("directory", "file") else str(n["path"])
        if "symbol" in n:
            label = f"{n['symbol']}  {n['kind']} {n['start_line']}-{n['end_line']}"
        elif n["kind"] == "file":
            label = f"{name}  ({n['language']})"
        else:
            label = name + ("/" if n["kind"] == "directory" else "")
        render.out.print("  " * indent + label, highlight=False, markup=False)
        for child in children:
            show(child, indent + 1)

    show(node, 0)


def draw(
    target: Annotated[str, typer.Argument(help="A symbol (NAME, Class.method) or an indexed file.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="mermaid | dot | svg (svg needs Graphviz's dot).")] = (
        "mermaid"
    ),
    depth: Annotated[int, typer.Option("--depth", "-d", min=1, max=10, help="Steps of calls or imports.")] = 1,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    directory: DirOption = Path("."),
    store: StoreOption = None,
    project: ProjectOption = None,
) -> None:
    """Draw the neighbourhood of a symbol (its callers and callees) or a file (its imports and importers) as
    Mermaid or Graphviz source, or as SVG through Graphviz; guessed (by-name) edges are dashed."""
    import shutil
    import subprocess

    from ..errors import SourceError
    from ..graph.query import neighbourhood, to_dot, to_mermaid
    from . import render

    if fmt not in ("mermaid", "dot", "svg"):
        raise typer.BadParameter("must be one of: mermaid, dot, svg", param_hint="--format")
    dot = shutil.which("dot") if fmt == "svg" else None
    if fmt == "svg" and dot is None:
        raise SourceError("--format svg needs Graphviz's dot on PATH (e.g. apt install graphviz); or use --format dot")
    with _graph(directory, store, project) as graph:
        query = _relative(Path(target), graph) if Path(target).exists() else target
        edges = neighbourhood(graph, query, depth)
    if not edges:
        render.err.print(f"no call or import edges around {query!r} in the index", highlight=False, markup=False)
    text = to_mermaid(query, edges) if fmt == "mermaid" else to_dot(query, edges)
    if fmt == "svg":
        assert dot is not None
        text = subprocess.run([dot, "-Tsvg"], input=text, capture_output=True, text=True, check=True).stdout
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        render.out.print(text, end="", highlight=False, markup=False, soft_wrap=True)


def repo_map(
    tokens: Annotated[
        int, typer.Option("--tokens", "-t", min=64, max=65536, help="Size budget in tokens (~4 characters each).")
    ] = 1024,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help='Print {"tokens", "map", "results": [{"path", "symbol", "kind", "start_line", "score"}]}.'
        ),
    ] = False,
    directory: DirOption = Path("."),
    store: StoreOption = None,
    project: ProjectOption = None,
) -> None:
    """A ranked map of the repository: the most central definitions (PageRank over the reference graph, as
    aider's repo map) with their signatures, grouped by file, sized to a token budget. generate gives it to the
    model as extra context."""
    from ..graph.rank import repo_map as build_map
    from . import render
    from .common import stdout_json

    with _graph(directory, store, project) as graph:
        built = build_map(graph, tokens=tokens)
    if as_json:
        results = [
            {
                "path": r.definition.path,
                "symbol": r.definition.qualified,
                "kind": r.definition.kind,
                "start_line": r.definition.start_line,
                "score": round(r.score, 6),
            }
            for r in built.entries
        ]
        stdout_json({"tokens": tokens, "map": built.text, "results": results})
        return
    render.out.print(built.text, end="", highlight=False, markup=False, soft_wrap=True)
