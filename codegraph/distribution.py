"""How codegraph is installed: its version and the command that adds an optional extra, read from the installed
distribution's metadata (``codegraph-search``; PEP 610 ``direct_url.json`` says where it was installed from).

Standard library only (a leaf module): ``codegraph --version`` and the install hints of the ``export`` extra use it.
"""

from __future__ import annotations

import json
import shlex
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

DISTRIBUTION = "codegraph-search"
"""The distribution (PyPI) name; the import package and the command are ``codegraph``."""


def _distribution() -> metadata.Distribution | None:
    try:
        return metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None


def version() -> str:
    """codegraph's version: the installed distribution's, else ``codegraph.__version__`` (a source tree on
    ``sys.path`` that was never installed)."""
    dist = _distribution()
    if dist is not None and dist.version:
        return dist.version
    from codegraph import __version__  # the package root (its __init__), imported only on this path

    return __version__


def _direct_url(dist: metadata.Distribution) -> dict[str, Any]:
    """The distribution's ``direct_url.json`` (PEP 610), ``{}`` when it was installed from an index or the file
    is missing or unreadable."""
    try:
        text = dist.read_text("direct_url.json")
        data = json.loads(text) if text else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _local_path(url: str) -> Path | None:
    """The local path of a ``file://`` URL, ``None`` for any other URL."""
    parsed = urlparse(url)
    if parsed.scheme != "file":
        return None
    return Path(url2pathname(unquote(parsed.path)))


def install_extra_command(extra: str, *, direct_url: dict[str, Any] | None = None) -> str:
    """The ``pip`` command that adds optional extra ``extra`` to this installation of codegraph.

    - installed from a source directory (``pip install .`` or ``pip install -e .``): that directory,
      ``pip install -e '<dir>[extra]'`` (editable) or ``pip install '<dir>[extra]'``;
    - installed from a local wheel or sdist that still exists: ``pip install '<file>[extra]'``;
    - installed from a VCS URL: ``pip install 'codegraph-search[extra] @ git+<url>@<commit>'``;
    - otherwise (an index such as PyPI, or not installed at all): ``pip install 'codegraph-search[extra]'``.

    A source directory or file that no longer exists falls back to the index name.

    Args:
        extra: the extra's name, e.g. ``"export"``.
        direct_url: the parsed ``direct_url.json`` to use instead of the installed distribution's (PEP 610:
            ``url`` plus one of ``dir_info`` / ``archive_info`` / ``vcs_info``).

    Returns:
        One shell command line (arguments quoted for a POSIX shell).
    """
    if direct_url is None:
        dist = _distribution()
        direct_url = _direct_url(dist) if dist is not None else {}
    url = str(direct_url.get("url", ""))
    path = _local_path(url)
    if "dir_info" in direct_url and path is not None and path.is_dir():
        editable = bool((direct_url.get("dir_info") or {}).get("editable"))
        return f"pip install {'-e ' if editable else ''}{shlex.quote(f'{path}[{extra}]')}"
    if "archive_info" in direct_url and path is not None and path.is_file():
        return f"pip install {shlex.quote(f'{path}[{extra}]')}"
    vcs = direct_url.get("vcs_info")
    if isinstance(vcs, dict) and url and vcs.get("vcs"):
        commit = vcs.get("commit_id") or vcs.get("requested_revision")
        target = f"{vcs['vcs']}+{url}" + (f"@{commit}" if commit else "")
        return f"pip install {shlex.quote(f'{DISTRIBUTION}[{extra}] @ {target}')}"
    return f"pip install {shlex.quote(f'{DISTRIBUTION}[{extra}]')}"
