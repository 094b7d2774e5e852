"""codegraph.service.Workspace: one open index answering many questions (real model, SQLite, tree-sitter)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from codegraph.embed import OnnxEncoder
from codegraph.errors import ConfigError, SourceError
from codegraph.index import index_repo
from codegraph.service import READ_MAX_LINES, Workspace

from .conftest import GRAPH_PACKAGE, RunCli, write_files

REPO = {
    **GRAPH_PACKAGE,
    ".env": "SECRET=1\n",
}


@pytest.fixture
def repo(tmp_path: Path, encoder: OnnxEncoder) -> Path:
    root = tmp_path / "repo"
    write_files(root, REPO)
    index_repo(root, encoder)
    return root


def test_answers_in_the_cli_shapes(repo: Path) -> None:
    with Workspace.open(repo / "pkg") as ws:
        found = ws.search("encode the payload as a string", k=3)
        assert found["query"] == "encode the payload as a string" and found["mode"] == "hybrid"
        assert {"path", "start_line", "end_line", "symbol", "kind", "language", "score", "snippet"} <= set(
            found["results"][0]
        )
        named = ws.search("encode", k=3, context=True)
        assert named["results"][0]["symbol"] == "encode"
        assert set(named["results"][0]["callers"]["top"]) == {"Client.send", "upload"}
        assert [r["path"] for r in ws.definition("Client.send")["results"]] == ["pkg/net.py"]
        assert {r["symbol"] for r in ws.callers("encode")["results"]} == {"Client.send", "upload"}
        assert "encode" in {r["symbol"] for r in ws.callees("upload")["results"]}
        assert ws.deps("pkg/app.py")["imports"] == [{"path": "pkg/net.py", "line": 1}]
        assert [r["symbol"] for r in ws.outline("./pkg/net.py")["results"]] == ["Client", "Client.send", "encode"]
        tree = ws.tree()
        assert tree["kind"] == "project" and tree["children"][0]["path"] == "pkg"
        assert ws.files() == [
            {"path": "pkg/__init__.py", "language": "python"},
            {"path": "pkg/app.py", "language": "python"},
            {"path": "pkg/net.py", "language": "python"},
        ]
        assert ws.status()["files"] == 3


def test_read_is_bounded_and_limited_to_indexed_files(repo: Path) -> None:
    big = "\n".join(f"x_{i} = {i}" for i in range(1000)) + "\n"
    (repo / "pkg" / "big.py").write_text(big, encoding="utf-8")
    with Workspace.open(repo) as ws:
        part = ws.read("pkg/big.py", 10)  # the new file is indexed before the answer (freshness "refresh")
        assert part["start_line"] == 10 and part["end_line"] == 10 + READ_MAX_LINES - 1
        assert part["truncated"] and part["total_lines"] == 1000
        assert part["text"].splitlines()[0] == "x_9 = 9"
        assert ws.read(str(repo / "pkg" / "net.py"), 1, 2)["text"] == "class Client:\n    def send(self, payload):"
        for bad in (".env", "../outside.py", "/etc/passwd", "pkg/missing.py"):
            with pytest.raises(SourceError):
                ws.read(bad)
        with pytest.raises(SourceError, match="past its end"):
            ws.read("pkg/net.py", 500)
        with pytest.raises(ConfigError):
            ws.read("pkg/net.py", 0)
        with pytest.raises(ConfigError):
            ws.callers("encode", depth=11)


def test_refreshes_or_reports_a_changed_tree(repo: Path) -> None:
    with Workspace.open(repo, freshness="report", check_interval_s=0) as ws:
        (repo / "pkg" / "extra.py").write_text("def shiny_new_helper():\n    return 1\n", encoding="utf-8")
        answer = ws.definition("shiny_new_helper")
        assert answer["results"] == [] and answer["stale"] == {"changed": 0, "new": 1, "removed": 0}
    with Workspace.open(repo, check_interval_s=0) as ws:
        answer = ws.definition("shiny_new_helper")
        assert [r["path"] for r in answer["results"]] == ["pkg/extra.py"] and "stale" not in answer
        (repo / "pkg" / "extra.py").unlink()
        assert ws.definition("shiny_new_helper")["results"] == []
    with pytest.raises(ConfigError):
        Workspace.open(repo, freshness="sometimes")  # type: ignore[arg-type]


def test_threads_share_one_workspace(repo: Path) -> None:
    errors: list[BaseException] = []
    with Workspace.open(repo) as ws:

        def ask() -> None:
            try:
                for _ in range(5):
                    assert ws.search("send a payload", k=2)["results"]
                    assert ws.callers("encode")["results"]
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=ask) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []


def test_a_rebuild_by_another_process_is_followed_not_answered_from_the_old_file(repo: Path, run_cli: RunCli) -> None:
    """``index --rebuild`` swaps a new ``index.db`` in; a long-lived workspace (serve, mcp) must read it, and
    write snippets to it, rather than keep the old file's inode open."""
    with Workspace.open(repo, freshness="off") as ws:
        assert ws.search("encode the payload", k=1)["results"][0]["symbol"] == "encode"
        before = ws.store
        (repo / "pkg" / "late.py").write_text(
            "def reticulate_splines(count):\n    '''Reticulate this many splines.'''\n    return count * 2\n",
            encoding="utf-8",
        )
        rebuilt = run_cli("index", "--rebuild", "-q", cwd=repo)
        assert rebuilt.returncode == 0, rebuilt.stderr
        found = ws.search("reticulate splines", k=1, mode="keyword")["results"]
        assert found and found[0]["symbol"] == "reticulate_splines"
        assert ws.store is not before and not ws.follow_rebuild()  # reopened once, and only once
        assert {f["path"] for f in ws.files()} >= {"pkg/late.py", "pkg/net.py"}
