"""The code graph end to end: `codegraph index` stores it, `def`/`refs`/`callers`/`callees`/`deps`/`outline`
answer from it (real CLI processes, the real bundled model, real tree-sitter and SQLite)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from codegraph.store import Store

from .conftest import RunCli, write_files

REPO = {
    "pkg/__init__.py": "",
    "pkg/net.py": """
        class Client:
            def send(self, payload):
                return encode(payload)


        def encode(payload):
            return str(payload)
        """,
    "pkg/app.py": """
        from .net import Client, encode


        def upload(data):
            client = Client()
            return client.send(encode(data))


        def main():
            return upload({"a": 1})
        """,
    "web/util.ts": """
        export function total(items: number[]): number {
          return items.reduce((a, b) => a + b, 0);
        }
        """,
    "web/cart.ts": """
        import { total } from "./util";

        export class Cart {
          items: number[] = [];
          sum(): number {
            return total(this.items);
          }
        }
        """,
}


@pytest.fixture
def graph_repo(tmp_path: Path, run_cli: RunCli) -> Path:
    root = tmp_path / "repo"
    write_files(root, REPO)
    assert run_cli("index", ".", "-q", cwd=root).returncode == 0
    return root


def _json(run_cli: RunCli, cwd: Path, *args: str) -> Any:
    proc = run_cli(*args, "--json", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _where(results: list[dict[str, Any]]) -> list[tuple[str, str | None, int | None, str | None]]:
    return [(r["path"], r["symbol"], r["line"], r["resolution"]) for r in results]


def test_def_finds_bare_and_qualified_names(graph_repo: Path, run_cli: RunCli) -> None:
    bare = _json(run_cli, graph_repo, "def", "send")
    assert bare["query"] == "send"
    assert [(r["path"], r["symbol"], r["kind"], r["start_line"], r["end_line"]) for r in bare["results"]] == [
        ("pkg/net.py", "Client.send", "method", 2, 3)
    ]
    assert _json(run_cli, graph_repo, "def", "Client.send")["results"] == bare["results"]
    assert _json(run_cli, graph_repo, "def", "Cart::sum")["results"][0]["path"] == "web/cart.ts"
    assert _json(run_cli, graph_repo, "def", "Nope.send")["results"] == []


def test_refs_and_callers_carry_the_enclosing_definition_and_resolution(graph_repo: Path, run_cli: RunCli) -> None:
    refs = _json(run_cli, graph_repo, "refs", "encode")["results"]
    assert _where(refs) == [("pkg/net.py", "Client.send", 3, "same_file"), ("pkg/app.py", "upload", 6, "import")]
    callers = _json(run_cli, graph_repo, "callers", "encode", "--depth", "2")["results"]
    assert [(r["symbol"], r["depth"]) for r in callers] == [("Client.send", 1), ("upload", 1), ("main", 2)]
    assert _where(_json(run_cli, graph_repo, "callers", "total")["results"]) == [
        ("web/cart.ts", "Cart.sum", 6, "import")
    ]


def test_callees_deps_and_outline(graph_repo: Path, run_cli: RunCli) -> None:
    callees = _json(run_cli, graph_repo, "callees", "upload")["results"]
    assert {r["symbol"] for r in callees} == {"Client", "Client.send", "encode"}
    deps = _json(run_cli, graph_repo, "deps", "pkg/app.py")
    assert deps == {"path": "pkg/app.py", "imports": [{"path": "pkg/net.py", "line": 1}], "imported_by": []}
    reverse = _json(run_cli, graph_repo, "deps", "web/util.ts", "--reverse")
    assert reverse["imported_by"] == [{"path": "web/cart.ts", "line": 1}] and reverse["imports"] == []
    outline = _json(run_cli, graph_repo, "outline", "pkg/net.py")["results"]
    assert [(r["symbol"], r["kind"]) for r in outline] == [
        ("Client", "class"),
        ("Client.send", "method"),
        ("encode", "function"),
    ]
    human = run_cli("callers", "encode", cwd=graph_repo / "pkg")  # found from a subdirectory, like search
    assert human.returncode == 0 and "pkg/app.py:4-6  upload  function  line 6 · import" in human.stdout


def test_a_changed_file_rebuilds_only_its_rows_and_edges_follow(graph_repo: Path, run_cli: RunCli) -> None:
    write_files(
        graph_repo, {"pkg/app.py": "from .net import Client\n\n\ndef upload(data):\n    return Client().send(data)\n"}
    )
    assert run_cli("index", ".", "-q", cwd=graph_repo).returncode == 0
    assert _where(_json(run_cli, graph_repo, "refs", "encode")["results"]) == [
        ("pkg/net.py", "Client.send", 3, "same_file")
    ]
    (graph_repo / "pkg" / "net.py").unlink()
    assert run_cli("index", ".", "-q", cwd=graph_repo).returncode == 0
    assert _json(run_cli, graph_repo, "def", "encode")["results"] == []
    assert _json(run_cli, graph_repo, "deps", "pkg/app.py")["imports"] == []


def test_an_index_built_before_the_graph_gets_one_without_re_embedding(graph_repo: Path, run_cli: RunCli) -> None:
    store = Store.open(graph_repo)
    with store.transaction():
        for table in ("graph_defs", "graph_refs", "graph_imports"):
            store.conn.execute(f"DELETE FROM {table}")
        store.conn.execute("DELETE FROM meta WHERE key = 'graph_version'")
    store.close()
    old = run_cli("def", "send", cwd=graph_repo)
    assert old.returncode == 1 and "no code graph yet" in old.stderr and "codegraph index" in old.stderr
    stats = _json(run_cli, graph_repo, "index", ".")
    assert stats["embedded"] == 0 and stats["files_changed"] == 0
    assert len(_json(run_cli, graph_repo, "def", "send")["results"]) == 1


def test_unknown_names_and_files_are_clear(graph_repo: Path, run_cli: RunCli) -> None:
    none = run_cli("callers", "nothing_like_this", cwd=graph_repo)
    assert none.returncode == 0 and none.stdout == "" and "no callers of 'nothing_like_this'" in none.stderr
    missing = run_cli("deps", "nope.py", cwd=graph_repo)
    assert missing.returncode == 1 and "not an indexed file" in missing.stderr


def test_python_self_cls_and_super_calls_resolve_to_methods_only(tmp_path: Path, run_cli: RunCli) -> None:
    # Found by benchmarks/graph_accuracy.py: `self.run()` also resolved to a module-level `def run` of the file.
    root = tmp_path / "repo"
    write_files(
        root,
        {
            "jobs.py": """
                def run(x):
                    return x


                class Base:
                    def run(self):
                        return 0


                class Job(Base):
                    def run(self):
                        return super().run()

                    def start(self):
                        return self.run()

                    @classmethod
                    def make(cls):
                        return cls.run(cls())
                """
        },
    )
    assert run_cli("index", ".", "-q", cwd=root).returncode == 0
    for caller in ("Job.start", "Job.make"):
        callees = _json(run_cli, root, "callees", caller)["results"]
        assert {(r["symbol"], r["resolution"]) for r in callees} == {
            ("Base.run", "same_file"),
            ("Job.run", "same_file"),
        }, caller
    assert {r["symbol"] for r in _json(run_cli, root, "callees", "Job.run")["results"]} == {"Base.run", "Job.run"}


def test_a_query_looks_each_name_and_file_up_once(
    graph_repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by benchmarks/bench_graph.py: `refs TestCase.assertEqual` on the standard library (39,329 references)
    # took 24 s, one definitions query and one import resolution per reference; 1.2 s with the memos.
    import codegraph.graph.query as query

    write_files(graph_repo, {"pkg/many.py": "from .net import encode\n\n\ndef f():\n" + "    encode(1)\n" * 50})
    assert run_cli("index", ".", "-q", cwd=graph_repo).returncode == 0
    calls: dict[str, int] = {}

    def counted(name: str, inner: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name] = calls.get(name, 0) + 1
            return inner(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(query, "definitions_named", counted("definitions_named", query.definitions_named))
    monkeypatch.setattr(query, "definitions_in", counted("definitions_in", query.definitions_in))
    with Store.open(graph_repo) as store:
        graph = query.Graph(store)
        monkeypatch.setattr(graph, "import_targets", counted("import_targets", graph.import_targets))
        assert len(graph.refs("encode")) == 52
    assert calls == {"definitions_named": 1, "definitions_in": 3, "import_targets": 2}
