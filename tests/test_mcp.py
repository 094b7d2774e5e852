"""``codegraph mcp``: a real ``python -m codegraph mcp`` subprocess driven by the MCP SDK's own stdio client
(real model, SQLite, tree-sitter). One server answers most tests of this module."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InitializeResult, TextContent

from codegraph.embed import OnnxEncoder
from codegraph.index import index_repo
from codegraph.mcp_server import _guarded
from codegraph.store import Store

from .conftest import CODEGRAPH, GRAPH_PACKAGE, SAMPLE_FILES, RunCli, wait_until, write_files

REPO = {
    **SAMPLE_FILES,
    **GRAPH_PACKAGE,
    "pkg/long.py": "def long_function():\n" + "".join(f"    step_{i} = {i}\n" for i in range(40)),
}

TOOLS = {"search", "definition", "references", "callers", "callees", "outline", "deps", "tree", "read", "status"}


@dataclass
class Session:
    """A connected SDK client session, called synchronously through a blocking portal."""

    portal: BlockingPortal
    session: ClientSession
    init: InitializeResult
    stderr: Path

    def call(self, tool: str, /, **arguments: Any) -> CallToolResult:
        return self.portal.call(partial(self.session.call_tool, tool, arguments))

    def ok(self, tool: str, /, **arguments: Any) -> dict[str, Any]:
        """The structured answer of a successful call (also checked equal to its text block)."""
        result = self.call(tool, **arguments)
        text = _text(result)
        assert not result.is_error, text
        assert result.structured_content is not None
        assert json.loads(text) == result.structured_content
        return result.structured_content

    def error(self, tool: str, /, **arguments: Any) -> str:
        """The text of a call that must fail as a tool error."""
        result = self.call(tool, **arguments)
        assert result.is_error, _text(result)
        return _text(result)


def _text(result: CallToolResult) -> str:
    assert len(result.content) == 1 and isinstance(result.content[0], TextContent)
    return result.content[0].text


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEGRAPH_")}
    return {**env, "CODEGRAPH_HOME": str(home)}


@contextmanager
def mcp_session(cwd: Path, home: Path, *args: str) -> Iterator[Session]:
    """Start ``python -m codegraph mcp ARGS`` in ``cwd`` with the SDK's stdio client and initialize it."""
    params = StdioServerParameters(command=CODEGRAPH[0], args=[*CODEGRAPH[1:], "mcp", *args], cwd=cwd, env=_env(home))
    home.mkdir(parents=True, exist_ok=True)
    stderr = home / "server-stderr.log"
    with ExitStack() as stack, stderr.open("w", encoding="utf-8") as errlog:
        portal = stack.enter_context(start_blocking_portal())
        read, write = stack.enter_context(portal.wrap_async_context_manager(stdio_client(params, errlog=errlog)))
        session_cm: AbstractContextManager[ClientSession] = portal.wrap_async_context_manager(
            ClientSession(read, write)
        )
        session = stack.enter_context(session_cm)
        init = portal.call(session.initialize)
        yield Session(portal, session, init, stderr)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, encoder: OnnxEncoder) -> Path:
    root = tmp_path_factory.mktemp("mcp") / "repo"
    write_files(root, REPO)
    index_repo(root, encoder)
    return root


