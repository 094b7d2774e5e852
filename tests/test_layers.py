"""The import rules of docs/architecture.md, checked on the source: leaves stay leaves, the pipeline is one-way,
and only the command line imports the command line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "codegraph"

LEAVES = {"errors", "types", "languages", "identifiers", "home", "files", "_compat", "distribution"}
"""Top-level modules that import nothing of codegraph's but each other."""

LOWER_LAYERS = {
    "discover": {"chunk", "embed", "store", "index", "search", "assist", "cli", "evaluate", "watch", "status"},
    "chunk": {"embed", "store", "index", "search", "assist", "cli", "evaluate", "watch", "status"},
    "store": {"embed", "index", "search", "assist", "cli", "evaluate", "watch", "status", "discover"},
    "embed": {"store", "index", "search", "assist", "cli", "evaluate", "watch", "status"},
    "index": {"search", "assist", "cli", "evaluate", "watch"},
    "prepare": {"index", "search", "assist", "cli", "evaluate", "watch", "status"},
    "search": {"index", "assist", "cli", "evaluate", "watch"},
    "graph": {"embed", "index", "search", "assist", "cli", "evaluate", "watch", "status"},
}
"""What each layer must not import (first component under ``codegraph``): the pipeline points one way."""


def _codegraph_imports(path: Path) -> set[str]:
    """First component under ``codegraph`` of every codegraph module ``path`` imports (lazy imports included)."""
    module = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = module[:-1]  # the package a relative import starts from (for __init__.py: its own)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                parts = base + (node.module.split(".") if node.module else [])
                names = [parts] if node.module else [base + [a.name] for a in node.names]
            else:
                names = [node.module.split(".")] if node.module else []
            for parts in names:
                if parts[0] == "codegraph" and len(parts) > 1:
                    found.add(parts[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "codegraph" and len(parts) > 1:
                    found.add(parts[1])
    return found


def _modules_of(top: str) -> list[Path]:
    target = PACKAGE / top
    return sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_leaves_import_only_leaves(leaf: str) -> None:
    for path in _modules_of(leaf):
        assert _codegraph_imports(path) - {leaf} <= LEAVES, path


@pytest.mark.parametrize("layer", sorted(LOWER_LAYERS))
def test_the_pipeline_points_one_way(layer: str) -> None:
    for path in _modules_of(layer):
        assert not _codegraph_imports(path) & LOWER_LAYERS[layer], path


def test_only_the_command_line_imports_the_command_line() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        if "cli" not in path.relative_to(PACKAGE).parts[:1] and path.name != "__main__.py":
            assert "cli" not in _codegraph_imports(path), path
