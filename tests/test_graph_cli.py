"""The code graph end to end: `codegraph index` stores it, `def`/`refs`/`callers`/`callees`/`deps`/`outline`
answer from it (real CLI processes, the real bundled model, real tree-sitter and SQLite)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from codegraph.store import Store

from .conftest import GRAPH_PACKAGE, RunCli, write_files

REPO = {
    **GRAPH_PACKAGE,
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


def test_impact_lists_what_a_change_touches_and_the_tests_to_run(graph_repo: Path, run_cli: RunCli) -> None:
    write_files(
        graph_repo, {"tests/test_app.py": "from pkg.app import upload\n\n\ndef test_upload():\n    assert upload(1)\n"}
    )
    assert run_cli("index", ".", "-q", cwd=graph_repo).returncode == 0
    by_file = _json(run_cli, graph_repo, "impact", "pkg/net.py")
    assert by_file["kind"] == "file"
    assert [(r["path"], r["depth"], r["test"]) for r in by_file["results"]] == [
        ("pkg/app.py", 1, False),
        ("tests/test_app.py", 2, True),
    ]
    assert by_file["tests"] == ["tests/test_app.py"]
    by_symbol = _json(run_cli, graph_repo, "impact", "encode")
    assert by_symbol["kind"] == "symbol" and by_symbol["tests"] == ["tests/test_app.py"]
    assert ("tests/test_app.py", "test_upload", 2) in [
        (r["path"], r["symbol"], r["depth"]) for r in by_symbol["results"]
    ]


def test_tree_nests_directories_files_and_blocks(graph_repo: Path, run_cli: RunCli) -> None:
    whole = _json(run_cli, graph_repo, "tree")
    assert (whole["path"], whole["kind"]) == (".", "project")
    assert [c["path"] for c in whole["children"]] == ["pkg", "web"]
    pkg = _json(run_cli, graph_repo, "tree", "pkg", "--blocks")
    net = next(c for c in pkg["children"] if c["path"] == "pkg/net.py")
    assert (net["kind"], net["language"]) == ("file", "python")
    client = net["children"][0]
    assert (client["symbol"], client["kind"], client["start_line"], client["end_line"]) == ("Client", "class", 1, 3)
    assert [m["symbol"] for m in client["children"]] == ["Client.send"]
    human = run_cli("tree", "pkg", "--blocks", cwd=graph_repo)
    assert "  net.py  (python)\n    Client  class 1-3\n      Client.send  method 2-3\n" in human.stdout
    assert run_cli("tree", "nowhere", cwd=graph_repo).returncode == 1


def test_graph_draws_the_neighbourhood_as_mermaid_and_dot(graph_repo: Path, run_cli: RunCli, tmp_path: Path) -> None:
    mermaid = run_cli("graph", "encode", "--depth", "2", cwd=graph_repo)
    assert mermaid.returncode == 0 and mermaid.stdout.startswith("flowchart LR\n")
    ids = dict(line.strip().split("[", 1) for line in mermaid.stdout.splitlines()[1:] if "[" in line)
    names = {node: label.strip('"]') for node, label in ids.items()}
    edges = {
        (names[a], names[b]) for a, _, b in (line.split() for line in mermaid.stdout.splitlines() if "-->" in line)
    }
    assert {("Client.send", "encode"), ("upload", "encode"), ("main", "upload")} <= edges
    out = tmp_path / "deps.dot"
    assert run_cli("graph", "pkg/app.py", "-f", "dot", "-o", str(out), cwd=graph_repo).returncode == 0
    assert '"pkg/app.py" -> "pkg/net.py";' in out.read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("dot") is not None, reason="Graphviz is installed: the missing-dot message is moot")
def test_graph_svg_without_graphviz_says_how_to_get_it(graph_repo: Path, run_cli: RunCli) -> None:
    proc = run_cli("graph", "encode", "-f", "svg", cwd=graph_repo)
    assert proc.returncode == 1 and "Graphviz" in proc.stderr and "--format dot" in proc.stderr


def test_map_ranks_the_definitions_much_code_depends_on_first(graph_repo: Path, run_cli: RunCli) -> None:
    answer = _json(run_cli, graph_repo, "map", "--tokens", "64")
    ranked = [(r["path"], r["symbol"]) for r in answer["results"]]
    assert ranked[0] == ("pkg/net.py", "encode")  # called from two places, one through an import
    assert ("pkg/app.py", "main") not in ranked[:3]  # nothing calls main
    assert answer["map"].startswith("pkg/net.py:\n") and "  6: def encode(payload):" in answer["map"]
    assert len(answer["map"]) <= 64 * 4
    bigger = _json(run_cli, graph_repo, "map", "--tokens", "1024")
    assert len(bigger["results"]) > len(answer["results"])


def test_pagerank_is_cached_in_the_index_until_a_file_changes(graph_repo: Path, run_cli: RunCli) -> None:
    from codegraph.graph.query import Graph
    from codegraph.graph.rank import rank_definitions

    first = _json(run_cli, graph_repo, "map", "--tokens", "256")
    with Store.open(graph_repo) as store:
        assert store.count("graph_rank") == store.count("graph_defs") and store.get_meta("rank_fingerprint")
        fresh = [(r.definition, r.score) for r in rank_definitions(Graph(store))]
        store.conn.execute("UPDATE graph_rank SET score = 0")  # a cache hit now shows as all-zero scores
    assert [(d.path, d.qualified) for d, _ in fresh][:3] == [(r["path"], r["symbol"]) for r in first["results"]][:3]
    assert {r["score"] for r in _json(run_cli, graph_repo, "map", "--tokens", "256")["results"]} == {0}
    write_files(graph_repo, {"pkg/more.py": "from .net import encode\n\n\ndef again():\n    return encode(2)\n"})
    assert run_cli("index", ".", "-q", cwd=graph_repo).returncode == 0
    again = _json(run_cli, graph_repo, "map", "--tokens", "256")["results"]
    assert again[0]["symbol"] == "encode" and again[0]["score"] > 0  # recomputed after the change


def test_search_context_adds_callers_and_callees(graph_repo: Path, run_cli: RunCli) -> None:
    answer = _json(run_cli, graph_repo, "search", "encode payload", "-k", "1", "--context")
    (hit,) = answer["results"]
    assert hit["symbol"] == "encode"
    assert hit["callers"] == {"count": 2, "top": ["Client.send", "upload"]} and hit["callees"]["count"] == 0
    plain = _json(run_cli, graph_repo, "search", "encode payload", "-k", "1")
    assert "callers" not in plain["results"][0]  # the search contract is unchanged without --context
    human = run_cli("search", "encode payload", "-k", "1", "--context", cwd=graph_repo)
    assert "called by Client.send, upload" in human.stdout


def test_calls_through_self_cls_and_super_resolve_to_the_class_then_its_bases(tmp_path: Path, run_cli: RunCli) -> None:
    # Found by benchmarks/graph_accuracy.py: `self.run()` resolved to every `run` of the file (a module-level
    # function and the methods of unrelated classes); about half of the wrong refs/callers came from this.
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


                class Task(Base):
                    def start(self):
                        return self.run() + run(1)


                class Other:
                    def run(self):
                        return 2

                    def __init__(self):
                        self.hook()


                class Failure(Exception):
                    def __init__(self):
                        super().__init__()  # Exception's: outside the repository, not Other.__init__


                class Suite(Base):
                    def check(self):
                        class Local:  # a class nested in a method does not make the method a class
                            pass

                        return self.run()


                class Plugin(Other):
                    def hook(self):  # reached from Other.__init__ by dynamic dispatch
                        return 3
                """,
            "remote.py": """
                from jobs import Base


                class Remote(Base):
                    def go(self):
                        return self.run()
                """,
        },
    )
    assert run_cli("index", ".", "-q", cwd=root).returncode == 0

    def callees(name: str) -> set[tuple[str, str]]:
        return {(r["symbol"], r["resolution"]) for r in _json(run_cli, root, "callees", name)["results"]}

    assert callees("Job.start") == callees("Job.make") == {("Job.run", "same_file")}  # its own method
    assert callees("Job.run") == {("Base.run", "same_file")}  # super() starts at the bases
    assert callees("Task.start") == {("Base.run", "same_file"), ("run", "same_file")}  # inherited; bare: function
    assert callees("Remote.go") == {("Base.run", "import")}  # a base in another file
    assert {r["symbol"] for r in _json(run_cli, root, "callers", "Other.run")["results"]} == set()
    assert callees("Suite.check") == {("Base.run", "same_file")}
    assert callees("Failure.__init__") == set()
    assert callees("Other.__init__") == {("Plugin.hook", "same_file")}


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


