"""The reliability campaign (issue 11), in the sizes CI can afford: kill -9 at 20 points of an index run, a
40-second concurrency soak, file-system faults, changing files, awkward names, pathological inputs, and hostile
generated code and prompts. The machinery is ``tests/campaign.py``; ``benchmarks/reliability.py`` runs the
same campaign at full size (a 5-minute soak, more kill points, the whole standard library) and prints the table
of ``docs/reliability.md``. Every process is the real command line; the only stand-in is the fake LLM server.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from codegraph.embed import open_embedder, resolve_model

from . import campaign as cp

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux (/proc, namespaces)")


def _assert_checks(checks: list[cp.Check]) -> None:
    """Every check that ran passed (skipped ones are reported by the tests that own them)."""
    failed = [f"{c.scenario}: {c.what}: {c.detail}" for c in checks if not c.ok and not c.skipped]
    assert not failed, "\n".join(failed)
    assert any(c.ok and not c.skipped for c in checks), "nothing was checked"


def _one(checks: list[cp.Check], what: str) -> cp.Check:
    """The check named ``what``; skips the calling test with the platform's reason if it could not run."""
    found = [c for c in checks if c.what == what]
    if len(found) != 1:  # not an AssertionError: the xfail below must not pass by a missing check
        raise LookupError(f"{len(found)} checks named {what!r}: {[c.what for c in checks]}")
    check = found[0]
    if check.skipped:
        pytest.skip(check.skipped)
    return check


def _need_mount_namespace() -> None:
    problem = cp.mount_namespace_problem()
    if problem:
        pytest.skip(problem)


# -- kill -9 and the soak -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_kill_9_at_20_points_then_index_equals_a_clean_build(tmp_path: Path) -> None:
    report = cp.kill9_campaign(tmp_path, cp.make_corpus(120, 1), cp.kill_points(20))
    assert len(report.outcomes) == 20
    assert not report.failures, "\n".join(f"{o.point} ({o.phase}): {o.problems}" for o in report.failures)
    assert all(o.integrity in ("ok", "no database file") and o.equal for o in report.outcomes)
    # Most points must land before the build ends (the rest finish first: how many depends on the machine's
    # speed and load, 16 of 20 under load 7 here); every outcome, killed or not, was checked above.
    assert len(report.kills) >= 10, report.phases
    assert {"chunking", "embedding", "storing chunks"} <= set(report.phases), report.phases


@pytest.mark.slow
def test_concurrency_soak_watch_3_indexers_10_searchers(tmp_path: Path) -> None:
    report = cp.soak(tmp_path / "repo", 40)
    assert not report.errors, "\n".join(report.errors)
    assert report.converged_s is not None and report.fresh_after and report.watch_exit == 130
    assert report.comparison is not None
    # Not bit-identical: watch embeds a few chunks per batch, a clean build 8 per batch, and the INT8 model's
    # activations are quantised per batch (finding 3 of docs/reliability.md). No chunk may be missing or stale.
    assert report.comparison.lost == 0 and report.comparison.equal(min_cosine=0.98), report.comparison.describe()
    assert sum(report.mutations.values()) >= 40 and report.searches >= 100 and report.search_processes >= 10
    assert report.index_runs.get("ok", 0) >= 3 and report.watch_batches >= 3


# -- file-system faults ---------------------------------------------------------------------------------------


