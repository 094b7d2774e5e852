"""An MCP session with ``codegraph mcp``, as the official SDK's stdio client sees it, printed as a transcript.

Usage::

    python benchmarks/mcp_transcript.py [REPO] [--query TEXT] [--name SYMBOL]

``REPO`` (default: this repository) must be indexed, or be a git work tree (the server then indexes it with the
fast model first). The script starts ``python -m codegraph mcp --dir REPO`` with ``mcp.client.stdio``, then
initializes, lists the tools, and calls ``search``, ``definition``, ``callers`` and one ``definition`` of an
unknown name (a tool error), printing each request and the server's answer (the text block, as a model reads it)
with its wall time. The output of one run is in ``docs/mcp.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import CallToolResult, TextContent

ROOT = Path(__file__).resolve().parent.parent


def _say(direction: str, text: str) -> None:
    print(f"{direction} {text}")


def _answer(result: CallToolResult) -> str:
    text = "".join(block.text for block in result.content if isinstance(block, TextContent))
    return f"isError={str(result.is_error).lower()} {text}"


async def _session(repo: Path, calls: list[tuple[str, dict[str, Any]]]) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "codegraph", "mcp", "--dir", str(repo)], cwd=repo
    )
    started = time.perf_counter()
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        _say("→", "initialize")
        init = await session.initialize()
        _say(
            "←",
            f"{init.server_info.name} {init.server_info.version}, protocol {init.protocol_version} "
            f"({(time.perf_counter() - started) * 1000:.0f} ms, process start included)",
        )
        for line in (init.instructions or "").splitlines():
            print(f"    {line}")
        _say("→", "tools/list")
        tools = (await session.list_tools()).tools
        for tool in tools:
            read_only = bool(tool.annotations and tool.annotations.read_only_hint)
            arguments = ", ".join(tool.input_schema.get("properties", {}))
            first = (tool.description or "").split(". ")[0].rstrip(".")
            _say("←", f"{tool.name}({arguments}) readOnly={str(read_only).lower()}: {first}.")
        for name, arguments in calls:
            _say("→", f"tools/call {name} {json.dumps(arguments)}")
            begun = time.perf_counter()
            result = await session.call_tool(name, arguments)
            elapsed = (time.perf_counter() - begun) * 1000
            _say("←", f"({elapsed:.0f} ms) {_answer(result)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", nargs="?", type=Path, default=ROOT, help="repository to serve (default: this one)")
    parser.add_argument("--query", default="reciprocal rank fusion of keyword and vector results")
    parser.add_argument("--name", default="find_index_root")
    args = parser.parse_args()
    calls = [
        ("search", {"query": args.query, "k": 3}),
        ("definition", {"name": args.name}),
        ("callers", {"name": args.name, "limit": 5}),
        ("definition", {"name": "NoSuchSymbol"}),
    ]
    anyio.run(_session, args.repo.resolve(), calls)


if __name__ == "__main__":
    main()
