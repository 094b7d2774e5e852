"""The retrieval policy of ``generate`` and ``test``: which indexed chunks become the model's context, and which
language a request is answered in when the user names none."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..config import Settings
from ..errors import ConfigError
from ..languages import ASSIST_DIALECTS, ASSIST_LANGUAGES, assist_language
from ..store import IndexStore
from ..types import Hit

if TYPE_CHECKING:
    from ..embed.protocol import Embedder

DEFAULT_LANGUAGE = "python"
"""Language of a request when neither ``--lang`` nor the retrieved context names a supported one and the index
was not consulted (``answer_language(..., counts=None)``)."""


def retrieve_context(
    store: IndexStore, query: str, *, language: str | None, k: int, settings: Settings, encoder: Embedder | None = None
) -> list[Hit]:
    """Context chunks for a request, best first: hybrid search restricted to ``language`` (and its dialects: TSX for
    TypeScript), or over every language when that finds nothing (or ``language`` is ``None``); ``[]`` when ``k``
    is 0.

    Args:
        store: the open index; its own model embeds the query (:func:`codegraph.embed.encoder_for_index`).
        query: the request text (the user's words, or the code under test).
        language: a language id, or ``None``.
        k: number of chunks (``>= 0``).
        settings: thread and batch settings for the query encoder.
        encoder: the index's model, already loaded (a long-running server keeps one); ``None`` loads it.

    Raises:
        IndexUnusableError: the index has no model yet, or the installed model differs from the one that built it.
        ModelError: the index's model is not installed.
    """
    from ..embed import encoder_for_index
    from ..search import Filters, Searcher

    if k == 0:
        return []
    if encoder is None:
        encoder = encoder_for_index(
            store.get_meta("model_id"), threads=settings.threads, batch_size=settings.batch_size, settings=settings
        )
    searcher = Searcher(store, encoder)
    hits: list[Hit] = []
    if language:
        dialects = {name for name, of in ASSIST_DIALECTS.items() if of == language}  # TypeScript: TSX too
        hits = searcher.search(query, k=k, filters=Filters(languages=frozenset({language, *dialects})))
    return hits or searcher.search(query, k=k)


def indexed_language_counts(store: IndexStore) -> dict[str, int]:
    """Indexed files per :data:`~codegraph.languages.ASSIST_LANGUAGES` id (TSX files count as TypeScript), most
    first (ties in the list's order); languages without files are left out."""
    counts: Counter[str] = Counter()
    for language in [*ASSIST_LANGUAGES, *ASSIST_DIALECTS]:
        files = len(store.indexed_files(language))
        supported = assist_language(language)
        if files and supported:
            counts[supported] += files
    return dict(counts.most_common())


def answer_language(requested: str | None, hits: Sequence[Hit], counts: Mapping[str, int] | None = None) -> str:
    """The language to answer in, first match wins: ``requested`` (``--lang``); the best-ranked hit whose language
    is supported (:func:`~codegraph.languages.assist_language`: a TSX hit answers in TypeScript); the supported
    language with the most indexed files (``counts``, from :func:`indexed_language_counts`); with
    ``counts=None`` (the index not consulted), :data:`DEFAULT_LANGUAGE`.

    Raises:
        ConfigError: ``counts`` is given and the index holds no file in a supported language (the message lists
            them and says to choose one with ``--lang``).
    """
    if requested:
        return requested
    for hit in hits:
        supported = assist_language(hit.language)
        if supported:
            return supported
    if counts is None:
        return DEFAULT_LANGUAGE
    if counts:
        return max(counts, key=lambda language: counts[language])
    raise ConfigError(
        f"the index has no code in a language generate writes; choose one with --lang ({' | '.join(ASSIST_LANGUAGES)})"
    )


REPO_MAP_TOKENS = 512
"""Token budget of the repository map ``generate`` adds to its context (about 2 KB of signatures)."""


def repo_map_context(store: IndexStore, *, tokens: int = REPO_MAP_TOKENS) -> str:
    """The repository map for ``generate``'s prompt, or ``""`` for an index without a code graph."""
    from ..graph.query import Graph
    from ..graph.rank import repo_map

    if not store.get_meta("graph_version"):
        return ""
    return repo_map(Graph(store), tokens=tokens).text