def test_disk_full_fails_with_one_line_and_loses_nothing(tmp_path: Path) -> None:
    _need_mount_namespace()
    corpus = tmp_path / "corpus"
    cp.write_tree(corpus, cp.make_corpus(30, 10))
    clean = tmp_path / "clean"
    cp.copy_tree(corpus, clean)
    _, expected = cp.clean_build(clean)
    size = (clean / ".codegraph" / "index.db").stat().st_size
    budgets = [4096, size, int(size * 1.3), size * 4]  # nothing free, ..., enough
    spec = {"corpus": str(corpus), "work": str(tmp_path / "ns"), "budgets": budgets, "tmpfs_bytes": size * 8}
    results = cp.in_mount_namespace("diskfull", spec)["results"]
    for r in results:
        first = r["first"]
        assert not first["traceback"], first["stderr"]
        if first["returncode"] != 0:
            assert first["returncode"] == 1 and "; free some space" in first["stderr"], first["stderr"]
        assert r["integrity"] == "ok" or "disk is full" in r["integrity"] or r["integrity"] == "no database file"
        for name in ("search", "status"):  # answers, or one clear line when not even the WAL fits
            run = r[name]
            said = "free some space" in run["stderr"] or cp.NO_INDEX in run["stderr"]  # no index.db fitted at all
            assert not run["traceback"] and (run["returncode"] == 0 or said), run
        assert r["search_answers"] or "free some space" in r["search"]["stderr"]
        assert r["again"]["returncode"] == 0, r["again"]["stderr"]
        diff = cp.compare(cp.snapshot_from_rows(r["snapshot"]), expected)
        assert diff.equal(), f"budget {r['budget']}: {diff.describe()}"
    failed = [r for r in results if r["first"]["returncode"] != 0]
    assert failed[0]["budget"] == 4096 and results[-1]["first"]["returncode"] == 0
    assert any(r["counts"] and 0 < r["counts"]["embeddings"] < 300 for r in failed), "no failure mid-embedding"


READ_ONLY_NOTICE = "is not writable here; opened it read-only"


def test_a_read_only_index_is_searched_and_writers_fail_with_one_line(tmp_path: Path) -> None:
    """Finding 4: with the index file, its directory or the whole repository read-only (a bind mount, which
    stops root too), the readers answer with one notice line and the writers fail with one line."""
    _need_mount_namespace()
    repo = tmp_path / "repo"
    cp.write_tree(repo, cp.make_corpus(10, 3))
    assert cp.cli("index", ".", "-q", cwd=repo).returncode == 0
    (repo / "new.py").write_text("def brand_new_function():\n    return 1\n", encoding="utf-8")
    seen = cp.in_mount_namespace("readonly", {"repo": str(repo)})
    assert set(seen) == {"index file", "index dir", "repository"}
    for where, runs in seen.items():
        files = runs.pop("files")
        for command, run in runs.items():
            assert not run["traceback"], f"{where} read-only: {command}: {run['stderr']}"
            lines = run["stderr"].strip().splitlines()
            if command in ("index", "watch"):
                assert run["returncode"] == 1, f"{where} read-only: {command} succeeded"
                assert lines[-1].startswith("codegraph: error:") and "write access" in lines[-1], lines
                continue
            # readers: one notice line (which mode: the file alone read-only lets SQLite use its -shm)
            notice = [line for line in lines if READ_ONLY_NOTICE in line]
            assert len(notice) == 1, f"{where}: {command}: {lines}"
            assert ("immutable" in notice[0]) == (where != "index file"), notice
            want = 1 if command == "check" else 0  # new.py is not indexed yet: --check says stale, exit 1
            assert run["returncode"] == want, f"{where} read-only: {command}: {run['stderr']}"
        assert "op_0_0" in runs["search"]["stdout"] or "op_" in runs["search"]["stdout"], runs["search"]
        assert '"op_0_0"' in runs["def"]["stdout"], runs["def"]
        assert "new\tnew.py" in runs["check"]["stdout"], runs["check"]
        assert "index.db-wal" not in files or where == "index file", files
    assert cp.cli("index", ".", "-q", cwd=repo).returncode == 0  # writable again: it completes
    clean = tmp_path / "clean"
    cp.copy_tree(repo, clean)
    _, expected = cp.clean_build(clean)
    assert cp.compare(cp.snapshot(repo), expected).lost == 0


def test_a_damaged_index_says_how_to_recover_and_rebuild_keeps_the_snippets(tmp_path: Path) -> None:
    checks = cp.corruption_checks(tmp_path, cp.make_corpus(20, 5))
    _assert_checks(checks)
    kept = {c.what.split(":")[0]: c.detail for c in checks if c.what.endswith("snippets kept")}
    # --rebuild ran on the sound index and after every damage but the emptied file, which index simply rebuilds
    assert set(kept) == set(cp.DAMAGES) - {"empty file"}, kept
    assert kept["no damage"].startswith("kept 12/12 snippets, 12/12 test runs (lost: 0)"), kept


