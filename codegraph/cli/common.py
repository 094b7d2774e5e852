"""Helpers shared by the commands: settings, model loading with the user-facing notice, shared options
(``--model``, ``--lang``) and JSON output."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..config import Settings, resolve_settings
from ..errors import OutputClosed

if TYPE_CHECKING:
    from ..embed import AnyEncoder


ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Model: code (default, bundled), fast (static, ~100x faster), minilm, one you pulled, or openai:MODEL "
        "(an OpenAI-compatible embeddings API; see CODEGRAPH_EMBED_BASE_URL).",
    ),
]
"""The ``--model`` option of ``index`` and ``watch``."""


StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Where indexes live: a PostgreSQL + pgvector server (postgresql://user:password@host/db) shared by "
        "many projects; default: the SQLite file .codegraph/index.db (env CODEGRAPH_STORE).",
        show_default=False,
    ),
]
"""The ``--store`` option: a PostgreSQL store's URL (never read from a repository's own config)."""

ProjectOption = Annotated[
    str | None,
    typer.Option(
        "--project",
        help="Project name in a PostgreSQL store (default: the git remote's repository name, else the root "
        "directory's name; env CODEGRAPH_PROJECT).",
        show_default=False,
    ),
]
"""The ``--project`` option of the commands that work on a PostgreSQL store."""

IndexDirOption = Annotated[
    Path,
    typer.Option(
        "--dir",
        "-C",
        help="Use the index at or above this directory (a PostgreSQL store: the project that covers it).",
    ),
]
"""The ``--dir`` option of the commands that work on an existing index (``generate``, ``test``, ``serve``, ...)."""

AllProjectsOption = Annotated[
    bool,
    typer.Option(
        "--all",
        help="Every project of the PostgreSQL store (each result names its project); not with --project.",
    ),
]
"""The ``--all`` option of ``search`` and the graph's symbol commands (PostgreSQL store only)."""


def check_scope(project: str | None, all_projects: bool) -> None:
    """Refuse ``--project NAME`` together with ``--all``.

    Raises:
        typer.BadParameter: both given (exit 2).
    """
    if project and all_projects:
        raise typer.BadParameter("give --project NAME or --all, not both", param_hint="--all")


NestedOption = Annotated[
    bool,
    typer.Option(
        "--nested",
        help="Build a separate index in PATH even though an index of an enclosing directory exists "
        "(by default that enclosing index is refreshed, as git uses the enclosing repository).",
    ),
]
"""The ``--nested`` option of ``index`` and ``watch``."""


def index_root_for(path: Path, *, nested: bool, store: str | None = None) -> Path:
    """The directory whose index ``index``/``watch`` PATH works on: PATH itself when it holds an index, when
    ``nested``, or when no parent directory holds one; else the nearest enclosing indexed directory (with a
    notice on stderr), so that ``cd sub/dir && codegraph index .`` refreshes the repository's index instead of
    creating a second one that would shadow it."""
    from ..errors import IndexNotFoundError
    from ..store import INDEX_DIR, INDEX_FILE, find_index_root, store_url

    if store_url(settings_for(None, store=store)) is not None:
        return path  # a PostgreSQL store: projects are named, not nested
    here = path.resolve()
    if nested or (here / INDEX_DIR / INDEX_FILE).is_file() or here.parent == here:
        return path
    try:
        root = find_index_root(here.parent)
    except IndexNotFoundError:
        return path
    from . import render

    render.notice(
        f"codegraph: {here} is inside the index of {root}; refreshing that index (--nested builds a separate one here)"
    )
    return root


def languages_option(values: list[str] | None) -> frozenset[str] | None:
    """``--lang`` values as language ids (``None``: every language); an unknown id is a usage error (exit 2)."""
    from ..errors import ConfigError
    from ..languages import parse_languages

    try:
        return parse_languages(values)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--lang") from None


def output_closed(stream: Any) -> OutputClosed:
    """Point ``stream``'s file descriptor at ``/dev/null`` (so later writes and the final flush are silent) and
    return the :class:`OutputClosed` to raise."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, stream.fileno())
    os.close(devnull)
    return OutputClosed()


def stdout_json(obj: Any) -> None:
    """One JSON document (or JSON Lines record) on stdout, flushed."""
    try:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        raise output_closed(sys.stdout) from None


def load_encoder(name: str | None, settings: Settings) -> AnyEncoder:
    """Resolve and load a model; prints the bundled-model notice (stderr) when the default was replaced."""
    from ..embed import open_embedder, resolve_model
    from . import render

    model = resolve_model(name)
    if model.notice:
        render.notice(model.notice)
    return open_embedder(model, threads=settings.threads, batch_size=settings.batch_size, settings=settings)


_warned: set[str] = set()
"""Warnings already printed by this process (each is printed once, however often settings are resolved)."""


def settings_for(root: Path | None, *, uses_llm: bool = False, **overrides: Any) -> Settings:
    """Resolve settings for ``root`` with CLI flag overrides (``None`` values ignored).

    A repository config that sets ``llm_base_url`` or ``llm_api_key_env`` (only the environment may: see
    :data:`codegraph.config.NOT_FROM_REPOSITORY`) is refused (:class:`~codegraph.errors.ConfigError`, exit 1)
    by the commands that talk to the LLM API (``uses_llm=True``: generate, test); every other command ignores
    those keys and warns once on stderr.
    """
    settings = resolve_settings(root, overrides=overrides, repository_llm_keys="refuse" if uses_llm else "ignore")
    for entry in settings.ignored_keys:
        if entry not in _warned:
            _warned.add(entry)
            from ..config import not_from_repository_reason
            from . import render

            key = entry.rsplit(": ", 1)[-1].replace("-", "_")
            render.warning(
                f"{entry} is ignored: a repository's config may not set it ({not_from_repository_reason(key)}), "
                f"and generate / test refuse to run while it is there; remove it and set "
                f"CODEGRAPH_{key.upper()} in your environment (or your own config file) instead"
            )
    return settings


def read_only_notice(store: Any) -> None:
    """One line on stderr when the index was opened read-only because its file or directory is not writable
    (:meth:`codegraph.store.store.Store.open`)."""
    mode = getattr(store, "read_only", None)
    if mode is None:
        return
    from . import render

    how = "read-only" if mode == "ro" else "read-only and immutable (changes by any writer meanwhile are not seen)"
    render.notice(f"codegraph: {store.location()} is not writable here; opened it {how}")


def quote_path(path: str) -> str:
    """``path`` as git prints an unusual name (``core.quotePath``): unchanged when it holds only printable
    characters other than ``"`` and ``\\``, else in double quotes with C escapes (``\\t``, ``\\n``, ``\\"``,
    ``\\\\``, other control characters and bytes that are not UTF-8 as 3-digit octal). Unlike git's default,
    printable non-ASCII characters stay as they are (git's ``core.quotePath=false``); spaces stay too, as in git:
    the lines are tab-separated."""
    special = {"\t": "\\t", "\n": "\\n", "\r": "\\r", '"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b"}
    special |= {"\f": "\\f", "\v": "\\v"}
    if all(ch.isprintable() and ch not in special for ch in path):
        return path
    out = []
    for ch in path:
        if ch in special:
            out.append(special[ch])
        elif "\udc80" <= ch <= "\udcff":  # a byte that is not UTF-8 (surrogateescape)
            out.append(f"\\{ord(ch) - 0xDC00:03o}")
        elif not ch.isprintable():
            out.append("".join(f"\\{b:03o}" for b in ch.encode("utf-8", "surrogatepass")))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
