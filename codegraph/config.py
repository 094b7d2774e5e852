"""Settings, resolved as: explicit arguments (CLI flags) > ``CODEGRAPH_*`` environment variables >
``.codegraph/config.toml`` or ``[tool.codegraph]`` in ``pyproject.toml`` at the repository root > the user's
config file (``$CODEGRAPH_CONFIG``, default ``<user config dir>/codegraph/config.toml``) > defaults.

Keys (file key / environment variable):

========================  ==============================  ============================================
key                       environment variable            meaning
========================  ==============================  ============================================
``model``                 ``CODEGRAPH_MODEL``             model name; default: the bundled ``code``
                                                          (else the bundled ``minilm``)
``max_file_bytes``        ``CODEGRAPH_MAX_FILE_BYTES``    files larger than this are skipped (bytes)
``batch_size``            ``CODEGRAPH_BATCH_SIZE``        chunks per ONNX run
``threads``               ``CODEGRAPH_THREADS``           onnxruntime intra-op threads (0 = all cores)
``index_workers``         ``CODEGRAPH_INDEX_WORKERS``     processes that read, parse and chunk changed
                                                          files when more than 64 need reading
                                                          (default: min(4, cores); 1 = none)
``llm_base_url``          ``CODEGRAPH_LLM_BASE_URL``      OpenAI-compatible API root (default: OpenAI's;
                                                          e.g. ``http://localhost:11434/v1`` for Ollama)
``llm_model``             ``CODEGRAPH_LLM_MODEL``         chat model for ``generate`` / ``test``
``llm_api_key_env``       ``CODEGRAPH_LLM_API_KEY_ENV``   name of the environment variable holding the API
                                                          key (the key itself is never read from a file)
``llm_timeout_s``         ``CODEGRAPH_LLM_TIMEOUT_S``     seconds per API request before giving up
``embed_base_url``        ``CODEGRAPH_EMBED_BASE_URL``    OpenAI-compatible API root for ``openai:MODEL``
                                                          embeddings (default: OpenAI's)
``embed_api_key_env``     ``CODEGRAPH_EMBED_API_KEY_ENV`` variable holding its key (default:
                                                          ``CODEGRAPH_EMBED_API_KEY``, else ``OPENAI_API_KEY``)
``embed_concurrency``     ``CODEGRAPH_EMBED_CONCURRENCY`` embeddings requests in flight at once
``embed_batch_size``      ``CODEGRAPH_EMBED_BATCH_SIZE``  inputs per embeddings request
``embed_max_tokens``      ``CODEGRAPH_EMBED_MAX_TOKENS``  longest input (estimated tokens); longer: truncated
``embed_dimensions``      ``CODEGRAPH_EMBED_DIMENSIONS``  width requested with ``dimensions`` (default: the
                                                          model's own)
``embed_timeout_s``       ``CODEGRAPH_EMBED_TIMEOUT_S``   seconds per embeddings request attempt
``embed_retries``         ``CODEGRAPH_EMBED_RETRIES``     retries of a 429 / 5xx / timeout (0: none)
``vectors``               ``CODEGRAPH_VECTORS``           how the index stores vectors: ``auto`` (default:
                                                          float; int8 from 50,000 vectors on),
                                                          ``float``, ``int8`` or ``binary``
``vector_dims``           ``CODEGRAPH_VECTOR_DIMS``       PCA width of stored vectors (default: the model's
                                                          own; see ``docs/vectors.md``)
``python``                ``CODEGRAPH_PYTHON``            interpreter or virtualenv that runs ``test``'s
                                                          pytest (relative: to the repository root);
                                                          default: ``$VIRTUAL_ENV``, ``.venv``, ``venv``,
                                                          else codegraph's own
``store``                 ``CODEGRAPH_STORE``             where indexes live: unset = the SQLite file
                                                          ``.codegraph/index.db`` of each repository;
                                                          ``postgresql://user:password@host/db`` = one
                                                          PostgreSQL + pgvector server for every project
``project``               ``CODEGRAPH_PROJECT``           the project name in a PostgreSQL store (default:
                                                          the git remote's repository name, else the
                                                          root directory's name)
========================  ==============================  ============================================

``llm_base_url``, ``llm_api_key_env`` and ``store`` may not come from a repository's own config (see
:data:`NOT_FROM_REPOSITORY`): flags, environment variables or the user's config file only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

from ._compat import tomllib
from .errors import ConfigError

VECTOR_FORMATS = ("float", "int8", "binary")
"""How an index can store its vectors (see :mod:`codegraph.store.vectors`)."""

PG_VECTOR_FORMATS = ("float", "half", "binary")
"""How a PostgreSQL store indexes a model's vectors (pgvector HNSW over ``vector``, ``halfvec`` or sign bits
rescored by float cosine; see :mod:`codegraph.store.postgres_vectors`). pgvector has no int8 type."""

VECTOR_SETTINGS = ("auto", *VECTOR_FORMATS, "half")
"""Values of the ``vectors`` setting: a format, or ``auto`` (float for small indexes, compact for large ones).
``half`` exists on PostgreSQL only, ``int8`` on the SQLite file only."""

DEFAULT_MAX_FILE_BYTES = 1_000_000
"""Default size limit for indexed files (bytes). Generated or vendored files above it rarely help search."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved settings. ``None`` means "decide from the model profile / machine".

    ``ignored_keys`` lists, as ``"<file>: <key>"``, the keys of :data:`NOT_FROM_REPOSITORY` that the repository's
    config set and that were ignored (their defaults kept) because it was resolved with
    ``repository_llm_keys="ignore"``; empty otherwise.
    """

    model: str | None = None
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    batch_size: int = 8
    threads: int = 0
    index_workers: int | None = None
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key_env: str = "OPENAI_API_KEY"
    llm_timeout_s: int = 120
    python: str | None = None
    embed_base_url: str | None = None
    embed_api_key_env: str | None = None
    embed_concurrency: int = 4
    embed_batch_size: int = 64
    embed_max_tokens: int = 8191
    embed_dimensions: int | None = None
    embed_timeout_s: int = 60
    embed_retries: int = 5
    store: str | None = None
    project: str | None = None
    vectors: str = "auto"
    vector_dims: int | None = None
    ignored_keys: tuple[str, ...] = ()


_INT_KEYS = {
    "max_file_bytes",
    "batch_size",
    "threads",
    "index_workers",
    "llm_timeout_s",
    "embed_concurrency",
    "embed_batch_size",
    "embed_max_tokens",
    "embed_dimensions",
    "embed_timeout_s",
    "embed_retries",
    "vector_dims",
}

_ZERO_OK = {"threads", "embed_retries"}


def _coerce(key: str, value: Any, source: str) -> Any:
    if key in _INT_KEYS:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: {key} must be an integer, got {value!r}") from None
        if number < 0 or (key not in _ZERO_OK and number == 0):
            raise ConfigError(f"{source}: {key} must be positive, got {number}")
        return number
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{source}: {key} must be a non-empty string, got {value!r}")
    if key == "vectors" and value not in VECTOR_SETTINGS:
        raise ConfigError(f"{source}: vectors must be one of {', '.join(VECTOR_SETTINGS)}, got {value!r}")
    return value


NOT_FROM_REPOSITORY = frozenset({"llm_base_url", "llm_api_key_env", "embed_base_url", "embed_api_key_env", "store"})
"""Keys a repository's own files may not set: a cloned repository could otherwise send the user's API key to a
server of its choosing (``llm_*``, ``embed_*``), or send its code and the user's database credentials to one
(``store`` names a server). They come from flags, ``CODEGRAPH_*`` environment variables or the user's own config
file only. A repository's ``model`` may not name a remote model (``openai:MODEL``) either: a cloned repository
could otherwise make ``codegraph index`` send its code to a paid API on the user's key; it is treated like these
keys."""

REMOTE_MODEL_PREFIX = "openai:"
"""Model names that embed through a remote API (:mod:`codegraph.embed.remote`)."""


def not_from_repository_reason(key: str) -> str:
    """Why a repository's config may not set ``key`` (a key of :data:`NOT_FROM_REPOSITORY`), for messages."""
    if key == "store":
        return "it names a database server and its credentials, and a cloned repository could redirect your index"
    if key == "model":
        return "a cloned repository could send its code to a paid embeddings API and spend your API key"
    return "a cloned repository could redirect or spend your API key"


