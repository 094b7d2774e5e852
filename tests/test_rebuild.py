"""``codegraph index --rebuild`` (crash safety, PostgreSQL), ``index --verify`` and the check before ``index``,
and ``index --check``'s quoting. The damage campaign with ``--rebuild`` as the way out is
``tests/test_reliability.py::test_a_damaged_index_says_how_to_recover_and_rebuild_keeps_the_snippets``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import codegraph.index as indexer
from codegraph.cli.common import quote_path
from codegraph.errors import IndexUnusableError
from codegraph.index import index_repo
from codegraph.store.rebuild import REBUILD_SUFFIX, _write_salvage

from . import campaign as cp
from .conftest import CODEGRAPH, RunCli


@pytest.fixture
def indexed(tmp_path: Path) -> tuple[Path, cp.Snapshot, cp.Rows]:
    """A repository indexed with the default model, holding 12 snippets and 12 test runs; its clean snapshot
    and stored rows."""
    repo = tmp_path / "repo"
    cp.write_tree(repo, cp.make_corpus(12, 4))
    _, expected = cp.clean_build(repo)
    db = repo / ".codegraph" / "index.db"
    cp.add_snippets(db)
    return repo, expected, cp.stored_rows(db)


def _rebuild(repo: Path) -> cp.Run:
    return cp.cli("index", ".", "--rebuild", "--json", "-q", cwd=repo)


def test_a_rebuild_killed_at_any_point_leaves_a_usable_index_and_the_rerun_completes_it(
    indexed: tuple[Path, cp.Snapshot, cp.Rows],
) -> None:
    repo, expected, rows = indexed
    db = repo / ".codegraph" / "index.db"
    good = db.read_bytes()
    timed = _rebuild(repo)
    assert timed.returncode == 0, timed.describe()
    outcomes = []
    for fraction in (0.15, 0.35, 0.55, 0.75, 0.9):  # start-up and salvage, the swap, embedding, storing
        shutil.rmtree(repo / ".codegraph")
        db.parent.mkdir()
        db.write_bytes(good)
        proc = subprocess.Popen(
            [*CODEGRAPH, "index", ".", "--rebuild", "-q"],
            cwd=repo,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(timed.seconds * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # Either file is a usable index: the old one untouched, or the new one with every snippet.
        assert db.is_file(), sorted(p.name for p in db.parent.iterdir())
        assert cp.integrity(db) == "ok"
        assert cp.kept_as_stored(rows, cp.stored_rows(db)) == "" and len(cp.stored_rows(db)[0]) == 12
        search = cp.cli("search", "operation scale the value", "--json", "--no-auto-index", cwd=repo)
        assert search.returncode == 0 or cp.EMPTY_INDEX in search.stderr, search.describe()
        again = _rebuild(repo)
        assert again.returncode == 0, again.describe()
        report = json.loads(again.stdout)["rebuild"]
        assert (report["snippets_kept"], report["snippets_lost"], report["old_copy"]) == (12, 0, None)
        assert cp.stored_rows(db) == rows
        assert cp.compare(cp.snapshot(repo), expected).equal()
        assert not list(db.parent.glob("index.db.*")), sorted(p.name for p in db.parent.iterdir())
        outcomes.append(proc.returncode)
    assert outcomes.count(-signal.SIGKILL) >= 3, outcomes  # most points land before the rebuild ends


def test_a_rebuild_killed_between_its_two_renames_is_finished_by_the_next_one(
    indexed: tuple[Path, cp.Snapshot, cp.Rows],
) -> None:
    """The one window without ``index.db``: the old file already moved aside (its WAL not yet), the new one
    still ``index.db.rebuild``. Built by hand: a kill lands there too rarely to test by timing."""
    repo, expected, rows = indexed
    index_dir = repo / ".codegraph"
    db = index_dir / "index.db"
    snippets, runs = cp.stored_rows(db)
    _write_salvage(index_dir / ("index.db" + REBUILD_SUFFIX), [tuple(r) for r in snippets], [tuple(r) for r in runs])
    aside = index_dir / "index.db.damaged-1700000000"
    os.replace(db, aside)
    (index_dir / "index.db-wal").write_bytes(b"")  # the old file's WAL, left behind by the kill
    assert cp.cli("search", "anything", "--no-auto-index", cwd=repo).returncode == 1  # no index for a moment
    again = _rebuild(repo)
    assert again.returncode == 0, again.describe()
    assert cp.stored_rows(db) == rows
    assert cp.compare(cp.snapshot(repo), expected).equal()
    assert sorted(p.name for p in index_dir.glob("index.db*")) == ["index.db", aside.name, aside.name + "-wal"]


def test_rebuild_of_an_index_whose_schema_is_unreadable_says_the_snippets_are_lost(
    indexed: tuple[Path, cp.Snapshot, cp.Rows],
) -> None:
    repo, expected, _rows = indexed
    db = repo / ".codegraph" / "index.db"
    cp._damage(db, "header overwritten")
    run = _rebuild(repo)
    assert run.returncode == 0, run.describe()
    report = json.loads(run.stdout)["rebuild"]
    assert report["snippets_lost"] is None and report["snippets_kept"] == 0 and report["damage"]
    assert Path(report["old_copy"]).is_file()  # kept for a manual recovery
    assert "snippets could not be read" in run.stderr and report["old_copy"] in run.stderr
    assert cp.compare(cp.snapshot(repo), expected).equal()


def test_index_verify_finds_damage_that_only_reading_reveals(indexed: tuple[Path, cp.Snapshot, cp.Rows]) -> None:
    repo, _expected, _rows = indexed
    sound = cp.cli("index", "--verify", "--check", "--json", cwd=repo)
    assert sound.returncode == 0 and json.loads(sound.stdout) == {
        "fresh": True,
        "new": [],
        "changed": [],
        "removed": [],
        "sound": True,
    }
    cp._damage(repo / ".codegraph" / "index.db", "16 bytes zeroed in every page of the second half")
    assert cp.cli("index", "--check", cwd=repo).returncode == 0  # freshness alone does not read the pages
    damaged = cp.cli("index", "--verify", cwd=repo)
    assert damaged.returncode == 1 and not damaged.traceback
    assert damaged.stderr.count("\n") == 1 and "run: codegraph index --rebuild" in damaged.stderr, damaged.stderr


def test_a_large_index_is_checked_weekly_not_on_every_run(
    tmp_path: Path, fake_encoder: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above VERIFY_MAX_BYTES the check runs when the last one is older than VERIFY_EVERY_S."""
    tmp_repo = tmp_path / "repo"
    cp.write_tree(tmp_repo, cp.make_corpus(20, 5))
    first = index_repo(tmp_repo, fake_encoder)  # type: ignore[arg-type]
    assert first.verified  # a small file: checked on every run
    monkeypatch.setattr(indexer, "VERIFY_MAX_BYTES", 0)
    assert not index_repo(tmp_repo, fake_encoder).verified  # type: ignore[arg-type]  # checked moments ago
    cp._damage(tmp_repo / ".codegraph" / "index.db", "16 bytes zeroed in every page of the second half")
    monkeypatch.setattr(indexer, "VERIFY_EVERY_S", 0.0)
    with pytest.raises(IndexUnusableError, match="quick_check.*codegraph index --rebuild"):
        index_repo(tmp_repo, fake_encoder)  # type: ignore[arg-type]


