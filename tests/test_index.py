from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from codegraph import index as index_mod
from codegraph.embed import OnnxEncoder
from codegraph.errors import SourceError
from codegraph.index import index_repo
from codegraph.status import index_state
from codegraph.store import Store

from .conftest import write_files
from .fake_embedder import HashingEncoder


def test_first_index_then_no_change_embeds_nothing(tmp_repo: Path, encoder: OnnxEncoder) -> None:
    first = index_repo(tmp_repo, encoder)
    assert first.files_seen == 5 and first.files_changed == 5
    assert first.chunks > 8 and first.embedded == first.chunks and first.cache_hits == 0
    second = index_repo(tmp_repo, encoder)
    assert (second.files_changed, second.embedded, second.chunks_new) == (0, 0, 0)
    assert second.files_unchanged == 5 and second.chunks == first.chunks


def test_edit_embeds_only_changed_chunks(tmp_repo: Path, encoder: OnnxEncoder) -> None:
    index_repo(tmp_repo, encoder)
    path = tmp_repo / "app" / "parse_config.py"
    path.write_text(path.read_text() + "\n\ndef added_helper():\n    return 42\n", encoding="utf-8")
    stats = index_repo(tmp_repo, encoder)
    assert stats.files_changed == 1
    assert stats.embedded == 1  # only the new function; the file's other chunks are cache hits
    assert stats.cache_hits >= 2


def test_touch_without_content_change_rechunks_nothing(tmp_repo: Path, encoder: OnnxEncoder) -> None:
    index_repo(tmp_repo, encoder)
    path = tmp_repo / "app" / "retry.py"
    path.write_text(path.read_text(), encoding="utf-8")  # new mtime, same bytes
    stats = index_repo(tmp_repo, encoder)
    assert (stats.files_changed, stats.embedded) == (0, 0)


def test_deleted_and_renamed_files_leave_the_index(tmp_repo: Path, encoder: OnnxEncoder) -> None:
    index_repo(tmp_repo, encoder)
    (tmp_repo / "README.md").unlink()
    shutil.move(tmp_repo / "web" / "cart.js", tmp_repo / "web" / "basket.js")
    stats = index_repo(tmp_repo, encoder)
    assert stats.files_removed == 2 and stats.files_changed == 1
    store = Store.open(tmp_repo)
    paths = set(store.file_rows())
    store.close()
    assert "web/basket.js" in paths and "web/cart.js" not in paths and "README.md" not in paths


def test_reverted_content_is_served_from_the_cache(tmp_repo: Path, encoder: OnnxEncoder) -> None:
    path = tmp_repo / "app" / "retry.py"
    original = path.read_text()
    first = index_repo(tmp_repo, encoder)
    path.write_text(original.replace("exponential backoff", "a fixed delay"), encoding="utf-8")
    edited = index_repo(tmp_repo, encoder)
    assert edited.embedded == 1
    path.write_text(original, encoding="utf-8")
    reverted = index_repo(tmp_repo, encoder)
    assert reverted.files_changed == 1 and reverted.embedded == 0  # content-addressed: all cache hits
    assert reverted.chunks == first.chunks


def test_identical_chunks_share_one_embedding(tmp_path: Path, encoder: OnnxEncoder) -> None:
    block = "if DEBUG:\n    logging.basicConfig(level=logging.DEBUG, format=LOG_FORMAT)\n"
    write_files(tmp_path, {"a.py": f"DEBUG = 1\n\ndef f():\n    pass\n\n{block}\ndef g():\n    pass\n\n{block}"})
    stats = index_repo(tmp_path, encoder)
    store = Store.open(tmp_path)
    rows = store.conn.execute("SELECT code, embedding_id FROM chunks WHERE kind = 'module'").fetchall()
    store.close()
    twins = [emb for code, emb in rows if code.startswith("if DEBUG")]
    assert len(twins) == 2 and twins[0] == twins[1]
    assert stats.embedded == stats.chunks - 1


def test_bad_files_are_counted_warnings_and_the_run_goes_on(tmp_repo: Path, encoder: OnnxEncoder) -> None:
    (tmp_repo / "logo.dat").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(100))
    (tmp_repo / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(100))  # a known binary type
    (tmp_repo / "latin1.py").write_bytes(b"name = 'caf\xe9'\n")
    (tmp_repo / "big.txt").write_text("word " * 300_000, encoding="utf-8")
    stats = index_repo(tmp_repo, encoder)
    assert (stats.files_skipped, stats.files_binary) == (3, 1)
    text = "\n".join(stats.warnings)
    assert "logo.dat: binary file" in text and "logo.png" not in text
    assert "latin1.py: not valid UTF-8" in text
    assert "big.txt: larger than" in text
    assert stats.files_changed == 5


def test_empty_directory_gives_an_empty_index(tmp_path: Path, encoder: OnnxEncoder) -> None:
    stats = index_repo(tmp_path, encoder)
    assert (stats.files_seen, stats.chunks) == (0, 0)
    assert (tmp_path / ".codegraph" / "index.db").is_file()