RepositoryLLMKeys = Literal["refuse", "ignore"]
"""What a repository config that sets a key of :data:`NOT_FROM_REPOSITORY` gets: ``"refuse"`` (a
:class:`~codegraph.errors.ConfigError`; for what talks to the LLM API: ``generate``, ``test``) or ``"ignore"``
(the key is dropped and listed in :attr:`Settings.ignored_keys`; for everything else: ``index``, ``search``, ...)."""

_KNOWN = frozenset(f.name for f in fields(Settings)) - {"ignored_keys"}


def _from_mapping(data: Mapping[str, Any], source: str, repository_llm_keys: RepositoryLLMKeys) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ignored: list[str] = []
    for key, value in data.items():
        norm = key.replace("-", "_")
        remote_model = norm == "model" and isinstance(value, str) and value.startswith(REMOTE_MODEL_PREFIX)
        if norm in NOT_FROM_REPOSITORY or remote_model:
            if repository_llm_keys == "refuse":
                raise ConfigError(
                    f"{source}: {key} cannot be set in a repository's config ({not_from_repository_reason(norm)}); "
                    f"remove it there and set CODEGRAPH_{norm.upper()} in your environment instead"
                )
            ignored.append(f"{source}: {key}")
            continue
        if norm not in _KNOWN:
            raise ConfigError(f"{source}: unknown key {key!r} (known: {', '.join(sorted(_KNOWN))})")
        out[norm] = _coerce(norm, value, source)
    if ignored:
        out["ignored_keys"] = tuple(ignored)
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def file_settings(root: Path, *, repository_llm_keys: RepositoryLLMKeys = "refuse") -> dict[str, Any]:
    """Settings from ``root/.codegraph/config.toml``, else ``[tool.codegraph]`` of ``root/pyproject.toml``.

    Args:
        root: repository root.
        repository_llm_keys: what a key of :data:`NOT_FROM_REPOSITORY` gets (see :data:`RepositoryLLMKeys`);
            with ``"ignore"`` the result's ``ignored_keys`` lists them.

    Raises:
        ConfigError: invalid TOML, an unknown / ill-typed key, or (``"refuse"``) a key of
            :data:`NOT_FROM_REPOSITORY`.
    """
    own = root / ".codegraph" / "config.toml"
    if own.is_file():
        return _from_mapping(_read_toml(own), str(own), repository_llm_keys)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        table = _read_toml(pyproject).get("tool", {}).get("codegraph", {})
        if isinstance(table, dict) and table:
            return _from_mapping(table, f"{pyproject} [tool.codegraph]", repository_llm_keys)
    return {}


