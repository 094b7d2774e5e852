"""The command line as a user runs it: real subprocesses, exit codes, stdout and stderr apart."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from codegraph.store import Store

from .conftest import CODEGRAPH, RunCli, default_sigint, wait_until, watch_startup, write_files

HIT_KEYS = {"path", "start_line", "end_line", "symbol", "kind", "language", "score", "snippet"}


def test_index_json_summary_then_no_change(tmp_repo: Path, run_cli: RunCli) -> None:
    first = run_cli("index", ".", "--json", cwd=tmp_repo)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    for key in (
        "files_seen",
        "files_changed",
        "files_removed",
        "chunks",
        "embedded",
        "cache_hits",
        "seconds",
        "model",
    ):
        assert key in summary
    assert summary["files_seen"] == 5 and summary["embedded"] == summary["chunks"] > 0
    assert summary["model"].startswith("code@")
    assert "not installed" not in first.stderr  # the default model ships with codegraph: no notice
    again = json.loads(run_cli("index", "--json", cwd=tmp_repo).stdout)
    assert (again["embedded"], again["files_changed"]) == (0, 0)


def test_search_json_contract_from_a_subdirectory(tmp_repo: Path, run_cli: RunCli) -> None:
    assert run_cli("index", ".", "-q", cwd=tmp_repo).returncode == 0
    proc = run_cli("search", "retry failed uploads", "--json", "-k", "3", cwd=tmp_repo / "web")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) == {"query", "mode", "results"}
    assert (doc["query"], doc["mode"]) == ("retry failed uploads", "hybrid")
    assert 1 <= len(doc["results"]) <= 3
    for hit in doc["results"]:
        assert set(hit) == HIT_KEYS
        assert "\\" not in hit["path"] and not hit["path"].startswith("/")
        assert 1 <= hit["start_line"] <= hit["end_line"]
        assert isinstance(hit["score"], float) and isinstance(hit["snippet"], str)
    assert doc["results"][0]["path"] == "app/retry.py"
    assert doc["results"][0]["symbol"] == "retry_upload"


def test_search_stdin_writes_json_lines_in_order(tmp_repo: Path, run_cli: RunCli) -> None:
    run_cli("index", ".", "-q", cwd=tmp_repo)
    proc = run_cli("search", "-", "-k", "2", "--mode", "keyword", cwd=tmp_repo, stdin="http header\ncart total\n")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [d["query"] for d in lines] == ["http header", "cart total"]
    assert lines[0]["results"][0]["symbol"] == "parseHttpHeader"
    assert lines[1]["results"][0]["symbol"] == "cartTotal"


def test_human_output_names_path_lines_and_symbol(tmp_repo: Path, run_cli: RunCli) -> None:
    run_cli("index", ".", "-q", cwd=tmp_repo)
    proc = run_cli("search", "shopping cart total", "--lang", "javascript", cwd=tmp_repo)
    assert proc.returncode == 0
    assert "web/cart.js:" in proc.stdout and "cartTotal" in proc.stdout
    assert proc.stderr == ""


def test_search_without_index_says_to_run_index(tmp_path: Path, run_cli: RunCli) -> None:
    proc = run_cli("search", "anything", cwd=tmp_path)
    assert proc.returncode == 1
    assert "codegraph index" in proc.stderr and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1


def test_index_missing_path_is_a_one_line_error(tmp_path: Path, run_cli: RunCli) -> None:
    proc = run_cli("index", "does-not-exist", cwd=tmp_path)
    assert proc.returncode == 1
    assert "does-not-exist: no such directory" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_empty_directory_indexes_to_nothing(tmp_path: Path, run_cli: RunCli) -> None:
    proc = run_cli("index", ".", "--json", cwd=tmp_path)
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["files_seen"] == 0
    search = run_cli("search", "x", "--json", cwd=tmp_path)
    assert search.returncode == 0 and json.loads(search.stdout)["results"] == []


@pytest.mark.parametrize(
    "args",
    [
        ["search"],
        ["search", "x", "--mode", "fuzzy"],
        ["search", "x", "-k", "0"],
        ["index", "--bogus"],
        ["search", "x", "--lang", "cobol"],
    ],
)
def test_usage_errors_exit_2(tmp_repo: Path, run_cli: RunCli, args: list[str]) -> None:
    (tmp_repo / ".codegraph").mkdir()
    proc = run_cli(*args, cwd=tmp_repo)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and "Usage:" in proc.stderr


def test_missing_explicit_model_says_how_to_install(tmp_repo: Path, run_cli: RunCli) -> None:
    proc = run_cli("index", ".", "--model", "codebert", cwd=tmp_repo)
    assert proc.returncode == 1
    assert "model 'codebert' is not installed" in proc.stderr
    assert "codegraph model import codebert" in proc.stderr


def _registered_commands() -> list[list[str]]:
    """Every command path the CLI registers (``[]`` for the top level, ``["model", "import"]``, ...)."""
    import typer.main

    from codegraph.cli.app import app

    paths: list[list[str]] = [[]]

    def walk(command: object, prefix: list[str]) -> None:
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            paths.append([*prefix, name])
            walk(sub, [*prefix, name])

    walk(typer.main.get_command(app), [])
    return paths


def _embeddings(root: Path) -> int:
    store = Store.open(root)
    try:
        return store.count("embeddings")
    finally:
        store.close()


@pytest.mark.parametrize("command", _registered_commands(), ids=lambda c: " ".join(c) or "codegraph")
def test_every_command_has_help(run_cli: RunCli, tmp_path: Path, command: list[str]) -> None:
    proc = run_cli(*command, "--help", cwd=tmp_path)
    assert proc.returncode == 0
    assert "Usage:" in proc.stdout and len(proc.stdout) > 200


def test_bad_files_reported_on_stderr_and_listed_in_json(tmp_repo: Path, run_cli: RunCli) -> None:
    (tmp_repo / "blob.bin").write_bytes(bytes(range(256)) * 10)
    (tmp_repo / "legacy.rb").write_bytes(b"puts 'ol\xe9'\n")
    human = run_cli("index", ".", cwd=tmp_repo)
    assert human.returncode == 0
    assert "2 file(s) skipped" in human.stderr and "blob.bin: binary file" in human.stderr
    assert "2 skipped" in human.stdout
    (tmp_repo / "more.bin").write_bytes(b"\0" * 10)
    data = json.loads(run_cli("index", ".", "--json", cwd=tmp_repo).stdout)
    assert data["files_skipped"] == 3
    assert any(w.startswith("legacy.rb: not valid UTF-8") for w in data["warnings"])


def test_a_virtualenv_is_not_indexed_and_binary_types_are_not_warnings(tmp_repo: Path, run_cli: RunCli) -> None:
    assert not (tmp_repo / ".gitignore").exists()
    write_files(
        tmp_repo,
        {
            "venv-3.11/pyvenv.cfg": "home = /usr/bin\n",
            "venv-3.11/lib/python3.11/site-packages/requests/api.py": "def get(url):\n    return url\n",
            "node_modules/left-pad/index.js": "module.exports = (s) => s;\n",
        },
    )
    for rel in ("docs/logo.png", "lib/_native.so", "app/__init__.cpython-311.pyc", "fonts/Inter.woff2"):
        (tmp_repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_repo / rel).write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0IHDR")
    for _ in range(2):  # the same on every run
        proc = run_cli("index", ".", "--json", cwd=tmp_repo)
        assert proc.returncode == 0, proc.stderr
        summary = json.loads(proc.stdout)
        assert (summary["files_seen"], summary["files_skipped"], summary["files_binary"]) == (5, 0, 4)
        assert summary["warnings"] == [] and "skipped" not in proc.stderr
    human = run_cli("index", ".", cwd=tmp_repo)
    assert human.returncode == 0 and "warning" not in human.stderr
    assert run_cli("index", "--check", cwd=tmp_repo).returncode == 0


def test_a_repository_llm_base_url_stops_only_the_commands_that_use_it(tmp_repo: Path, run_cli: RunCli) -> None:
    (tmp_repo / ".codegraph").mkdir()
    (tmp_repo / ".codegraph" / "config.toml").write_text('llm_base_url = "http://evil.example/v1"\n')
    warning = "config.toml: llm_base_url is ignored"
    for args in (["index", ".", "--json"], ["search", "retry failed uploads", "--json"], ["status", "--json"]):
        proc = run_cli(*args, cwd=tmp_repo)
        assert proc.returncode == 0, proc.stderr
        json.loads(proc.stdout)  # stdout stays clean JSON
        assert proc.stderr.count(warning) == 1 and "CODEGRAPH_LLM_BASE_URL" in proc.stderr
    for args in (["generate", "retry with jitter"], ["test", "app/retry.py::retry_upload"]):
        proc = run_cli(*args, cwd=tmp_repo)
        assert proc.returncode == 1
        assert "llm_base_url cannot be set in a repository's config" in proc.stderr and warning not in proc.stderr
    lines = watch_startup(tmp_repo)
    assert any(line.startswith("watching") for line in lines), lines
    assert sum(warning in line for line in lines) == 1


def test_index_and_watch_print_no_model_notice_on_a_repeat_run(tmp_repo: Path, run_cli: RunCli) -> None:
    # Issue 11 item 7b: the notice "CodeBERT is not installed, using the bundled model" was printed on every run.
    # No such notice exists any more: the default model ships with codegraph, and the one remaining notice of
    # resolve_model is for a broken install (the default model missing). A repeat run is quiet on stderr.
    assert run_cli("index", ".", "-q", cwd=tmp_repo).returncode == 0  # -q: a slow first run prints no progress
    again = run_cli("index", ".", cwd=tmp_repo)
    assert again.returncode == 0 and again.stderr == "", again.stderr
    first = watch_startup(tmp_repo)[0]
    assert first.startswith("watching"), first  # nothing before the watcher's own line


def _big_repo(root: Path, files: int = 40, functions: int = 25) -> None:
    for f in range(files):
        body = "\n\n".join(
            f"def handler_{f}_{i}(request, retries={i}):\n"
            f'    """Handle request kind {i} of module {f}, retrying {i} times."""\n'
            f"    value = request.get('field_{i}') or {f * i}\n"
            f"    return value * {i + f}\n"
            for i in range(functions)
        )
        write_files(root, {f"pkg/mod_{f}.py": body + "\n"})


def test_ctrl_c_mid_index_exits_130_and_leaves_a_usable_index(tmp_path: Path, run_cli: RunCli) -> None:
    _big_repo(tmp_path)
    proc = subprocess.Popen(
        [*CODEGRAPH, "index", ".", "-q"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    db = tmp_path / ".codegraph" / "index.db"
    # Wait until embeddings are being committed (or the run ended too early to be interrupted).
    wait_until(lambda: proc.poll() is not None or (db.exists() and _embeddings(tmp_path) > 0))
    embedded = _embeddings(tmp_path) if db.exists() else 0
    assert proc.poll() is None and embedded > 0, "index finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err
    store = Store.open(tmp_path)
    assert store.check_integrity() == "ok"
    store.close()
    assert run_cli("search", "handle request", "--json", cwd=tmp_path).returncode == 0
    finish = json.loads(run_cli("index", ".", "--json", cwd=tmp_path).stdout)
    assert finish["cache_hits"] >= embedded  # work done before Ctrl-C is kept
    assert finish["chunks"] == 40 * 25
    final = json.loads(run_cli("index", ".", "--json", cwd=tmp_path).stdout)
    assert final["embedded"] == 0 and final["files_changed"] == 0


def test_permission_denied_file_is_skipped_with_a_warning(tmp_repo: Path) -> None:
    """Root reads any file, so as root the CLI runs without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH (setpriv)."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without util-linux setpriv: cannot make a file unreadable")
        prefix = [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]
    locked = tmp_repo / "app" / "locked.py"
    locked.write_text("def hidden():\n    return 2\n", encoding="utf-8")
    locked.chmod(0o000)
    try:
        proc = subprocess.run(
            [*prefix, *CODEGRAPH, "index", ".", "--json"],
            cwd=tmp_repo,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        locked.chmod(0o644)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["files_skipped"] == 1
    assert data["warnings"] == ["app/locked.py: Permission denied"]
    assert data["files_changed"] == 5


def test_first_search_in_a_git_work_tree_indexes_it_first(tmp_repo: Path, run_cli: RunCli) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_repo)], check=True)
    proc = run_cli("search", "retry failed uploads", "--json", "-k", "3", cwd=tmp_repo / "app")
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)["results"]
    assert hits and hits[0]["path"] == "app/retry.py"
    assert "no index yet; indexed" in proc.stderr and "codegraph index" in proc.stderr
    assert (tmp_repo / ".codegraph" / "index.db").is_file()
    again = run_cli("search", "retry failed uploads", "--json", cwd=tmp_repo)
    assert again.returncode == 0 and "no index yet" not in again.stderr


