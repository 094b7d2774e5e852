"""The export path (`codegraph model import`): optimum ONNX export + dynamic INT8 + fidelity check.

Uses a randomly initialised *tiny* BERT built from a config in the test (no download; speed and the export
path do not depend on the weights) and the bundled model's tokenizer.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from codegraph.embed import OnnxEncoder
from codegraph.embed.registry import open_model
from codegraph.errors import FidelityError, ModelError

from .conftest import RunCli
from .tiny_models import tiny_bert, write_profile

pytest.importorskip("optimum.onnxruntime", reason="needs the 'export' extra")
pytestmark = pytest.mark.export


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture
def profile_dir(tmp_path: Path) -> Path:
    return write_profile(tmp_path / "profile", "tinybert", "bert")


def test_import_exports_quantises_checks_and_installs(tiny_model: Path, profile_dir: Path, tmp_path: Path) -> None:
    from codegraph.embed.export import import_model

    steps: list[str] = []
    out = tmp_path / "installed"
    report = import_model("tinybert", tiny_model, out=out, profile_dir=profile_dir, step=steps.append)
    assert report.mean_cosine >= 0.98 and report.samples > 50
    assert report.int8_bytes < report.fp32_bytes
    assert any("INT8" in s for s in steps)
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["sha256"]) == {"model.onnx", "tokenizer.json"}
    assert manifest["fidelity"]["mean_cosine"] >= 0.98
    model = open_model(out)  # checksums verified
    vectors = OnnxEncoder(model).embed_documents(["def f():\n    return 1"])
    assert vectors.shape == (1, 32)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    # the tokenizer shipped must not carry the source's fixed truncation/padding
    tok = json.loads((out / "tokenizer.json").read_text())
    assert tok["truncation"] is None and tok["padding"] is None


def test_fidelity_below_threshold_refuses_and_installs_nothing(
    tiny_model: Path, profile_dir: Path, tmp_path: Path
) -> None:
    from codegraph.embed.export import import_model

    out = tmp_path / "refused"
    with pytest.raises(FidelityError, match=r"mean cosine [0-9.]+ < 1\.01"):
        import_model("tinybert", tiny_model, out=out, profile_dir=profile_dir, min_mean_cosine=1.01)
    assert not out.exists()


def test_source_must_be_a_model_folder(tmp_path: Path, profile_dir: Path) -> None:
    from codegraph.embed.export import import_model

    with pytest.raises(ModelError, match="no config.json"):
        import_model("tinybert", tmp_path, out=tmp_path / "x", profile_dir=profile_dir)


def test_cli_model_import_rejects_a_model_that_does_not_fit_the_profile(
    tiny_model: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    """The bundled minilm profile says 384 dimensions; the tiny model has 32: a clear error, nothing installed."""
    proc = run_cli("model", "import", "minilm", "--from", str(tiny_model), cwd=tmp_path)
    assert proc.returncode == 1
    assert "outputs 32-dimensional vectors but its profile says dim = 384" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_model_import_without_a_model_folder(tmp_path: Path, run_cli: RunCli) -> None:
    proc = run_cli("model", "import", "minilm", "--from", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 1 and "no config.json" in proc.stderr
