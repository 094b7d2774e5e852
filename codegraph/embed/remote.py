"""Remote embeddings: a model named ``openai:MODEL`` embeds through an OpenAI-compatible ``/v1/embeddings``
endpoint with the ``openai`` client (OpenAI itself, or Ollama, vLLM, llama.cpp, LiteLLM, ... via
``embed_base_url``).

What is sent, and when: only texts whose content-hash cache key is missing from the index (the indexer looks
them up first), so nothing is paid for twice; ``embed_batch_size`` inputs per request (and at most
:data:`MAX_REQUEST_TOKENS` estimated tokens), ``embed_concurrency`` requests in flight (a thread pool over one
thread-safe client). Batches are handed to the indexer as they complete (out of order: each carries its indices),
and the indexer commits them as they arrive, so an interrupted or failed run keeps every batch it paid for.

Retries: 408, 409, 429, 5xx, timeouts and connection errors are retried up to ``embed_retries`` times with
exponential backoff and full jitter (0.5 s doubling, at most 30 s), or after the server's ``Retry-After`` /
``retry-after-ms`` (seconds or an HTTP date) when it sends one; a ``Retry-After`` pauses every worker, not just
the one that got it. The client's own retries are off so that these rules are the only ones.

Tokens: the exact tokenizer (``tiktoken``'s ``cl100k_base``) downloads its tables at run time and is not a
dependency, so tokens are *estimated* as ``ceil(utf8_bytes / 3)`` (:data:`BYTES_PER_TOKEN`). cl100k averages about
4 bytes per token on English and code, so the estimate errs high: a text estimated over ``embed_max_tokens`` is
cut to its first ``embed_max_tokens * 3`` bytes and counted (:attr:`RemoteEncoder.truncated`); a text of
unusual bytes (CJK, emoji, base64 blobs) can still exceed the real limit, and the server's 400 then says so.

Identity (``model_id``): ``openai:MODEL@DIM`` (the server's native width) or ``openai:MODEL@DIM+dimensions`` (the
width was requested with the ``dimensions`` parameter). It names the model as the server names it, not its
weights: there is no file to hash. Two servers serving different weights under one name would share an id, so
point ``embed_base_url`` elsewhere only for the same model. The width of a model not in :data:`KNOWN_DIMS` is
learnt from one one-word probe request the first time and remembered in ``<codegraph home>/remote-dims.json``.

The API key is read from the environment only (``embed_api_key_env``, else ``CODEGRAPH_EMBED_API_KEY``, else
``OPENAI_API_KEY``), and never printed, logged or stored.
"""

from __future__ import annotations

import base64
import email.utils
import json
import logging
import os
import random
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import REMOTE_MODEL_PREFIX, Settings
from ..errors import RemoteEmbeddingError
from ..home import codegraph_home
from .profile import ModelProfile

if TYPE_CHECKING:
    import numpy.typing as npt

REMOTE_PREFIX = REMOTE_MODEL_PREFIX
"""Model names starting with this (``openai:``) embed through an OpenAI-compatible API."""

DEFAULT_BASE_URL = "https://api.openai.com/v1"
"""``embed_base_url`` when none is set."""

KEY_VARIABLES = ("CODEGRAPH_EMBED_API_KEY", "OPENAI_API_KEY")
"""Where the API key is looked for, in order, when ``embed_api_key_env`` is not set."""

KNOWN_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
"""Native widths of OpenAI's embedding models (https://platform.openai.com/docs/guides/embeddings): no probe
request is needed for these."""

BYTES_PER_TOKEN = 3
"""Token estimate: ``ceil(utf8_bytes / 3)``; cl100k averages ~4 bytes per token on code and English, so this errs
high (see the module docstring)."""

MAX_REQUEST_TOKENS = 300_000
"""OpenAI's limit on the tokens of all inputs of one request (``embeddings.create``'s documentation); batches
stay under it by the estimate."""

WINDOW_TOKENS = 512
"""The chunker's window budget for remote models (estimated tokens): definitions longer than this are cut into
windows, as for the local models, so results stay as focused; ``embed_max_tokens`` only bounds truncation."""

BACKOFF_BASE_S = 0.5
"""First backoff step (seconds); doubles per retry, with full jitter."""

BACKOFF_MAX_S = 30.0
"""Longest backoff step (seconds)."""

