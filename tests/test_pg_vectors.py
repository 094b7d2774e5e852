"""Compact vectors on a real PostgreSQL + pgvector server (``pgserver``): each format through the command line,
conversions without re-embedding, the one-representation-per-model rule, ``auto``, and the bulk-load path (the
model's HNSW index dropped during a large load and built once at its end)."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

import codegraph
from codegraph.config import Settings
from codegraph.errors import StoreError
from codegraph.store import open_store
from codegraph.store import postgres_vectors as pv

from . import campaign as cp
from .conftest import SAMPLE_FILES, RunCli, write_files
from .fake_embedder import HashingEncoder
from .pg import fresh_database, query

OPCLASS = {"float": "vector_cosine_ops", "half": "halfvec_cosine_ops", "binary": "bit_hamming_ops"}


def _json(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _index(run_cli: RunCli, root: Path, url: str, *extra: str) -> dict[str, object]:
    return _json(run_cli("index", ".", "--store", url, "--model", "fast", "--json", "--quiet", *extra, cwd=root))


def _first(run_cli: RunCli, root: Path, url: str, q: str = "retry failed uploads") -> str:
    answer = _json(run_cli("search", q, "--store", url, "--mode", "semantic", "--json", "-k", "3", cwd=root))
    return str(answer["results"][0]["path"])  # type: ignore[index]


def _indexes(url: str) -> list[str]:
    """Definitions of the HNSW indexes on ``embeddings``."""
    rows = query(url, "SELECT indexdef FROM pg_indexes WHERE tablename = 'embeddings' AND indexdef LIKE '%%hnsw%%'")
    return [str(r[0]) for r in rows]


def _formats(url: str) -> list[tuple[str, str]]:
    return [(str(m), str(f)) for m, f in query(url, "SELECT model, format FROM vector_models ORDER BY model")]


@pytest.mark.parametrize("fmt", ["float", "half", "binary"])
def test_each_format_indexes_and_searches_through_the_cli(
    tmp_repo: Path, pg_url: str, run_cli: RunCli, fmt: str
) -> None:
    stats = _index(run_cli, tmp_repo, pg_url, "--vectors", fmt)
    assert stats["vectors"] == fmt and stats["embedded"]
    (definition,) = _indexes(pg_url)  # one HNSW index for the model, of the asked kind, over the float column
    assert OPCLASS[fmt] in definition
    assert _first(run_cli, tmp_repo, pg_url) == "app/retry.py"
    hybrid = _json(run_cli("search", "retry failed uploads", "--store", pg_url, "--json", cwd=tmp_repo))
    assert hybrid["results"][0]["path"] == "app/retry.py"  # type: ignore[index]
    status = _json(run_cli("status", "--store", pg_url, "--json", cwd=tmp_repo))
    assert status["vectors"]["format"] == fmt and status["vectors"]["size_bytes"] > 0  # type: ignore[index]


def test_int8_and_pca_are_refused_with_the_alternative(tmp_repo: Path, pg_url: str, run_cli: RunCli) -> None:
    int8 = run_cli("index", ".", "--store", pg_url, "--model", "fast", "--vectors", "int8", cwd=tmp_repo)
    assert int8.returncode == 1 and "pgvector has no int8" in int8.stderr and "--vectors half" in int8.stderr
    pca = run_cli("index", ".", "--store", pg_url, "--model", "fast", "--vector-dims", "128", cwd=tmp_repo)
    assert pca.returncode == 1 and "PCA" in pca.stderr and "Traceback" not in pca.stderr
    half = run_cli("index", ".", "--model", "fast", "--vectors", "half", cwd=tmp_repo)  # the SQLite file
    assert half.returncode == 1 and "--vectors int8" in half.stderr


def test_conversions_keep_the_vectors_and_embed_nothing(tmp_repo: Path, pg_url: str, run_cli: RunCli) -> None:
    first = _index(run_cli, tmp_repo, pg_url, "--vectors", "float")
    stored = query(pg_url, "SELECT count(*) FROM embeddings")
    for fmt in ("binary", "half", "float"):  # every direction: the float32 vectors stay in the table
        again = _index(run_cli, tmp_repo, pg_url, "--vectors", fmt)
        assert again["embedded"] == 0 and again["files_changed"] == 0 and again["vectors"] == fmt
        assert [OPCLASS[fmt] in d for d in _indexes(pg_url)] == [True]
        assert query(pg_url, "SELECT count(*) FROM embeddings") == stored
        assert _first(run_cli, tmp_repo, pg_url) == "app/retry.py"
    assert first["chunks"] == again["chunks"]


def test_projects_of_one_model_share_its_format(tmp_path: Path, pg_url: str, run_cli: RunCli) -> None:
    """Explicit requests must agree; auto follows the model; a project's own explicit request can be withdrawn."""
    shop, billing = tmp_path / "shop", tmp_path / "billing"
    write_files(shop, SAMPLE_FILES)
    write_files(billing, SAMPLE_FILES)
    assert _index(run_cli, shop, pg_url, "--vectors", "binary")["vectors"] == "binary"
    refused = run_cli("index", ".", "--store", pg_url, "--model", "fast", "--vectors", "half", cwd=billing)
    assert refused.returncode == 1
    assert "project 'shop'" in refused.stderr and "--vectors binary or auto" in refused.stderr
    assert query(
        pg_url, "SELECT count(*) FROM files f JOIN projects p ON p.id = f.project_id WHERE p.name = 'billing'"
    ) == [(0,)]  # refused before anything was written
    follows = _index(run_cli, billing, pg_url)  # auto: the model's binary index
    assert follows["vectors"] == "binary" and follows["embedded"] == 0  # same texts: the shared cache
    assert _first(run_cli, billing, pg_url) == "app/retry.py"

    assert _index(run_cli, shop, pg_url, "--vectors", "auto")["vectors"] == "binary"  # no flapping back
    converted = _index(run_cli, billing, pg_url, "--vectors", "half")  # nobody asks otherwise now
    assert converted["vectors"] == "half" and converted["embedded"] == 0
    assert [OPCLASS["half"] in d for d in _indexes(pg_url)] == [True]
    assert _first(run_cli, shop, pg_url) == "app/retry.py"  # the other project searches the new index
    assert [f for _m, f in _formats(pg_url)] == ["half"]


