"""Chat completions through the ``openai`` client against any OpenAI-compatible server.

OpenAI itself, or a local Ollama / llama.cpp / vLLM server via ``llm_base_url``. One of the two modules that
import ``openai`` (with :mod:`codegraph.embed.remote`; ruff's banned-api rule enforces that); it is imported
lazily, so ``index`` and ``search`` with a local model never pay for it.

The API key is read from the environment variable named by ``llm_api_key_env`` (default ``OPENAI_API_KEY``)
at call time; it is never printed, logged or stored. A local server without authentication still needs a
value (the ``openai`` client insists): any non-empty string works there.

Retries: the ``openai`` client retries connection errors, 408, 409, 429 and 5xx responses with exponential
backoff and honours ``Retry-After``; :data:`MAX_RETRIES` bounds the attempts, ``llm_timeout_s`` each one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import Settings
from ..errors import LLMError

MAX_RETRIES = 3
"""Retries after the first attempt for retryable failures (429, 5xx, connection errors)."""

log = logging.getLogger("codegraph.llm")


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message: ``role`` is ``system``, ``user`` or ``assistant``."""

    role: str
    content: str


@dataclass(frozen=True, slots=True)
class Completion:
    """A finished chat completion.

    Attributes:
        text: the whole answer.
        model: the model name the server reported.
        prompt_tokens: input tokens billed (0 when the server does not report usage).
        completion_tokens: output tokens billed (0 when not reported).
    """

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int


def api_key(settings: Settings) -> str:
    """The API key from the environment variable ``settings.llm_api_key_env``.

    Raises:
        LLMError: the variable is unset or empty.
    """
    key = os.environ.get(settings.llm_api_key_env, "")
    if not key:
        raise LLMError(
            f"no API key: set {settings.llm_api_key_env} (for a local server without authentication any value "
            "works), or point CODEGRAPH_LLM_API_KEY_ENV at the variable that holds it"
        )
    return key


def _client(settings: Settings) -> Any:
    import openai

    return openai.OpenAI(
        api_key=api_key(settings),
        base_url=settings.llm_base_url,
        timeout=float(settings.llm_timeout_s),
        max_retries=MAX_RETRIES,
    )


def _where(settings: Settings) -> str:
    return settings.llm_base_url or "https://api.openai.com/v1"


def _translate(exc: Exception, settings: Settings) -> LLMError:
    """One-line, fix-giving message for an ``openai`` exception (the key never appears in it)."""
    import openai

    where = _where(settings)
    if isinstance(exc, openai.AuthenticationError):
        return LLMError(f"{where} rejected the API key (401); check {settings.llm_api_key_env}")
    if isinstance(exc, openai.PermissionDeniedError):
        return LLMError(f"{where} refused access (403) to model {settings.llm_model!r}; check the key's permissions")
    if isinstance(exc, openai.RateLimitError):
        return LLMError(
            f"{where} is rate limiting (429) and still was after {MAX_RETRIES} retries with backoff; "
            "wait and try again, or check your quota"
        )
    if isinstance(exc, openai.APITimeoutError):
        return LLMError(
            f"{where} did not answer within {settings.llm_timeout_s} s ({MAX_RETRIES} retries); "
            "raise CODEGRAPH_LLM_TIMEOUT_S or check the server"
        )
    if isinstance(exc, openai.APIConnectionError):
        return LLMError(f"cannot reach {where}; check CODEGRAPH_LLM_BASE_URL and that the server is running")
    if isinstance(exc, openai.NotFoundError):
        return LLMError(f"{where}: model {settings.llm_model!r} not found (404); set CODEGRAPH_LLM_MODEL")
    if isinstance(exc, openai.BadRequestError):
        body = str(getattr(exc, "body", "") or exc).lower()
        if "context" in body and ("length" in body or "window" in body or "too long" in body):
            return LLMError(
                f"the prompt is longer than {settings.llm_model!r}'s context window; use fewer context chunks (-k)"
            )
        return LLMError(f"{where} rejected the request (400): {_short(exc)}")
    if isinstance(exc, openai.APIStatusError):
        return LLMError(f"{where} answered HTTP {exc.status_code}: {_short(exc)}")
    return LLMError(f"chat completion failed: {_short(exc)}")


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


def complete(
    messages: Sequence[Message], settings: Settings, *, on_text: Callable[[str], None] | None = None
) -> Completion:
    """Run one chat completion, streaming the answer's text to ``on_text`` as it arrives.

    Args:
        messages: the conversation.
        settings: ``llm_base_url``, ``llm_model``, ``llm_api_key_env``, ``llm_timeout_s``.
        on_text: called with each piece of text (server-sent events) as it arrives; ``None`` to only collect.

    Returns:
        :class:`Completion` with the whole text and token usage (``stream_options.include_usage``).

    Raises:
        LLMError: no key, unreachable server, 401/403/404, 429 after retries, timeout, context too long,
            other HTTP errors, or an empty answer.
    """
    import openai

    client = _client(settings)
    log.info(
        "POST %s/chat/completions model=%s messages=%d chars=%d (key from $%s, not shown)",
        _where(settings).rstrip("/"),
        settings.llm_model,
        len(messages),
        sum(len(m.content) for m in messages),
        settings.llm_api_key_env,
    )
    parts: list[str] = []
    model = settings.llm_model
    usage = (0, 0)
    request: dict[str, Any] = {
        "model": settings.llm_model,
        "messages": [{"role": m.role, "content": m.content} for m in messages],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    try:
        try:
            stream = client.chat.completions.create(**request)
        except openai.BadRequestError as exc:
            if "stream_options" not in str(exc):
                raise
            # Some OpenAI-compatible servers reject stream_options: ask again without usage reporting.
            log.info("server rejected stream_options; retrying without usage reporting")
            del request["stream_options"]
            stream = client.chat.completions.create(**request)
        for event in stream:
            model = event.model or model
            if event.usage is not None:
                usage = (event.usage.prompt_tokens or 0, event.usage.completion_tokens or 0)
            for choice in event.choices:
                piece = choice.delta.content if choice.delta else None
                if piece:
                    parts.append(piece)
                    if on_text is not None:
                        on_text(piece)
    except openai.OpenAIError as exc:
        raise _translate(exc, settings) from None
    text = "".join(parts)
    log.info("answer: %d chars, usage prompt=%d completion=%d", len(text), *usage)
    if not text.strip():
        raise LLMError(f"{_where(settings)} returned an empty answer (model {model!r})")
    return Completion(text=text, model=model, prompt_tokens=usage[0], completion_tokens=usage[1])
