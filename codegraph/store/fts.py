"""Text for keyword search (FTS5 BM25 in SQLite, ``tsvector`` in PostgreSQL): identifiers split on snake_case
and camelCase boundaries.

``parseHTTPResponse_v2`` is indexed as ``parseHTTPResponse_v2 parse http response v2`` so that a query word
("response") finds it, while the whole identifier still matches exactly. FTS5's ``porter unicode61``
tokenizer then lower-cases and stems every word.
"""

from __future__ import annotations

import re

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
