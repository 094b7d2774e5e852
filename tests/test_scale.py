"""No ceiling on size: a synthetic tree larger than every cache and batch limit of the pipeline.

The limits are lowered so that the tree exceeds each of them many times over while the test stays fast; the
embedder is :class:`~tests.fake_embedder.HashingEncoder` (real tokenizer, memo and batching; no ONNX pass).
``test_real_limits_synthetic_tree`` (marked slow) runs the real limits with more distinct chunk texts than
the token-count memo holds.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from codegraph import index as index_mod
from codegraph import search as search_mod
from codegraph.embed import runtime
from codegraph.index import index_repo
from codegraph.search import Filters, Searcher
from codegraph.store import Store
from codegraph.store import store as store_mod

from .fake_embedder import HashingEncoder

WORDS = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec "
    "romeo sierra tango uniform victor whiskey xray yankee zulu"
).split()


def _function(rng: random.Random, name: str, lines: int) -> str:
    body = []
    for i in range(lines):
        a, b = rng.sample(WORDS, 2)
        body.append(f"    {a}_{i} = {b}({i}, '{rng.random():.6f}')")
    return f"def {name}(x):\n" + "\n".join(body) + "\n    return x\n"


def make_tree(
    root: Path, *, files: int, functions: int, seed: int = 7, long_every: int = 10, short: tuple[int, int] = (3, 12)
) -> dict[str, str]:
    """Write ``files`` Python files of ``functions`` distinct functions each (``short`` lines long, every
    ``long_every``-th one oversized, so it is cut into windows) and a Go file; returns path -> text."""
    rng = random.Random(seed)
    written: dict[str, str] = {}
    for f in range(files):
        parts = ['"""Synthetic module."""\n', "def shared_helper(x):\n    y = x * 2\n    z = y + 1\n    return z\n"]
        for g in range(functions):
            parts.append(_function(rng, f"func_{f}_{g}", 120 if g % long_every == 0 else rng.randint(*short)))
        rel = f"pkg{f % 7}/mod_{f}.py"
        written[rel] = "\n\n".join(parts)
    written["cmd/main.go"] = "package main\n\nfunc Main() {\n\tprintln(1)\n\tprintln(2)\n\tprintln(3)\n}\n"
    for rel, text in written.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return written


def test_count_tokens_survives_a_full_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: the memo was emptied mid-call and the call then looked up keys it had just dropped."""
    monkeypatch.setattr(runtime, "TOKEN_COUNT_CACHE", 8)
    enc = HashingEncoder()
    fresh = HashingEncoder()
    texts = [f"def f{i}(x): return x + {i}" for i in range(30)]
    assert enc.count_tokens(texts[:6]) == fresh.count_tokens(texts[:6])
    mixed = texts[:6] + texts[6:20] + texts[:3]  # remembered texts and enough new ones to overflow the memo
    assert enc.count_tokens(mixed) == fresh.count_tokens(mixed)
    assert enc.count_tokens(texts) == fresh.count_tokens(texts)  # more new texts than the memo can hold
    assert len(enc._token_counts) <= 8


def test_line_token_counts_come_from_one_tokenisation() -> None:
    enc = HashingEncoder()
    text = "def parse_header(line):\n\n    name, _, value = line.partition(':')\n    return name"
    counts = enc.count_line_tokens(text)
    assert len(counts) == 4 and counts[1] == 1  # the blank line is just its newline
    per_line = [enc.count_tokens([line])[0] - enc.count_tokens([""])[0] + 1 for line in text.split("\n")]
    assert counts == per_line  # WordPiece never merges across whitespace, so both ways agree here
    assert sum(counts) == len(enc.tokenizer.encode(text, add_special_tokens=False).ids) + 4


def test_tree_over_every_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    limits = {
        (runtime, "TOKEN_COUNT_CACHE"): 64,
        (runtime, "TOKENIZE_BLOCK"): 16,
        (index_mod, "EMBED_COMMIT_ROWS"): 5,
        (index_mod, "STORE_FILES_PER_TXN"): 3,
        (store_mod, "SQL_IN_BATCH"): 7,
        (search_mod, "MAX_KNN_K"): 40,
    }
    for (module, name), value in limits.items():
        monkeypatch.setattr(module, name, value)
    root = tmp_path / "big"
    written = make_tree(root, files=40, functions=12)
    enc = HashingEncoder(batch_size=4)

    first = index_repo(root, enc)
    assert first.files_seen == first.files_changed == 41 and first.files_skipped == 0
    assert first.chunks > 40 * 12 > 64 * 5  # several times the memo, many times every batch size
    assert first.embedded == first.chunks and first.cache_hits == 0
    with Store.open(root) as store:
        windows = store.conn.execute(
            "SELECT count(*) FROM chunks WHERE span_start != start_line OR span_end != end_line"
        ).fetchone()[0]
        orphans = store.conn.execute(
            "SELECT count(*) FROM chunks c LEFT JOIN embeddings_vec v ON v.rowid = c.embedding_id WHERE v.rowid IS NULL"
        ).fetchone()[0]
        assert windows > 40  # oversized definitions were cut from one tokenisation each
        assert orphans == 0 and store.check_integrity() == "ok"
        assert store.count("files") == 41

    again = index_repo(root, enc)
    assert (again.files_changed, again.embedded, again.chunks) == (0, 0, first.chunks)

    edited = "pkg3/mod_3.py"
    (root / edited).write_text(written[edited].replace("func_3_5(", "renamed_func(", 1), encoding="utf-8")
    third = index_repo(root, enc)
    assert third.files_changed == 1 and 1 <= third.embedded <= 2 and third.cache_hits > 12

    with Searcher(Store.open(root), enc) as searcher:
        hits = searcher.search("renamed_func", k=3, mode="keyword")
        assert hits and hits[0].path == edited and hits[0].symbol == "renamed_func"
        target = next(h for h in searcher.search("func_17_4", k=5, mode="keyword") if h.symbol == "func_17_4")
        semantic = searcher.search(target.excerpt, k=5, mode="semantic")
        assert (semantic[0].path, semantic[0].start_line) == (target.path, target.start_line)
        # a filter that keeps one file in 41: more candidates than the KNN limit must be scanned
        only_go = searcher.search("print numbers", k=5, filters=Filters(languages=frozenset({"go"})))
        assert {h.path for h in only_go} == {"cmd/main.go"} and "Main" in {h.symbol for h in only_go}
        many = searcher.search("alpha bravo", k=60, mode="hybrid")
        assert len(many) == 60 and len({(h.path, h.start_line) for h in many}) == 60


@pytest.mark.slow
def test_real_limits_synthetic_tree(tmp_path: Path) -> None:
    """More distinct chunk texts than the real token-count memo holds (the crash needed ~200k), real limits."""
    root = tmp_path / "huge"
    files, functions = 1100, 200
    make_tree(root, files=files, functions=functions, seed=11, long_every=100, short=(1, 2))
    assert files * functions > runtime.TOKEN_COUNT_CACHE
    enc = HashingEncoder()
    stats = index_repo(root, enc)
    assert stats.files_changed == files + 1 and stats.files_skipped == 0
    assert stats.chunks > runtime.TOKEN_COUNT_CACHE
    assert len(enc._token_counts) <= runtime.TOKEN_COUNT_CACHE
    again = index_repo(root, enc)
    assert (again.files_changed, again.embedded) == (0, 0)