MAX_RETRY_AFTER_S = 120.0
"""Longest ``Retry-After`` honoured (seconds); a server asking for longer fails the run with a message saying so."""

INTERRUPT_GRACE_S = 10.0
"""On Ctrl-C, how long the requests already in flight are awaited so that their (paid) answers are kept."""

PROBE_TEXT = "dimension probe"
"""The one input sent to learn the width of a model not in :data:`KNOWN_DIMS`."""

RETRYABLE_STATUS = frozenset({408, 409, 429})
"""HTTP statuses retried besides 5xx."""

log = logging.getLogger("codegraph.embed.remote")


def is_remote(name: str | None) -> bool:
    """Whether model ``name`` (or a recorded ``model_id``) is a remote ``openai:MODEL``."""
    return bool(name) and str(name).startswith(REMOTE_PREFIX)


def parse_model_id(model_id: str) -> tuple[str, int, bool]:
    """``(model, dim, dimensions_requested)`` of a remote ``model_id`` (``openai:MODEL@DIM[+dimensions]``).

    Raises:
        RemoteEmbeddingError: not a remote model id.
    """
    name, _, tail = model_id.partition("@")
    requested = tail.endswith("+dimensions")
    digits = tail.removesuffix("+dimensions")
    if not is_remote(name) or not digits.isdigit():
        raise RemoteEmbeddingError(f"{model_id!r} is not a remote model id (openai:MODEL@DIM)")
    return name[len(REMOTE_PREFIX) :], int(digits), requested


def remote_profile(model: str, *, dim: int, max_tokens: int) -> ModelProfile:
    """The :class:`ModelProfile` of remote ``openai:MODEL``: runtime ``remote``, no prefixes, L2-normalised,
    chunker windows of :data:`WINDOW_TOKENS` estimated tokens (``dim`` 0 while unknown)."""
    return ModelProfile(
        name=REMOTE_PREFIX + model,
        source="OpenAI-compatible /v1/embeddings",
        revision="",
        architecture="remote",
        pooling="remote",
        normalize=True,
        max_tokens=max_tokens,
        dim=dim,
        query_prefix="",
        document_prefix="",
        license="",
        runtime="remote",
        window_tokens=min(WINDOW_TOKENS, max_tokens),
    )


def estimate_tokens(text: str) -> int:
    """Estimated tokens of ``text``: ``ceil(utf8_bytes / BYTES_PER_TOKEN)`` (see :data:`BYTES_PER_TOKEN`)."""
    return -(-len(text.encode("utf-8", "surrogatepass")) // BYTES_PER_TOKEN)


def retry_after_s(headers: Any) -> float | None:
    """Seconds a response asks the client to wait: ``retry-after-ms``, else ``Retry-After`` as seconds or an HTTP
    date (RFC 9110 §10.2.3); ``None`` when absent or unparsable.

    Args:
        headers: a case-insensitive mapping (``httpx.Headers``).
    """
    if headers is None:
        return None
    try:
        return max(0.0, float(headers.get("retry-after-ms")) / 1000)
    except (TypeError, ValueError):
        pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(frozen=True, slots=True)
class RemoteOptions:
    """How to reach the embeddings API (from :class:`~codegraph.config.Settings`).

    Attributes:
        base_url: API root ending in ``/v1`` (default :data:`DEFAULT_BASE_URL`).
        api_key_env: the variable holding the key; ``None``: the first set of :data:`KEY_VARIABLES`.
        concurrency: requests in flight at once.
        batch_size: inputs per request.
        max_tokens: longest input (estimated tokens); longer ones are truncated and counted.
        dimensions: width to request with the ``dimensions`` parameter (``text-embedding-3`` and later), or
            ``None`` for the model's own.
        timeout_s: seconds per request attempt.
        retries: retries after the first attempt for a retryable failure.
    """

    base_url: str = DEFAULT_BASE_URL
    api_key_env: str | None = None
    concurrency: int = 4
    batch_size: int = 64
    max_tokens: int = 8191
    dimensions: int | None = None
    timeout_s: float = 60.0
    retries: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> RemoteOptions:
        """The ``embed_*`` settings as options."""
        return cls(
            base_url=settings.embed_base_url or DEFAULT_BASE_URL,
            api_key_env=settings.embed_api_key_env,
            concurrency=settings.embed_concurrency,
            batch_size=settings.embed_batch_size,
            max_tokens=settings.embed_max_tokens,
            dimensions=settings.embed_dimensions,
            timeout_s=float(settings.embed_timeout_s),
            retries=settings.embed_retries,
        )


def api_key(options: RemoteOptions) -> tuple[str, str]:
    """``(key, variable it came from)``, from the environment only.

    Raises:
        RemoteEmbeddingError: no variable holds a key (the message names the ones looked at, never a value).
    """
    names = (options.api_key_env,) if options.api_key_env else KEY_VARIABLES
    for name in names:
        key = os.environ.get(name, "")
        if key:
            return key, name
    raise RemoteEmbeddingError(
        f"no API key for remote embeddings: set {' or '.join(names)} (for a local server without authentication "
        "any value works), or point CODEGRAPH_EMBED_API_KEY_ENV at the variable that holds it"
    )


def _dims_file() -> Path:
    return codegraph_home() / "remote-dims.json"


def _dims_key(options: RemoteOptions, model: str) -> str:
    return f"{options.base_url.rstrip('/')}|{model}"


def _remembered_dim(options: RemoteOptions, model: str) -> int | None:
    try:
        value = json.loads(_dims_file().read_text(encoding="utf-8")).get(_dims_key(options, model))
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and value > 0 else None


def _remember_dim(options: RemoteOptions, model: str, dim: int) -> None:
    from ..files import write_text_atomic

    path = _dims_file()
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(known, dict):
            known = {}
    except (OSError, ValueError):
        known = {}
    known[_dims_key(options, model)] = dim
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(known, indent=1, sort_keys=True) + "\n")
    except OSError:
        log.info("cannot write %s; the width will be probed again next time", path)


