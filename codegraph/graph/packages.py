"""The names other repositories import a repository by, read from the manifests at its root (``go.mod``,
``package.json``, ``Cargo.toml``) when it is indexed and recorded in its index (``meta.package_manifests``).

The graph needs them to resolve imports: ``go.mod``'s module path within the repository, and all three across
repositories (``codegraph callers NAME --all``): ``import { slugify } from '@acme/textkit'`` in one project names
the entry file of the project whose ``package.json`` is named ``@acme/textkit``. On a team's PostgreSQL server the
machine that asks rarely has the other repository checked out at the root recorded when it was indexed, so the
graph reads the recorded values (:func:`recorded_packages`) and reads the files themselves only for an index
made before they were recorded (:meth:`codegraph.graph.query.Graph.packages`).

Every ``index`` run (``watch``'s refreshes too) reads the manifests again, whether or not discovery indexes
them (a ``.codegraphignore`` may leave ``package.json`` out), and rewrites the record when it changed
(:func:`record_packages`): a renamed package takes effect at the next run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store import IndexStore

META_KEY = "package_manifests"
"""The ``meta`` key holding the record: JSON ``{"version": 1, "go_module": str | null, "js_package": {"name":
str, "entries": [str]} | null, "rust_crate": str | null}``."""

RECORD_VERSION = 1
"""Version of the record's shape; a record of another version is ignored (the files are read instead)."""

MANIFEST_FILES = ("go.mod", "package.json", "Cargo.toml")
"""The files read, at the repository root only."""


@dataclass(frozen=True, slots=True)
class Packages:
    """What a repository's root manifests say about how it is imported.

    Attributes:
        go_module: ``go.mod``'s module path (``example.com/textkit``), or ``None``.
        js_name: ``package.json``'s ``name`` (``@acme/textkit``), or ``None`` (no file, no usable name).
        js_entries: its entry files as written, ``./`` removed, best first: ``main``, ``module``, ``types``,
            ``exports["."]`` when a string (empty without a name).
        rust_crate: ``Cargo.toml``'s ``[package] name`` with ``-`` read as ``_`` (as ``use`` writes it), or
            ``None``.
    """

    go_module: str | None = None
    js_name: str | None = None
    js_entries: tuple[str, ...] = ()
    rust_crate: str | None = None

    def to_json(self) -> str:
        """The record stored in ``meta`` (see :data:`META_KEY`)."""
        js = None if self.js_name is None else {"name": self.js_name, "entries": list(self.js_entries)}
        return json.dumps(
            {"version": RECORD_VERSION, "go_module": self.go_module, "js_package": js, "rust_crate": self.rust_crate},
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Packages | None:
        """The record back, or ``None`` when it is not one this codegraph writes (damaged, other version)."""
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("version") != RECORD_VERSION:
            return None
        js = data.get("js_package")
        name = js.get("name") if isinstance(js, dict) else None
        entries = js.get("entries") if isinstance(js, dict) else None
        return cls(
            go_module=_text(data.get("go_module")),
            js_name=_text(name),
            js_entries=tuple(e for e in entries if isinstance(e, str) and e) if isinstance(entries, list) else (),
            rust_crate=_text(data.get("rust_crate")),
        )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def read_go_module(root: Path) -> str | None:
    """The module path of ``root/go.mod`` (its ``module`` line), or ``None`` (no file, unreadable, no line)."""
    try:
        text = (root / "go.mod").read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
    for line in text.splitlines():
        if line.startswith("module "):
            return line.split(None, 1)[1].strip().strip('"') or None
    return None


def read_js_package(root: Path) -> tuple[str, tuple[str, ...]] | None:
    """``(name, entries)`` of ``root/package.json`` (see :class:`Packages`), or ``None`` (no file, not JSON, no
    string ``name``)."""
    try:
        manifest = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = manifest.get("name") if isinstance(manifest, dict) else None
    if not isinstance(name, str) or not name:
        return None
    exports = manifest.get("exports")
    dot = exports.get(".") if isinstance(exports, dict) else exports
    fields = [manifest.get("main"), manifest.get("module"), manifest.get("types"), dot]
    return name, tuple(f.removeprefix("./") for f in fields if isinstance(f, str) and f)


def read_rust_crate(root: Path) -> str | None:
    """The crate name of ``root/Cargo.toml`` (``[package] name``, ``-`` read as ``_``), or ``None``."""
    from .._compat import tomllib

    try:
        manifest = tomllib.loads((root / "Cargo.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    package = manifest.get("package")
    name = package.get("name") if isinstance(package, dict) else None
    return name.replace("-", "_") if isinstance(name, str) and name else None


def read_manifests(root: Path) -> Packages:
    """Read the manifests at ``root`` (missing or unreadable ones count as absent; never raises)."""
    js = read_js_package(root)
    return Packages(
        go_module=read_go_module(root),
        js_name=js[0] if js else None,
        js_entries=js[1] if js else (),
        rust_crate=read_rust_crate(root),
    )


def recorded_packages(store: IndexStore) -> Packages | None:
    """The record an ``index`` run left in ``store`` (its project's ``meta``), or ``None`` for an index made
    before codegraph recorded it (or a record it cannot read)."""
    text = store.get_meta(META_KEY)
    return None if text is None else Packages.from_json(text)


def record_packages(store: IndexStore, root: Path) -> Packages:
    """Read the manifests at ``root`` and record them in ``store`` when the record differs (a write only then).
    The caller holds the index's writer lock (an ``index`` run).

    Returns:
        What was read.

    Raises:
        StoreError: the record cannot be written.
    """
    found = read_manifests(root)
    text = found.to_json()
    if store.get_meta(META_KEY) != text:
        store.set_meta({META_KEY: text})
    return found
