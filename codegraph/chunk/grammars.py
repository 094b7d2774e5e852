"""Grammars: the one place that imports the tree-sitter bindings (languages, parsers, compiled queries).

Each grammar comes from its own PyPI wheel (``tree-sitter-python`` ...), which bundles the compiled grammar, so
nothing is downloaded at run time (``tree-sitter-language-pack`` 1.x downloads grammars and fails offline).
Definition queries live in ``queries/<language>.scm`` (see ``queries/README.md``).
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path
from typing import Any

from ..languages import BY_NAME

QUERIES_DIR = Path(__file__).resolve().parent / "queries"


@cache
def ts_language(name: str) -> Any:
    """The ``tree_sitter.Language`` for a language id (cached).

    Raises:
        KeyError: no grammar for ``name``.
    """
    import tree_sitter

    spec = BY_NAME[name]
    module = importlib.import_module(spec.module)
    return tree_sitter.Language(getattr(module, spec.function)())


@cache
def ts_parser(name: str) -> Any:
    """A ``tree_sitter.Parser`` for a language id (cached; parsers are not thread-safe)."""
    import tree_sitter

    return tree_sitter.Parser(ts_language(name))


@cache
def ts_query(name: str) -> Any:
    """The compiled definitions query of ``queries/<queries or name>.scm`` for language ``name`` (cached)."""
    import tree_sitter

    spec = BY_NAME[name]
    source = (QUERIES_DIR / f"{spec.queries or spec.name}.scm").read_text(encoding="utf-8")
    return tree_sitter.Query(ts_language(name), source)


def query_matches(name: str, root: Any) -> list[tuple[int, dict[str, list[Any]]]]:
    """Run the definitions query of ``name`` over a syntax tree node: ``[(pattern_index, {capture: [nodes]})]``."""
    import tree_sitter

    cursor = tree_sitter.QueryCursor(ts_query(name))
    return list(cursor.matches(root))
