"""The onnxruntime encoder: embeddings, token counts and the graph-optimised model cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from codegraph.embed import OnnxEncoder, resolve_model


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