@pytest.fixture(scope="module")
def server(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    with mcp_session(repo / "pkg", tmp_path_factory.mktemp("home")) as session:  # found from a subdirectory
        yield session


def test_tools_are_listed_read_only_with_schemas(server: Session) -> None:
    assert server.init.server_info.name == "codegraph"
    assert server.init.instructions and "search" in server.init.instructions
    tools = {tool.name: tool for tool in server.portal.call(server.session.list_tools).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and tool.annotations and tool.annotations.read_only_hint is True, tool.name
        assert tool.input_schema["type"] == "object" and tool.output_schema is not None, tool.name
    search = tools["search"].input_schema
    assert {"query", "k", "mode", "lang", "path"} <= set(search["properties"]) and search["required"] == ["query"]
    assert search["properties"]["k"]["maximum"] == 50
    assert "1-based" in (tools["read"].description or "")
    assert "Client.send" in json.dumps(tools["callers"].input_schema)


def test_search_is_answered_compactly(server: Session) -> None:
    answer = server.ok("search", query="retry failed uploads with exponential backoff", k=3)
    assert answer["query"] == "retry failed uploads with exponential backoff" and answer["mode"] == "hybrid"
    top = answer["results"][0]
    assert set(top) == {"path", "start_line", "end_line", "symbol", "kind", "score", "snippet"}
    assert (top["path"], top["symbol"], top["start_line"]) == ("app/retry.py", "retry_upload", 8)
    assert len(answer["results"]) <= 3

    cut = server.ok("search", query="long_function", k=1, snippet_lines=3)["results"][0]
    assert cut["symbol"] == "long_function"
    assert cut["snippet"].splitlines()[:3] == ["def long_function():", "    step_0 = 0", "    step_1 = 1"]
    assert cut["snippet"].splitlines()[3] == "… 38 more lines (use read)"
    assert "snippet" not in server.ok("search", query="cart total", k=1, snippet_lines=0)["results"][0]

    only_js = server.ok("search", query="sum of prices", lang="javascript", mode="keyword", path="web/**")
    assert only_js["results"] and {r["path"] for r in only_js["results"]} == {"web/cart.js"}
    with_context = server.ok("search", query="encode", k=1, context=True)["results"][0]
    assert set(with_context["callers"]["top"]) == {"Client.send", "upload"}


def test_graph_tools(server: Session) -> None:
    assert server.ok("definition", name="Client.send")["results"] == [
        {"path": "pkg/net.py", "start_line": 2, "end_line": 3, "symbol": "Client.send", "kind": "method"}
    ]
    callers = server.ok("callers", name="encode")["results"]
    assert {(r["symbol"], r["line"], r["resolution"]) for r in callers} == {
        ("Client.send", 3, "same_file"),
        ("upload", 6, "import"),
    }
    assert all("depth" not in r and "language" not in r for r in callers)
    deeper = server.ok("callers", name="encode", depth=2)["results"]
    assert {(r["symbol"], r["depth"]) for r in deeper} >= {("upload", 1), ("main", 2)}
    assert "encode" in {r["symbol"] for r in server.ok("callees", name="upload")["results"]}
    refs = server.ok("references", name="encode", limit=1)
    assert len(refs["results"]) == 1 and refs["truncated"] is True and refs["total"] >= 2
    assert server.ok("callers", name="main")["results"] == []  # defined, never called: an answer, not an error

    assert server.ok("outline", path="pkg/net.py")["results"] == [
        {"symbol": "Client", "kind": "class", "start_line": 1, "end_line": 3},
        {"symbol": "Client.send", "kind": "method", "start_line": 2, "end_line": 3},
        {"symbol": "encode", "kind": "function", "start_line": 6, "end_line": 7},
    ]
    assert server.ok("deps", path="pkg/app.py") == {
        "path": "pkg/app.py",
        "imports": [{"path": "pkg/net.py", "line": 1}],
        "imported_by": [],
    }
    tree = server.ok("tree", depth=1)
    assert tree["kind"] == "project"
    pkg = next(node for node in tree["children"] if node["path"] == "pkg")
    assert pkg == {"path": "pkg", "kind": "directory", "entries": 4}  # cut below depth 1
    blocks = server.ok("tree", path="pkg/net.py", blocks=True)
    assert [child["symbol"] for child in blocks["children"]] == ["Client", "encode"]


def test_read_and_status(server: Session) -> None:
    part = server.ok("read", path="pkg/net.py", start_line=2, end_line=3)
    assert part == {
        "path": "pkg/net.py",
        "start_line": 2,
        "end_line": 3,
        "total_lines": 7,
        "truncated": False,
        "text": "    def send(self, payload):\n        return encode(payload)",
    }
    assert server.ok("read", path="pkg/long.py", start_line=40)["end_line"] == 41
    status = server.ok("status")
    assert status["files"] == len(REPO) and status["state"] == "complete"


def test_bad_calls_are_tool_errors_and_the_server_keeps_answering(server: Session) -> None:
    assert "greater than or equal to 1" in server.error("search", query="x", k=0)
    assert "mode" in server.error("search", query="x", mode="fuzzy")
    assert "known:" in server.error("search", query="x", lang="klingon")
    unknown = server.error("definition", name="NoSuchThing")
    assert "no symbol named 'NoSuchThing'" in unknown and "search" in unknown
    assert "no symbol named" in server.error("callers", name="NoSuchThing")
    assert "not an indexed file" in server.error("read", path="../outside.py")
    assert "past its end" in server.error("read", path="pkg/net.py", start_line=500)
    assert "not an indexed file" in server.error("outline", path="missing.py")
    assert "required" in server.error("definition").lower()
    assert server.ok("definition", name="encode")["results"]  # still answering


def test_a_file_changed_after_start_is_indexed_before_the_answer(server: Session, repo: Path) -> None:
    write_files(repo, {"pkg/extra.py": "def shiny_new_helper():\n    return encode(1)\n"})
    # The server looks at the tree at most every 2 s (Workspace.check_interval_s): ask until it has looked.
    assert wait_until(lambda: not server.call("definition", name="shiny_new_helper").is_error, timeout_s=60)
    found = server.ok("definition", name="shiny_new_helper")
    assert [r["path"] for r in found["results"]] == ["pkg/extra.py"] and "stale" not in found
    assert "shiny_new_helper" in {r["symbol"] for r in server.ok("callers", name="encode")["results"]}


def test_report_mode_says_the_index_is_stale(tmp_path: Path, encoder: OnnxEncoder) -> None:
    root = tmp_path / "repo"
    write_files(root, {"pkg/net.py": REPO["pkg/net.py"]})
    index_repo(root, encoder)
    with mcp_session(root, tmp_path / "home", "--freshness", "report") as session:
        assert "stale" not in session.ok("definition", name="encode")
        write_files(root, {"pkg/extra.py": "def shiny_new_helper():\n    return 1\n"})
        assert wait_until(lambda: "stale" in session.ok("definition", name="encode"), timeout_s=60)
        assert session.ok("search", query="encode", k=1)["stale"] == {"changed": 0, "new": 1, "removed": 0}
        assert "run `codegraph index`" in session.error("definition", name="shiny_new_helper")  # not re-indexed


def test_an_unfinished_index_is_said_in_every_answer(tmp_path: Path, encoder: OnnxEncoder) -> None:
    """The CLI's stderr line for an index whose last run did not finish reaches the agent as ``notice``."""
    root = tmp_path / "repo"
    write_files(root, {"pkg/net.py": REPO["pkg/net.py"]})
    index_repo(root, encoder)
    with Store.open(root) as store:  # what a killed run leaves: started after the last finished run
        store.set_meta({"run_started_at": f"{time.time() + 60:.3f}"})
    with mcp_session(root, tmp_path / "home", "--freshness", "off") as session:
        answer = session.ok("search", query="encode", k=1)
        assert answer["results"] and "did not finish" in answer["notice"]
        assert "did not finish" in session.ok("tree")["notice"]
        assert "did not finish" in session.error("definition", name="no_such_name")


def test_serves_a_project_of_a_postgresql_store(tmp_path: Path, pg_url: str, run_cli: RunCli) -> None:
    root = tmp_path / "repo"
    write_files(root, REPO)
    done = run_cli("index", ".", "--store", pg_url, "--model", "fast", "--quiet", cwd=root)
    assert done.returncode == 0, done.stderr
    assert not (root / ".codegraph").exists()
    with mcp_session(tmp_path, tmp_path / "home", "--store", pg_url, "--project", "repo") as session:
        assert [r["path"] for r in session.ok("definition", name="encode")["results"]] == ["pkg/net.py"]
        assert session.ok("search", query="encode", k=1)["results"]
        assert session.ok("status")["database"].startswith("postgresql://")


def test_stdout_carries_the_protocol_only(repo: Path, tmp_path: Path) -> None:
    """A raw client (no SDK): every line the server writes on stdout is a JSON-RPC message, also while it loads
    the model and answers; the protocol version is the one Claude Code and others send today."""
    requests = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "search", "arguments": {"query": "x"}}},
        {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "read", "arguments": {"path": "-"}}},
    ]
    proc = subprocess.Popen(
        [*CODEGRAPH, "mcp", "--dir", str(repo)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(tmp_path / "home"),
    )
    assert proc.stdin is not None and proc.stdout is not None
    guard = threading.Timer(120, proc.kill)  # never hang the suite if an answer does not come
    guard.start()
    proc.stdin.write("".join(json.dumps(r) + "\n" for r in requests))
    proc.stdin.flush()
    messages = []
    for line in proc.stdout:  # until every request is answered (stdin stays open: EOF ends the session)
        messages.append(json.loads(line))
        if {1, 2, 3, 4} <= {m.get("id") for m in messages}:  # calls run concurrently: any order
            break
    proc.stdin.close()
    rest = proc.stdout.read()
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0
    guard.cancel()
    assert rest == ""
    assert all(m["jsonrpc"] == "2.0" for m in messages)
    by_id = {m["id"]: m for m in messages if "id" in m}
    assert by_id[1]["result"]["protocolVersion"] == "2025-06-18"
    assert len(by_id[2]["result"]["tools"]) == len(TOOLS)
    assert by_id[3]["result"]["isError"] is False and by_id[4]["result"]["isError"] is True


def test_first_run_in_a_git_work_tree_indexes_it(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write_files(root, {"pkg/net.py": REPO["pkg/net.py"]})
    (root / ".git").mkdir()
    with mcp_session(root, tmp_path / "home") as session:
        assert session.ok("definition", name="encode")["results"][0]["path"] == "pkg/net.py"
        assert session.ok("status")["model"].startswith("fast")
    assert "no index yet; indexed" in session.stderr.read_text(encoding="utf-8")


def test_no_index_outside_a_work_tree_exits_1_with_the_fix(run_cli: RunCli, tmp_path: Path) -> None:
    proc = run_cli("mcp", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "codegraph index" in proc.stderr
    bad = run_cli("mcp", "--freshness", "sometimes", cwd=tmp_path)
    assert bad.returncode == 2 and "--freshness" in bad.stderr


def test_an_unexpected_exception_becomes_a_tool_error() -> None:
    def broken() -> CallToolResult:
        raise ValueError("boom")

    with pytest.raises(ToolError, match=r"internal error in codegraph \(ValueError: boom\); the server keeps running"):
        _guarded(broken)()


def test_the_cli_starts_without_importing_the_sdk(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*CODEGRAPH[:1], "-X", "importtime", *CODEGRAPH[1:], "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0
    modules = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "codegraph.cli.mcp_cmd" in modules
    assert not {m for m in modules if m.split(".")[0] in {"mcp", "mcp_types", "pydantic", "anyio"}}