def test_this_and_implicit_this_calls_resolve_to_the_own_class(tmp_path: Path, run_cli: RunCli) -> None:
    root = tmp_path / "repo"
    write_files(
        root,
        {
            "src/Shapes.java": """
                class Circle {
                    double area() { return scale() * 3.14; }
                    double scale() { return 2; }
                }

                class Square {
                    double scale() { return 1; }
                }
                """,
            "web/shapes.ts": """
                class Circle {
                  area(): number { return this.scale() * 3.14; }
                  scale(): number { return 2; }
                }

                class Square {
                  scale(): number { return 1; }
                }
                """,
        },
    )
    assert run_cli("index", ".", "-q", cwd=root).returncode == 0
    for path in ("src/Shapes.java", "web/shapes.ts"):
        results = _json(run_cli, root, "callees", "Circle.area")["results"]
        assert {(r["path"], r["symbol"]) for r in results if r["path"] == path} == {(path, "Circle.scale")}


def test_spot_check_resolution(tmp_path: Path, run_cli: RunCli) -> None:
    # Found by the spot checks in docs/graph.md: a Go package's files see each other without an import (cobra
    # resolved 671 of 783 `Command` references by name), and so do a Java package's (JPype);
    # a JavaScript private method `#f` keeps its `#` (`callers` reported TanStack's `#updateQuery` as module level).
    root = tmp_path / "repo"
    write_files(
        root,
        {
            "go.mod": "module example.com/m\n",
            "cmd.go": 'package m\n\ntype Command struct{}\n\nfunc (c *Command) Name() string { return "" }\n',
            "util.go": "package m\n\nfunc show(c *Command) string {\n\treturn c.Name()\n}\n",
            "other/name.go": 'package other\n\ntype T struct{}\n\nfunc (t T) Name() string { return "" }\n',
            "java/Base.java": "class Base {\n  void log(String s) {}\n}\n",
            "java/Job.java": 'class Job extends Base {\n  void run() {\n    log("x");\n  }\n}\n',
            "lib/shell.rb": "class Shell\n  def say(msg)\n  end\nend\n",
            "lib/runner.rb": 'class Runner\n  def list\n    say "x"\n  end\nend\n',
            "web/obs.js": "class Obs {\n  #update() {\n    return help();\n  }\n}\nfunction help() {}\n",
        },
    )
    assert run_cli("index", ".", "-q", cwd=root).returncode == 0
    refs = _json(run_cli, root, "refs", "Command.Name")["results"]
    assert [(r["path"], r["symbol"], r["resolution"]) for r in refs] == [("util.go", "show", "import")]
    assert [r["symbol"] for r in _json(run_cli, root, "refs", "Command")["results"]] == ["show"]
    callers = _json(run_cli, root, "callers", "Base.log")["results"]
    assert [(r["symbol"], r["resolution"]) for r in callers] == [("Job.run", "import")]
    # thor: a bare Ruby call is a method of self (`say "x"` in Thor::Runner); a by-name guess keeps methods.
    callers = _json(run_cli, root, "callers", "Shell.say")["results"]
    assert [(r["symbol"], r["resolution"]) for r in callers] == [("Runner.list", "by_name")]
    callers = _json(run_cli, root, "callers", "help")["results"]
    assert [(r["symbol"], r["kind"]) for r in callers] == [("Obs.#update", "method")]
    assert [r["symbol"] for r in _json(run_cli, root, "def", "Obs.#update")["results"]] == ["Obs.#update"]


