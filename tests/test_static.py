"""The static runtime (token lookup + mean in numpy) on a small random table with the bundled tokenizer."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from codegraph.embed import StaticEncoder, open_embedder
from codegraph.embed.registry import bundled_models_dir, open_model
from codegraph.errors import ModelError
from codegraph.index import index_repo
from codegraph.search import Searcher

DIM = 16


def make_static_model(directory: Path, *, max_tokens: int = 8, dim: int = DIM) -> Path:
    """A static model folder: a seeded random float16 table over the bundled WordPiece vocabulary."""
    directory.mkdir(parents=True)
    shutil.copyfile(bundled_models_dir() / "minilm" / "tokenizer.json", directory / "tokenizer.json")
    table = np.random.default_rng(0).standard_normal((30522, dim)).astype(np.float16)
    np.save(directory / "embeddings.npy", table)
    (directory / "profile.toml").write_text(
        f'name = "tinystatic"\nsource = "test"\narchitecture = "static"\nruntime = "static"\n'
        f"max_tokens = {max_tokens}\ndim = {DIM}\n",
        encoding="utf-8",
    )
    sums = {f: hashlib.sha256((directory / f).read_bytes()).hexdigest() for f in ("embeddings.npy", "tokenizer.json")}
    (directory / "manifest.json").write_text(json.dumps({"sha256": sums}), encoding="utf-8")
    return directory


@pytest.fixture
def static(tmp_path: Path) -> StaticEncoder:
    enc = open_embedder(open_model(make_static_model(tmp_path / "m")))
    assert isinstance(enc, StaticEncoder)
    return enc


def test_vector_is_the_normalised_mean_of_token_rows(static: StaticEncoder) -> None:
    text = "def parse header"
    ids = static.tokenizer.encode(text, add_special_tokens=False).ids
    expected = static.table[ids].mean(axis=0)
    expected /= np.linalg.norm(expected)
    got = static.embed_documents([text, "", text])
    assert got.shape == (3, DIM) and got.dtype == np.float32
    np.testing.assert_allclose(got[0], expected, rtol=1e-5)
    np.testing.assert_array_equal(got[1], np.zeros(DIM, dtype=np.float32))  # no tokens: a zero row
    np.testing.assert_array_equal(got[0], got[2])
    np.testing.assert_allclose(static.embed_queries([text])[0], expected, rtol=1e-5)


def test_truncation_and_token_counts(static: StaticEncoder) -> None:
    words = " ".join(f"word{i}" for i in range(40))
    counted = static.count_tokens([words])[0]
    assert counted > static.max_tokens == 8  # counts are never truncated
    head = static.tokenizer.encode(words, add_special_tokens=False).ids[:8]
    expected = static.table[head].mean(axis=0)
    np.testing.assert_allclose(static.embed_documents([words])[0], expected / np.linalg.norm(expected), rtol=1e-5)
    assert static.count_line_tokens("alpha beta\n\ngamma") == [3, 1, 2]


def test_table_width_must_match_the_profile(tmp_path: Path) -> None:
    directory = make_static_model(tmp_path / "m", dim=DIM)
    np.save(directory / "embeddings.npy", np.zeros((10, DIM + 1), dtype=np.float16))
    model = open_model(directory, verify=False)
    with pytest.raises(ModelError, match="does not match the profile"):
        StaticEncoder(model)


def test_index_and_search_with_a_static_model(tmp_repo: Path, tmp_path: Path) -> None:
    static = open_embedder(open_model(make_static_model(tmp_path / "m256", max_tokens=256)))
    stats = index_repo(tmp_repo, static)
    assert stats.embedded == stats.chunks > 5 and stats.model.startswith("tinystatic@")
    with Searcher.open(tmp_repo, static) as searcher:
        hits = searcher.search("retry_upload", k=3)
        assert hits[0].symbol == "retry_upload"
        semantic = searcher.search(hits[0].excerpt, k=1, mode="semantic")
        assert semantic and semantic[0].path == "app/retry.py"


def test_the_bundled_fast_model(tmp_repo: Path) -> None:
    from codegraph.embed import resolve_model

    model = resolve_model("fast")
    assert (model.profile.runtime, model.profile.dim, model.profile.fusion) == ("static", 256, "score")
    enc = open_embedder(model)
    assert isinstance(enc, StaticEncoder)
    vectors = enc.embed_documents(["def retry_upload(client, payload):\n    return client.put(payload)"])
    query = enc.embed_queries(["retry a failed upload", "render an html template"])
    assert float(query[0] @ vectors[0]) > float(query[1] @ vectors[0])
    index_repo(tmp_repo, enc)
    with Searcher.open(tmp_repo, enc) as searcher:
        assert searcher.search("retry failed uploads with backoff", k=3)[0].symbol == "retry_upload"
