"""Errors raised by the codegraph library.

The library raises these and never prints or exits; the CLI turns them into a one-line message on stderr and
exit code 1 (see ``codegraph/cli``). Every message says what happened and how to fix it.

Exception tree::

    CodegraphError
    ├── ConfigError            bad value in flags, CODEGRAPH_* env vars or a config file
    ├── IndexNotFoundError     no .codegraph/index.db at or above the given path
    ├── IndexUnusableError     the index exists but cannot be used (newer schema, other model, corrupt)
    ├── ModelError             model missing, unreadable, checksum mismatch, export failed
    │   ├── FidelityError      the INT8 export does not match its fp32 source closely enough
    │   └── RemoteEmbeddingError  the embeddings API failed (key missing, unreachable, refused, rate-limited)
    ├── StoreError             SQLite / sqlite-vec, or the PostgreSQL store, could not be opened or failed
    │   └── IndexBusyError     another process holds the index's writer lock for too long
    ├── SourceError            the path to index does not exist or is not a directory
    ├── EvalError              the repository cannot be evaluated (no usable documented functions, bad copy target)
    ├── SnippetNotFoundError   no stored snippet has the given id
    ├── TargetError            codegraph test: the target is malformed, unknown, or in an unsupported language
    ├── OutputError            the language model's answer does not have the expected shape
    ├── LLMError               the language-model API failed (unreachable, key missing, refused, rate-limited)
    └── SandboxError           generated tests cannot run: runner missing, bad file name, sandbox setup failed
"""

from __future__ import annotations

__all__ = [
    "CodegraphError",
    "ConfigError",
    "EvalError",
    "FidelityError",
    "IndexBusyError",
    "IndexNotFoundError",
    "IndexUnusableError",
    "LLMError",
    "ModelError",
    "OutputClosed",
    "OutputError",
    "RemoteEmbeddingError",
    "SandboxError",
    "SnippetNotFoundError",
    "SourceError",
    "StoreError",
    "TargetError",
]


class CodegraphError(Exception):
    """Base class of every error codegraph raises on purpose."""


class ConfigError(CodegraphError):
    """A configuration value (flag, ``CODEGRAPH_*`` variable or config file) is invalid."""


class IndexNotFoundError(CodegraphError):
    """No ``.codegraph/index.db`` exists at or above the given directory."""


class IndexUnusableError(CodegraphError):
    """The index exists but cannot be used as it is (schema from a newer codegraph, other model, corrupt)."""


class ModelError(CodegraphError):
    """A model is missing, unreadable, fails its checksum, or could not be exported."""


class FidelityError(ModelError):
    """An INT8 model's embeddings differ too much from its fp32 source (mean cosine below the threshold)."""


class RemoteEmbeddingError(ModelError):
    """A remote (``openai:MODEL``) embeddings request failed for good: no key, unreachable, refused, rate-limited
    or failing after its retries, or an answer of the wrong shape; the message is one line that says how to fix it.
    Embeddings finished before it are kept."""


class StoreError(CodegraphError):
    """The index's database failed: SQLite with sqlite-vec could not be opened, or the PostgreSQL store is
    unreachable, refuses the login, lacks pgvector, or failed mid-command (the message says what to do)."""


class SourceError(CodegraphError):
    """The path given to index does not exist or is not a directory."""


class IndexBusyError(StoreError):
    """Another codegraph process (``index`` or ``watch``) is writing this index and did not finish in time."""


class EvalError(CodegraphError):
    """``codegraph eval`` cannot measure this repository: it has no documented function that makes a usable query,
    or the copy would be written somewhere unsafe (inside the repository, into a non-empty directory)."""


class SnippetNotFoundError(CodegraphError):
    """No stored snippet has the given id."""


class TargetError(CodegraphError):
    """``codegraph test TARGET``: the target is not a snippet id or an indexed ``path::name``."""


class OutputError(CodegraphError):
    """The model's answer does not have the required shape (one fenced code block in the right language)."""


class LLMError(CodegraphError):
    """The chat-completions call failed; the message is one line that says how to fix it."""


class SandboxError(CodegraphError):
    """The sandbox could not run: a missing runner (message says what to install), a bad file path, or a failed
    sandbox setup."""


class OutputClosed(Exception):  # noqa: N818 - a signal, not an error: the reader of stdout left
    """The reader of stdout went away (``codegraph search QUERY | head -1``): the command stops and exits 0.

    Not an ``OSError``, so click's own EPIPE handling (which exits 1) does not catch it first; not a
    :class:`CodegraphError`, since nothing went wrong.
    """
