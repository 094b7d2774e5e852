from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from codegraph.errors import IndexNotFoundError, IndexUnusableError
from codegraph.identifiers import split_identifier
from codegraph.store import Store, find_index_root
from codegraph.store.fts import fts_query, fts_text, occurrence_score, rescore_keywords
from codegraph.store.migrations import MIGRATIONS, migrate
from codegraph.store.sqlite import connect, sqlite_module


def test_sqlite_vec_and_fts5_load() -> None:
    conn = connect(":memory:")
    assert conn.execute("select vec_version()").fetchone()[0].startswith("v")
    conn.execute("create virtual table t using fts5(a)")
    # this machine's pyenv sqlite3 cannot load extensions: the drop-in must have been chosen
    import sqlite3

    if not hasattr(sqlite3.Connection, "enable_load_extension"):
        assert sqlite_module().__name__ == "sqlean"


def test_migrations_are_numbered_and_idempotent(tmp_path: Path) -> None:
    conn = connect(tmp_path / "x.db")
    assert migrate(conn) == len(MIGRATIONS)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert migrate(conn) == len(MIGRATIONS)  # second run: nothing to do
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(IndexUnusableError, match="newer than this codegraph"):
        migrate(conn)


def test_index_found_from_subdirectory(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    with pytest.raises(IndexNotFoundError, match="codegraph index"):
        find_index_root(tmp_path / "a" / "b")
    Store.open(tmp_path, create=True).close()
    assert find_index_root(tmp_path / "a" / "b") == tmp_path.resolve()
    assert (tmp_path / ".codegraph" / ".gitignore").read_text().strip().endswith("*")


def test_knn_orders_by_cosine(tmp_path: Path) -> None:
    store = Store.open(tmp_path, create=True)
    store.bind_model("m@1", 3)
    vecs = np.array([[1, 0, 0], [0, 1, 0], [0.8, 0.6, 0]], dtype=np.float32)
    ids = store.add_embeddings([b"a" * 16, b"b" * 16, b"c" * 16], vecs)
    got = store.knn(np.array([1, 0.1, 0], dtype=np.float32), 3)
    assert [i for i, _ in got] == [ids[0], ids[2], ids[1]]
    assert got[0][1] < got[1][1] < got[2][1]
    # a different model empties the index and re-creates the vector table with the new width
    assert store.bind_model("m@2", 4) is True
    assert store.count("embeddings") == 0
    store.close()


def test_identifier_splitting() -> None:
    assert split_identifier("getHTTPResponse_v2") == ["get", "http", "response", "v2"]
    assert split_identifier("retry_failed_uploads") == ["retry", "failed", "uploads"]
    assert split_identifier("XMLParser") == ["xml", "parser"]
    text = fts_text("def parseHttpHeader(line): return x")
    assert "parseHttpHeader parse http header" in text


def test_fts_query_drops_stopwords_and_quotes_terms() -> None:
    assert fts_query("Return the parsed HTTP header") == '"parsed" OR "http" OR "header"'
    assert fts_query('"; DROP TABLE x; --') == '"drop" OR "table"'
    assert fts_query("the of and") is None


def test_occurrence_score_counts_the_best_occurrence_and_little_for_repeats() -> None:
    """ts_rank's shape: sorted weights, the j-th divided by (j + 1) ** 2 (path, symbol, body = .25, 1, .25)."""
    assert occurrence_score([0, 1, 0]) == 1.0
    assert occurrence_score([0, 0, 1]) == 0.25
    assert occurrence_score([1, 1, 2]) == pytest.approx(1.0 + 0.25 * (1 / 4 + 1 / 9 + 1 / 16))
    assert occurrence_score([0, 0, 10_000]) < 0.25 * math.pi**2 / 6 < occurrence_score([0, 1, 0])


def test_rescore_keywords_credits_stemmed_matches_to_their_term_and_keeps_ties_in_order() -> None:
    marked = "\x01{}\x02"
    rows = [
        (1, ("a.py", None, " ".join(marked.format("responses") for _ in range(5)))),  # body only, repeated
        (2, ("b.py", marked.format("respond"), "x")),  # symbol hit on the other term
        (3, ("c.py", None, marked.format("Responding"))),
        (4, ("d.py", None, marked.format("responding"))),
    ]
    ranked = rescore_keywords(["response", "respond"], [10, 2], 100, rows)
    assert [r for r, _ in ranked] == [2, 3, 4, 1]  # 3 and 4 tie (same term, same column): bm25 order kept
    scores = dict(ranked)
    assert scores[3] == scores[4] > scores[1] > 0  # "responding" is the rarer term's; "responses" the common one's
