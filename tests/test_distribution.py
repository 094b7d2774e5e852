"""`codegraph --version` and the `[export]` install hint, read from the installed distribution's metadata.

Installations other than this test run's are real distribution metadata (a ``codegraph_search-*.dist-info``
folder with ``METADATA`` and PEP 610 ``direct_url.json``) put first on the child process's ``PYTHONPATH``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import codegraph
from codegraph.distribution import install_extra_command

from .conftest import CODEGRAPH, RunCli


def _installed(tmp_path: Path, version: str, direct_url: dict[str, Any] | None) -> Path:
    """A site directory holding codegraph-search ``version``'s metadata, installed from ``direct_url``."""
    site = tmp_path / "site"
    info = site / f"codegraph_search-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.4\nName: codegraph-search\nVersion: {version}\n", encoding="utf-8"
    )
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url), encoding="utf-8")
    return site


def _run(site: Path, args: list[str], *, script: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m codegraph ARGS`` (or ``python -c SCRIPT``) with ``site`` first on the path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    env["HF_ENDPOINT"] = "http://127.0.0.1:9"  # nothing may be downloaded: the hints come first
    command = [sys.executable, "-c", script] if script else [*CODEGRAPH, *args]
    return subprocess.run(command, cwd=site, env=env, capture_output=True, text=True, timeout=120)


def test_version_flag_prints_the_installed_version(tmp_path: Path, run_cli: RunCli) -> None:
    proc = run_cli("--version", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"codegraph {metadata.version('codegraph-search')}\n" and proc.stderr == ""


def test_version_comes_from_the_distribution_metadata(tmp_path: Path) -> None:
    proc = _run(_installed(tmp_path, "9.8.7", None), ["--version"])
    assert (proc.returncode, proc.stdout) == (0, "codegraph 9.8.7\n")


def test_version_falls_back_to_the_package_version_without_an_install(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from importlib import metadata\n"
        "def missing(name):\n"
        "    raise metadata.PackageNotFoundError(name)\n"
        "metadata.distribution = missing\n"
        "from codegraph.cli.app import main\n"
        "sys.exit(main(['--version']))\n"
    )
    proc = _run(tmp_path, [], script=script)
    assert (proc.returncode, proc.stdout) == (0, f"codegraph {codegraph.__version__}\n"), proc.stderr


NO_TORCH = (
    "import sys\n"
    "sys.modules[{module!r}] = None\n"  # `import module` raises ImportError, as on an install without the extra
    "from codegraph.cli.app import main\n"
    "sys.exit(main(['model', 'pull', 'codebert']))\n"
)


@pytest.mark.parametrize(
    ("editable", "command"), [(True, "pip install -e '{src}[export]'"), (False, "pip install '{src}[export]'")]
)
def test_export_hint_names_the_source_checkout_codegraph_was_installed_from(
    tmp_path: Path, editable: bool, command: str
) -> None:
    src = tmp_path / "my checkout"  # a space: the path is quoted
    src.mkdir()
    site = _installed(tmp_path, "0.1.0", {"url": src.as_uri(), "dir_info": {"editable": editable}})
    proc = _run(site, [], script=NO_TORCH.format(module="torch"))
    assert proc.returncode == 1
    assert "needs the 'export' extra (missing: torch)" in proc.stderr
    assert f"pip install torch==2.13.0 && {command.format(src=src)}" in proc.stderr
    assert "codegraph-search[export]" not in proc.stderr


def test_export_hint_names_the_package_when_installed_from_an_index(tmp_path: Path) -> None:
    proc = _run(_installed(tmp_path, "0.1.0", None), [], script=NO_TORCH.format(module="torch"))
    assert proc.returncode == 1
    assert "pip install torch==2.13.0 && pip install 'codegraph-search[export]'" in proc.stderr


def test_hub_download_hint_without_huggingface_hub_uses_the_same_command(tmp_path: Path) -> None:
    # Through the CLI the export-extra check comes first (transformers needs huggingface_hub), so call the
    # download step itself, as `model pull` does after that check.
    src = tmp_path / "checkout"
    src.mkdir()
    site = _installed(tmp_path, "0.1.0", {"url": src.as_uri(), "dir_info": {"editable": True}})
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "sys.modules['huggingface_hub'] = None\n"
        "from codegraph.embed.hub import download\n"
        "from codegraph.errors import ModelError\n"
        "try:\n"
        "    download('microsoft/codebert-base', None, Path('dest'), name='codebert', say=print)\n"
        "except ModelError as exc:\n"
        "    sys.exit(str(exc))\n"
    )
    proc = _run(site, [], script=script)
    assert proc.returncode == 1
    assert f"part of the 'export' extra: pip install -e '{src}[export]'" in proc.stderr


def test_install_command_for_wheels_vcs_and_vanished_checkouts(tmp_path: Path) -> None:
    wheel = tmp_path / "codegraph_search-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK")
    assert install_extra_command("export", direct_url={"url": wheel.as_uri(), "archive_info": {}}) == (
        f"pip install '{wheel}[export]'"
    )
    vcs = {"url": "https://example.org/codegraph.git", "vcs_info": {"vcs": "git", "commit_id": "abc123"}}
    assert install_extra_command("export", direct_url=vcs) == (
        "pip install 'codegraph-search[export] @ git+https://example.org/codegraph.git@abc123'"
    )
    gone = {"url": (tmp_path / "deleted").as_uri(), "dir_info": {"editable": True}}
    assert install_extra_command("export", direct_url=gone) == "pip install 'codegraph-search[export]'"
