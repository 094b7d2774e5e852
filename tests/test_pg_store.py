"""The PostgreSQL + pgvector store against a real server (``pgserver``): index, search, status and the graph
through the command line with ``--store``; several projects in one server; concurrent writers; kill -9; and the
rule that a repository's own config cannot choose the store."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from . import campaign as cp
from .conftest import CODEGRAPH, SAMPLE_FILES, RunCli, default_sigint, wait_until, write_files
from .pg import fresh_database, query

USES = {
    "app/use.py": """
        from app.retry import retry_upload


        def upload_all(client, items):
            for item in items:
                retry_upload(client, item)
        """,
}

OTHER_FILES = {
    "billing/invoice.py": '''
        def render_invoice(order):
            """Render an invoice as plain text with one line per order item."""
            lines = [f"{item.name}: {item.price}" for item in order.items]
            return "\\n".join(lines)


        def send_invoice(mailer, order):
            return mailer.send(render_invoice(order))
        ''',
}


def _json(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _paths(answer: dict[str, object]) -> list[str]:
    return [r["path"] for r in answer["results"]]  # type: ignore[index, union-attr]


def _index(run_cli: RunCli, root: Path, url: str, *extra: str) -> dict[str, object]:
    return _json(run_cli("index", ".", "--store", url, "--model", "fast", "--json", "--quiet", *extra, cwd=root))


def test_index_search_status_and_graph_through_the_cli(tmp_repo: Path, pg_url: str, run_cli: RunCli) -> None:
    write_files(tmp_repo, USES)
    stats = _index(run_cli, tmp_repo, pg_url)
    assert stats["files_changed"] == 6 and stats["chunks"] == stats["chunks_new"] and stats["embedded"]
    assert not (tmp_repo / ".codegraph").exists()  # nothing local: the index lives on the server

    for mode in ("hybrid", "semantic", "keyword"):
        answer = _json(
            run_cli(
                "search", "retry failed uploads", "--store", pg_url, "--mode", mode, "-k", "3", "--json", cwd=tmp_repo
            )
        )
        assert _paths(answer)[0] == "app/retry.py", (mode, answer)
        assert "project" not in answer["results"][0]  # type: ignore[index]
    exact = _json(run_cli("search", "parseHttpHeader", "--store", pg_url, "--json", "-k", "1", cwd=tmp_repo))
    assert exact["results"][0]["symbol"] == "parseHttpHeader"  # type: ignore[index]
    filtered = _json(
        run_cli(
            "search", "total", "--store", pg_url, "--json", "--lang", "javascript", "--path", "web/**", cwd=tmp_repo
        )
    )
    assert filtered["results"] and set(_paths(filtered)) == {"web/cart.js"}

    status = _json(run_cli("status", "--store", pg_url, "--json", cwd=tmp_repo / "app"))
    assert status["state"] == "complete" and status["files"] == 6 and status["stale"]["count"] == 0  # type: ignore[index]
    assert str(status["database"]).endswith("#repo") and int(status["size_bytes"]) > 0  # type: ignore[arg-type]

    definition = _json(run_cli("def", "retry_upload", "--store", pg_url, "--json", cwd=tmp_repo))
    assert [(r["path"], r["start_line"]) for r in definition["results"]] == [("app/retry.py", 8)]  # type: ignore[union-attr, index]
    refs = _json(run_cli("refs", "retry_upload", "--store", pg_url, "--json", cwd=tmp_repo))
    assert {(r["path"], r["symbol"]) for r in refs["results"]} == {("app/use.py", "upload_all")}  # type: ignore[union-attr, index]
    callers = _json(run_cli("callers", "retry_upload", "--store", pg_url, "--json", cwd=tmp_repo))
    assert [r["symbol"] for r in callers["results"]] == ["upload_all"]  # type: ignore[union-attr, index]

    again = _index(run_cli, tmp_repo, pg_url)  # nothing changed: nothing embedded or written
    assert again["files_changed"] == 0 and again["embedded"] == 0
    (tmp_repo / "app" / "retry.py").unlink()
    assert _index(run_cli, tmp_repo, pg_url)["files_removed"] == 1
    assert query(pg_url, "SELECT count(*) FROM files WHERE path = 'app/retry.py'") == [(0,)]


def test_same_answers_as_the_sqlite_file(tmp_repo: Path, pg_url: str, run_cli: RunCli) -> None:
    """The backends agree on what is indexed and on the semantic ranking (same vectors, exact neighbours)."""
    sqlite = _json(run_cli("index", ".", "--model", "fast", "--json", "--quiet", cwd=tmp_repo))
    pg = _index(run_cli, tmp_repo, pg_url)
    assert (sqlite["chunks"], sqlite["files_seen"]) == (pg["chunks"], pg["files_seen"])
    for q in ("shopping cart total with tax", "health endpoint", "read the json settings"):
        args = ("search", q, "--mode", "semantic", "--json", "-k", "5")
        assert _paths(_json(run_cli(*args, cwd=tmp_repo))) == _paths(
            _json(run_cli(*args, "--store", pg_url, cwd=tmp_repo))
        )


def test_two_projects_in_one_store(tmp_path: Path, pg_url: str, run_cli: RunCli) -> None:
    shop, billing = tmp_path / "shop", tmp_path / "billing"
    write_files(shop, {**SAMPLE_FILES, **USES})
    write_files(billing, OTHER_FILES)
    _index(run_cli, shop, pg_url)
    _index(run_cli, billing, pg_url)
    # Both render text: each project's search sees only its own files, --all sees both and names the project.
    q = ("search", "invoice text lines", "--store", pg_url, "--json", "--mode", "keyword")
    assert set(_paths(_json(run_cli(*q, cwd=billing)))) == {"billing/invoice.py"}
    assert "billing/invoice.py" not in _paths(_json(run_cli(*q, cwd=shop)))
    assert set(_paths(_json(run_cli(*q, "--project", "billing", cwd=shop)))) == {"billing/invoice.py"}
    both = _json(run_cli("search", "retry uploads or send invoice", "--store", pg_url, "--json", "--all", cwd=tmp_path))
    assert {r["project"] for r in both["results"]} == {"shop", "billing"}  # type: ignore[union-attr, index]
    assert _json(run_cli("def", "send_invoice", "--store", pg_url, "--project", "billing", "--json", cwd=shop))[
        "results"
    ]
    assert not _json(run_cli("def", "send_invoice", "--store", pg_url, "--json", cwd=shop))["results"]

    listed = _json(run_cli("projects", "--store", pg_url, "--json", cwd=tmp_path))
    assert [(p["name"], p["root"], p["files"]) for p in listed["projects"]] == [  # type: ignore[union-attr, index]
        ("billing", str(billing), 1),
        ("shop", str(shop), 6),
    ]
    # The embedding cache is shared: a third project with the same files embeds nothing.
    copy = tmp_path / "shop-copy"
    shutil.copytree(shop, copy)
    copied = _index(run_cli, copy, pg_url)
    assert copied["embedded"] == 0
    pg_chunks = copied["chunks"]
    unknown = run_cli("search", "x", "--store", pg_url, "--project", "nope", cwd=tmp_path)
    assert unknown.returncode == 1 and "no project named 'nope'" in unknown.stderr

    # The graph's symbol commands with --all: each project answers from its own graph, and names itself.
    defs = _json(run_cli("def", "retry_upload", "--store", pg_url, "--all", "--json", cwd=billing))["results"]
    assert [(d["project"], d["path"]) for d in defs] == [  # type: ignore[union-attr, index]
        ("shop", "app/retry.py"),
        ("shop-copy", "app/retry.py"),
    ]
    callers = _json(run_cli("callers", "retry_upload", "--store", pg_url, "--all", "--json", cwd=tmp_path))
    assert {(c["project"], c["symbol"]) for c in callers["results"]} == {  # type: ignore[union-attr, index]
        ("shop", "upload_all"),
        ("shop-copy", "upload_all"),
    }
    refs = _json(run_cli("refs", "render_invoice", "--store", pg_url, "--all", "--json", cwd=shop))["results"]
    assert [(r["project"], r["symbol"], r["resolution"]) for r in refs] == [  # type: ignore[union-attr, index]
        ("billing", "send_invoice", "same_file")
    ]
    text = run_cli("callees", "send_invoice", "--store", pg_url, "--all", cwd=shop)
    assert text.returncode == 0 and "billing:billing/invoice.py:" in text.stdout, text.stderr
    both_flags = run_cli("def", "x", "--store", pg_url, "--all", "--project", "shop", cwd=shop)
    assert both_flags.returncode == 2 and "not both" in both_flags.stderr
    no_server = run_cli("def", "retry_upload", "--all", cwd=tmp_path / "shop")
    assert no_server.returncode == 1 and "--all needs a PostgreSQL store" in no_server.stderr

    # A retired repository's project goes, with everything it owns; the shared embedding cache stays.
    unconfirmed = run_cli("projects", "--store", pg_url, "--remove", "shop-copy", cwd=tmp_path)
    assert unconfirmed.returncode == 1 and "--yes" in unconfirmed.stderr
    removed = _json(run_cli("projects", "--store", pg_url, "--remove", "shop-copy", "--yes", "--json", cwd=tmp_path))
    assert removed["removed"] == {
        "name": "shop-copy",
        "root": str(copy),
        "files": 6,
        "chunks": pg_chunks,
        "snippets": 0,
    }
    listed = _json(run_cli("projects", "--store", pg_url, "--json", cwd=tmp_path))
    assert [p["name"] for p in listed["projects"]] == ["billing", "shop"]  # type: ignore[union-attr, index]
    assert query(pg_url, "SELECT count(*) FROM files f JOIN projects p ON p.id = f.project_id") == [(7,)]
    gone = run_cli("projects", "--store", pg_url, "--remove", "shop-copy", "--yes", cwd=tmp_path)
    assert gone.returncode == 1 and "no project named 'shop-copy'" in gone.stderr
    assert _index(run_cli, copy, pg_url)["embedded"] == 0  # back, from the cache


LIBRARY = {
    "libpkg/__init__.py": "from .core import send_invoice\n",
    "libpkg/core.py": """
        def render(order):
            return str(order)


        def send_invoice(mailer, order):
            return mailer.send(render(order))
        """,
}
CONSUMER = {
    "shop/checkout.py": """
        from libpkg import send_invoice


        def checkout(mailer, order):
            return send_invoice(mailer, order)


        def pay_and_checkout(mailer, order):
            return checkout(mailer, order)
        """,
}
NAMESAKE = {"other/local.py": "def send_invoice(x):\n    return x\n\n\ndef run(x):\n    return send_invoice(x)\n"}


def test_graph_all_follows_imports_across_projects(tmp_path: Path, pg_url: str, run_cli: RunCli) -> None:
    """``--all``: a repository importing another one's package (``from libpkg import send_invoice``, re-exported
    by ``libpkg/__init__.py``) is a caller of it and calls it; a namesake defined in a third repository is not."""
    for name, files in (("library", LIBRARY), ("consumer", CONSUMER), ("namesake", NAMESAKE)):
        write_files(tmp_path / name, files)
        _index(run_cli, tmp_path / name, pg_url)

    def ask(*args: str) -> list[tuple[object, ...]]:
        answer = _json(run_cli(*args, "--store", pg_url, "--all", "--json", cwd=tmp_path))
        return [(r["project"], r["path"], r["symbol"], r["resolution"]) for r in answer["results"]]  # type: ignore[union-attr, index]

    assert ask("callers", "send_invoice", "--depth", "2") == [
        ("consumer", "shop/checkout.py", "checkout", "import"),
        ("consumer", "shop/checkout.py", "pay_and_checkout", "same_file"),
        ("namesake", "other/local.py", "run", "same_file"),  # its own send_invoice, within its project
    ]
    assert ask("refs", "send_invoice") == [
        ("consumer", "shop/checkout.py", "checkout", "import"),
        ("namesake", "other/local.py", "run", "same_file"),
    ]
    assert ask("callees", "checkout") == [("library", "libpkg/core.py", "send_invoice", "import")]
    # Without --all a project sees its own definitions only.
    alone = _json(run_cli("callers", "send_invoice", "--store", pg_url, "--json", cwd=tmp_path / "consumer"))
    assert alone["results"] == []


TEXTKIT = {
    "package.json": '{"name": "@acme/textkit", "main": "./src/index.js"}\n',
    "Cargo.toml": '[package]\nname = "text-kit"\nversion = "0.1.0"\n',
    "src/index.js": "export { slugify } from './slug.js';\n",
    "src/slug.js": "export function slugify(text) {\n  return text.toLowerCase();\n}\n",
    "src/lib.rs": "pub mod words;\n",
    "src/words.rs": "pub fn titlecase(text: &str) -> String {\n    text.to_uppercase()\n}\n",
}
SITE = {
    "web/page.js": (
        "import { slugify } from '@acme/textkit';\n\nexport function pageUrl(t) {\n  return slugify(t);\n}\n"
    ),
    "src/main.rs": "use text_kit::words::titlecase;\n\nfn heading(t: &str) -> String {\n    titlecase(t)\n}\n",
}


def test_graph_all_resolves_js_and_rust_packages_without_the_other_checkout(
    tmp_path: Path, pg_url: str, run_cli: RunCli
) -> None:
    """The library's ``package.json`` and ``Cargo.toml`` names are recorded in its project when it is indexed:
    once its checkout is gone (another machine asks), ``--all`` still resolves the consumer's imports of it; a
    package renamed and re-indexed takes effect."""
    library, site = tmp_path / "textkit", tmp_path / "site"
    write_files(library, TEXTKIT)
    write_files(site, SITE)
    _index(run_cli, library, pg_url)
    _index(run_cli, site, pg_url)

    def ask(*args: str) -> list[tuple[object, ...]]:
        answer = _json(run_cli(*args, "--store", pg_url, "--all", "--json", cwd=site))
        return [(r["project"], r["path"], r["symbol"], r["resolution"]) for r in answer["results"]]  # type: ignore[union-attr, index]

    # The name change first, while the checkout is there: the consumer's import names no package any more.
    (library / "package.json").write_text('{"name": "@acme/words", "main": "./src/index.js"}\n', encoding="utf-8")
    assert _index(run_cli, library, pg_url)["files_changed"] == 1  # package.json is an indexed file too
    assert ask("callers", "slugify") == []
    page = site / "web" / "page.js"
    page.write_text(page.read_text(encoding="utf-8").replace("@acme/textkit", "@acme/words"), encoding="utf-8")
    _index(run_cli, site, pg_url)

    shutil.rmtree(library)  # this machine no longer has the library's checkout
    assert ask("callers", "slugify") == [("site", "web/page.js", "pageUrl", "import")]
    assert ask("refs", "titlecase") == [("site", "src/main.rs", "heading", "import")]
    assert ask("callees", "heading") == [("textkit", "src/words.rs", "titlecase", "import")]
    assert ask("callees", "pageUrl") == [("textkit", "src/slug.js", "slugify", "import")]
    recorded = query(
        pg_url,
        "SELECT value FROM meta m JOIN projects p ON p.id = m.project_id "
        "WHERE p.name = 'textkit' AND m.key = 'package_manifests'",
    )
    assert json.loads(recorded[0][0])["js_package"]["name"] == "@acme/words"


def _popen(root: Path, url: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CODEGRAPH, "index", ".", "--store", url, "--model", "fast", "--json", "--quiet", *extra],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )


def test_concurrent_writers_of_two_projects_both_succeed(tmp_path: Path, pg_url: str) -> None:
    roots = [tmp_path / "one", tmp_path / "two"]
    for n, root in enumerate(roots):
        cp.write_tree(root, {k: v.replace("def ", f"def p{n}_") for k, v in cp.make_corpus(60, 2).items()})
    procs = [_popen(root, pg_url) for root in roots]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _out, err in outs]
    counts = query(pg_url, "SELECT p.name, count(f.id) FROM projects p JOIN files f ON f.project_id = p.id GROUP BY 1")
    assert sorted(counts) == [("one", 60), ("two", 60)]


def test_writers_of_one_project_serialise_on_the_advisory_lock(tmp_repo: Path, pg_url: str) -> None:
    import psycopg

    from codegraph.store.postgres_schema import LOCK_CLASS

    _popen(tmp_repo, pg_url).communicate(timeout=300)  # creates the project
    (project_id,) = query(pg_url, "SELECT id FROM projects WHERE name = 'repo'")[0]
    (tmp_repo / "app" / "extra.py").write_text("def added_while_locked():\n    return 1\n", encoding="utf-8")
    with psycopg.connect(pg_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_CLASS, project_id))
        waiting = _popen(tmp_repo, pg_url)
        assert waiting.stderr is not None
        line = waiting.stderr.readline()  # the process says that it waits, then blocks on the lock
        assert "another codegraph process is writing" in line
        assert waiting.poll() is None
        holder.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, project_id))
    out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, err
    assert json.loads(out)["files_changed"] == 1

    # Two runners at once on the same project: both succeed, one after the other, and nothing is lost.
    (tmp_repo / "app" / "late.py").write_text("def late():\n    return 2\n", encoding="utf-8")
    pair = [_popen(tmp_repo, pg_url), _popen(tmp_repo, pg_url)]
    results = [p.communicate(timeout=300) for p in pair]
    assert [p.returncode for p in pair] == [0, 0], [err for _o, err in results]
    assert sorted(json.loads(o)["files_changed"] for o, _e in results) == [0, 1]
    assert query(pg_url, "SELECT count(*) FROM files")[0] == (7,)  # the 5 sample files, extra.py, late.py


def test_kill_9_mid_index_then_the_next_run_completes_it(tmp_path: Path, pg_url: str, run_cli: RunCli) -> None:
    root = tmp_path / "big"
    cp.write_tree(root, cp.make_corpus(400, 3))
    victim = _popen(root, pg_url, "--model", "minilm")
    stored = lambda: query(pg_url, "SELECT count(*) FROM files")[0][0] if _has_files(pg_url) else 0  # noqa: E731
    assert wait_until(lambda: stored() > 0 or victim.poll() is not None, timeout_s=240)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=60)
    if victim.returncode != -signal.SIGKILL:
        pytest.skip("the index run finished before it could be killed")
    partial = stored()
    assert 0 < partial < 400
    status = _json(run_cli("status", "--store", pg_url, "--json", cwd=root))
    assert status["state"] == "incomplete"
    assert query(pg_url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted") == [(0,)]
    # A first load builds the model's HNSW index at its end: none yet, and search is an exact scan meanwhile.
    assert _hnsw_indexes(pg_url) == 0
    found = _json(run_cli("search", "function", "--store", pg_url, "--mode", "semantic", "--json", cwd=root))
    assert found["results"]
    finish = _json(run_cli("index", ".", "--store", pg_url, "--model", "minilm", "--json", "--quiet", cwd=root))
    assert finish["files_changed"] == 400 - partial and finish["files_unchanged"] == partial
    assert _json(run_cli("status", "--store", pg_url, "--json", cwd=root))["state"] == "complete"
    orphans = query(pg_url, "SELECT count(*) FROM chunks c LEFT JOIN files f ON f.id = c.file_id WHERE f.id IS NULL")
    assert orphans == [(0,)] and query(pg_url, "SELECT count(*) FROM files") == [(400,)]
    assert _hnsw_indexes(pg_url) == 1


def _hnsw_indexes(url: str) -> int:
    sql = "SELECT count(*) FROM pg_indexes WHERE tablename = 'embeddings' AND indexdef LIKE '%%USING hnsw%%'"
    return int(query(url, sql)[0][0])


def _has_files(url: str) -> bool:
    return bool(query(url, "SELECT to_regclass('files') IS NOT NULL")[0][0])


def test_a_repository_config_cannot_choose_the_store(tmp_repo: Path, pg_url: str, run_cli: RunCli) -> None:
    (tmp_repo / ".codegraph").mkdir()
    (tmp_repo / ".codegraph" / "config.toml").write_text(f'store = "{pg_url}"\n', encoding="utf-8")
    result = run_cli("index", ".", "--model", "fast", "--quiet", cwd=tmp_repo)
    assert result.returncode == 0, result.stderr
    assert "store is ignored" in result.stderr and "database server" in result.stderr
    assert (tmp_repo / ".codegraph" / "index.db").is_file()  # the SQLite file, not the named server
    assert query(pg_url, "SELECT to_regclass('projects')") == [(None,)]


def test_the_user_config_and_the_environment_choose_the_store(tmp_repo: Path, pg_url: str, run_cli: RunCli) -> None:
    user = Path(os.environ["CODEGRAPH_CONFIG"])
    user.write_text(f'store = "{pg_url}"\nproject = "from-user-config"\n', encoding="utf-8")
    try:
        assert run_cli("index", ".", "--model", "fast", "--quiet", cwd=tmp_repo).returncode == 0
    finally:
        user.unlink()
    assert query(pg_url, "SELECT name FROM projects") == [("from-user-config",)]
    os.environ["CODEGRAPH_STORE"] = pg_url
    try:
        answer = _json(run_cli("search", "health", "--project", "from-user-config", "--json", cwd=tmp_repo))
    finally:
        del os.environ["CODEGRAPH_STORE"]
    assert "cmd/server.go" in _paths(answer)


def test_an_unreachable_server_is_one_line_that_says_what_to_check(tmp_repo: Path, run_cli: RunCli) -> None:
    result = run_cli("index", ".", "--store", "postgresql://codegraph:secret@127.0.0.1:9/none", cwd=tmp_repo)
    assert result.returncode == 1
    assert "is the server running" in result.stderr and "secret" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_pgvector_extension_says_create_extension() -> None:
    from codegraph.store.postgres_schema import _explain

    error = _explain("postgresql://u:pw@h/db", RuntimeError('extension "vector" is not available'))
    assert "CREATE EXTENSION vector" in str(error) and "pw" not in str(error)


def test_a_lock_timeout_names_the_lock_not_the_network() -> None:
    from codegraph.store.postgres_schema import _explain

    error = str(_explain("postgresql://u:pw@h/db", RuntimeError("canceling statement due to lock timeout")))
    assert "held a lock" in error and "reachable" not in error
    denied = str(_explain("postgresql://u:pw@h/db", RuntimeError("permission denied to create temporary tables")))
    assert "TEMPORARY" in denied


def test_chunks_copied_in_keep_their_text_order_and_tsvector(tmp_path: Path, pg_url: str) -> None:
    """``replace_files`` writes chunks by ``COPY`` through a temporary table: every text survives exactly
    (tabs, newlines, carriage returns, backslashes and COPY's own ``\\N`` null marker, non-ASCII), ``NULL`` stays
    ``NULL``, ids ascend in the order given, and each ``tsvector`` is the one the per-row ``INSERT`` expression
    gives for the same identifier-split text. Two calls inside one outer transaction both work (the table is
    dropped after each)."""
    import numpy as np

    from codegraph.config import Settings
    from codegraph.store import open_store
    from codegraph.store.fts import fts_text
    from codegraph.store.postgres import fts_sql
    from codegraph.types import Chunk, SourceFile

    texts = [
        "def parse_value(raw):\n\treturn raw.strip()\r\n",
        "PATTERN = r'\\N{DASH}\\t\\\\'  # backslashes",
        "\\N",
        "naïve = 'Grüße, 東京'  # non-ASCII",
        "class RetryPolicy:\n    max_attempts = 5",
    ]
    symbols = ["parse_value", None, None, "naïve", "RetryPolicy"]
    store = open_store(tmp_path, create=True, settings=Settings(store=pg_url, project="copy"))
    try:
        store.bind_model("copy-test@1", 3)
        emb_ids = store.add_embeddings(
            [bytes([i]) * 16 for i in range(len(texts))], np.eye(len(texts), 3, dtype=np.float32) + 0.1
        )

        def item(path: str, picks: list[int]) -> tuple:
            source = SourceFile(path, str(tmp_path / path), 10, 1, "python")
            chunks = [
                Chunk(
                    path,
                    "python",
                    "function" if symbols[i] else "module",
                    symbols[i],
                    "Outer" if i == 4 else None,
                    i + 1,
                    i + 2,
                    i + 1,
                    i + 2,
                    texts[i],
                )
                for i in picks
            ]
            return source, "python", f"hash{path}", chunks, [emb_ids[i] for i in picks], None

        with store.transaction():  # both calls in one transaction: a savepoint each
            assert store.replace_files([item("pkg/b.py", [0, 1]), item("pkg/a.py", [2])]) == 3
            assert store.replace_files([item("pkg/c.py", [3, 4])]) == 2
        stored = query(
            pg_url,
            "SELECT f.path, c.symbol, c.scope, c.start_line, c.end_line, c.code, c.embedding_id, c.fts::text "
            "FROM chunks c JOIN files f ON f.id = c.file_id ORDER BY c.id",
        )
        order = [("pkg/b.py", 0), ("pkg/b.py", 1), ("pkg/a.py", 2), ("pkg/c.py", 3), ("pkg/c.py", 4)]
        assert [r[:7] for r in stored] == [
            (path, symbols[i], "Outer" if i == 4 else None, i + 1, i + 2, texts[i], emb_ids[i]) for path, i in order
        ]
        for (path, i), row in zip(order, stored, strict=True):
            qualified = f"Outer.{symbols[i]}" if i == 4 else symbols[i] or ""
            (expected,) = query(
                pg_url,
                f"SELECT ({fts_sql('%s', '%s', '%s')})::text",
                (fts_text(qualified), fts_text(path), fts_text(texts[i])),
            )[0]
            assert row[7] == expected and row[7]
        first = query(pg_url, "SELECT min(id) FROM chunks")[0][0]
        assert [c for c, _score in store.bm25("parse value", 1)] == [first]  # found by its tsvector
    finally:
        store.close()
    assert query(pg_url, "SELECT count(*) FROM pg_class WHERE relname = 'codegraph_chunks_in'") == [(0,)]


def _embedding_ids(url: str, project: str | None = None) -> set[int]:
    """Every cached embedding id, or those the chunks of ``project`` use."""
    if project is None:
        return {int(r[0]) for r in query(url, "SELECT id FROM embeddings")}
    rows = query(
        url,
        "SELECT DISTINCT c.embedding_id FROM chunks c JOIN projects p ON p.id = c.project_id WHERE p.name = %s",
        (project,),
    )
    return {int(r[0]) for r in rows}


def _cache_locks(url: str) -> list[tuple[object, ...]]:
    """``(mode, granted)`` of every session holding or awaiting the embedding cache's advisory lock."""
    from codegraph.store.postgres_schema import CACHE_LOCK_CLASS

    return query(
        url,
        "SELECT mode, granted FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = %s AND objid = 0 "
        "AND objsubid = 2 AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "ORDER BY granted DESC, mode",
        (CACHE_LOCK_CLASS,),
    )


def test_prune_after_remove_deletes_exactly_the_vectors_no_project_uses(
    tmp_path: Path, pg_url: str, run_cli: RunCli
) -> None:
    """``projects --remove NAME --prune``: the vectors only the removed project (or an old version of a file)
    used go, every vector a remaining project uses stays (search still works, a re-index embeds nothing), and
    ``--dry-run`` deletes nothing."""
    from codegraph.store.postgres_schema import redact

    shop, billing = tmp_path / "shop", tmp_path / "billing"
    write_files(shop, SAMPLE_FILES)
    # billing shares one file with shop (the same text: one cached vector for both) and has one of its own
    write_files(billing, {**OTHER_FILES, "app/parse_config.py": SAMPLE_FILES["app/parse_config.py"]})
    _index(run_cli, shop, pg_url)
    _index(run_cli, billing, pg_url)
    billing_used = _embedding_ids(pg_url, "billing")
    assert billing_used & _embedding_ids(pg_url, "shop") and billing_used - _embedding_ids(pg_url, "shop")
    retry = shop / "app" / "retry.py"
    retry.write_text(retry.read_text(encoding="utf-8").replace("delay = 0.5", "delay = 0.25"), encoding="utf-8")
    assert _index(run_cli, shop, pg_url)["embedded"] >= 1  # the old text's vector stays cached, unused
    shop_used, cached = _embedding_ids(pg_url, "shop"), _embedding_ids(pg_url)
    expected = cached - shop_used  # billing's own vectors and the old text's
    assert billing_used - shop_used <= expected and len(expected) > len(billing_used - shop_used)

    both = _json(
        run_cli(
            "projects",
            "--store",
            pg_url,
            "--remove",
            "billing",
            "--yes",
            "--prune",
            "--dry-run",
            "--json",
            cwd=tmp_path,
        )
    )
    assert both["removed"]["name"] == "billing"  # type: ignore[index]
    dry = both["pruned"]
    assert (dry["dry_run"], dry["unused"], dry["deleted"], dry["kept"]) == (True, len(expected), 0, len(shop_used))  # type: ignore[index]
    assert dry["freed_bytes"] > 0 and dry["store"] == redact(pg_url)  # type: ignore[index, operator]
    [model] = dry["models"]  # type: ignore[index]
    assert (model["unused"], model["kept"]) == (len(expected), len(shop_used))
    assert _embedding_ids(pg_url) == cached  # --dry-run deleted nothing

    done = _json(run_cli("projects", "--store", pg_url, "--prune", "--json", cwd=tmp_path))["pruned"]
    assert (done["dry_run"], done["unused"], done["deleted"], done["kept"]) == (
        False,
        len(expected),
        len(expected),
        len(shop_used),
    )  # type: ignore[index]
    assert _embedding_ids(pg_url) == shop_used  # exactly the orphans went
    text = run_cli("projects", "--store", pg_url, "--prune", cwd=tmp_path)
    assert text.returncode == 0 and "deleted 0 unused cached embeddings" in text.stdout

    hits = _json(run_cli("search", "retry failed uploads", "--store", pg_url, "--json", "-k", "3", cwd=shop))
    assert _paths(hits)[0] == "app/retry.py"
    assert _index(run_cli, shop, pg_url, "--rebuild")["embedded"] == 0  # every vector shop uses is still there
    assert _index(run_cli, billing, pg_url)["embedded"] == len(billing_used - shop_used)  # its own, embedded anew


def test_prune_refuses_or_waits_while_an_index_run_holds_the_cache(
    tmp_path: Path, tmp_repo: Path, pg_url: str, run_cli: RunCli
) -> None:
    """Every writer holds the cache lock shared for its whole run: a prune refuses (exit 1, naming the project)
    or, with ``--wait``, queues for it exclusively; an index run that starts meanwhile queues behind the prune."""
    from codegraph.config import resolve_settings
    from codegraph.store import index_lock

    _index(run_cli, tmp_repo, pg_url)
    other = tmp_path / "other"
    write_files(other, OTHER_FILES)
    settings = resolve_settings(tmp_repo, overrides={"store": pg_url})
    with index_lock(tmp_repo, settings=settings, timeout_s=5):  # project "repo" is being written
        assert _cache_locks(pg_url) == [("ShareLock", True)]
        for extra in ((), ("--dry-run",)):
            busy = run_cli("projects", "--store", pg_url, "--prune", *extra, cwd=tmp_path)
            assert busy.returncode == 1 and not busy.stdout, busy.stderr
            assert "holding: project repo" in busy.stderr and "--wait SECONDS" in busy.stderr
        waiting = subprocess.Popen(
            [*CODEGRAPH, "projects", "--store", pg_url, "--prune", "--wait", "300", "--json"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_sigint,
        )
        assert wait_until(lambda: ("ExclusiveLock", False) in _cache_locks(pg_url) or waiting.poll() is not None)
        late = _popen(other, pg_url)  # another project's index run starts now: it waits behind the prune
        assert wait_until(lambda: ("ShareLock", False) in _cache_locks(pg_url) or late.poll() is not None)
        assert waiting.poll() is None and late.poll() is None
        assert query(pg_url, "SELECT count(*) FROM projects WHERE name = 'other'") == [(1,)]
        assert query(
            pg_url, "SELECT count(*) FROM files f JOIN projects p ON p.id = f.project_id WHERE p.name = 'other'"
        ) == [(0,)]
    out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, err
    assert json.loads(out)["pruned"]["deleted"] == 0  # nothing unused: "repo" uses every vector
    late_out, late_err = late.communicate(timeout=300)
    assert late.returncode == 0, late_err
    assert json.loads(late_out)["files_changed"] == 1


def test_a_writer_waits_for_a_prune_and_an_old_writer_blocks_it(
    tmp_repo: Path, pg_server: str, pg_url: str, run_cli: RunCli
) -> None:
    import psycopg

    from codegraph.config import resolve_settings
    from codegraph.errors import IndexBusyError
    from codegraph.store import index_lock
    from codegraph.store.postgres_schema import CACHE_LOCK_CLASS, LOCK_CLASS

    _index(run_cli, tmp_repo, pg_url)
    (project_id,) = query(pg_url, "SELECT id FROM projects WHERE name = 'repo'")[0]
    settings = resolve_settings(tmp_repo, overrides={"store": pg_url})
    (tmp_repo / "app" / "extra.py").write_text("def added_while_pruning():\n    return 1\n", encoding="utf-8")
    with psycopg.connect(pg_url, autocommit=True) as prune:
        prune.execute("SELECT pg_advisory_lock(%s, 0)", (CACHE_LOCK_CLASS,))  # as a prune holds it
        with (
            pytest.raises(IndexBusyError, match="being pruned"),
            index_lock(tmp_repo, settings=settings, timeout_s=0.2),
        ):
            pass  # gave up on its lock_timeout
        held = query(
            pg_url,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = %s "
            "AND objid::bigint = %s AND granted AND database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database())",
            (LOCK_CLASS, project_id),
        )
        assert held == [(0,)]  # it never took its project's lock (the cache lock comes first)
        writer = _popen(tmp_repo, pg_url)
        assert writer.stderr is not None
        assert "another codegraph process is writing" in writer.stderr.readline()
        assert wait_until(lambda: ("ShareLock", False) in _cache_locks(pg_url) or writer.poll() is not None)
        assert writer.poll() is None
        prune.execute("SELECT pg_advisory_unlock(%s, 0)", (CACHE_LOCK_CLASS,))
    out, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, err
    assert json.loads(out)["files_changed"] == 1

    # A writer from before the cache lock holds only its project's lock: the prune will not sweep under it.
    with psycopg.connect(pg_url, autocommit=True) as old:
        old.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_CLASS, project_id))
        refused = run_cli("projects", "--store", pg_url, "--prune", cwd=tmp_repo)
        assert refused.returncode == 1 and "too old to take the cache lock" in refused.stderr
        assert "project repo" in refused.stderr
    # Advisory locks are per database: writers of another codegraph database on the same server are not this
    # store's (pg_locks lists them all).
    neighbour = fresh_database(pg_server)
    with psycopg.connect(neighbour, autocommit=True) as elsewhere:
        elsewhere.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_CLASS, project_id))
        elsewhere.execute("SELECT pg_advisory_lock_shared(%s, 0)", (CACHE_LOCK_CLASS,))
        assert run_cli("projects", "--store", pg_url, "--prune", cwd=tmp_repo).returncode == 0
        status = _json(run_cli("status", "--store", pg_url, "--json", cwd=tmp_repo))
        assert status["state"] != "building"  # nor is its writer this project's