def _settlers(roots: list[Path], pg_url: str) -> tuple[list[threading.Thread], list[bool], list[BaseException]]:
    """One unstarted thread per root that settles project ``p<n>``'s vectors, and the lists its results
    (``settle_vectors``'s return) and errors go to."""
    results: list[bool] = []
    errors: list[BaseException] = []

    def settle(n: int) -> None:
        store = open_store(roots[n], settings=_settings(pg_url, f"p{n}"))
        try:
            results.append(store.settle_vectors())
        except BaseException as exc:  # noqa: BLE001 - reported by the callers' assertions
            errors.append(exc)
        finally:
            store.close()

    return [threading.Thread(target=settle, args=(n,)) for n in range(len(roots))], results, errors


def _settings(url: str, project: str, vectors: str = "auto") -> Settings:
    return Settings(store=url, project=project, vectors=vectors, index_workers=1)


def _knn_paths(root: Path, settings: Settings, encoder: HashingEncoder, queries: list[str]) -> list[list[tuple]]:
    """For each query: the (path, start line) of the chunks of the 10 nearest embeddings, nearest first."""
    store = open_store(root, settings=settings)
    try:
        out = []
        for q in encoder.embed_queries(queries):
            hits = store.knn(q, 10)
            chunks = store.chunks_by_embedding([e for e, _d in hits])
            out.append([(c.path, c.start_line) for e, _d in hits for c in chunks.get(e, [])])
        return out
    finally:
        store.close()


QUERIES = ["function 3 of module 12", "parse the value", "mod_40 returns", "pkg5 helper"]


def _index_recording_indexes(
    root: Path, url: str, project: str, encoder: HashingEncoder, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, list[int]]:
    """Index ``root`` in-process; returns (embedded, how many HNSW indexes existed after each batch of inserts
    was counted)."""
    seen: list[int] = []
    real = pv.PgVectors.note_inserts

    def spy(self: pv.PgVectors, model: str, n: int) -> None:
        real(self, model, n)
        seen.append(len(_indexes(url)))

    with monkeypatch.context() as patch:
        patch.setattr(pv.PgVectors, "note_inserts", spy)
        stats = codegraph.index_repo(root, encoder, settings=_settings(url, project))
    return stats.embedded, seen


