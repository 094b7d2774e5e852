"""Discovery: walk a repository and yield the files to index.

Ignore rules, with git's precedence (a deeper file overrides a shallower one; a later line overrides an
earlier one; ``!pattern`` re-includes): built-in defaults (:data:`DEFAULT_IGNORES` and the generated
directories of :func:`is_generated_dir`), then ``.git/info/exclude``, then every ``.gitignore`` and
``.codegraphignore`` from the root down to the file's directory. Patterns are matched with ``pathspec``'s
``GitIgnoreSpec`` (gitignore semantics). As in git, an ignored directory is not entered, so nothing below it
can be re-included.

Always skipped: ``.git``, ``.codegraph``, other VCS metadata dirs, and symlinks: they are never followed
(so they cannot loop); a target inside the root is indexed at its real path, and a link that loops, dangles
or leaves the root is reported. Files whose extension names a binary format (:data:`BINARY_EXTENSIONS`) are
passed over without a warning (counted). Files larger than ``max_file_bytes`` are reported as skipped. Other
binary, undecodable and minified files are detected when the indexer reads them (see :func:`read_source`).
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

from .languages import TEXT, detect_language
from .types import SourceFile

ALWAYS_SKIPPED_DIRS = frozenset({".git", ".codegraph", ".hg", ".svn", ".jj"})
IGNORE_FILES = (".gitignore", ".codegraphignore")
DEFAULT_IGNORES = (
    "*.min.js",
    "*.min.css",
    "*.map",
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "Cargo.lock",
    "poetry.lock",
    "uv.lock",
    "Gemfile.lock",
    "go.sum",
    # editor swap, backup and lock files
    "*.swp",
    "*.swo",
    "*~",
    ".#*",
    "#*#",
    ".*.kate-swp",
    # secrets: environment files, private keys, credential stores (an index is searchable and served)
    ".env",
    ".env.*",
    "!.env.example",
    "!.env.sample",
    "!.env.template",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    ".netrc",
    ".pgpass",
    ".pypirc",
    ".npmrc",
    # installed dependencies, bytecode and tool caches (virtualenvs are found by is_generated_dir, any name)
    "node_modules/",
    "bower_components/",
    "__pycache__/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
    ".hypothesis/",
    ".tox/",
    ".nox/",
    ".eggs/",
    "*.egg-info/",
    ".gradle/",
)
"""Built-in ignore patterns: generated files and directories that only add noise to code search (re-include
with ``!name`` in a ``.gitignore`` or ``.codegraphignore``, e.g. ``!node_modules``)."""

TARGET_DIR_MANIFESTS = frozenset({"Cargo.toml", "pom.xml", "build.sbt", "project.clj"})
"""A directory named ``target`` beside one of these build files is build output (Cargo, Maven, sbt,
Leiningen) and skipped by default; a ``target`` directory anywhere else is indexed like any other."""

CACHEDIR_TAG_SIGNATURE = b"Signature: 8a477f597d28d172789f06886806bc55"
"""The first bytes of a ``CACHEDIR.TAG`` file marking a cache directory (Cache Directory Tagging
Specification, https://bford.info/cachedir/; written by Cargo in ``target/`` and by many tools' caches)."""

BINARY_EXTENSIONS = frozenset(
    {
        # images
        "png", "jpg", "jpeg", "gif", "bmp", "ico", "icns", "webp", "tif", "tiff", "psd", "heic", "avif",
        # audio and video
        "mp3", "wav", "ogg", "flac", "aac", "m4a", "mp4", "m4v", "mov", "avi", "mkv", "webm",
        # fonts
        "ttf", "otf", "woff", "woff2", "eot",
        # archives and packages
        "zip", "gz", "tgz", "bz2", "xz", "zst", "7z", "rar", "tar", "jar", "war", "ear", "whl", "egg", "apk",
        "deb", "rpm", "dmg", "iso", "nupkg", "gem",
        # compiled code, objects and libraries
        "pyc", "pyo", "pyd", "so", "dylib", "dll", "exe", "o", "obj", "a", "lib", "class", "wasm", "pdb",
        "beam", "elc",
        # documents
        "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp",
        # databases and serialised arrays or models
        "sqlite", "sqlite3", "db", "npy", "npz", "pkl", "pickle", "h5", "hdf5", "parquet", "onnx", "pt",
        "safetensors",
    }
)  # fmt: skip
"""Extensions (lower case, no dot; matched case-insensitively) of binary formats: such files are passed over
by discovery without being read or warned about (``index --json`` counts them in ``files_binary``). A binary
file with another extension is still found by its NUL byte when read, and reported."""

BINARY_SNIFF_BYTES = 8192
"""A file whose first this many bytes hold a NUL byte is binary (git's heuristic)."""


MAX_TEXT_FILE_BYTES = 256_000
"""Files without a grammar above this size are treated as data, not indexed (bytes)."""

CPP_HEADER = re.compile(
    r"^[ \t]*(?:namespace\s+\w+\s*\{|class\s+\w+[^;\n]*$|class\s+\w+[^;\n]*\{|template\s*<"
    r"|using\s+namespace\s|(?:public|private|protected)\s*:)",
    re.MULTILINE,
)
"""A ``.h`` file (C by its extension) whose text has a line that only C++ can start this way (a namespace, a
class, a template, ``using namespace``, an access specifier) is read as C++, so its classes and methods are
chunked and graphed (found by the graph spot checks: double-conversion's headers parsed as C lost every class)."""

MAX_LINE_CHARS = 2_000
"""A line longer than this (characters) is a *long line*; see :data:`MINIFIED_LONG_LINE_SHARE`."""

MINIFIED_LONG_LINE_SHARE = 0.5
"""A file whose long lines (over :data:`MAX_LINE_CHARS` characters) hold at least this share of its characters
is treated as minified or generated, not indexed: a bundle on one 200 kB line, or a few very long lines after a
licence header. A hand-written file with one long data line among ordinary code stays indexed."""


@dataclass(frozen=True, slots=True)
class Skipped:
    """A path discovery or reading passed over, with a one-line reason."""

    path: str
    reason: str


def _read_patterns(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


Levels = list[tuple[str, pathspec.GitIgnoreSpec]]
"""Ignore rules in force in one directory: (directory prefix, spec) pairs from the root down."""


class _Rules:
    """The built-in defaults, and a stack of (directory prefix, spec) pairs from the root down to the current
    directory for the user's rules (``.git/info/exclude``, ``.gitignore``, ``.codegraphignore``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.defaults = pathspec.GitIgnoreSpec.from_lines(DEFAULT_IGNORES)
        exclude = _read_patterns(root / ".git" / "info" / "exclude")
        self.levels: Levels = (
            [("", pathspec.GitIgnoreSpec.from_lines(exclude))] if any(line.strip() for line in exclude) else []
        )

    def spec_for(self, directory: Path) -> pathspec.GitIgnoreSpec | None:
        lines: list[str] = []
        for name in IGNORE_FILES:
            lines += _read_patterns(directory / name)
        return pathspec.GitIgnoreSpec.from_lines(lines) if any(line.strip() for line in lines) else None

    def levels_for(self, rel_dir: str, cache: dict[str, Levels]) -> Levels:
        """Rule levels that apply inside ``rel_dir`` ("" or "a/b/"), reading ignore files along the way."""
        if rel_dir in cache:
            return cache[rel_dir]
        if not rel_dir:
            spec = self.spec_for(self.root)
            levels = self.levels + ([("", spec)] if spec else [])
        else:
            parent = rel_dir[: rel_dir.rstrip("/").rfind("/") + 1]
            levels = self.levels_for(parent, cache)
            spec = self.spec_for(self.root / rel_dir)
            if spec:
                levels = [*levels, (rel_dir, spec)]  # a directory without ignore files shares its parent's list
        cache[rel_dir] = levels
        return levels

    @staticmethod
    def verdict(levels: Levels, rel: str, is_dir: bool) -> bool | None:
        """The user's rules on ``rel`` (root-relative POSIX): ``True`` ignored, ``False`` re-included (``!``),
        ``None`` when no rule matches. The deepest matching rule wins."""
        for prefix, spec in reversed(levels):
            sub = rel[len(prefix) :] if prefix else rel
            result = spec.check_file(sub + "/" if is_dir else sub)
            if result.include is not None:
                return bool(result.include)
        return None

    def default_ignored(self, rel: str, is_dir: bool) -> bool:
        """Whether a pattern of :data:`DEFAULT_IGNORES` ignores ``rel`` (consulted when no user rule matches)."""
        return bool(self.defaults.check_file(rel + "/" if is_dir else rel).include)


class _LazyNames:
    """``name in names`` answered by looking the name up in ``directory`` (for paths reached without a listing)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and os.path.lexists(self.directory / name)


def _has_cachedir_tag(directory: Path) -> bool:
    try:
        with open(directory / "CACHEDIR.TAG", "rb") as fh:
            return fh.read(len(CACHEDIR_TAG_SIGNATURE)) == CACHEDIR_TAG_SIGNATURE
    except OSError:
        return False


def is_generated_dir(directory: Path, names: Container[str], parent_names: Container[str]) -> bool:
    """Whether ``directory`` holds installed dependencies or build output, recognised by its contents rather
    than its name, so it is skipped by default (a user rule ``!name`` re-includes it).

    Recognised: a virtualenv (holds ``pyvenv.cfg``: venv, virtualenv, uv, Poetry, Pipenv), a conda environment
    (holds ``conda-meta/``), a cache directory (holds a ``CACHEDIR.TAG`` starting with
    :data:`CACHEDIR_TAG_SIGNATURE`), and a ``target`` directory beside a build file of
    :data:`TARGET_DIR_MANIFESTS`. Directories skipped by name (``node_modules``, ``__pycache__``, tool caches)
    are patterns of :data:`DEFAULT_IGNORES`.

    Args:
        directory: the directory in question.
        names: the names of the entries in ``directory``.
        parent_names: the names of the entries beside it (in its parent directory).
    """
    if "pyvenv.cfg" in names or "conda-meta" in names:
        return True
    if directory.name == "target" and any(manifest in parent_names for manifest in TARGET_DIR_MANIFESTS):
        return True
    return "CACHEDIR.TAG" in names and _has_cachedir_tag(directory)


def has_binary_extension(name: str) -> bool:
    """Whether a file name ends in an extension of :data:`BINARY_EXTENSIONS` (case-insensitive)."""
    dot = name.rfind(".")
    return dot > 0 and name[dot + 1 :].lower() in BINARY_EXTENSIONS


def _symlink_problem(link: Path, root: Path) -> str | None:
    """Why a symlink deserves a warning (loops, dangles, leaves the root), or ``None`` if it is harmless."""
    try:
        target = link.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports loops this way
        return "symlink loop"
    except OSError as exc:
        return "symlink loop" if exc.errno == errno.ELOOP else "broken symlink"
    if not target.is_relative_to(root):
        return "symlink points outside the repository (not followed)"
    if target.is_dir() and link.parent.resolve().is_relative_to(target):
        return "symlink loop (points to an ancestor directory; not followed)"
    return None


def undecodable_name(name: str) -> bool:
    """Whether a file name (as ``os.fsdecode`` gives it) is not valid UTF-8: its undecodable bytes became lone
    surrogates, which neither SQLite nor JSON can store. Such files are skipped and reported."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _printable(rel: str) -> str:
    """``rel`` with its undecodable bytes shown as U+FFFD, for a warning."""
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def walk_files(
    root: Path,
    *,
    max_file_bytes: int,
    skipped: list[Skipped] | None = None,
    binary: list[str] | None = None,
) -> Iterator[SourceFile]:
    """Yield the files under ``root`` that should be indexed, in a stable (sorted) order.

    Args:
        root: repository root (absolute or relative; resolved).
        max_file_bytes: larger files are skipped (and reported in ``skipped``).
        skipped: if given, receives a :class:`Skipped` for each file or directory passed over for a reason
            the user may want to know (too large, unreadable directory, symlink leaving the root or looping).
            Ignored files and harmless symlinks are not reported.
        binary: if given, receives the path of each file passed over, unread and unreported, because its
            extension names a binary format (:data:`BINARY_EXTENSIONS`).

    Yields:
        :class:`~codegraph.types.SourceFile` with ``path`` relative to ``root`` (POSIX separators) and the
        language detected from the name (``"text"`` when unknown; the shebang is read later).
    """
    root = root.resolve()
    rules = _Rules(root)
    notes = skipped if skipped is not None else []
    cache: dict[str, Levels] = {}
    # (directory, its root-relative prefix, whether only the built-in defaults judge it, its parent's names)
    stack: list[tuple[Path, str, bool, frozenset[str]]] = [(root, "", False, frozenset())]
    while stack:
        directory, rel_dir, by_default, parent_names = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            notes.append(Skipped(rel_dir or ".", f"cannot list directory: {exc.strerror or exc}"))
            continue
        names = frozenset(e.name for e in entries)
        if by_default and is_generated_dir(directory, names, parent_names):
            continue
        levels = rules.levels_for(rel_dir, cache)
        subdirs: list[tuple[Path, str, bool, frozenset[str]]] = []
        for entry in entries:
            rel = f"{rel_dir}{entry.name}"
            if undecodable_name(entry.name):
                notes.append(Skipped(_printable(rel), "file name is not valid UTF-8 (not indexed)"))
                continue
            if entry.is_symlink():
                # Never followed: a target inside the root is indexed at its real path; others are reported.
                reason = _symlink_problem(Path(entry.path), root)
                if reason:
                    notes.append(Skipped(rel, reason))
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                notes.append(Skipped(rel, f"cannot stat: {exc.strerror or exc}"))
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            if is_dir and entry.name in ALWAYS_SKIPPED_DIRS:
                continue
            verdict = _Rules.verdict(levels, rel, is_dir)
            if verdict or (verdict is None and rules.default_ignored(rel, is_dir)):
                continue
            if is_dir:
                subdirs.append((Path(entry.path), rel + "/", verdict is None, names))
            elif stat.S_ISREG(st.st_mode):
                if has_binary_extension(entry.name):
                    if binary is not None:
                        binary.append(rel)
                    continue
                if st.st_size > max_file_bytes:
                    notes.append(Skipped(rel, f"larger than {max_file_bytes} bytes ({st.st_size})"))
                    continue
                yield SourceFile(rel, entry.path, st.st_size, st.st_mtime_ns, detect_language(entry.name))
        stack.extend(reversed(subdirs))


def stat_paths(
    root: Path,
    rels: Iterable[str],
    *,
    max_file_bytes: int,
    skipped: list[Skipped] | None = None,
    binary: list[str] | None = None,
) -> list[SourceFile]:
    """The indexable files among repository-relative paths, judged as :func:`walk_files` would judge them.

    A path that is gone, ignored (itself or through a directory above it, including the generated directories
    of :func:`is_generated_dir`), a symlink, not a regular file, of a binary type (listed in ``binary``) or too
    large (reported in ``skipped``) is left out. Used to refresh a few files without walking the tree.
    """
    root = root.resolve()
    rules = _Rules(root)
    cache: dict[str, Levels] = {}
    notes = skipped if skipped is not None else []
    out: list[SourceFile] = []
    for rel in sorted(set(rels)):
        parts = rel.split("/")
        if any(part in ALWAYS_SKIPPED_DIRS for part in parts[:-1]):
            continue
        if undecodable_name(rel):
            notes.append(Skipped(_printable(rel), "file name is not valid UTF-8 (not indexed)"))
            continue
        ignored = False
        for depth in range(len(parts)):
            prefix = "/".join(parts[:depth])
            levels = rules.levels_for(prefix + "/" if prefix else "", cache)
            here, is_dir = "/".join(parts[: depth + 1]), depth < len(parts) - 1
            verdict = _Rules.verdict(levels, here, is_dir)
            if verdict is None:
                verdict = rules.default_ignored(here, is_dir) or (
                    is_dir and is_generated_dir(root / here, _LazyNames(root / here), _LazyNames(root / prefix))
                )
            if verdict:
                ignored = True
                break
        if ignored:
            continue
        path = root / rel
        try:
            st = path.lstat()
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        if has_binary_extension(parts[-1]):
            if binary is not None:
                binary.append(rel)
            continue
        if st.st_size > max_file_bytes:
            notes.append(Skipped(rel, f"larger than {max_file_bytes} bytes ({st.st_size})"))
            continue
        out.append(SourceFile(rel, str(path), st.st_size, st.st_mtime_ns, detect_language(parts[-1])))
    return out


def read_source(file: SourceFile) -> tuple[bytes, str, str]:
    """Read a discovered file as UTF-8 text and settle its language (shebang for extension-less files).

    Returns:
        ``(raw bytes, text, language)``; a UTF-8 BOM is dropped from the text.

    Raises:
        ValueError: the file is binary (NUL byte in the first :data:`BINARY_SNIFF_BYTES`), not valid UTF-8,
            is minified or generated (lines over :data:`MAX_LINE_CHARS` characters hold at least
            :data:`MINIFIED_LONG_LINE_SHARE` of its characters), or has no grammar and is over
            :data:`MAX_TEXT_FILE_BYTES` (data); the message is the reason to report.
        OSError: the file cannot be read (permission denied, vanished, replaced by a symlink since discovery).
    """
    try:  # O_NOFOLLOW: a file swapped for a symlink after the walk listed it is not followed either
        fd = os.open(file.abspath, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(exc.errno, "became a symlink after discovery (not followed)") from None
        raise
    with os.fdopen(fd, "rb") as fh:
        data = fh.read()
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        raise ValueError("binary file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 (byte {exc.start})") from None
    language = file.language
    if language == TEXT:
        language = detect_language(file.path, data[:256])
    if language == "c" and file.path.endswith(".h") and CPP_HEADER.search(text):
        language = "cpp"
    if language == TEXT and len(data) > MAX_TEXT_FILE_BYTES:
        raise ValueError(f"no grammar and larger than {MAX_TEXT_FILE_BYTES} bytes (likely data)")
    if len(data) > MAX_LINE_CHARS:
        long_chars = sum(n for n in map(len, text.splitlines()) if n > MAX_LINE_CHARS)
        if long_chars and long_chars >= MINIFIED_LONG_LINE_SHARE * len(text):
            raise ValueError(
                f"minified or generated: lines over {MAX_LINE_CHARS} characters hold {long_chars / len(text):.0%} of it"
            )
    return data, text, language
