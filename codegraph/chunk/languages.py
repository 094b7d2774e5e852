"""Languages: file extensions, shebangs, and the one place that imports the tree-sitter bindings.

Each grammar comes from its own PyPI wheel (``tree-sitter-python`` ...), which bundles the compiled grammar, so
nothing is downloaded at run time (``tree-sitter-language-pack`` 1.x downloads grammars and fails offline).
Definition queries live in ``queries/<language>.scm`` (see ``queries/README.md``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

QUERIES_DIR = Path(__file__).resolve().parent / "queries"

TEXT = "text"
"""Language id of files without a grammar: chunked as line windows."""


@dataclass(frozen=True, slots=True)
class LanguageSpec:
    """A language with a tree-sitter grammar.

    Attributes:
        name: language id used everywhere (``--lang``, the index, ``Hit.language``).
        extensions: lower-case file suffixes, with the dot.
        module: grammar wheel module; ``function`` returns the ``TSLanguage`` capsule.
        filenames: whole file names that belong to the language (``Rakefile``).
        queries: name of the ``queries/*.scm`` file (default: ``name``; TSX shares TypeScript's).
    """

    name: str
    extensions: tuple[str, ...]
    module: str
    function: str = "language"
    filenames: tuple[str, ...] = ()
    queries: str = ""


LANGUAGES: tuple[LanguageSpec, ...] = (
    LanguageSpec("python", (".py", ".pyi", ".pyw"), "tree_sitter_python"),
    LanguageSpec("javascript", (".js", ".mjs", ".cjs", ".jsx"), "tree_sitter_javascript"),
    LanguageSpec("typescript", (".ts", ".mts", ".cts"), "tree_sitter_typescript", "language_typescript"),
    LanguageSpec("tsx", (".tsx",), "tree_sitter_typescript", "language_tsx", queries="typescript"),
    LanguageSpec("go", (".go",), "tree_sitter_go"),
    LanguageSpec("rust", (".rs",), "tree_sitter_rust"),
    LanguageSpec("java", (".java",), "tree_sitter_java"),
    LanguageSpec("c", (".c", ".h"), "tree_sitter_c"),
    LanguageSpec("cpp", (".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++", ".ipp"), "tree_sitter_cpp"),
    LanguageSpec("csharp", (".cs",), "tree_sitter_c_sharp"),
    LanguageSpec("ruby", (".rb", ".rake", ".gemspec", ".ru"), "tree_sitter_ruby", filenames=("Rakefile", "Gemfile")),
)
BY_NAME = {spec.name: spec for spec in LANGUAGES}
_BY_EXT = {ext: spec.name for spec in LANGUAGES for ext in spec.extensions}
_BY_FILENAME = {fname: spec.name for spec in LANGUAGES for fname in spec.filenames}
_SHEBANGS = (("python", "python"), ("node", "javascript"), ("deno", "typescript"), ("ruby", "ruby"))

LANGUAGE_NAMES: tuple[str, ...] = (*(spec.name for spec in LANGUAGES), TEXT)


def detect_language(path: str, head: bytes = b"") -> str:
    """Language id of a file from its name, else its shebang line, else :data:`TEXT`.

    Args:
        path: file name or path (only the last component is used).
        head: the file's first bytes (for a ``#!`` line), may be empty.
    """
    name = PurePosixPath(path).name
    lang = _BY_FILENAME.get(name) or _BY_EXT.get(PurePosixPath(name).suffix.lower())
    if lang:
        return lang
    if head.startswith(b"#!"):
        first = head.split(b"\n", 1)[0].decode("latin-1")
        for needle, shebang_lang in _SHEBANGS:
            if needle in first:
                return shebang_lang
    return TEXT


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
