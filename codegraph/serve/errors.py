"""HTTP statuses of codegraph's errors: the one table the API, the event streams and the page share."""

from __future__ import annotations

from ..errors import (
    CodegraphError,
    ConfigError,
    IndexBusyError,
    IndexNotFoundError,
    IndexUnusableError,
    LLMError,
    ModelError,
    OutputError,
    SandboxError,
    SnippetNotFoundError,
    SourceError,
    StoreError,
    TargetError,
)

STATUS: tuple[tuple[type[CodegraphError], int], ...] = (
    (SnippetNotFoundError, 404),
    (SourceError, 404),
    (TargetError, 404),
    (IndexNotFoundError, 404),
    (ConfigError, 400),
    (IndexBusyError, 503),
    (StoreError, 503),
    (IndexUnusableError, 409),
    (ModelError, 503),
    (LLMError, 502),
    (OutputError, 502),
    (SandboxError, 503),
)
"""First match wins (subclasses before their bases): 404 not found / not indexed, 400 bad input, 409 the index
cannot answer as it is (re-index), 503 busy or a missing resource on the server, 502 the language model failed."""


def status_for(exc: CodegraphError) -> int:
    """The HTTP status for ``exc`` (500 for an error the table does not name)."""
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 500