def user_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The user's own config file: ``$CODEGRAPH_CONFIG`` when set, else ``<user config dir>/codegraph/config.toml``
    (``~/.config/codegraph/config.toml`` on Linux, by ``platformdirs``); it may not exist."""
    env = os.environ if environ is None else environ
    if env.get("CODEGRAPH_CONFIG"):
        return Path(env["CODEGRAPH_CONFIG"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("codegraph", appauthor=False)) / "config.toml"


def user_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Settings from the user's config file (see :func:`user_config_path`); ``{}`` when it does not exist. It may
    set every key, :data:`NOT_FROM_REPOSITORY` included: it is the user's own.

    Raises:
        ConfigError: invalid TOML or an unknown / ill-typed key.
    """
    path = user_config_path(environ)
    if not path.is_file():
        return {}
    out: dict[str, Any] = {}
    for key, value in _read_toml(path).items():
        norm = key.replace("-", "_")
        if norm not in _KNOWN:
            raise ConfigError(f"{path}: unknown key {key!r} (known: {', '.join(sorted(_KNOWN))})")
        out[norm] = _coerce(norm, value, str(path))
    return out


def env_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Settings from ``CODEGRAPH_<KEY>`` environment variables (empty values are ignored).

    Raises:
        ConfigError: a value of the wrong type.
    """
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for key in sorted(_KNOWN):
        name = f"CODEGRAPH_{key.upper()}"
        if env.get(name):
            out[key] = _coerce(key, env[name], name)
    return out


def resolve_settings(
    root: Path | None,
    *,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    repository_llm_keys: RepositoryLLMKeys = "refuse",
) -> Settings:
    """Resolve settings for a repository root: overrides > environment > project file > user file > defaults.

    Args:
        root: repository root whose config files are read (``None``: none are read).
        overrides: explicit values (CLI flags); ``None`` values are ignored.
        environ: environment mapping (default ``os.environ``).
        repository_llm_keys: what a repository config that sets a key of :data:`NOT_FROM_REPOSITORY` gets:
            ``"refuse"`` (the default: :class:`ConfigError`) or ``"ignore"`` (dropped, listed in
            :attr:`Settings.ignored_keys`), for callers that never talk to the LLM API.

    Raises:
        ConfigError: any invalid value, naming where it came from, or (``"refuse"``) a key of
            :data:`NOT_FROM_REPOSITORY` in the repository's config.
    """
    merged: dict[str, Any] = user_settings(environ)
    if root is not None:
        merged.update(file_settings(root, repository_llm_keys=repository_llm_keys))
    merged.update(env_settings(environ))
    for key, value in (overrides or {}).items():
        if value is not None:
            merged[key] = _coerce(key, value, f"--{key.replace('_', '-')}")
    return replace(Settings(), **merged)
