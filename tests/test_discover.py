from __future__ import annotations

import os
from pathlib import Path

import pytest

from codegraph.discover import Skipped, read_source, stat_paths, walk_files
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


def test_secrets_are_skipped_by_default_and_can_be_re_included(tmp_path: Path) -> None:
    secrets = [".env", "app/.env.production", "deploy/server.pem", "tls.key", "home/.ssh/id_ed25519", ".netrc"]
    _touch(tmp_path, "a.py", ".env.example", *secrets)
    assert _paths(tmp_path)[0] == [".env.example", "a.py"]
    (tmp_path / ".codegraphignore").write_text("!.env\n", encoding="utf-8")
    assert _paths(tmp_path)[0] == [".codegraphignore", ".env", ".env.example", "a.py"]


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


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("namespace dc {\nclass Bignum {\n public:\n  int Compare() const;\n};\n}\n", "cpp"),
        ("template <typename T>\nT twice(T x);\n", "cpp"),
        ("struct point { int x; };\nint area(struct point p);\n", "c"),
        ("typedef struct class_t class_t;\nint class_count;\n", "c"),
    ],
)
def test_a_header_that_only_cpp_can_write_is_read_as_cpp(tmp_path: Path, text: str, language: str) -> None:
    # Found by the graph spot checks: double-conversion's .h files were parsed as C and lost every class.
    header = tmp_path / "x.h"
    header.write_text(text, encoding="utf-8")
    assert read_source(_source(header, "x.h"))[2] == language


CACHEDIR_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag.\n"

GENERATED = [
    ".venv/pyvenv.cfg",
    ".venv/lib/python3.11/site-packages/requests/api.py",
    "py311-env/pyvenv.cfg",  # a virtualenv under any name
    "py311-env/lib/python3.11/site-packages/six.py",
    "miniconda-env/conda-meta/history",
    "miniconda-env/lib/python3.11/os.py",
    "node_modules/left-pad/index.js",
    "web/node_modules/react/index.js",
    "pkg/__pycache__/mod.py",
    ".mypy_cache/3.11/mod.data.json",
    ".pytest_cache/v/cache/lastfailed",
    ".ruff_cache/0.6.0/12345",
    ".tox/py311/lib/site.py",
    ".nox/tests/lib/site.py",
    ".gradle/8.5/checksums/checksums.lock",
    "rs/target/debug/build/out.rs",
    "jvm/target/generated-sources/Gen.java",
    "tool-cache/entry.py",
]
SOURCE = [
    "pkg/mod.py",
    "rs/Cargo.toml",
    "rs/src/main.rs",
    "jvm/pom.xml",
    "jvm/src/main/java/App.java",
    "target/notes.py",  # no build file beside it: an ordinary directory
    "env/settings.py",  # named like a virtualenv, but holds no pyvenv.cfg
    "src/build/steps.py",
    "lib/CACHEDIR.TAG",  # without the signature it marks nothing
    "lib/util.py",
]


def test_virtualenvs_dependencies_build_output_and_tool_caches_are_skipped_by_default(tmp_path: Path) -> None:
    _touch(tmp_path, *GENERATED, *SOURCE)
    (tmp_path / "tool-cache" / "CACHEDIR.TAG").write_text(CACHEDIR_TAG, encoding="utf-8")
    files, skipped = _paths(tmp_path)
    assert files == sorted(SOURCE) and skipped == []
    assert stat_paths(tmp_path, GENERATED + SOURCE, max_file_bytes=10**6) == list(
        walk_files(tmp_path, max_file_bytes=10**6)
    )


def test_skipped_generated_directories_are_re_included_by_name(tmp_path: Path) -> None:
    _touch(tmp_path, *GENERATED, *SOURCE)
    (tmp_path / ".codegraphignore").write_text("!node_modules\n!.venv/\n", encoding="utf-8")
    (tmp_path / "rs" / ".gitignore").write_text("!target\n", encoding="utf-8")
    files, _ = _paths(tmp_path)
    for rel in (
        ".venv/lib/python3.11/site-packages/requests/api.py",
        "node_modules/left-pad/index.js",
        "web/node_modules/react/index.js",
        "rs/target/debug/build/out.rs",
    ):
        assert rel in files
    assert "py311-env/lib/python3.11/site-packages/six.py" not in files  # only what was named comes back


def test_binary_file_types_are_passed_over_silently_and_counted(tmp_path: Path) -> None:
    _touch(tmp_path, "app.py")
    types = ["build/App.class", "dist/app.jar", "doc.pdf", "img/SHOT.JPG", "img/logo.png", "lib/native.so"]
    for rel in types:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0IHDR")
    (tmp_path / "blob.dat").write_bytes(b"\0\1\2")  # unknown type: read, found binary, reported by the indexer
    skipped: list[Skipped] = []
    binary: list[str] = []
    files = [f.path for f in walk_files(tmp_path, max_file_bytes=10**6, skipped=skipped, binary=binary)]
    assert files == ["app.py", "blob.dat"] and skipped == []
    assert sorted(binary) == types
    again: list[str] = []
    assert stat_paths(tmp_path, ["img/logo.png", "app.py"], max_file_bytes=10**6, binary=again)[0].path == "app.py"
    assert again == ["img/logo.png"]


def _read(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_source(_source(path, name))[1]


def test_one_long_data_line_in_a_hand_written_file_is_indexed(tmp_path: Path) -> None:
    lines = [f"def handler_{i}(request):\n    return request.get('field_{i}')\n" for i in range(100)]
    table = 'ALPHABET = "' + "abcdefghij" * 300 + '"\n'  # a 3,000-character string constant
    text = "".join(lines[:50]) + table + "".join(lines[50:])
    assert _read(tmp_path, "handlers.py", text) == text


@pytest.mark.parametrize(
    "text",
    [
        "!function(e){" + "var a=e.b;" * 20_000 + "}(window);\n",  # a bundle on one 200 kB line
        "/*! lib v1.2 | MIT */\n" * 10 + ("x=function(){return 1};" * 1_000 + "\n") * 3,  # a few long lines
    ],
    ids=["one-line-bundle", "licence-header-and-long-lines"],
)
def test_minified_bundles_are_still_skipped(tmp_path: Path, text: str) -> None:
    with pytest.raises(ValueError, match="minified or generated"):
        _read(tmp_path, "bundle.js", text)
