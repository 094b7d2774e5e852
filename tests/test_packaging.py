"""A non-editable install must carry the bundled model and the tree-sitter queries."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_contains_bundled_model_and_queries(tmp_path: Path) -> None:
    if not (ROOT / "pyproject.toml").is_file():
        pytest.skip("not a source checkout")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("codegraph_search-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        checks = {}
        for model in ("minilm", "code"):
            manifest = json.loads(zf.read(f"codegraph/_models/{model}/manifest.json"))
            model_sha = hashlib.sha256(zf.read(f"codegraph/_models/{model}/model.onnx")).hexdigest()
            checks[model] = model_sha == manifest["sha256"]["model.onnx"]
        entry_points = zf.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    for model in ("minilm", "code"):
        for name in ("profile.toml", "tokenizer.json", "LICENSE", "NOTICE"):
            assert f"codegraph/_models/{model}/{name}" in names
    assert "codegraph/_models/code/provenance.json" in names
    for name in ("embeddings.npy", "tokenizer.json", "profile.toml", "manifest.json", "provenance.json", "NOTICE"):
        assert f"codegraph/_models/fast/{name}" in names
    assert checks == {"minilm": True, "code": True}
    assert {f"codegraph/chunk/queries/{lang}.scm" for lang in ("python", "go", "csharp", "ruby")} <= names
    assert "codegraph = codegraph.cli:main" in entry_points
    assert "codegraph/assist/sandbox/launch.py" in names  # the sandbox runs its launcher by path
    for name in ("templates/base.html", "templates/search.html", "templates/snippets.html", "static/app.js"):
        assert f"codegraph/serve/{name}" in names  # codegraph serve's page