def test_search_outside_a_work_tree_without_an_index_says_how_to_build_one(tmp_repo: Path, run_cli: RunCli) -> None:
    proc = run_cli("search", "retry", cwd=tmp_repo)
    assert proc.returncode == 1 and "codegraph index" in proc.stderr and proc.stdout == ""
    assert not (tmp_repo / ".codegraph").exists()
    subprocess.run(["git", "init", "-q", str(tmp_repo)], check=True)
    opted_out = run_cli("search", "retry", "--no-auto-index", cwd=tmp_repo)
    assert opted_out.returncode == 1 and not (tmp_repo / ".codegraph").exists()


@pytest.mark.parametrize("json_output", [False, True], ids=["human", "json"])
def test_a_closed_stdout_pipe_exits_0_quietly(tmp_repo: Path, run_cli: RunCli, json_output: bool) -> None:
    """`codegraph search QUERY | head -1`: the reader is gone before the results are written."""
    assert run_cli("index", ".", "-q", cwd=tmp_repo).returncode == 0
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `head` after its first line: every write to stdout now fails with EPIPE
    args = ["search", "retry upload", "-k", "5", *(["--json"] if json_output else [])]
    try:
        proc = subprocess.run([*CODEGRAPH, *args], cwd=tmp_repo, stdout=write_end, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (0, "")


def test_index_in_a_subdirectory_refreshes_the_enclosing_index(tmp_repo: Path, run_cli: RunCli) -> None:
    assert run_cli("index", ".", "-q", cwd=tmp_repo).returncode == 0
    write_files(tmp_repo, {"app/payments.py": "def refund_invoice(invoice):\n    return invoice.total * -1\n"})
    sub = run_cli("index", ".", "--json", cwd=tmp_repo / "app")
    assert sub.returncode == 0, sub.stderr
    assert f"inside the index of {tmp_repo.resolve()}" in sub.stderr
    assert not (tmp_repo / "app" / ".codegraph").exists()  # no nested index shadows the real one
    assert json.loads(sub.stdout)["files_changed"] == 1
    found = json.loads(run_cli("search", "refund invoice", "--json", "-k", "1", cwd=tmp_repo).stdout)
    assert found["results"][0]["path"] == "app/payments.py"
    nested = run_cli("index", ".", "-q", "--nested", cwd=tmp_repo / "app")
    assert nested.returncode == 0 and (tmp_repo / "app" / ".codegraph" / "index.db").is_file()


def _sqlite_cache(root: Path) -> tuple[set[int], set[int], int]:
    """``(embedding ids, ids the chunks use, rows of the vector table)`` of the SQLite index of ``root``."""
    with Store.open(root) as store:
        ids = {int(r[0]) for r in store.conn.execute("SELECT id FROM embeddings")}
        used = {int(r[0]) for r in store.conn.execute("SELECT embedding_id FROM chunks")}
        vectors = int(store.conn.execute("SELECT count(*) FROM embeddings_vec").fetchone()[0])
    return ids, used, vectors


def test_projects_prune_on_the_sqlite_file_drops_the_vectors_of_edited_code(tmp_repo: Path, run_cli: RunCli) -> None:
    """The SQLite file's cache keeps the vectors of code that changed; ``projects --prune`` (no PostgreSQL store:
    the index at or above ``--dir``) deletes exactly those, under the writer lock, and shrinks the vector table."""
    from codegraph.store.lock import writer_lock

    args = ("--model", "fast", "--json", "--quiet")
    assert run_cli("index", ".", *args, cwd=tmp_repo).returncode == 0
    before, _used, _n = _sqlite_cache(tmp_repo)
    retry = tmp_repo / "app" / "retry.py"
    original = retry.read_text(encoding="utf-8")
    retry.write_text(original.replace("delay = 0.5", "delay = 0.25").replace("tokens -= 1", "tokens -= 2"), "utf-8")
    assert json.loads(run_cli("index", ".", *args, cwd=tmp_repo).stdout)["embedded"] >= 2
    ids, used, vectors = _sqlite_cache(tmp_repo)
    stale = before - used
    assert len(stale) >= 2 and stale <= ids and vectors == len(ids)  # the old texts' vectors are still cached

    dry = run_cli("projects", "--prune", "--dry-run", "--json", "--dir", str(tmp_repo / "app"), cwd=tmp_repo.parent)
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)["pruned"]
    assert (report["dry_run"], report["unused"], report["deleted"]) == (True, len(stale), 0)
    assert report["kept"] == len(used)
    dry_freed = report["freed_bytes"]  # measured by doing the work and rolling it back: what the prune frees
    assert _sqlite_cache(tmp_repo) == (ids, used, vectors)  # nothing deleted

    with writer_lock(tmp_repo / ".codegraph", timeout_s=0):  # an index run is writing: refused, exit 1
        busy = run_cli("projects", "--prune", cwd=tmp_repo)
    assert busy.returncode == 1 and "another codegraph process" in busy.stderr and not busy.stdout
    assert _sqlite_cache(tmp_repo) == (ids, used, vectors)

    done = run_cli("projects", "--prune", "--json", cwd=tmp_repo)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["pruned"]
    assert (report["dry_run"], report["unused"], report["deleted"], report["kept"]) == (
        False,
        len(stale),
        len(stale),
        len(used),
    )
    assert report["freed_bytes"] == dry_freed >= 0  # 0 here: the vector table frees 1,024 vectors at a time
    assert _sqlite_cache(tmp_repo) == (used, used, len(used))  # exactly the used vectors remain
    hits = json.loads(run_cli("search", "retry failed uploads", "--json", cwd=tmp_repo).stdout)["results"]
    assert hits and hits[0]["path"] == "app/retry.py"
    assert json.loads(run_cli("index", ".", *args, cwd=tmp_repo).stdout)["embedded"] == 0  # nothing in use lost
    again = run_cli("projects", "--prune", cwd=tmp_repo)
    assert again.returncode == 0 and "deleted 0 unused" in again.stdout
    retry.write_text(original, encoding="utf-8")  # the old text again: its vectors are gone, embedded anew
    assert json.loads(run_cli("index", ".", *args, cwd=tmp_repo).stdout)["embedded"] == len(stale)
    usage = run_cli("projects", "--dry-run", cwd=tmp_repo)
    assert usage.returncode == 2 and "--prune" in usage.stderr
