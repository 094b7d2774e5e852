"""``codegraph mcp``: serve the index to a coding agent over the Model Context Protocol (stdio)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import ProjectOption, StoreOption


def mcp(
    directory: Annotated[
        Path, typer.Option("--dir", "-C", help="Serve the index at or above this directory (default: here).")
    ] = Path("."),
    freshness: Annotated[
        str,
        typer.Option(
            "--freshness",
            help="When files changed since the index was built: refresh (re-index them incrementally before "
            "answering; default), report (answer from the index as it is and add a 'stale' field), off (do not "
            "look).",
        ),
    ] = "refresh",
    auto_index: Annotated[
        bool,
        typer.Option(
            "--auto-index/--no-auto-index",
            help="In a git work tree with no index yet, first index it with the fast static model (seconds).",
        ),
    ] = True,
    store_opt: StoreOption = None,
    project: ProjectOption = None,
) -> None:
    """Serve this repository's index to a coding agent (Claude Code, Cursor, VS Code, Codex) as an MCP server.

    MCP (the Model Context Protocol) lets an agent call tools: the agent starts `codegraph mcp` and talks to it
    over stdin/stdout (stdout carries the protocol only; logs go to stderr). The tools are search, definition,
    references, callers, callees, outline, deps, tree, read and status; all read-only, with compact answers.

    The index at or above --dir is opened once and reused; before each answer, files changed since the last
    look are re-indexed (--freshness refresh) or reported (report). In a git work tree with no index yet, the
    fast model indexes it first (seconds); elsewhere, with no index, it exits 1: run `codegraph index` first.
    With a PostgreSQL store (--store / CODEGRAPH_STORE) it serves the project that covers --dir (or --project).

    Configure your agent to run it in the repository, e.g.  claude mcp add codegraph -- codegraph mcp
    (Cursor: .cursor/mcp.json, VS Code: .vscode/mcp.json, Codex: ~/.codex/config.toml; see the README).
    """
    from ..errors import IndexNotFoundError
    from ..service import FRESHNESS, Workspace

    if freshness not in FRESHNESS:
        raise typer.BadParameter(f"must be one of: {', '.join(FRESHNESS)}", param_hint="--freshness")
    try:
        workspace = Workspace.open(directory, freshness=freshness, store=store_opt, project=project)
    except IndexNotFoundError:
        from .search_cmd import _first_index, _git_work_tree

        work_tree = _git_work_tree(directory) if auto_index and not project else None
        if work_tree is None:
            raise
        root = _first_index(work_tree, quiet=True, store=store_opt)
        workspace = Workspace.open(root, freshness=freshness, store=store_opt)
    from ..mcp_server import serve

    with workspace:
        serve(workspace)