def test_index_notices_damage_that_only_search_reads(tmp_path: Path) -> None:
    """Finding 2 of docs/reliability.md: zeroed bytes in data pages are invisible until a query reads them;
    ``index`` now runs ``PRAGMA quick_check`` first on an index this small and refuses, naming --rebuild."""
    damage = "16 bytes zeroed in every page of the second half"
    checks = cp.corruption_checks(tmp_path, cp.make_corpus(20, 5), [damage])
    _assert_checks(checks)
    refused = _one(checks, f"{damage}: index answers clearly")
    assert "exit 1" in refused.detail and "quick_check" in refused.detail and "--rebuild" in refused.detail
    assert _one(checks, f"{damage}: index refuses or repairs").ok
    assert _one(checks, f"{damage}: recovered (nothing lost)").ok


def test_a_torn_wal_is_ignored_and_the_next_index_completes(tmp_path: Path) -> None:
    _assert_checks(cp.wal_cut_checks(tmp_path, cp.make_corpus(60, 6)))


def test_files_that_vanish_grow_or_turn_into_symlinks_between_discovery_and_read(tmp_path: Path) -> None:
    _assert_checks(cp.race_checks(tmp_path, open_embedder(resolve_model("fast"))))


@linux_only
def test_undecodable_and_awkward_file_names(tmp_path: Path) -> None:
    _assert_checks(cp.names_checks(tmp_path))


def test_pathological_inputs_10k_deep_nesting_and_a_100k_line_function(tmp_path: Path) -> None:
    checks, _timings = cp.pathological_checks(tmp_path)
    _assert_checks(checks)


# -- hostile generated code and prompts ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox_checks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[cp.Check]]:
    yield cp.sandbox_checks(tmp_path_factory.mktemp("sandbox"))


SANDBOX_ALWAYS = [
    "the hostile run ends by itself",
    "every hostile test is reported",
    "no environment secret (API key, tokens) in any output",
    "the environment holds no secrets",
    "sleep forever: killed at the wall-time limit",
    "4 GiB of output: contained and reported",
]
SANDBOX_WHERE_ENFORCED = [
    "no home-directory secret (SSH key, .netrc) in any output",
    "~/.ssh is hidden",
    "no network: the listener got nothing",
    "nothing written outside the sandbox",
    "the fork bomb hits the process limit",
    "no process outlives the run (fork bomb, daemon, new session)",
]


@linux_only
@pytest.mark.parametrize("what", SANDBOX_ALWAYS + SANDBOX_WHERE_ENFORCED)
def test_hostile_generated_tests_in_the_sandbox(sandbox_checks: list[cp.Check], what: str) -> None:
    assert {c.what for c in sandbox_checks} == set(SANDBOX_ALWAYS + SANDBOX_WHERE_ENFORCED)
    check = _one(sandbox_checks, what)
    assert check.ok, check.detail


@pytest.fixture(scope="module")
def e2e_checks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[cp.Check]]:
    yield cp.e2e_test_checks(tmp_path_factory.mktemp("e2e"))


E2E = [
    "generate",
    "test --fix 1 exits 0 after the fix round",
    "the hostile round is contained (killed at --timeout) and reported",
    "the failures went back to the model",
    "the server got exactly generate + tests + fix (no request from inside the sandbox)",
    "nothing written outside the sandbox",
    "no process outlives the run",
    "no home-directory secret (SSH key, .netrc) in any prompt or output",
    "the key travels only as the Authorization header",
    "no API key or token in any prompt the server received",
    "no API key or token in any output (-v logs included)",
    "no secret in the index files (db, wal)",
]


@linux_only
@pytest.mark.parametrize("what", E2E)
def test_codegraph_test_end_to_end_with_hostile_tests(e2e_checks: list[cp.Check], what: str) -> None:
    assert {c.what for c in e2e_checks} == set(E2E)
    check = _one(e2e_checks, what)
    assert check.ok, check.detail


def test_prompt_injection_is_not_followed(tmp_path: Path) -> None:
    checks = cp.injection_checks(tmp_path)
    assert len(checks) >= 14
    _assert_checks(checks)