def test_missing_or_file_root_is_an_error(tmp_path: Path, encoder: OnnxEncoder) -> None:
    with pytest.raises(SourceError, match="no such directory"):
        index_repo(tmp_path / "nope", encoder)
    (tmp_path / "f.py").write_text("x = 1\n")
    with pytest.raises(SourceError, match="not a directory"):
        index_repo(tmp_path / "f.py", encoder)


def test_paths_are_repo_relative_posix(tmp_repo: Path, encoder: OnnxEncoder) -> None:
    index_repo(tmp_repo, encoder)
    store = Store.open(tmp_repo)
    paths = set(store.file_rows())
    store.close()
    assert paths == {"app/retry.py", "app/parse_config.py", "web/cart.js", "cmd/server.go", "README.md"}


def test_new_chunker_version_rebuilds_the_index(
    tmp_repo: Path, encoder: OnnxEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = index_repo(tmp_repo, encoder)
    assert first.rebuilt is False
    import codegraph.index

    monkeypatch.setattr(codegraph.index, "CHUNKER_VERSION", "test-next")
    upgraded = index_repo(tmp_repo, encoder)
    assert upgraded.rebuilt is True
    assert upgraded.files_changed == 5 and upgraded.embedded == first.embedded  # nothing stale survives
    assert index_repo(tmp_repo, encoder).embedded == 0


def test_switching_branches_back_and_forth_embeds_nothing_the_second_time(tmp_repo: Path, encoder: OnnxEncoder) -> None:
    main = {p: (tmp_repo / p).read_text() for p in ("app/retry.py", "web/cart.js")}
    index_repo(tmp_repo, encoder)
    # "checkout feature": two files change, one is added, one is deleted
    (tmp_repo / "app" / "retry.py").write_text(main["app/retry.py"].replace("backoff", "jitter"))
    (tmp_repo / "web" / "cart.js").unlink()
    (tmp_repo / "app" / "feature.py").write_text("def feature_flag(name):\n    return name in FLAGS\n")
    feature = index_repo(tmp_repo, encoder)
    assert feature.embedded > 0
    # "checkout main" again, then "feature" again: everything comes from the content-addressed cache
    for rel, text in main.items():
        (tmp_repo / rel).write_text(text)
    (tmp_repo / "app" / "feature.py").unlink()
    back = index_repo(tmp_repo, encoder)
    assert back.embedded == 0 and back.files_changed == 2 and back.files_removed == 1
    (tmp_repo / "app" / "retry.py").write_text(main["app/retry.py"].replace("backoff", "jitter"))
    (tmp_repo / "web" / "cart.js").unlink()
    (tmp_repo / "app" / "feature.py").write_text("def feature_flag(name):\n    return name in FLAGS\n")
    again = index_repo(tmp_repo, encoder)
    assert again.embedded == 0 and again.cache_hit_ratio == 1.0


def test_no_change_index_never_loads_the_onnx_session(tmp_repo: Path, encoder: OnnxEncoder) -> None:
    from codegraph.embed import resolve_model

    index_repo(tmp_repo, encoder)
    fresh = OnnxEncoder(resolve_model("minilm"))
    assert index_repo(tmp_repo, fresh).embedded == 0
    assert fresh._session is None  # ~0.1 s of session start-up saved on every no-change run (CI)
    (tmp_repo / "new.py").write_text("def g():\n    return 1\n")
    assert index_repo(tmp_repo, fresh).embedded == 1
    assert fresh._session is not None


class _InterruptedEncoder(HashingEncoder):
    """The fake embedder, interrupted (as by Ctrl-C) when asked to embed its ``at``-th group of chunks."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.calls = at, 0

    def iter_embed_documents(self, texts: Sequence[str]) -> Iterator[tuple[Any, Any]]:
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        yield from super().iter_embed_documents(texts)


def test_an_interrupted_first_index_keeps_every_finished_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_encoder: HashingEncoder
) -> None:
    monkeypatch.setattr(index_mod, "STORE_FILES_PER_TXN", 4)  # groups of 4 files
    files = {
        f"pkg/mod_{f}.py": "\n\n".join(f"def op_{f}_{i}(x):\n    return x * {i} + {f}\n" for i in range(3))
        for f in range(20)
    }
    write_files(tmp_path, files)
    with pytest.raises(KeyboardInterrupt):
        index_repo(tmp_path, _InterruptedEncoder(at=3))  # Ctrl-C while embedding the third group
    store = Store.open(tmp_path)
    try:
        kept_files, kept_chunks = store.count("files"), store.count("chunks")
        assert (kept_files, kept_chunks) == (8, 24)  # the first two groups: files, chunks and embeddings
        assert index_state(store) == ("incomplete", None)
    finally:
        store.close()
    resumed = index_repo(tmp_path, fake_encoder)
    assert resumed.files_unchanged == 8 and resumed.files_changed == 12
    assert resumed.embedded == 36 and resumed.chunks == 60  # only what the interrupted run had not stored
    store = Store.open(tmp_path)
    try:
        assert index_state(store) == ("complete", None)
    finally:
        store.close()