def test_a_bulk_load_builds_the_index_once_and_answers_like_row_by_row_inserts(
    tmp_path: Path, pg_server: str, fake_encoder: HashingEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    small, big = tmp_path / "small", tmp_path / "big"
    write_files(small, SAMPLE_FILES)
    cp.write_tree(big, cp.make_corpus(120, 4))
    answers = {}
    for path, bulk_min_rows in (("row by row", 10**9), ("bulk", 100)):
        url = fresh_database(pg_server)
        codegraph.index_repo(small, fake_encoder, settings=_settings(url, "small"))  # the model's index exists
        assert len(_indexes(url)) == 1
        monkeypatch.setattr(pv, "BULK_MIN_ROWS", bulk_min_rows)
        embedded, seen = _index_recording_indexes(big, url, "big", fake_encoder, monkeypatch)
        assert embedded > 400 and len(_indexes(url)) == 1  # there again at the end of the run
        # bulk: dropped once the run had inserted 100 vectors (batches of 64), built at its end
        assert seen[0] == 1 and (seen[-1] == 0 if path == "bulk" else set(seen) == {1}), seen
        answers[path] = _knn_paths(big, _settings(url, "big"), fake_encoder, QUERIES)
        assert _knn_paths(small, _settings(url, "small"), fake_encoder, ["retry failed uploads"])[0]
    assert answers["bulk"] == answers["row by row"]


def test_auto_turns_a_large_model_compact(
    tmp_path: Path, pg_url: str, fake_encoder: HashingEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    cp.write_tree(root, cp.make_corpus(30, 3))
    codegraph.index_repo(root, fake_encoder, settings=_settings(pg_url, "repo"))
    assert _formats(pg_url) == [(fake_encoder.model_id, "float")]
    monkeypatch.setattr(pv, "AUTO_MIN_VECTORS", 50)
    stats = codegraph.index_repo(root, fake_encoder, settings=_settings(pg_url, "repo"))
    assert stats.embedded == 0 and stats.vectors == pv.AUTO_FORMAT
    assert [OPCLASS[pv.AUTO_FORMAT] in d for d in _indexes(pg_url)] == [True]
    monkeypatch.setattr(pv, "AUTO_MIN_VECTORS", 10**9)  # shrinking below the threshold does not convert back
    assert codegraph.index_repo(root, fake_encoder, settings=_settings(pg_url, "repo")).vectors == pv.AUTO_FORMAT


def test_a_small_project_of_a_large_model_still_gets_k_neighbours(
    tmp_path: Path, pg_url: str, fake_encoder: HashingEncoder
) -> None:
    """The HNSW index holds every project's vectors of the model; a KNN filtered to a project that holds 1 % of
    them found only ~4 of its own among the first ``ef_search`` (400) before the scan was iterative (pgvector
    0.8). That negative case is not asserted: HNSW levels are random, and it found 10 in some runs."""
    big, small = tmp_path / "big", tmp_path / "small"
    cp.write_tree(big, cp.make_corpus(300, 8))
    cp.write_tree(small, {k: v.replace("def ", "def tiny_") for k, v in cp.make_corpus(8, 3).items()})
    codegraph.index_repo(big, fake_encoder, settings=_settings(pg_url, "big"))
    codegraph.index_repo(small, fake_encoder, settings=_settings(pg_url, "small"))
    assert len(_indexes(pg_url)) == 1
    store = open_store(small, settings=_settings(pg_url, "small"))
    try:
        found = [len(store.knn(q, 10)) for q in fake_encoder.embed_queries(["parse the value", "helper returns"])]
    finally:
        store.close()
    assert found == [10, 10], found


def test_other_projects_write_and_search_while_a_bulk_load_rebuilds_the_index(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One thread bulk-loads a large project and is held right after it dropped the model's index; meanwhile other
    projects of the model index (their runs leave the index to the loader) and search (exact scan, their own
    file first); then the loader finishes and builds the index once."""

    big = tmp_path / "big"
    cp.write_tree(big, cp.make_corpus(200, 6))
    smalls = []
    for n in range(4):
        root = tmp_path / f"small{n}"
        cp.write_tree(root, {f"s{n}/only_{n}.py": f"def only_here_{n}(value):\n    return value * {n + 2}\n"})
        smalls.append(root)
    codegraph.index_repo(smalls[0], HashingEncoder(), settings=_settings(pg_url, "small0"))  # the index exists
    monkeypatch.setattr(pv, "BULK_MIN_ROWS", 100)
    dropped, go = threading.Event(), threading.Event()
    real = pv.PgVectors.note_inserts

    def held(self: pv.PgVectors, model: str, n: int) -> None:
        real(self, model, n)
        if self._bulk is not None and self._bulk[2] and not dropped.is_set():
            dropped.set()
            go.wait(timeout=120)

    monkeypatch.setattr(pv.PgVectors, "note_inserts", held)
    errors: list[BaseException] = []

    def load_big() -> None:
        try:
            codegraph.index_repo(big, HashingEncoder(), settings=_settings(pg_url, "big"))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=load_big)
    thread.start()
    other = pg_url + ("&" if "?" in pg_url else "?") + "application_name=codegraph-other"  # its own pool
    encoder = HashingEncoder()

    def index_and_search(n: int) -> list[str]:
        codegraph.index_repo(smalls[n], encoder, settings=_settings(other, f"small{n}"))
        return [p for p, _line in _knn_paths(smalls[n], _settings(other, f"small{n}"), encoder, ["value"])[0]]

    assert dropped.wait(timeout=120)
    during = [index_and_search(n) for n in (1, 2)]
    assert _indexes(pg_url) == []  # the other runs left the index to the loader
    go.set()
    after = index_and_search(3)
    thread.join(timeout=300)
    assert not thread.is_alive() and errors == []
    assert [*during, after] == [[f"s{n}/only_{n}.py"] for n in (1, 2, 3)]
    assert len(_indexes(pg_url)) == 1
    assert _knn_paths(big, _settings(pg_url, "big"), encoder, QUERIES)[0]
    assert query(pg_url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted") == [(0,)]


def test_a_store_from_before_migration_3_keeps_its_float_index(tmp_repo: Path, pg_url: str, run_cli: RunCli) -> None:
    """A server indexed by the previous schema (float HNSW index created at bind time, no ``vector_models``)."""
    _index(run_cli, tmp_repo, pg_url, "--vectors", "float")
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:  # back to schema 2, its float index left in place
        conn.execute("DROP TABLE vector_models")
        conn.execute("DELETE FROM codegraph_schema WHERE version = 3")
    (before,) = _indexes(pg_url)
    again = _index(run_cli, tmp_repo, pg_url)  # migration 3 records the model as float, from its projects' meta
    assert again["embedded"] == 0 and again["vectors"] == "float" and _indexes(pg_url) == [before]
    assert query(pg_url, "SELECT max(version) FROM codegraph_schema") == [(3,)]
    assert _first(run_cli, tmp_repo, pg_url) == "app/retry.py"
    assert _index(run_cli, tmp_repo, pg_url, "--vectors", "half")["vectors"] == "half"


class _OtherModel(HashingEncoder):
    """The fake embedder under another model id: a second model, with its own record and HNSW index."""

    @property
    def model_id(self) -> str:
        return "other-" + super().model_id


def _with_lock_timeout(url: str, ms: int) -> str:
    """``url`` whose connections give up any lock wait after ``ms`` milliseconds (its own connection pool)."""
    return url + ("&" if "?" in url else "?") + f"options=-c%20lock_timeout%3D{ms}"


def _model_lock_waiters(url: str) -> int:
    return int(
        query(
            url,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = %s AND NOT granted",
            (pv.MODEL_LOCK_CLASS,),
        )[0][0]
    )


def test_a_model_index_build_holds_its_model_lock_not_the_schema_lock(tmp_path: Path, pg_url: str) -> None:
    """A transaction that is building model A's HNSW index (model lock and table lock taken, ``CREATE INDEX``
    done, not yet committed) is held open. Meanwhile a new project of model B (whose vectors are all cached: new
    vectors would wait for the table lock) is created, its store opened and bound, its files and chunks written
    and its run settled, on connections that give up any lock wait after 10 s: nothing waits. A project of model
    A, on connections with a 1 s lock timeout, does wait (its bind needs A's lock)."""
    import psycopg

    encoder, other = HashingEncoder(), _OtherModel()
    a, b1, b2, a2 = (tmp_path / n for n in ("a", "b1", "b2", "a2"))
    for root in (a, b1, b2):
        write_files(root, SAMPLE_FILES)
    write_files(a2, {"lib/tiny.py": "def tiny(value):\n    return value\n"})
    codegraph.index_repo(a, encoder, settings=_settings(pg_url, "a"))
    codegraph.index_repo(b1, other, settings=_settings(pg_url, "b1"))  # B's vectors (b2 re-uses them) and index
    assert len(_indexes(pg_url)) == 2
    with psycopg.connect(pg_url) as holder:
        holder.execute("BEGIN")
        pv.lock_model(holder, encoder.model_id)  # what _build does, up to its CREATE INDEX, left in flight
        holder.execute("LOCK TABLE embeddings IN SHARE ROW EXCLUSIVE MODE")
        holder.execute(pv.index_ddl(encoder.model_id, encoder.dim, "half"))
        held = query(
            pg_url,
            "SELECT classid::bigint, objid::bigint, mode FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "ORDER BY 1",
        )
        key = pv.bulk_lock_key(encoder.model_id) % 2**32  # pg_locks shows the int4 key as an unsigned oid
        assert held == [(pv.LOCK_CLASS, 0, "ShareLock"), (pv.MODEL_LOCK_CLASS, key, "ExclusiveLock")]

        stats = codegraph.index_repo(b2, other, settings=_settings(_with_lock_timeout(pg_url, 10_000), "b2"))
        assert stats.embedded == 0 and stats.chunks > 0 and stats.vectors == "float"
        assert query(
            pg_url, "SELECT count(*) FROM files f JOIN projects p ON p.id = f.project_id WHERE p.name = 'b2'"
        ) == [(len(SAMPLE_FILES),)]

        with pytest.raises(StoreError, match="lock timeout"):
            codegraph.index_repo(a2, encoder, settings=_settings(_with_lock_timeout(pg_url, 1000), "a2"))
        holder.execute("ROLLBACK")
    assert codegraph.index_repo(a2, encoder, settings=_settings(pg_url, "a2")).embedded > 0
    assert len(_indexes(pg_url)) == 2 and all(OPCLASS["float"] in d for d in _indexes(pg_url))
    assert query(pg_url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted") == [(0,)]


def test_two_settles_of_one_model_build_its_index_once(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two projects of one model settle at once, both wanting its float index turned ``half``: held behind the
    model's lock until both wait on it (seen in ``pg_locks``), then released. One converts; the other, once it
    has the lock, finds the half index in place and does nothing; the model ends with exactly one index."""

    import psycopg

    encoder = HashingEncoder()
    roots = [tmp_path / "p0", tmp_path / "p1"]
    write_files(roots[0], SAMPLE_FILES)
    write_files(roots[1], {"lib/tiny.py": "def tiny(value):\n    return value\n"})
    for n, root in enumerate(roots):
        codegraph.index_repo(root, encoder, settings=_settings(pg_url, f"p{n}"))
    assert [OPCLASS["float"] in d for d in _indexes(pg_url)] == [True]
    monkeypatch.setattr(pv, "AUTO_MIN_VECTORS", 1)  # auto now wants the model half
    threads, results, errors = _settlers(roots, pg_url)

    with psycopg.connect(pg_url) as holder:
        holder.execute("BEGIN")
        pv.lock_model(holder, encoder.model_id)
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120  # only a failing run waits this long
        while _model_lock_waiters(pg_url) < 2 and time.monotonic() < deadline and not errors:
            time.sleep(0.05)
        assert _model_lock_waiters(pg_url) == 2 and errors == []
        holder.execute("ROLLBACK")
    for thread in threads:
        thread.join(timeout=300)
    assert errors == [] and sorted(results) == [False, True]
    assert [OPCLASS["half"] in d for d in _indexes(pg_url)] == [True]
    assert _formats(pg_url) == [(encoder.model_id, "half")]
    assert query(pg_url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted") == [(0,)]


def test_conversions_of_two_models_at_once_queue_instead_of_deadlocking(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two models converted at once (float -> half: each builds a new index and drops the old one), while a third
    connection holds ``embeddings`` in SHARE mode until both wait (seen in ``pg_locks``). Had each build taken only
    CREATE INDEX's SHARE lock, both would have built under the holder and then each waited for the other's SHARE
    to take DROP INDEX's ACCESS EXCLUSIVE: a deadlock, one of them failing (seen in 4 of 4 runs without the
    stronger lock; it needs the second build to start before the first ends, hence a few hundred vectors per
    model). Both finish, each model half."""

    import psycopg

    models = [HashingEncoder(), _OtherModel()]
    roots = [tmp_path / "a", tmp_path / "b"]
    for n, root in enumerate(roots):
        cp.write_tree(root, cp.make_corpus(100, 4))  # builds long enough for both to be under way together
        codegraph.index_repo(root, models[n], settings=_settings(pg_url, f"p{n}"))
    assert [OPCLASS["float"] in d for d in _indexes(pg_url)] == [True, True]
    monkeypatch.setattr(pv, "AUTO_MIN_VECTORS", 1)  # auto now wants both models half
    threads, results, errors = _settlers(roots, pg_url)

    def waiting() -> int:
        sql = "SELECT count(*) FROM pg_locks WHERE relation = 'embeddings'::regclass AND NOT granted"
        return int(query(pg_url, sql)[0][0])

    with psycopg.connect(pg_url) as holder:
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE embeddings IN SHARE MODE")
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120  # only a failing run waits this long
        while waiting() < 2 and time.monotonic() < deadline and not errors:
            time.sleep(0.05)
        assert errors == [], errors  # without the stronger lock: "deadlock detected", here or after the rollback
        assert waiting() == 2
        holder.execute("ROLLBACK")
    for thread in threads:
        thread.join(timeout=300)
    assert errors == [] and results == [True, True]
    assert [OPCLASS["half"] in d for d in _indexes(pg_url)] == [True, True]
    assert sorted(f for _m, f in _formats(pg_url)) == ["half", "half"]
