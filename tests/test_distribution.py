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

import codegraph

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
