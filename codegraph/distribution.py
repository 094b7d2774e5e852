"""How codegraph is installed: its version and the command that adds an optional extra, read from the installed
distribution's metadata (``codegraph-search``; PEP 610 ``direct_url.json`` says where it was installed from).

Standard library only (a leaf module): ``codegraph --version`` and the install hints of the ``export`` extra use it.
"""

from __future__ import annotations

from importlib import metadata

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