def test_graph_commands_start_without_numpy_or_pygments(graph_repo: Path) -> None:
    # Found by benchmarks/bench_graph.py: `codegraph def` missed its 0.3 s target mostly on imports it never used
    # (sqlite_vec's package imports numpy; rich.syntax imports Pygments).
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "codegraph", "def", "encode"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=graph_repo,
    )
    assert proc.returncode == 0 and "pkg/net.py" in proc.stdout
    modules = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "codegraph.graph.query" in modules
    assert not {m for m in modules if m.split(".")[0] in {"numpy", "pygments", "onnxruntime", "networkx"}}


def test_a_name_re_exported_by_a_package_resolves_through_the_import(tmp_path: Path, run_cli: RunCli) -> None:
    # Found by the MCP transcript: `from ..store import find_index_root` (re-exported by store/__init__.py from
    # store/store.py) resolved by name, and so did every JS/TS barrel import.
    root = tmp_path / "repo"
    write_files(
        root,
        {
            "pkg/__init__.py": "from .impl import helper\n",
            "pkg/impl.py": "def helper():\n    return 1\n",
            "other/impl.py": "def helper():\n    return 2\n",
            "app.py": "from pkg import helper\n\n\ndef main():\n    return helper()\n",
            "web/lib/index.ts": "export { parse } from './parse';\n",
            "web/lib/parse.ts": "export function parse(s: string) { return s; }\n",
            "web/other.ts": "export function parse(s: string) { return s + 1; }\n",
            "web/app.ts": "import { parse } from './lib';\n\nexport function run() { return parse('x'); }\n",
        },
    )
    assert run_cli("index", ".", "-q", cwd=root).returncode == 0
    callees = _json(run_cli, root, "callees", "main")["results"]
    assert [(r["path"], r["resolution"]) for r in callees] == [("pkg/impl.py", "import")]
    callees = _json(run_cli, root, "callees", "run")["results"]
    assert [(r["path"], r["resolution"]) for r in callees] == [("web/lib/parse.ts", "import")]
