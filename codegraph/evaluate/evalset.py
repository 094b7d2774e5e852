"""The eval set: documented functions of a repository become (query, target) pairs, and a copy of the repository
with the targets' doc comments deleted is written for indexing (see :mod:`codegraph.evaluate`)."""

from __future__ import annotations

import random
import shutil
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings, resolve_settings
from ..discover import read_source, walk_files
from ..docstrings import DocumentedDef, find_documented, normalize_query, query_ok, strip_docs
from ..errors import ConfigError, EvalError, SourceError
from ..ranking import path_class

if TYPE_CHECKING:
    pass

DEFAULT_LIMIT = 200
DEFAULT_SEED = 1729
"""The dev benchmark's sampling seed."""

_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class EvalQuery:
    """One query and its one target.

    Attributes:
        id: ``"<language>-<n>"``, numbered in path order within the language (stable for a seed).
        language: language id of the target.
        query: the first sentence of the target's doc comment.
        path: repository-relative POSIX path of the target's file.
        start_line: first line of the target in the stripped copy (1-based; decorators/attributes included).
        end_line: last line of the target in the stripped copy (1-based, inclusive).
        symbol: qualified symbol (``Class.method``, ``Recv.Method``).
    """

    id: str
    language: str
    query: str
    path: str
    start_line: int
    end_line: int
    symbol: str

    def to_json(self) -> dict[str, Any]:
        """The query as a JSON-ready dict (the fields above)."""
        return {
            "id": self.id,
            "language": self.language,
            "query": self.query,
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "symbol": self.symbol,
        }


@dataclass(frozen=True, slots=True)
class EvalSet:
    """Queries over one repository and what is needed to write its stripped copy.

    Attributes:
        root: the repository (absolute).
        queries: the sampled queries, ordered by language, then path and line.
        files: every discovered file (repository-relative POSIX paths): the copy holds exactly these.
        stripped: text of each file that holds a target, with the targets' doc comments deleted.
        documented: documented functions found (every language with doc-comment support).
        candidates: those left after the filters, per language (before sampling).
        dropped: documented functions left out, by reason: ``"language"`` (not in ``languages``), ``"path"``
            (test, example, vendored or generated code), ``"query"`` (first sentence too short, boilerplate, ...),
            ``"duplicate"`` (the same query for several functions), ``"unmapped"`` (the target could not be
            re-located in the stripped text).
        seed: the sampling seed.
        limit: the most queries asked for.
    """

    root: Path
    queries: tuple[EvalQuery, ...]
    files: tuple[str, ...]
    stripped: Mapping[str, str]
    documented: int
    candidates: Mapping[str, int]
    dropped: Mapping[str, int]
    seed: int
    limit: int

    def languages(self) -> dict[str, int]:
        """Queries per language id, in language order."""
        return dict(Counter(q.language for q in self.queries))

    def to_json(self) -> dict[str, Any]:
        """Summary and queries as a JSON-ready dict (the stripped texts are left out)."""
        return {
            "root": str(self.root),
            "seed": self.seed,
            "limit": self.limit,
            "files": len(self.files),
            "documented": self.documented,
            "candidates": dict(self.candidates),
            "dropped": dict(self.dropped),
            "languages": self.languages(),
            "queries": [q.to_json() for q in self.queries],
        }


def remap_line(line: int, deleted: Sequence[tuple[int, int]]) -> int:
    """Where a line lands once some whole lines are deleted.

    Args:
        line: 1-based line number in the original text.
        deleted: deleted line ranges (1-based, inclusive), sorted and not overlapping.

    Returns:
        The 1-based line number in the text without the deleted lines. A deleted line maps to the line that
        follows the deletion.
    """
    shift = 0
    for first, last in deleted:
        if first > line:
            break
        shift += min(last, line - 1) - first + 1
    return line - shift


