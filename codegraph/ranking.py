"""Ranking signals that know code, applied by :mod:`codegraph.search` after the vector and BM25 rankings are
fused. Each one was measured alone on the dev set (``benchmarks/devset.py``; numbers in ``docs/eval.md``) and
is on by default only where it helped there.

* **Path classes**: tests, examples, vendored and generated code (:func:`path_class`) are demoted, kept or
  excluded (``--tests include|demote|exclude``): a user asking "how is an email validated" wants the
  validator, not three test files that call it.
* **Definition first**: a query that is a code identifier (``ConfigDict``, ``ThreadPoolExecutor``,
  ``parse_header``, ``Client.send``) ranks that identifier's definition first (:func:`identifier_query`); an
  identifier inside a longer query (``where is ZodError raised``) lifts its definition by a factor
  (:func:`query_identifiers`) rather than forcing it first, since a sentence often names a neighbour of what it
  describes ("like parse_args, but ...": forcing measured -0.017 MRR@10 on the dev set).
* **Identifier stems**: the share of a symbol's name parts (``retryUpload`` -> retry, upload) that occur,
  stemmed, among the query's words (:func:`stem_overlap`).
* **File coherence**: a result whose file holds other strong candidates gains a little (relevant code
  clusters in files).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .identifiers import split_identifier

MODES = ("hybrid", "semantic", "keyword")
"""Search modes: vector KNN and BM25 fused, vector KNN only, BM25 only."""

TEST_MODES = ("include", "demote", "exclude")
"""What search does with test, example, vendored and generated code."""

_DEMOTED_DIRS = re.compile(
    r"(?:^|/)(?P<dir>tests?|testing|__tests__|__mocks__|specs?|fixtures|testdata|examples?|samples?|demos?|"
    r"benches|benchmarks?|vendor|vendored|_vendor|third_party|node_modules|generated|__generated__)/",
    re.IGNORECASE,
)
_TEST_FILES = re.compile(
    r"(?:^|/)(?:test_[^/]*\.py|[^/]*_tests?\.(?:py|go|rs|c|cc|cpp)|conftest\.py|[^/]*\.(?:test|spec)\.[cm]?[jt]sx?|"
    r"[^/]*_spec\.rb|[^/]*_test\.rb|test_[^/]*\.rb|[^/]*Tests?\.(?:java|cs|kt))$"
)
_GENERATED_FILES = re.compile(r"(?:_pb2(?:_grpc)?\.pyi?|\.pb\.go|\.pb\.[ch]c?|\.generated\.[a-z]+|\.min\.js)$")

_DIR_CLASS = {
    "example": "example",
    "examples": "example",
    "sample": "example",
    "samples": "example",
    "demo": "example",
    "demos": "example",
    "vendor": "vendored",
    "vendored": "vendored",
    "_vendor": "vendored",
    "third_party": "vendored",
    "node_modules": "vendored",
    "generated": "generated",
    "__generated__": "generated",
}


def path_class(path: str) -> str | None:
    """``"test"``, ``"example"``, ``"vendored"``, ``"generated"`` or ``None`` (ordinary code), from the path.

    Args:
        path: repository-relative POSIX path.
    """
    if _GENERATED_FILES.search(path):
        return "generated"
    match = _DEMOTED_DIRS.search(path)
    if match:
        return _DIR_CLASS.get(match.group("dir").lower(), "test")
    if _TEST_FILES.search(path):
        return "test"
    return None


_IDENT = re.compile(r"[A-Za-z_$][\w$]*(?:(?:\.|::|#)[A-Za-z_$][\w$]*)*")
_CAMEL = re.compile(r"[a-z0-9][A-Z]|[A-Z]{2}[a-z]")


def _looks_like_code(word: str) -> bool:
    """snake_case, camelCase, PascalCase with two capitals, ``SCREAMING_CASE``, or a qualified name."""
    if any(sep in word for sep in (".", "::", "#")):
        return True
    core = word.strip("_$")
    return "_" in core or bool(_CAMEL.search(core)) or "$" in word


def identifier_query(query: str) -> str | None:
    """The identifier a query consists of, if it is nothing else: ``"ConfigDict"``, ``"Client.send"``,
    ``"parse_header()"``, `` `ZodError` `` (backticks and a trailing ``()`` are ignored); else ``None``."""
    text = query.strip().strip("`").strip()
    text = text.removesuffix("()")
    words = _IDENT.findall(text)
    return words[0] if len(words) == 1 and words[0] == text else None


def query_identifiers(query: str) -> list[str]:
    """Code identifiers in a query, in order: every word that looks like code (see above), or the query itself
    when it is one bare word (``"debounce"``). Qualified names keep their separators (``Client.send``).

    Returns:
        Distinct identifiers; empty for plain English.
    """
    words = _IDENT.findall(query)
    if len(words) == 1 and query.strip() == words[0]:
        return words
    out: list[str] = []
    for word in words:
        if _looks_like_code(word) and word not in out:
            out.append(word)
    return out


def split_qualified(name: str) -> tuple[str | None, str]:
    """``"Client.send"`` -> ``("Client", "send")``; ``"Type::method"`` and ``"Class#method"`` likewise;
    a bare name -> ``(None, name)``."""
    parts = re.split(r"\.|::|#", name)
    return (".".join(parts[:-1]) or None, parts[-1])


_SUFFIXES = ("ings", "ing", "ers", "er", "ies", "es", "ed", "s")


def stem(word: str) -> str:
    """A light suffix-stripping stemmer for matching query words to identifier parts (``retries`` ~
    ``retry``, ``parsing`` ~ ``parse``): lower-case, then the first of -ings -ing -ers -er -ies -es -ed -s that
    leaves at least 3 letters is cut (-ies becomes -y); a trailing ``e`` is dropped so that parse/parsing
    agree."""
    w = word.lower()
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    return w[:-1] if w.endswith("e") and len(w) > 3 else w


def query_stems(query: str, stopwords: Iterable[str]) -> frozenset[str]:
    """Stems of the query's words and identifier parts, stopwords and one-letter words dropped."""
    stop = set(stopwords)
    out: set[str] = set()
    for word in re.findall(r"[A-Za-z][A-Za-z0-9_]*", query):
        for part in (word, *split_identifier(word)):
            low = part.lower()
            if len(low) > 1 and low not in stop:
                out.add(stem(low))
    return frozenset(out)


def stem_overlap(symbol: str | None, stems: frozenset[str]) -> float:
    """Share (0..1) of the symbol's name parts whose stem is among ``stems``; 0 without a symbol."""
    if not symbol or not stems:
        return 0.0
    name = split_qualified(symbol)[1]
    parts = [stem(p) for p in split_identifier(name) if len(p) > 1]
    if not parts:
        return 0.0
    return sum(p in stems for p in parts) / len(parts)
