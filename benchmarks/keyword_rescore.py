#!/usr/bin/env python
"""Prototype (not shipped): rescore FTS5's keyword candidates the way the PostgreSQL store's ``ts_rank`` scores
them, and measure the dev set (not a test: it prints MRR@10).

Usage::

    python benchmarks/keyword_rescore.py [--models fast] [--candidates 300] [--shape best|sum] [--k1 1.2]

``Store.bm25`` is wrapped in this process only: FTS5's ``bm25()`` picks ``--candidates`` chunks, then each query
term scores its BM25 IDF (over the whole index) times a term-frequency factor built from the term's occurrences
per column, weighted path 0.25 / symbol 1.0 / body 0.25 (occurrences counted with ``highlight()``):

* ``best`` (the shape of PostgreSQL's ``ts_rank``, normalisation 0): the heaviest occurrence, plus each further
  one divided by ``(j + 1) ** 2`` - a symbol hit is worth 4x a body hit, however often the body repeats it;
* ``sum``: BM25 saturation without length normalisation, ``tf / (tf + k1)`` of the weighted sum.

2026-11-26, chunker 6, lenient MRR@10 (SQLite FTS5 ``bm25()`` as shipped: keyword 0.417 ``fast``; hybrid 0.497
``fast``, 0.558 ``code``): ``best`` keyword 0.487 ``fast`` / 0.485 ``code``, hybrid 0.522 ``fast`` / 0.572 ``code``
(every language equal or better); ``sum`` (k1 1.2) keyword 0.419. The cost per query (one ``count`` and one
``highlight`` pass per term) has not been measured on a large index: measure it before shipping this.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import devset

from codegraph.store import store as sqlite_store
from codegraph.store.fts import fts_terms

WEIGHTS = (0.25, 1.0, 0.25)
"""Per-column occurrence weights (path, symbol, body), as the PostgreSQL store's ``RANK_WEIGHTS``."""


def rescoring(candidates: int, shape: str, k1: float) -> Any:
    """A replacement for ``Store.bm25`` that rescores FTS5's top ``candidates``."""
    original = sqlite_store.Store.bm25

    def bm25(self: Any, query: str, k: int, *, where: Any = None) -> list[tuple[int, float]]:
        base = original(self, query, max(k, candidates), where=where)
        if not base:
            return base
        ids = [i for i, _ in base]
        total = self.conn.execute("SELECT count(*) FROM chunks_fts").fetchone()[0]
        score = dict.fromkeys(ids, 0.0)
        marks = ",".join("?" * len(ids))
        for term in fts_terms(query):
            expr = f'"{term}"'
            df = self.conn.execute("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", (expr,)).fetchone()[0]
            if not df:
                continue
            idf = math.log(1 + (total - df + 0.5) / (df + 0.5))
            rows = self.conn.execute(
                "SELECT rowid, highlight(chunks_fts, 0, char(1), ''), highlight(chunks_fts, 1, char(1), ''), "
                "highlight(chunks_fts, 2, char(1), '') FROM chunks_fts "
                f"WHERE chunks_fts MATCH ? AND rowid IN ({marks})",
                (expr, *ids),
            )
            for rowid, *columns in rows:
                occurrences = sorted(
                    (w for w, text in zip(WEIGHTS, columns, strict=True) for _ in range((text or "").count("\x01"))),
                    reverse=True,
                )
                if shape == "best":
                    score[rowid] += idf * sum(w / (j + 1) ** 2 for j, w in enumerate(occurrences))
                else:
                    tf = sum(occurrences)
                    score[rowid] += idf * tf / (tf + k1)
        ranked = sorted(ids, key=lambda i: -score[i])
        return [(i, score[i]) for i in ranked[:k]]

    return bm25


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="fast")
    ap.add_argument("--candidates", type=int, default=300)
    ap.add_argument("--shape", choices=("best", "sum"), default="best")
    ap.add_argument("--k1", type=float, default=1.2)
    args = ap.parse_args()
    sqlite_store.Store.bm25 = rescoring(args.candidates, args.shape, args.k1)  # type: ignore[method-assign]
    run = argparse.Namespace(
        models=args.models, modes="keyword,hybrid", config=[], lang=None, package=None, store=None, json=None
    )
    devset.print_table(devset.run(run))


if __name__ == "__main__":
    main()