def _merge(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _sample(groups: dict[str, list[DocumentedDef]], limit: int, seed: int) -> list[DocumentedDef]:
    """Shuffle each language's candidates with one seeded generator, then take one per language in turn."""
    rng = random.Random(seed)
    order = sorted(groups)
    for language in order:
        rng.shuffle(groups[language])
    picked: list[DocumentedDef] = []
    cursor = dict.fromkeys(order, 0)
    while len(picked) < limit:
        progressed = False
        for language in order:
            if len(picked) >= limit:
                break
            if cursor[language] < len(groups[language]):
                picked.append(groups[language][cursor[language]])
                cursor[language] += 1
                progressed = True
        if not progressed:
            break
    return picked


def build_eval_set(
    root: Path,
    *,
    limit: int = DEFAULT_LIMIT,
    seed: int = DEFAULT_SEED,
    languages: frozenset[str] | None = None,
    settings: Settings | None = None,
) -> EvalSet:
    """Find the repository's documented functions and sample queries from them (reads files, writes nothing).

    Files are discovered by :func:`codegraph.discover.walk_files`, so ignore rules and size limits apply.
    A documented function (:func:`codegraph.docstrings.find_documented`: not nested, doc removable as whole
    lines, body of 3+ code lines) is a candidate when its path is ordinary code
    (:func:`codegraph.ranking.path_class` is ``None``), its query passes :func:`codegraph.docstrings.query_ok`,
    and no other documented function has the same query (compared by :func:`~codegraph.docstrings.normalize_query`;
    every member of such a group is dropped as ambiguous). Up to ``limit`` candidates are sampled with
    ``random.Random(seed)``, round-robin across languages, as the dev benchmark samples (seed 1729).

    Args:
        root: repository root.
        limit: most queries (>= 1).
        seed: sampling seed; the same repository and seed give the same queries.
        languages: take queries only from these language ids (``None``: all); the copy keeps every file.
        settings: resolved settings (``max_file_bytes``); default: resolved from ``root``.

    Returns:
        The :class:`EvalSet`, with each target's lines as they are in the stripped copy.

    Raises:
        SourceError: ``root`` does not exist or is not a directory.
        ConfigError: ``limit`` < 1.
        EvalError: no documented function made a usable query.
    """
    if not root.is_dir():
        raise SourceError(f"{root}: no such directory" if not root.exists() else f"{root}: not a directory")
    if limit < 1:
        raise ConfigError(f"limit must be at least 1, got {limit}")
    root = root.resolve()
    settings = settings or resolve_settings(root)
    files: list[str] = []
    texts: dict[str, str] = {}
    found: list[DocumentedDef] = []
    for file in walk_files(root, max_file_bytes=settings.max_file_bytes):
        files.append(file.path)
        try:
            _data, text, language = read_source(file)
        except (OSError, ValueError):
            continue  # copied as bytes; indexing the copy reports it
        defs = find_documented(file.path, language, text)
        if defs:
            texts[file.path] = text
            found.extend(defs)

    dropped: Counter[str] = Counter()
    seen = Counter(normalize_query(d.query) for d in found if d.query)
    groups: dict[str, list[DocumentedDef]] = defaultdict(list)
    for d in found:
        if languages is not None and d.language not in languages:
            dropped["language"] += 1
        elif path_class(d.path) is not None:
            dropped["path"] += 1
        elif not query_ok(d.query):
            dropped["query"] += 1
        elif seen[normalize_query(d.query)] > 1:
            dropped["duplicate"] += 1
        else:
            groups[d.language].append(d)
    candidates = {language: len(groups[language]) for language in sorted(groups)}
    picked = _sample(groups, limit, seed)

    by_file: dict[str, list[DocumentedDef]] = defaultdict(list)
    for d in picked:
        by_file[d.path].append(d)
    stripped: dict[str, str] = {}
    located: list[tuple[DocumentedDef, int, int]] = []
    for path, defs in sorted(by_file.items()):
        text = texts[path]
        new_text = strip_docs(text, defs)
        new_lines = [line.removesuffix("\r") for line in new_text.split("\n")]
        deleted = _merge([d.doc_lines for d in defs])
        kept = 0
        for d in sorted(defs, key=lambda d: d.start_line):
            start, end = remap_line(d.start_line, deleted), remap_line(d.end_line, deleted)
            if new_lines[start - 1 : end] != d.code.split("\n"):
                dropped["unmapped"] += 1  # defensive: the remapped lines must hold exactly the target's code
                continue
            located.append((d, start, end))
            kept += 1
        if kept:
            stripped[path] = new_text
    if not located:
        kinds = "Python docstrings, JSDoc /** */, Go/Rust/Ruby/C# doc lines, Javadoc"
        raise EvalError(
            f"no documented functions found in {root} (codegraph eval needs functions with doc comments: {kinds}; "
            f"a body of 3+ code lines and a first sentence of 5+ words, outside test/example/vendored code)"
            + (f"; {len(found)} documented function(s) were filtered out" if found else "")
        )
    located.sort(key=lambda item: (item[0].language, item[0].path, item[1]))
    numbers: Counter[str] = Counter()
    queries: list[EvalQuery] = []
    for d, start, end in located:
        numbers[d.language] += 1
        queries.append(
            EvalQuery(
                id=f"{d.language}-{numbers[d.language]:04d}",
                language=d.language,
                query=d.query,
                path=d.path,
                start_line=start,
                end_line=end,
                symbol=d.qualified_symbol,
            )
        )
    # Texts read with a BOM (dropped by read_source) get it back, so the copy differs only by deleted lines.
    for path in stripped:
        if (root / path).read_bytes().startswith(_BOM.encode()):
            stripped[path] = _BOM + stripped[path]
    return EvalSet(
        root=root,
        queries=tuple(queries),
        files=tuple(files),
        stripped=stripped,
        documented=len(found),
        candidates=candidates,
        dropped=dict(sorted(dropped.items())),
        seed=seed,
        limit=limit,
    )


def materialise(eval_set: EvalSet, dest: Path) -> None:
    """Write the stripped copy: every discovered file, the targets' files without the targets' doc comments.

    Only ``dest`` is written; the original repository is only read.

    Args:
        eval_set: from :func:`build_eval_set`.
        dest: a directory that does not exist or is empty, outside the repository.

    Raises:
        EvalError: ``dest`` is inside the repository, or is not an empty directory.
        OSError: a file could not be read or written.
    """
    dest = dest.resolve()
    root = eval_set.root
    if dest == root or dest.is_relative_to(root):
        raise EvalError(
            f"{dest}: the copy must be written outside the repository {root} (set TMPDIR to a directory outside it)"
        )
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise EvalError(f"{dest}: not an empty directory; give a new or empty directory for the copy")
    dest.mkdir(parents=True, exist_ok=True)
    for rel in eval_set.files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        text = eval_set.stripped.get(rel)
        if text is None:
            shutil.copyfile(root / rel, target)
        else:
            target.write_bytes(text.encode("utf-8", "surrogatepass"))
