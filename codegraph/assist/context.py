"""The retrieval policy of ``generate`` and ``test``: which indexed chunks become the model's context, and which
language a request is answered in when the user names none."""

from __future__ import annotations

from collections.abc import Sequence

from ..config import Settings
from ..languages import ASSIST_LANGUAGES
from ..store import Store
from ..types import Hit

DEFAULT_LANGUAGE = "python"
"""Language of a request when neither ``--lang`` nor the retrieved context names a supported one."""


def retrieve_context(store: Store, query: str, *, language: str | None, k: int, settings: Settings) -> list[Hit]:
    """Context chunks for a request, best first: hybrid search restricted to ``language``, or over every
    language when that finds nothing (or ``language`` is ``None``); ``[]`` when ``k`` is 0.

    Args:
        store: the open index; its own model embeds the query (:func:`codegraph.embed.encoder_for_index`).
        query: the request text (the user's words, or the code under test).
        language: a language id, or ``None``.
        k: number of chunks (``>= 0``).
        settings: thread and batch settings for the query encoder.

    Raises:
        IndexUnusableError: the index has no model yet, or the installed model differs from the one that built it.
        ModelError: the index's model is not installed.
    """
    from ..embed import encoder_for_index
    from ..search import Filters, Searcher

    if k == 0:
        return []
    encoder = encoder_for_index(store.get_meta("model_id"), threads=settings.threads, batch_size=settings.batch_size)
    searcher = Searcher(store, encoder)
    hits: list[Hit] = []
    if language:
        hits = searcher.search(query, k=k, filters=Filters(languages=frozenset({language})))
    return hits or searcher.search(query, k=k)


def answer_language(requested: str | None, hits: Sequence[Hit]) -> str:
    """The language to answer in: ``requested``, else the best-ranked hit's language among
    :data:`~codegraph.languages.ASSIST_LANGUAGES`, else :data:`DEFAULT_LANGUAGE`."""
    return requested or next((h.language for h in hits if h.language in ASSIST_LANGUAGES), DEFAULT_LANGUAGE)