class RemoteEncoder:
    """Embeds text through an OpenAI-compatible ``/v1/embeddings`` endpoint; implements the indexer's and
    search's ``Embedder`` protocol (see the module docstring for batching, retries, tokens and identity).

    Vectors are float32 and L2-normalised here (OpenAI's already are; other servers' may not be).

    Args:
        model: the model as the server names it (``text-embedding-3-small``), without ``openai:``.
        options: how to reach the API.
        dim: the width when already known (from an index's ``model_id``); else the ``dimensions`` option,
            :data:`KNOWN_DIMS`, the remembered probe, or a probe request on first use of :attr:`dim`.
        dimensions_requested: send ``dimensions=dim`` with every request (an index built with it).

    Raises:
        RemoteEmbeddingError: no API key in the environment.
    """

    def __init__(
        self, model: str, *, options: RemoteOptions, dim: int | None = None, dimensions_requested: bool = False
    ) -> None:
        import openai

        self.model = model
        self.options = options
        self._key_variable = api_key(options)[1]
        self._client = openai.OpenAI(
            api_key=api_key(options)[0], base_url=options.base_url, timeout=options.timeout_s, max_retries=0
        )
        # An index's width (``dim`` given) decides alone whether ``dimensions`` is sent; else the option does.
        self._request_dims = (dim if dimensions_requested else None) if dim else options.dimensions
        self._dim: int | None = dim or options.dimensions or KNOWN_DIMS.get(model)
        self._lock = threading.Lock()
        self._resume_at = 0.0  # time.monotonic() before which no request is sent (a Retry-After)
        self._stop = threading.Event()
        self.truncated = 0
        """Inputs cut to ``max_tokens`` so far (estimated tokens; see the module docstring)."""
        self.requests = 0
        """Requests sent so far (attempts, retries included)."""

    # -- what the indexer and search read -------------------------------------------------------------------

    @property
    def dim(self) -> int:
        """Embedding width; may send one probe request (see the class docstring).

        Raises:
            RemoteEmbeddingError: the probe failed.
        """
        if self._dim is None:
            remembered = _remembered_dim(self.options, self.model)
            if remembered is not None:
                self._dim = remembered
            else:
                log.info("probing the width of %s at %s", self.model, self.options.base_url)
                self._stop.clear()
                probed = self._request([PROBE_TEXT])
                _remember_dim(self.options, self.model, probed.shape[1])
        assert self._dim is not None
        return self._dim

    @property
    def model_id(self) -> str:
        """``openai:MODEL@DIM``, or ``openai:MODEL@DIM+dimensions`` when the width is requested; in every cache key."""
        suffix = "+dimensions" if self._request_dims else ""
        return f"{REMOTE_PREFIX}{self.model}@{self.dim}{suffix}"

    @property
    def model_sha256(self) -> str:
        """``""``: a remote model has no weights file to hash (its identity is :attr:`model_id`)."""
        return ""

    @property
    def max_tokens(self) -> int:
        """Longest input in estimated tokens (``embed_max_tokens``); longer texts are truncated to their head."""
        return self.options.max_tokens

    @property
    def profile(self) -> ModelProfile:
        """See :func:`remote_profile` (``dim`` 0 until known, so reading it never sends a request)."""
        return remote_profile(self.model, dim=self._dim or 0, max_tokens=self.options.max_tokens)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Estimated tokens of each text (:func:`estimate_tokens`), without truncation."""
        return [estimate_tokens(t) for t in texts]

    def count_line_tokens(self, text: str) -> list[int]:
        """Estimated tokens on each ``\\n``-separated line of ``text``, plus 1 for its newline:
        ``text.count("\\n") + 1`` ints."""
        return [estimate_tokens(line) + 1 for line in text.split("\n")]

    def embed_queries(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed search queries: float32 ``(len(texts), dim)``, L2-normalised, in input order.

        Raises:
            RemoteEmbeddingError: see :meth:`iter_embed_documents`.
        """
        batches = list(self.iter_embed_documents(texts))  # learns the width from the answer: no probe needed
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for idx, vectors in batches:
            out[idx] = vectors
        return out

    def close(self) -> None:
        """Close the HTTP connections (the encoder is unusable afterwards)."""
        self._client.close()

    def __enter__(self) -> RemoteEncoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def iter_embed_documents(
        self, texts: Sequence[str]
    ) -> Iterator[tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]]:
        """Embed texts in batches, ``concurrency`` requests in flight, yielding each batch as it completes.

        When a request fails for good, no further batch is started, the ones in flight are awaited and yielded
        (they are paid for), then the error is raised. On Ctrl-C while waiting, the requests in flight are awaited
        for up to :data:`INTERRUPT_GRACE_S` and yielded, then ``KeyboardInterrupt`` is raised again.

        Yields:
            ``(indices, vectors)``: int indices into ``texts`` and float32 ``(len(indices), dim)`` rows; batches
            arrive in completion order, not input order.

        Raises:
            RemoteEmbeddingError: a request failed after its retries (429 / 5xx / timeouts / connection), was
                refused (401, 403, 404, 400), or the answer has the wrong shape; the message says how to fix it.
        """
        batches = self._batches(texts)
        if not batches:
            return
        self._stop.clear()
        workers = max(1, min(self.options.concurrency, len(batches)))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="codegraph-embed")
        pending: dict[Future[npt.NDArray[np.float32]], npt.NDArray[np.intp]] = {}
        queue = iter(batches)
        failure: RemoteEmbeddingError | None = None
        try:

            def refill() -> None:
                # Only `workers` batches are ever submitted, so a failure leaves nothing queued to cancel.
                while failure is None and len(pending) < workers:
                    item = next(queue, None)
                    if item is None:
                        return
                    idx, part = item
                    pending[pool.submit(self._request, part)] = idx

            refill()
            while pending:
                try:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:
                    # The requests in flight are paid for whether or not they are awaited: give them a moment and
                    # hand over those that finish (a second Ctrl-C stops at once); backoff sleepers stop now.
                    self._stop.set()
                    done, _ = wait(pending, timeout=INTERRUPT_GRACE_S)
                    for future in done:
                        if not future.cancelled() and future.exception() is None:
                            yield pending[future], future.result()
                    raise
                for future in done:
                    idx = pending.pop(future)
                    try:
                        vectors = future.result()
                    except RemoteEmbeddingError as exc:
                        failure = failure or exc
                        continue
                    yield idx, vectors
                refill()
            if failure is not None:
                raise failure
        finally:
            self._stop.set()  # wakes workers sleeping in a backoff (Ctrl-C, a failure, an abandoned generator)
            pool.shutdown(wait=False, cancel_futures=True)

    # -- requests -------------------------------------------------------------------------------------------

    def _batches(self, texts: Sequence[str]) -> list[tuple[npt.NDArray[np.intp], list[str]]]:
        """Split ``texts`` into requests of at most ``batch_size`` inputs and :data:`MAX_REQUEST_TOKENS`
        estimated tokens, truncating (and counting) inputs over ``max_tokens``; empty inputs become one space
        (the API refuses empty strings)."""
        limit = self.options.max_tokens
        batches: list[tuple[npt.NDArray[np.intp], list[str]]] = []
        idx: list[int] = []
        part: list[str] = []
        tokens = 0
        for i, text in enumerate(texts):
            n = estimate_tokens(text)
            if n > limit:
                head = text.encode("utf-8", "surrogatepass")[: limit * BYTES_PER_TOKEN]
                text, n = head.decode("utf-8", "ignore"), limit
                self.truncated += 1
            if part and (len(part) >= self.options.batch_size or tokens + n > MAX_REQUEST_TOKENS):
                batches.append((np.asarray(idx, dtype=np.intp), part))
                idx, part, tokens = [], [], 0
            idx.append(i)
            part.append(text or " ")
            tokens += n
        if part:
            batches.append((np.asarray(idx, dtype=np.intp), part))
        return batches

    def _pause(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the run is stopped; ``False`` when stopped."""
        return not self._stop.wait(max(0.0, seconds))

    def _request(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """One ``embeddings.create`` call with retries: float32 ``(len(texts), dim)``, L2-normalised.

        Raises:
            RemoteEmbeddingError: see :meth:`iter_embed_documents`; also when the run was stopped meanwhile.
        """
        import openai

        extra: dict[str, Any] = {"dimensions": self._request_dims} if self._request_dims else {}
        for attempt in range(self.options.retries + 1):
            with self._lock:
                wait_s = self._resume_at - time.monotonic()
            if wait_s > 0 and not self._pause(wait_s):
                raise RemoteEmbeddingError("remote embedding stopped")
            if self._stop.is_set() and attempt:
                raise RemoteEmbeddingError("remote embedding stopped")
            with self._lock:
                self.requests += 1
            try:
                response = self._client.embeddings.create(
                    input=texts, model=self.model, encoding_format="base64", **extra
                )
            except openai.OpenAIError as exc:
                status = getattr(exc, "status_code", None)
                retryable = isinstance(exc, openai.APIConnectionError) or (
                    isinstance(status, int) and (status in RETRYABLE_STATUS or status >= 500)
                )
                if not retryable or attempt == self.options.retries:
                    raise self._translate(exc, attempts=attempt + 1) from None
                response_headers = getattr(getattr(exc, "response", None), "headers", None)
                asked = retry_after_s(response_headers)
                if asked is not None and asked > MAX_RETRY_AFTER_S:
                    raise RemoteEmbeddingError(
                        f"{self.options.base_url} asks to wait {asked:.0f} s before the next request (HTTP {status}); "
                        "try again later or check your quota"
                    ) from None
                if asked is not None:
                    delay = asked
                    with self._lock:  # every worker waits, not only this one
                        self._resume_at = max(self._resume_at, time.monotonic() + asked)
                else:
                    delay = random.uniform(0, min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2**attempt))
                log.info(
                    "embeddings request failed (%s); retry %d/%d in %.2f s",
                    status or type(exc).__name__,
                    attempt + 1,
                    self.options.retries,
                    delay,
                )
                if not self._pause(delay):
                    raise RemoteEmbeddingError("remote embedding stopped") from None
                continue
            return self._vectors(response, len(texts))
        raise AssertionError("unreachable")  # the loop returns or raises

    def _vectors(self, response: Any, count: int) -> npt.NDArray[np.float32]:
        """The response's embeddings as float32 ``(count, dim)`` rows in input order, L2-normalised; learns
        :attr:`dim` from the first answer.

        Raises:
            RemoteEmbeddingError: wrong number of vectors, or a width other than :attr:`dim`.
        """
        data = sorted(response.data or [], key=lambda item: item.index)
        if len(data) != count:
            raise RemoteEmbeddingError(
                f"{self.options.base_url} returned {len(data)} embeddings for {count} inputs; "
                "is it an OpenAI-compatible embeddings endpoint?"
            )
        rows = []
        for item in data:
            raw = item.embedding
            if isinstance(raw, str):  # encoding_format="base64": little-endian float32
                rows.append(np.frombuffer(base64.b64decode(raw), dtype="<f4"))
            else:  # a server that ignores encoding_format sends floats
                rows.append(np.asarray(raw, dtype=np.float32))
        widths = {len(r) for r in rows}
        with self._lock:
            if self._dim is None and len(widths) == 1:
                self._dim = widths.pop()
                widths = {self._dim}
        if widths != {self._dim}:
            raise RemoteEmbeddingError(
                f"{self.options.base_url} returned {sorted(widths)}-wide embeddings for {self.model}, expected "
                f"{self._dim}; the server serves another model under this name, or the index was built with another "
                "width: re-index with: codegraph index"
            )
        out = np.vstack(rows).astype(np.float32, copy=False)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        if not np.all(np.isfinite(out)):
            raise RemoteEmbeddingError(f"{self.options.base_url} returned non-finite embedding values")
        normalised: npt.NDArray[np.float32] = (out / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
        return normalised

    def _translate(self, exc: Exception, *, attempts: int) -> RemoteEmbeddingError:
        """One-line, fix-giving message for an ``openai`` exception (the key never appears in it)."""
        import openai

        where = self.options.base_url
        if isinstance(exc, openai.AuthenticationError):
            return RemoteEmbeddingError(f"{where} rejected the API key (401); check ${self._key_variable}")
        if isinstance(exc, openai.PermissionDeniedError):
            return RemoteEmbeddingError(f"{where} refused access (403) to model {self.model!r}; check the key")
        if isinstance(exc, openai.NotFoundError):
            return RemoteEmbeddingError(
                f"{where}: model {self.model!r} not found (404); check the name after 'openai:' and "
                "CODEGRAPH_EMBED_BASE_URL"
            )
        if isinstance(exc, openai.RateLimitError):
            return RemoteEmbeddingError(
                f"{where} is rate limiting (429) and still was after {attempts} attempts; embeddings done so far "
                "are kept: wait and run codegraph index again, or lower CODEGRAPH_EMBED_CONCURRENCY"
            )
        if isinstance(exc, openai.APITimeoutError):
            return RemoteEmbeddingError(
                f"{where} did not answer within {self.options.timeout_s:g} s ({attempts} attempts); "
                "raise CODEGRAPH_EMBED_TIMEOUT_S or lower CODEGRAPH_EMBED_BATCH_SIZE"
            )
        if isinstance(exc, openai.APIConnectionError):
            return RemoteEmbeddingError(
                f"cannot reach {where}; check CODEGRAPH_EMBED_BASE_URL and that the server is running"
            )
        if isinstance(exc, openai.BadRequestError):
            body = " ".join(str(exc).split()).lower()
            if "token" in body and ("maximum" in body or "context" in body or "too long" in body):
                return RemoteEmbeddingError(
                    f"{where} says an input is longer than {self.model!r} accepts (400); "
                    "lower CODEGRAPH_EMBED_MAX_TOKENS (tokens are estimated, see docs/remote-embeddings.md)"
                )
            return RemoteEmbeddingError(f"{where} rejected the request (400): {_short(exc)}")
        if isinstance(exc, openai.APIStatusError):
            return RemoteEmbeddingError(f"{where} answered HTTP {exc.status_code} ({attempts} attempts): {_short(exc)}")
        return RemoteEmbeddingError(f"remote embedding failed: {_short(exc)}")


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


def open_remote(
    name: str, settings: Settings, *, dim: int | None = None, dimensions_requested: bool = False
) -> RemoteEncoder:
    """The :class:`RemoteEncoder` for ``openai:MODEL`` with ``settings``' ``embed_*`` options.

    Raises:
        RemoteEmbeddingError: not an ``openai:`` name, or no API key in the environment.
    """
    if not is_remote(name) or len(name) <= len(REMOTE_PREFIX):
        raise RemoteEmbeddingError(f"{name!r} is not a remote model name (openai:MODEL)")
    return RemoteEncoder(
        name[len(REMOTE_PREFIX) :],
        options=RemoteOptions.from_settings(settings),
        dim=dim,
        dimensions_requested=dimensions_requested,
    )


__all__ = ["RemoteEncoder", "RemoteOptions", "is_remote", "open_remote", "parse_model_id", "remote_profile"]
