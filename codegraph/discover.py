"""Discovery: walk a repository and yield the files to index.

Ignore rules, with git's precedence (a deeper file overrides a shallower one; a later line overrides an
earlier one; ``!pattern`` re-includes): built-in defaults (lock files, minified bundles, source maps), then
``.git/info/exclude``, then every ``.gitignore`` and ``.codegraphignore`` from the root down to the file's
directory. Patterns are matched with ``pathspec``'s ``GitIgnoreSpec`` (gitignore semantics). As in git, an
ignored directory is not entered, so nothing below it can be re-included.

Always skipped: ``.git``, ``.codegraph``, other VCS metadata dirs, and symlinks: they are never followed
(so they cannot loop); a target inside the root is indexed at its real path, and a link that loops, dangles
or leaves the root is reported. Files larger than
``max_file_bytes`` are reported as skipped. Binary and undecodable files are detected when the indexer reads
them (see :func:`read_source`).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
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
)
"""Built-in ignore patterns: generated files that only add noise to code search (re-include with ``!name``)."""

BINARY_SNIFF_BYTES = 8192
"""A file whose first this many bytes hold a NUL byte is binary (git's heuristic)."""


MAX_TEXT_FILE_BYTES = 256_000
"""Files without a grammar above this size are treated as data, not indexed (bytes)."""

MAX_LINE_CHARS = 2_000
"""A file with a longer line is treated as minified or generated, not indexed."""


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


class _Rules:
    """Stack of (directory prefix, spec) pairs from the root down to the current directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        lines = list(DEFAULT_IGNORES) + _read_patterns(root / ".git" / "info" / "exclude")
        self.levels: list[tuple[str, pathspec.GitIgnoreSpec]] = [("", pathspec.GitIgnoreSpec.from_lines(lines))]

    def spec_for(self, directory: Path) -> pathspec.GitIgnoreSpec | None:
        lines: list[str] = []
        for name in IGNORE_FILES:
            lines += _read_patterns(directory / name)
        return pathspec.GitIgnoreSpec.from_lines(lines) if any(line.strip() for line in lines) else None

    def levels_for(
        self, rel_dir: str, cache: dict[str, list[tuple[str, pathspec.GitIgnoreSpec]]]
    ) -> list[tuple[str, pathspec.GitIgnoreSpec]]:
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
    def ignored(levels: list[tuple[str, pathspec.GitIgnoreSpec]], rel: str, is_dir: bool) -> bool:
        """Deepest rule that matches wins; ``rel`` is root-relative POSIX."""
        for prefix, spec in reversed(levels):
            sub = rel[len(prefix) :] if prefix else rel
            result = spec.check_file(sub + "/" if is_dir else sub)
            if result.include is not None:
                return bool(result.include)
        return False


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


def walk_files(root: Path, *, max_file_bytes: int, skipped: list[Skipped] | None = None) -> Iterator[SourceFile]:
    """Yield the files under ``root`` that should be indexed, in a stable (sorted) order.

    Args:
        root: repository root (absolute or relative; resolved).
        max_file_bytes: larger files are skipped (and reported in ``skipped``).
        skipped: if given, receives a :class:`Skipped` for each file or directory passed over for a reason
            the user may want to know (too large, unreadable directory, symlink leaving the root or looping).
            Ignored files and harmless symlinks are not reported.

    Yields:
        :class:`~codegraph.types.SourceFile` with ``path`` relative to ``root`` (POSIX separators) and the
        language detected from the name (``"text"`` when unknown; the shebang is read later).
    """
    root = root.resolve()
    rules = _Rules(root)
    notes = skipped if skipped is not None else []
    cache: dict[str, list[tuple[str, pathspec.GitIgnoreSpec]]] = {}
    stack: list[tuple[Path, str]] = [(root, "")]
    while stack:
        directory, rel_dir = stack.pop()
        levels = rules.levels_for(rel_dir, cache)
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            notes.append(Skipped(rel_dir or ".", f"cannot list directory: {exc.strerror or exc}"))
            continue
        subdirs: list[tuple[Path, str]] = []
        for entry in entries:
            rel = f"{rel_dir}{entry.name}"
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
            if _Rules.ignored(levels, rel, is_dir):
                continue
            if is_dir:
                subdirs.append((Path(entry.path), rel + "/"))
            elif stat.S_ISREG(st.st_mode):
                if st.st_size > max_file_bytes:
                    notes.append(Skipped(rel, f"larger than {max_file_bytes} bytes ({st.st_size})"))
                    continue
                yield SourceFile(rel, entry.path, st.st_size, st.st_mtime_ns, detect_language(entry.name))
        stack.extend(reversed(subdirs))


def stat_paths(
    root: Path, rels: Iterable[str], *, max_file_bytes: int, skipped: list[Skipped] | None = None
) -> list[SourceFile]:
    """The indexable files among repository-relative paths, judged as :func:`walk_files` would judge them.

    A path that is gone, ignored (itself or through a directory above it), a symlink, not a regular file, or
    too large (reported in ``skipped``) is left out. Used to refresh a few files without walking the tree.
    """
    root = root.resolve()
    rules = _Rules(root)
    cache: dict[str, list[tuple[str, pathspec.GitIgnoreSpec]]] = {}
    notes = skipped if skipped is not None else []
    out: list[SourceFile] = []
    for rel in sorted(set(rels)):
        parts = rel.split("/")
        if any(part in ALWAYS_SKIPPED_DIRS for part in parts[:-1]):
            continue
        ignored = False
        for depth in range(len(parts)):
            prefix = "/".join(parts[:depth])
            levels = rules.levels_for(prefix + "/" if prefix else "", cache)
            if _Rules.ignored(levels, "/".join(parts[: depth + 1]), depth < len(parts) - 1):
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
            has a line over :data:`MAX_LINE_CHARS` characters (minified/generated), or has no grammar and is
            over :data:`MAX_TEXT_FILE_BYTES` (data); the message is the reason to report.
        OSError: the file cannot be read (permission denied, vanished).
    """
    data = Path(file.abspath).read_bytes()
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        raise ValueError("binary file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 (byte {exc.start})") from None
    language = file.language
    if language == TEXT:
        language = detect_language(file.path, data[:256])
    if language == TEXT and len(data) > MAX_TEXT_FILE_BYTES:
        raise ValueError(f"no grammar and larger than {MAX_TEXT_FILE_BYTES} bytes (likely data)")
    if len(data) > MAX_LINE_CHARS and max(map(len, text.splitlines()), default=0) > MAX_LINE_CHARS:
        raise ValueError(f"has a line over {MAX_LINE_CHARS} characters (minified or generated)")
    return data, text, language
