from __future__ import annotations

import os
from pathlib import Path

import pytest

from codegraph.discover import Skipped, read_source, walk_files
from codegraph.types import SourceFile


def _paths(root: Path, **kw: int) -> tuple[list[str], list[Skipped]]:
    skipped: list[Skipped] = []
    files = [f.path for f in walk_files(root, max_file_bytes=kw.get("max_file_bytes", 10**6), skipped=skipped)]
    return files, skipped


def _touch(root: Path, *rels: str, text: str = "x = 1\n") -> None:
    for rel in rels:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def test_nested_gitignore_with_negation_and_precedence(tmp_path: Path) -> None:
    _touch(tmp_path, "a.py", "debug.log", "build/out.py", "src/keep.log", "src/drop.py", "src/deep/x.py")
    (tmp_path / ".gitignore").write_text("*.log\nbuild/\n", encoding="utf-8")
    (tmp_path / "src" / ".gitignore").write_text("!keep.log\ndrop.py\n", encoding="utf-8")
    files, _ = _paths(tmp_path)
    assert sorted(files) == [".gitignore", "a.py", "src/.gitignore", "src/deep/x.py", "src/keep.log"]


def test_git_info_exclude_and_codegraphignore(tmp_path: Path) -> None:
    _touch(tmp_path, "a.py", "secret.py", "gen/big.py", "vendor/lib.py")
    (tmp_path / ".git" / "info").mkdir(parents=True)
    (tmp_path / ".git" / "info" / "exclude").write_text("secret.py\n", encoding="utf-8")
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    (tmp_path / ".codegraphignore").write_text("gen/\n", encoding="utf-8")
    files, _ = _paths(tmp_path)
    assert sorted(files) == [".codegraphignore", "a.py", "vendor/lib.py"]


def test_skips_vcs_and_index_dirs_and_default_noise(tmp_path: Path) -> None:
    _touch(tmp_path, "a.py", ".codegraph/x.py", ".git/config", "static/app.min.js", "package-lock.json")
    files, _ = _paths(tmp_path)
    assert files == ["a.py"]


def test_size_limit_is_reported(tmp_path: Path) -> None:
    _touch(tmp_path, "small.py")
    (tmp_path / "huge.py").write_text("x = 1\n" * 1000, encoding="utf-8")
    files, skipped = _paths(tmp_path, max_file_bytes=100)
    assert files == ["small.py"]
    assert [s.path for s in skipped] == ["huge.py"]
    assert "larger than 100 bytes" in skipped[0].reason


def test_symlinks_are_not_followed_and_bad_ones_reported(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    outside = tmp_path / "outside"
    _touch(root, "pkg/mod.py")
    _touch(outside, "secret.py")
    os.symlink(outside, root / "escape")
    os.symlink(root / "pkg", root / "pkg_alias")  # inside the root: harmless, indexed at its real path
    os.symlink("..", root / "pkg" / "up")  # a loop for walkers that follow links
    os.symlink(root / "b", root / "a")
    os.symlink(root / "a", root / "b")  # a <-> b
    os.symlink(root / "missing", root / "dangling")
    files, skipped = _paths(root)
    assert files == ["pkg/mod.py"]
    reasons = {s.path: s.reason for s in skipped}
    assert "outside the repository" in reasons["escape"]
    assert "symlink loop" in reasons["a"] and "symlink loop" in reasons["b"]
    assert "ancestor" in reasons["pkg/up"]
    assert reasons["dangling"] == "broken symlink"
    assert "pkg_alias" not in reasons


def _source(path: Path, rel: str) -> SourceFile:
    st = path.stat()
    return SourceFile(rel, str(path), st.st_size, st.st_mtime_ns, "text")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n\0\0\0IHDR", "binary file"),
        (b"caf\xe9 au lait\n", "not valid UTF-8"),
        (b"var x=1;" * 400, "minified or generated"),
    ],
)
def test_read_source_rejects_binary_undecodable_minified(tmp_path: Path, payload: bytes, reason: str) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(payload)
    with pytest.raises(ValueError, match=reason):
        read_source(_source(path, "f.txt"))


def test_read_source_detects_shebang_and_drops_bom(tmp_path: Path) -> None:
    script = tmp_path / "tool"
    script.write_bytes(b"#!/usr/bin/env python3\nprint('hi')\n")
    _, text, language = read_source(_source(script, "tool"))
    assert language == "python" and text.startswith("#!")
    bom = tmp_path / "b.py"
    bom.write_bytes(b"\xef\xbb\xbfx = 1\n")
    assert read_source(_source(bom, "b.py"))[1] == "x = 1\n"
