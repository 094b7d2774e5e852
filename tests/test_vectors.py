"""Compact vectors (codegraph.store.vectors): int8, binary + rescoring, PCA; mode changes; search in each mode."""

from __future__ import annotations

import ast
import json
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from codegraph.config import Settings, resolve_settings
from codegraph.embed import OnnxEncoder
from codegraph.errors import ConfigError
from codegraph.index import index_repo
from codegraph.search import Filters, Searcher
from codegraph.store import Store
from codegraph.store import vectors as vec
from codegraph.store.sqlite import connect

from .conftest import RunCli
from .fake_embedder import HashingEncoder


def _clustered(n: int, dim: int, *, seed: int = 7) -> np.ndarray:
    """L2-normalised vectors around 20 random centres (nearest neighbours are meaningful)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, dim))
    x = centres[rng.integers(0, 20, n)] + 0.6 * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _keys(n: int, salt: str = "") -> list[bytes]:
    return [f"{salt}{i:015d}".encode()[-16:].rjust(16, b"k") for i in range(n)]


def _recall(exact: list[list[int]], got: list[list[int]]) -> float:
    return float(np.mean([len(set(a) & set(b)) / len(a) for a, b in zip(exact, got, strict=True)]))


def _store_with(tmp_path: Path, vectors: np.ndarray, fmt: str, dims: int | None = None) -> tuple[Store, list[int]]:
    store = Store.open(tmp_path, create=True)
    store.bind_model("m@1", vectors.shape[1], vectors=fmt, vector_dims=dims)
    ids = store.add_embeddings(_keys(len(vectors)), vectors)
    store.settle_vectors()
    return store, ids


# -- the codec ------------------------------------------------------------------------------------------------


def test_sign_bits_match_sqlite_vec_quantize_binary() -> None:
    rng = np.random.default_rng(3)
    q = rng.integers(-127, 128, (5, 64)).astype(np.int8)
    conn = connect(":memory:")
    for row, bits in zip(q, vec.sign_bits(q), strict=True):
        want = conn.execute("SELECT vec_quantize_binary(vec_int8(?))", (row.tobytes(),)).fetchone()[0]
        assert bits.tobytes() == want


def test_int8_scale_maps_the_quantile_to_127_and_clips() -> None:
    x = _clustered(500, 32)
    codec = vec.VectorCodec("int8", 32, vec.fit_scale(x))
    q = codec.quantize(x)
    assert q.dtype == np.int8 and int(np.abs(q).max()) == 127
    assert float(np.mean(np.abs(q) == 127)) < 0.01  # only the top quantile clips
    # cosine survives quantisation
    cos = np.sum(q.astype(np.float32) * x, axis=1) / np.linalg.norm(q.astype(np.float32), axis=1)
    assert float(cos.min()) > 0.99


def test_pca_projection_is_normalised_and_keeps_neighbours() -> None:
    x = _clustered(3000, 64)
    components = vec.fit_pca(x, 32)
    assert components.shape == (64, 32)
    codec = vec.VectorCodec("float", 32, 0.0, components)
    y = codec.project(x)
    assert y.shape == (3000, 32)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError):
        vec.fit_pca(x[:10], 32)


def test_which_changes_convert_and_which_need_the_model() -> None:
    L = vec.Layout
    assert vec.can_convert(L("float"), L("binary", 256))
    assert vec.can_convert(L("int8"), L("binary")) and vec.can_convert(L("binary"), L("int8"))
    assert vec.can_convert(L("float", 256), L("int8", 256))
    assert not vec.can_convert(L("int8"), L("float"))
    assert not vec.can_convert(L("binary", 256), L("binary"))
    assert not vec.can_convert(L("int8"), L("int8", 256))
    # auto: float while small, AUTO_FORMAT from AUTO_MIN_VECTORS on, and no way back once converted
    small, big, auto = vec.AUTO_MIN_VECTORS - 1, vec.AUTO_MIN_VECTORS, L(vec.AUTO_FORMAT)
    assert vec.wanted_layout("auto", None, current=L("float"), count=small, width=384) == L("float")
    assert vec.wanted_layout("auto", None, current=L("float"), count=big, width=384) == auto
    assert vec.wanted_layout("auto", None, current=auto, count=10, width=384) == auto


def test_auto_converts_once_the_index_is_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vec, "AUTO_MIN_VECTORS", 500)
    x = _clustered(800, 64)
    store = Store.open(tmp_path, create=True)
    store.bind_model("m@1", 64, vectors="auto")
    store.add_embeddings(_keys(400), x[:400])
    assert store.settle_vectors() is False and store.vector_codec().format == "float"
    store.add_embeddings(_keys(400, "b"), x[400:])
    assert store.settle_vectors() is True and store.vector_codec().format == vec.AUTO_FORMAT
    store.close()


# -- the store ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["float", "int8", "binary"])
def test_each_format_stores_and_finds_neighbours(tmp_path: Path, fmt: str) -> None:
    x = _clustered(600, 64)
    store, ids = _store_with(tmp_path, x, fmt)
    assert store.vector_codec().format == fmt
    assert store.get_meta("vector_format") == fmt
    queries = x[:40] + 0.05 * np.random.default_rng(1).standard_normal((40, 64)).astype(np.float32)
    exact = [[ids[i] for i in np.argsort(-(x @ q))[:10]] for q in queries]
    got = [[e for e, _ in store.knn(q, 10)] for q in queries]
    assert _recall(exact, got) >= (1.0 if fmt == "float" else 0.9)
    distances = [d for q in queries for _, d in store.knn(q, 10)]
    assert all(0.0 <= d <= 2.0 for d in distances)
    # the nearest one's distance is a cosine distance, in every format
    best_id, best_d = store.knn(queries[0], 1)[0]
    assert best_d == pytest.approx(
        1.0 - float(x[ids.index(best_id)] @ queries[0]) / np.linalg.norm(queries[0]), abs=0.02
    )
    store.close()


def test_new_embeddings_after_a_conversion_are_stored_the_same_way(tmp_path: Path) -> None:
    x = _clustered(400, 64)
    store, ids = _store_with(tmp_path, x[:300], "binary")
    more = store.add_embeddings(_keys(100, "b"), x[300:])
    assert store.vector_codec().format == "binary"
    hit = store.knn(x[350], 1)[0]
    assert hit[0] == more[50] and hit[1] < 0.01
    store.close()


def test_pca_waits_for_enough_vectors_then_round_trips(tmp_path: Path) -> None:
    x = _clustered(2500, 64)
    store = Store.open(tmp_path, create=True)
    store.bind_model("m@1", 64, vectors="int8", vector_dims=32)
    ids = store.add_embeddings(_keys(1000), x[:1000])
    assert store.settle_vectors() is False  # too few to fit PCA: full-width float for now
    assert store.vector_codec().layout == vec.Layout("float")
    ids += store.add_embeddings(_keys(1500, "b"), x[1000:])
    assert store.settle_vectors() is True
    codec = store.vector_codec()
    assert codec.layout == vec.Layout("int8", 32) and codec.scale > 0
    before = store.knn(x[5], 10)
    store.close()
    again = Store.open(tmp_path)  # the components come back from the index
    reread = again.vector_codec()
    assert reread.components is not None and codec.components is not None
    np.testing.assert_array_equal(reread.components, codec.components)
    assert again.knn(x[5], 10) == before
    assert before[0][0] == ids[5]
    again.close()


def test_vector_dims_must_be_below_the_model_width(tmp_path: Path) -> None:
    store = Store.open(tmp_path, create=True)
    with pytest.raises(ConfigError, match="below the model's width"):
        store.bind_model("m@1", 64, vector_dims=64)
    with pytest.raises(ConfigError, match="multiple of 8"):
        store.bind_model("m@1", 60, vectors="binary")
    store.close()


def test_vectors_setting_from_file_env_and_flag(tmp_path: Path) -> None:
    (tmp_path / ".codegraph").mkdir()
    (tmp_path / ".codegraph" / "config.toml").write_text('vectors = "int8"\nvector_dims = 128\n')
    assert (resolve_settings(tmp_path).vectors, resolve_settings(tmp_path).vector_dims) == ("int8", 128)
    assert resolve_settings(tmp_path, environ={"CODEGRAPH_VECTORS": "binary"}).vectors == "binary"
    assert resolve_settings(tmp_path, overrides={"vectors": "float"}).vectors == "float"
    assert Settings().vectors == "auto"
    with pytest.raises(ConfigError, match="vectors must be one of"):
        resolve_settings(None, environ={"CODEGRAPH_VECTORS": "int4"})


# -- the pipeline ---------------------------------------------------------------------------------------------


def _index(root: Path, encoder: HashingEncoder, vectors: str, dims: int | None = None):  # type: ignore[no-untyped-def]
    return index_repo(root, encoder, settings=Settings(vectors=vectors, vector_dims=dims))


def test_mode_changes_convert_or_rebuild_never_mix(tmp_repo: Path, fake_encoder: HashingEncoder) -> None:
    first = _index(tmp_repo, fake_encoder, "float")
    assert first.vectors == "float" and first.embedded > 0
    with Store.open(tmp_repo) as store:
        embeddings = store.count("embeddings")
    # float -> int8 -> binary: converted from the stored vectors, nothing embedded again
    for fmt in ("int8", "binary", "int8"):
        stats = _index(tmp_repo, fake_encoder, fmt)
        assert (stats.vectors, stats.rebuilt, stats.embedded) == (fmt, False, 0)
        with Store.open(tmp_repo) as store:
            assert store.count("embeddings") == embeddings
            assert store.get_meta("vector_format") == fmt
    # int8 -> float cannot be recovered from int8: the index is rebuilt and every chunk embedded again
    back = _index(tmp_repo, fake_encoder, "float")
    assert back.rebuilt and back.previous_vectors == "int8" and back.vectors == "float"
    assert back.embedded == embeddings


@pytest.mark.parametrize("fmt", ["float", "int8", "binary"])
def test_search_in_each_mode_semantic_hybrid_and_filtered(
    tmp_repo: Path, fake_encoder: HashingEncoder, fmt: str
) -> None:
    _index(tmp_repo, fake_encoder, fmt)
    with Searcher(Store.open(tmp_repo), fake_encoder) as searcher:
        for mode in ("semantic", "hybrid"):
            hits = searcher.search("retry failed uploads", k=3, mode=mode)
            assert hits and all(-1.0 <= h.score <= 1.0 for h in hits) if mode == "semantic" else hits
        # the filtered fallback (cosine scan in SQL) in this representation
        scanned = searcher._semantic_scan(
            fake_encoder.embed_queries(["cart total"])[0], 3, _keep(Filters(languages=frozenset({"javascript"})))
        )
        assert scanned and all(row.language == "javascript" for row, _ in scanned)
        assert all(-1.0 <= s <= 1.0 for _, s in scanned)


def _keep(filters: Filters):  # type: ignore[no-untyped-def]
    from codegraph.search import _row_filter

    keep = _row_filter(filters, exclude_demoted=False)
    assert keep is not None
    return keep


def _stdlib_functions(limit: int) -> tuple[list[str], list[str]]:
    """Source of up to ``limit`` real functions of the standard library, and the docstring first lines of the
    documented ones (the queries)."""
    texts, queries = [], []
    base = Path(sysconfig.get_paths()["stdlib"])
    for package in ("email", "json", "http", "logging"):
        for path in sorted((base / package).glob("*.py")):
            source = path.read_text(encoding="utf-8")
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.FunctionDef) and len(texts) < limit:
                    texts.append((ast.get_source_segment(source, node) or node.name)[:600])
                    doc = ast.get_docstring(node)
                    if doc:
                        queries.append(doc.strip().splitlines()[0])
    return texts, queries


def test_compact_vectors_recall_real_model_vectors(tmp_path: Path, encoder: OnnxEncoder) -> None:
    """Recall@10 of int8 and binary + rescoring against exact float search, on real-model vectors."""
    texts, queries = _stdlib_functions(300)
    docs = encoder.embed_documents(texts)
    qs = encoder.embed_queries(queries[:60])
    recalls = {}
    for fmt in ("int8", "binary"):
        store, ids = _store_with(tmp_path / fmt, docs, fmt)
        exact = [[ids[i] for i in np.argsort(-(docs @ q), kind="stable")[:10]] for q in qs]
        recalls[fmt] = _recall(exact, [[e for e, _ in store.knn(q, 10)] for q in qs])
        store.close()
    assert recalls["int8"] >= 0.9, recalls
    assert recalls["binary"] >= 0.9, recalls


def test_index_cli_vectors_flag_and_status_json(tmp_repo: Path, run_cli: RunCli) -> None:
    """End to end with the real bundled model: index --vectors binary, search, status --json."""
    indexed = run_cli("index", ".", "--vectors", "binary", "--json", "-q", cwd=tmp_repo)
    assert indexed.returncode == 0, indexed.stderr
    assert json.loads(indexed.stdout)["vectors"] == "binary"
    found = run_cli("search", "retry failed uploads with backoff", "--json", "--mode", "semantic", cwd=tmp_repo)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["results"][0]["symbol"] == "retry_upload"
    status = run_cli("status", "--json", cwd=tmp_repo)
    vectors = json.loads(status.stdout)["vectors"]
    assert (vectors["setting"], vectors["format"], vectors["dims"], vectors["pca"]) == ("binary", "binary", 384, False)
    assert vectors["size_bytes"] > 0
    bad = run_cli("index", ".", "--vectors", "int4", cwd=tmp_repo)
    assert bad.returncode == 1 and "vectors must be one of" in bad.stderr