def test_rebuild_on_postgresql_empties_the_project_and_keeps_its_snippets(
    tmp_repo: Path, pg_url: str, run_cli: RunCli
) -> None:
    first = run_cli("index", ".", "--store", pg_url, "--json", "-q", cwd=tmp_repo)
    assert first.returncode == 0, first.stderr
    from codegraph.config import resolve_settings
    from codegraph.store import open_store
    from codegraph.types import SnippetDraft

    settings = resolve_settings(tmp_repo, overrides={"store": pg_url})
    store = open_store(tmp_repo, settings=settings)
    try:
        draft = SnippetDraft(
            parent_id=None,
            origin="generate",
            title="kept",
            language="python",
            code="def kept():\n    return 1\n",
            explanation="",
            plan=None,
            prompt="keep me",
            model="fake",
            context=[],
            prompt_tokens=1,
            completion_tokens=1,
        )
        snippet_id = store.insert_snippet(draft)
    finally:
        store.close()
    run = run_cli("index", ".", "--store", pg_url, "--rebuild", "--json", "-q", cwd=tmp_repo)
    assert run.returncode == 0, run.stderr
    stats = json.loads(run.stdout)
    assert stats["rebuild"]["backend"] == "postgresql" and stats["rebuild"]["snippets_kept"] == 1
    assert stats["rebuild"]["files_cleared"] == json.loads(first.stdout)["files_changed"]
    assert stats["files_changed"] == stats["files_seen"] - stats["files_skipped"]  # every file chunked again
    assert stats["embedded"] == 0  # the shared embedding cache is kept
    shown = run_cli("snippets", "show", str(snippet_id), "--store", pg_url, "--json", cwd=tmp_repo)
    assert shown.returncode == 0 and json.loads(shown.stdout)["title"] == "kept"


def test_quote_path_quotes_like_git() -> None:
    assert quote_path("src/a b.py") == "src/a b.py"  # spaces are fine in tab-separated lines (git agrees)
    assert quote_path("ünï/cödé.py") == "ünï/cödé.py"
    assert quote_path("a\tb.py") == '"a\\tb.py"'
    assert quote_path("new\nline.py") == '"new\\nline.py"'
    assert quote_path('say "hi".py') == '"say \\"hi\\".py"'
    assert quote_path("back\\slash.py") == '"back\\\\slash.py"'
    assert quote_path("bell\x07.py") == '"bell\\a.py"' and quote_path("esc\x1b.py") == '"esc\\033.py"'


def test_index_check_quotes_unusual_paths_and_json_stays_exact(tmp_repo: Path, run_cli: RunCli) -> None:
    assert run_cli("index", ".", "-q", cwd=tmp_repo).returncode == 0
    names = ["tab\there.py", "new\nline.py", 'quote".py', "plain name.py"]
    for name in names:
        (tmp_repo / name).write_text("def f():\n    return 1\n", encoding="utf-8")
    human = run_cli("index", "--check", cwd=tmp_repo)
    assert human.returncode == 1
    assert human.stdout.splitlines() == sorted(
        ['new\t"new\\nline.py"', "new\tplain name.py", 'new\t"quote\\".py"', 'new\t"tab\\there.py"'],
        key=lambda line: [n for n in sorted(names) if quote_path(n) == line.split("\t", 1)[1]][0],
    )
    as_json = run_cli("index", "--check", "--json", cwd=tmp_repo)
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["new"] == sorted(names)
