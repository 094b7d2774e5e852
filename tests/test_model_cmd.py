"""`codegraph model list | pull`, the default model, and the index <-> model link, end to end.

The Hugging Face Hub cannot be reached from the test machines: `model pull` talks to a local server that speaks
the hub's download protocol (``tests/fake_hub.py``) through the real ``huggingface_hub`` client, and the model
it serves is a randomly initialised RoBERTa (CodeBERT's architecture) built here (``tests/tiny_models.py``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codegraph.distribution import install_extra_command

from .conftest import RunCli
from .fake_hub import COMMIT, fake_hub

KNOWN = ["code", "codebert", "fast", "graphcodebert", "minilm", "unixcoder"]


def _models(run_cli: RunCli, cwd: Path) -> dict[str, dict[str, object]]:
    proc = run_cli("model", "list", "--json", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return {m["name"]: m for m in json.loads(proc.stdout)["models"]}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_model_list_shows_each_profile_and_what_is_installed(tmp_path: Path, run_cli: RunCli) -> None:
    models = _models(run_cli, tmp_path)
    assert sorted(models) == KNOWN
    minilm, codebert, code = models["minilm"], models["codebert"], models["code"]
    assert (code["installed"], code["bundled"], code["default"]) == (True, True, True)
    assert (minilm["installed"], minilm["bundled"], minilm["default"]) == (True, True, False)
    assert minilm["size_bytes"] > 20_000_000 and Path(str(minilm["location"])).is_dir()
    assert minilm["fidelity_mean_cosine"] >= 0.98
    assert (codebert["installed"], codebert["location"], codebert["default"]) == (False, None, False)
    assert (codebert["source"], codebert["dim"], codebert["max_tokens"]) == ("microsoft/codebert-base", 768, 512)
    assert (models["unixcoder"]["source"], models["graphcodebert"]["architecture"]) == (
        "microsoft/unixcoder-base",
        "roberta",
    )

    human = run_cli("model", "list", cwd=tmp_path)
    assert human.returncode == 0
    lines = {line.split()[0]: line for line in human.stdout.splitlines() if line.split()}
    assert "not installed" in lines["codebert"] and "bundled" in lines["minilm"]
    assert "codegraph model pull" in human.stderr


def test_pull_unknown_model_names_the_known_ones(tmp_path: Path, run_cli: RunCli) -> None:
    proc = run_cli("model", "pull", "bogus", cwd=tmp_path)
    assert proc.returncode == 1
    assert f"unknown model 'bogus'; known: {', '.join(KNOWN)}" in proc.stderr


def test_pull_without_network_fails_fast_and_says_how_to_import_offline(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("optimum.onnxruntime", reason="needs the 'export' extra")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    started = time.monotonic()
    proc = run_cli("model", "pull", "codebert", cwd=tmp_path, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "cannot reach the model hub" in proc.stderr
    assert "codegraph model import codebert --from" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert time.monotonic() - started < 90  # bounded: no retry loop, no hang


def test_pull_in_hub_offline_mode_is_a_clear_error(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("optimum.onnxruntime", reason="needs the 'export' extra")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    proc = run_cli("model", "pull", "unixcoder", cwd=tmp_path)
    assert proc.returncode == 1
    assert "HF_HUB_OFFLINE is set" in proc.stderr and "codegraph model import unixcoder --from" in proc.stderr


def test_pull_without_the_export_extra_says_what_to_install_before_downloading(tmp_path: Path) -> None:
    # `sys.modules[name] = None` makes `import name` raise ImportError, as on an install without the extra.
    script = (
        "import sys\n"
        "sys.modules['torch'] = None\n"
        "from codegraph.cli.app import main\n"
        "sys.exit(main(['model', 'pull', 'codebert']))\n"
    )
    with fake_hub({}) as (endpoint, requests):
        env = {**os.environ, "HF_ENDPOINT": endpoint}
        proc = subprocess.run(
            [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
    assert proc.returncode == 1
    assert "needs the 'export' extra (missing: torch)" in proc.stderr
    assert f"pip install torch==2.13.0 && {install_extra_command('export')}" in proc.stderr  # see test_distribution
    assert requests == []  # nothing downloaded before the check


@pytest.mark.export
def test_pull_installs_codebert_and_a_model_change_reembeds(
    tmp_path: Path, tmp_repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("optimum.onnxruntime", reason="needs the 'export' extra")
    from .tiny_models import tiny_roberta

    # Output width and position limit of the real codebert profile (768, 512 tokens); 2 layers, random weights.
    served = tiny_roberta(tmp_path / "served", hidden_size=768, heads=12, max_positions=514)
    assert not (served / "tokenizer.json").exists()  # like microsoft/codebert-base: vocab.json + merges.txt

    with fake_hub({"microsoft/codebert-base": served}) as (endpoint, requests):
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        pulled = run_cli("model", "pull", "codebert", "--json", cwd=tmp_path, timeout=600)
    assert pulled.returncode == 0, pulled.stderr
    report = json.loads(pulled.stdout)
    assert report["name"] == "codebert" and report["mean_cosine"] >= 0.98
    assert any(r.endswith("/model.safetensors") and r.startswith("GET") for r in requests)
    assert "downloading" in pulled.stderr and "fidelity" in pulled.stderr

    installed = Path(report["directory"])
    assert installed == Path(os.environ["CODEGRAPH_HOME"]) / "models" / "codebert"
    manifest = json.loads((installed / "manifest.json").read_text())
    assert manifest["source_dir_provenance"] == {
        "hub": endpoint,
        "repo": "microsoft/codebert-base",
        "commit": COMMIT,
    }
    assert set(manifest["sha256"]) == {"model.onnx", "tokenizer.json"}
    models = _models(run_cli, tmp_path)
    assert models["codebert"]["installed"] and not models["codebert"]["default"]
    assert models["code"]["default"]  # a weak zero-shot retriever never becomes the default by being installed

    # Named explicitly, codebert builds the index, and the index records it.
    built = run_cli("index", ".", "--model", "codebert", "--json", cwd=tmp_repo)
    assert built.returncode == 0, built.stderr
    assert "not installed" not in built.stderr
    stats = json.loads(built.stdout)
    assert stats["model"].startswith("codebert@") and stats["embedded"] == stats["chunks"] > 0
    status = json.loads(run_cli("status", "--json", cwd=tmp_repo).stdout)
    assert status["model"] == stats["model"]
    assert status["model_sha256"] == manifest["sha256"]["model.onnx"]
    hits = run_cli("search", "retry failed uploads", "--json", cwd=tmp_repo)
    assert hits.returncode == 0, hits.stderr
    assert json.loads(hits.stdout)["results"]

    # Another model: everything is re-embedded, and the user is told.
    switched = run_cli("index", ".", "--model", "minilm", cwd=tmp_repo)
    assert switched.returncode == 0, switched.stderr
    assert f"built with {stats['model']}" in switched.stderr and "re-embedding every chunk" in switched.stderr
    status = json.loads(run_cli("status", "--json", cwd=tmp_repo).stdout)
    assert status["model"].startswith("minilm@")
    # search embeds the query with the index's model, whatever the default is now
    found = json.loads(run_cli("search", "retry failed uploads", "--json", cwd=tmp_repo).stdout)["results"]
    assert found[0]["path"] == "app/retry.py"
