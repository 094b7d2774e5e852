"""The language table: every language id codegraph knows, its file extensions and names, and how a file's
language is detected. A leaf module (standard library only) used by discovery, chunking, the store's filters,
search's ``--lang`` and the assistants; the tree-sitter side lives in :mod:`codegraph.chunk.grammars`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from .errors import ConfigError

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
BY_NAME: dict[str, LanguageSpec] = {spec.name: spec for spec in LANGUAGES}
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


ASSIST_LANGUAGES: dict[str, str] = {
    "python": "Python",
    "javascript": "JavaScript",
    "typescript": "TypeScript",
    "ruby": "Ruby",
    "go": "Go",
}
"""Languages ``generate`` and ``test`` support: id -> display name. The one list: ``--lang`` choices, prompts,
file names and test runners (``codegraph.assist``) follow it."""

ASSIST_DIALECTS: dict[str, str] = {"tsx": "typescript"}
"""Indexed languages that count as a supported one when ``generate`` picks the language (TSX is TypeScript)."""


def assist_language(language: str) -> str | None:
    """The :data:`ASSIST_LANGUAGES` id for code indexed as ``language`` (``tsx`` -> ``typescript``), else ``None``."""
    return language if language in ASSIST_LANGUAGES else ASSIST_DIALECTS.get(language)


def parse_languages(values: Sequence[str] | None) -> frozenset[str] | None:
    """Validate ``--lang`` values (comma-separated or repeated); ``None`` when none are given.

    Raises:
        ConfigError: an unknown language id (the message lists the known ones).
    """
    if not values:
        return None
    names = {v.strip().lower() for value in values for v in value.split(",") if v.strip()}
    unknown = sorted(names - set(LANGUAGE_NAMES))
    if unknown:
        raise ConfigError(f"unknown language {', '.join(unknown)}; known: {', '.join(LANGUAGE_NAMES)}")
    return frozenset(names)
