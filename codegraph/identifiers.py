"""Identifier splitting (snake_case, camelCase, acronyms, digits), shared by the embedded text and FTS."""

from __future__ import annotations

import re
from functools import lru_cache

# camelCase / PascalCase / acronym / digit boundaries: "parseHTTPResponse2" -> parse, HTTP, Response, 2
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def split_identifier(word: str) -> list[str]:
    """Lower-cased parts of an identifier: ``"getHTTPResponse_v2"`` → ``["get", "http", "response", "v2"]``.

    Digits stay attached to a preceding part only when written so (``v2``); ``"utf8Decode"`` gives
    ``["utf", "8", "decode"]``. Results are memoised (LRU, 65,536 identifiers: identifiers repeat heavily in
    code, and FTS indexing splits every one); each call returns a fresh list.
    """
    return list(_split(word))


@lru_cache(maxsize=1 << 16)
def _split(word: str) -> tuple[str, ...]:
    parts: list[str] = []
    for piece in word.split("_"):
        if not piece:
            continue
        if piece.islower() or piece.isupper() or piece.isdigit():
            parts.append(piece.lower())
        else:
            parts.extend(p.lower() for p in _PARTS.findall(piece))
    return tuple(parts)
