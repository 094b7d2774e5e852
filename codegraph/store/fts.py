"""Text for keyword search (FTS5 BM25 in SQLite, ``tsvector`` in PostgreSQL): identifiers split on snake_case
and camelCase boundaries.

``parseHTTPResponse_v2`` is indexed as ``parseHTTPResponse_v2 parse http response v2`` so that a query word
("response") finds it, while the whole identifier still matches exactly. FTS5's ``porter unicode61``
tokenizer then lower-cases and stems every word.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence

from ..identifiers import split_identifier

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")
STOPWORDS = frozenset(
    "a an and are as at be by for from has have if in into is it its of on or that the this to was were will "
    "with which when where who how what does do given returns return get gets set sets use used using should "
    "can may all any each not no".split()
)
"""Query words dropped before keyword search: English function words frequent in doc-comment queries."""


def fts_text(text: str) -> str:
    """Identifier-expanded text for indexing: each identifier, followed by its parts when it has several."""
    out: list[str] = []
    for word in _IDENT.findall(text):
        out.append(word)
        parts = split_identifier(word)
        if len(parts) > 1:
            out.extend(parts)
    return " ".join(out)


def fts_terms(query: str) -> list[str]:
    """The query's searchable terms, in order and without repeats: each word lower-cased, then its identifier
    parts; stopwords (:data:`STOPWORDS`) and one-letter terms dropped. Every term matches ``[a-z0-9_]+``."""
    terms: list[str] = []
    for word in _IDENT.findall(query):
        candidates = [word.lower(), *split_identifier(word)]
        for term in candidates:
            if term and term not in STOPWORDS and term not in terms and len(term) > 1:
                terms.append(term)
    return terms


def fts_query(query: str) -> str | None:
    """An FTS5 MATCH expression that ORs the query's words and identifier parts (:func:`fts_terms`).

    Returns:
        The expression (each term double-quoted, so FTS5 syntax in the query is inert), or ``None`` when the
        query has no searchable word.
    """
    terms = fts_terms(query)
    if not terms:
        return None
    return " OR ".join(f'"{t}"' for t in terms)


KEYWORD_CANDIDATES = 300
"""Keyword candidates (best by FTS5 ``bm25()``) that :func:`rescore_keywords` orders; each more costs a
``highlight()`` pass. Dev set (2026-11-26): keyword MRR@10 ``fast`` 0.417 -> 0.487 with 300."""

OCCURRENCE_WEIGHTS = (0.25, 1.0, 0.25)
"""Weight of one occurrence of a query term in each FTS column (path, symbol, body) for
:func:`rescore_keywords`: a symbol hit is worth 4x, as ``BM25_WEIGHTS`` and the PostgreSQL store's
``RANK_WEIGHTS`` (chosen on the dev set)."""

MARK_OPEN, MARK_CLOSE = "\x01", "\x02"
"""What ``highlight()`` is asked to put around each matched token (characters no indexed text contains)."""

_MARKED = re.compile(MARK_OPEN + "([^" + MARK_CLOSE + "]*)" + MARK_CLOSE)
_TOKEN = re.compile(r"[^\W_]+")


def idf(total: int, df: int) -> float:
    """BM25 inverse document frequency ``ln(1 + (N - n + 0.5) / (n + 0.5))`` (Robertson-Spärck Jones with
    Lucene's ``1 +``, so never negative) of a term found in ``df`` of ``total`` rows."""
    return math.log(1.0 + (total - df + 0.5) / (df + 0.5))


def occurrence_score(counts: Sequence[int], weights: Sequence[float] = OCCURRENCE_WEIGHTS) -> float:
    """A term's weight in one row from how often it occurs in each column, in the shape of PostgreSQL's
    ``ts_rank`` (``calc_rank_or`` in ``src/backend/utils/adt/tsrank.c``): the occurrences' column weights sorted
    heaviest first, the j-th (0-based) divided by ``(j + 1) ** 2``. Repeating a word adds little, and one symbol
    hit (1.0) outweighs any number of body hits (0.25 each, at most ``0.25 * pi**2 / 6`` together).

    Args:
        counts: occurrences per column (path, symbol, body), >= 0.
        weights: each column's occurrence weight.
    """
    score, j = 0.0, 0
    for weight, n in sorted(zip(weights, counts, strict=True), reverse=True):
        if n:
            score += weight * (_inverse_squares(j + n) - _inverse_squares(j))
            j += n
    return score


_SQUARES = [0.0]


def _inverse_squares(n: int) -> float:
    """``sum(1 / (j + 1) ** 2 for j in range(n))``, from a table grown on demand."""
    while len(_SQUARES) <= n:
        _SQUARES.append(_SQUARES[-1] + 1.0 / len(_SQUARES) ** 2)
    return _SQUARES[n]


def rescore_keywords(
    terms: Sequence[str],
    dfs: Sequence[int],
    total: int,
    rows: Iterable[tuple[int, Sequence[str | None]]],
) -> list[tuple[int, float]]:
    """Order keyword candidates by the sum over query terms of ``idf * occurrence_score``.

    FTS5's ``bm25()`` sums term frequency with length normalisation, so a long body that repeats a query word
    can outrank the function named by it; PostgreSQL's ``ts_rank`` does not (dev set, lenient MRR@10 with the
    ``code`` model, hybrid: 0.558 -> 0.572 with this rescoring; ``docs/postgres.md#keyword-ranking``).

    Args:
        terms: the query's terms (:func:`fts_terms`), lower case.
        dfs: rows that match each term (same order as ``terms``).
        total: rows in the full-text index.
        rows: ``(rowid, (path, symbol, body))`` of each candidate, best ``bm25()`` first, each column as
            ``highlight()`` gives it with :data:`MARK_OPEN`/:data:`MARK_CLOSE` around matched tokens (``None``
            for a NULL column). A matched token is credited to the term with which it shares the longest prefix
            (the porter stemmer matched it to one of them; stems are prefixes but for a final ``y`` -> ``i``).

    Returns:
        ``[(rowid, score)]``, best first; ties keep the ``bm25()`` order.
    """
    weights = [idf(total, df) if df else 0.0 for df in dfs]
    owner: dict[str, int] = {}

    def term_of(token: str) -> int:
        found = owner.get(token)
        if found is None:
            found = max(range(len(terms)), key=lambda i: (len(os.path.commonprefix((token, terms[i]))), -i))
            owner[token] = found
        return found

    scored: list[tuple[int, float]] = []
    for rowid, columns in rows:
        counts: dict[int, list[int]] = {}
        for column, text in enumerate(columns):
            for span, n in Counter(_MARKED.findall(text or "")).items():
                for token in _TOKEN.findall(span.lower()):
                    counts.setdefault(term_of(token), [0, 0, 0])[column] += n
        scored.append((rowid, sum(weights[t] * occurrence_score(c) for t, c in counts.items())))
    order = sorted(range(len(scored)), key=lambda i: (-scored[i][1], i))
    return [scored[i] for i in order]
