"""``codegraph generate``: repository-grounded code generation and feedback revisions.

Flow: the caller retrieves context chunks (hybrid search for the request, in the target language); an optional
plan request (``--plan``); the generation request with the chunks quoted as data; strict parsing of the answer
(:func:`~codegraph.assist.prompts.parse_answer`); the snippet is stored with its metadata. Nothing generated is
executed here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..config import Settings
from ..store import IndexStore
from ..types import Hit, Snippet
from . import prompts
from .llm import Completion, complete
from .snippets import context_of, get_snippet, store_answer

TextFn = Callable[[str], None]


def generate_snippet(
    store: IndexStore,
    description: str,
    *,
    language: str,
    hits: Sequence[Hit],
    settings: Settings,
    plan: bool = False,
    on_text: TextFn | None = None,
    repo_map: str = "",
) -> Snippet:
    """Ask the model for code answering ``description`` with ``hits`` as context; store and return it.

    Args:
        store: the index store (snippets are saved in its database).
        description: the user's request (untrusted: quoted as data).
        language: an :data:`~codegraph.languages.ASSIST_LANGUAGES` id (``python``, ``typescript``, ``go``, ...).
        hits: retrieved context chunks, best first.
        settings: LLM settings.
        plan: ask for a short plan first and give it to the generation request (stored, not streamed).
        on_text: receives the generation's text as it streams.
        repo_map: the repository map (:func:`codegraph.graph.rank.repo_map`) given as extra context, or ``""``.

    Raises:
        LLMError: the API call failed.
        OutputError: the answer has no single fenced code block in ``language`` (nothing is stored).
    """
    plan_text: str | None = None
    usage = [0, 0]
    if plan:
        planned = complete(prompts.plan_messages(description, language, hits), settings)
        plan_text = planned.text.strip()
        _add(usage, planned)
    messages = prompts.generate_messages(description, language, hits, plan=plan_text, repo_map=repo_map)
    done = complete(messages, settings, on_text=on_text)
    _add(usage, done)
    answer = prompts.parse_answer(done.text, language)
    return store_answer(
        store,
        answer,
        origin="generate",
        language=language,
        prompt=description,
        model=done.model,
        usage=(usage[0], usage[1]),
        context=context_of(hits),
        default_title=prompts.fallback_title(description),
        plan=plan_text,
    )


def refine_snippet(
    store: IndexStore,
    snippet_id: int,
    feedback: str,
    *,
    hits: Sequence[Hit],
    settings: Settings,
    on_text: TextFn | None = None,
) -> Snippet:
    """A new revision of snippet ``snippet_id`` that addresses ``feedback`` (English or Japanese; the
    explanation answers in the feedback's language), linked to its parent.

    Raises:
        SnippetNotFoundError: no such snippet.
        LLMError, OutputError: as :func:`generate_snippet`.
    """
    parent = get_snippet(store, snippet_id)
    done = complete(
        prompts.refine_messages(parent.code, parent.language, _root_request(store, parent), feedback, hits),
        settings,
        on_text=on_text,
    )
    answer = prompts.parse_answer(done.text, parent.language)
    return store_answer(
        store,
        answer,
        origin="refine",
        language=parent.language,
        prompt=feedback,
        model=done.model,
        usage=(done.prompt_tokens, done.completion_tokens),
        context=context_of(hits),
        parent=parent,
    )


def _root_request(store: IndexStore, snippet: Snippet) -> str:
    """The original request of a revision chain (revisions store their feedback as ``prompt``)."""
    seen = set()
    while snippet.parent_id is not None and snippet.id not in seen and snippet.origin != "generate":
        seen.add(snippet.id)
        snippet = get_snippet(store, snippet.parent_id)
    return snippet.prompt


def _add(usage: list[int], done: Completion) -> None:
    usage[0] += done.prompt_tokens
    usage[1] += done.completion_tokens
