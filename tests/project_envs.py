"""Real project environments for the `codegraph test` tests: virtualenvs made with `python -m venv`, a dependency
installed into them with pip (from a wheel built here, no index), and pytest copied in from the running
interpreter's installed files (the tests have no network, so pip cannot fetch it); and whether this machine has a
TypeScript runner."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from packaging.requirements import Requirement


def build_wheel(folder: Path, name: str, source: str, version: str = "1.0") -> Path:
    """A pure-Python wheel holding the package ``name`` (``name/__init__.py`` = ``source``)."""
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(f"{name}/__init__.py", source)
        archive.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        archive.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        archive.writestr(f"{info}/RECORD", "")
    return wheel


def site_packages(venv: Path) -> Path:
    """``venv/lib/pythonX.Y/site-packages`` (the venv was made by this interpreter's version)."""
    return venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"


def _copy_distribution(name: str, target: Path, done: set[str]) -> None:
    """Copy an installed distribution's files (its RECORD) and those of its requirements into ``target``."""
    dist = importlib.metadata.distribution(name)
    key = dist.metadata["Name"].lower()
    if key in done:
        return
    done.add(key)
    for file in dist.files or []:
        if ".." in file.parts:
            continue  # console scripts outside site-packages
        source = Path(str(dist.locate_file(file)))
        if source.is_file():
            dest = target / file
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)
    for requirement in dist.requires or []:
        parsed = Requirement(requirement)
        if parsed.marker is None or parsed.marker.evaluate({"extra": ""}):
            _copy_distribution(parsed.name, target, done)


def make_venv(venv: Path, *, pytest: bool, wheels: tuple[Path, ...] = ()) -> Path:
    """A real virtualenv at ``venv`` (``python -m venv --without-pip``) with ``wheels`` installed by pip and, with
    ``pytest``, pytest and its requirements; returns its ``bin/python``."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    if wheels:
        pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index", "--no-deps"]
        env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        subprocess.run([*pip, *map(str, wheels)], check=True, timeout=300, env=env)
    if pytest:
        _copy_distribution("pytest", site_packages(venv), set())
    return python


def why_no_typescript_runner() -> str | None:
    """Why ``codegraph test`` cannot run TypeScript here (no tsx on PATH, node older than 22.6), or ``None``."""
    if shutil.which("tsx"):
        return None
    node = shutil.which("node")
    if node is None:
        return "neither tsx nor node is installed"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    major, minor = (int(x) for x in version.lstrip("v").split(".")[:2])
    if (major, minor) >= (22, 6):
        return None
    return f"no TypeScript runner: tsx is not on PATH and node {version} has no type stripping (22.6+)"


NO_TYPESCRIPT = why_no_typescript_runner()
"""The reason to skip TypeScript runs, or ``None`` when they can run."""
