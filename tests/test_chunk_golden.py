"""Golden chunking tests: realistic fixtures per language, plus focused edge cases of the chunker.

Each ``tests/fixtures/chunk/<lang>/<name>.<ext>`` has a ``<name>.expected.json`` that pins kind, symbol, scope and
line range of every chunk, in output order. ``sample.*`` is the one realistic file per language; the other
fixtures reproduce reported bugs (doc comments of first methods, one-line remainder chunks). Each expected file
was checked line by line against its fixture: a change in it is a change in behaviour to review, not to re-dump.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import pytest

from codegraph.chunk import chunk_source
from codegraph.chunk.chunker import OVERLAP_LINES, TEXT_WINDOW_LINES, embedding_text, estimate_tokens
from codegraph.chunk.remainders import MIN_REMAINDER_LINES, MIN_REMAINDER_WORD_CHARS
from codegraph.types import Chunk

FIXTURES = Path(__file__).parent / "fixtures" / "chunk"

GOLDEN: list[tuple[str, str]] = [
    ("python", "py"),
    ("javascript", "js"),
    ("typescript", "ts"),
    ("tsx", "tsx"),
    ("go", "go"),
    ("rust", "rs"),
    ("java", "java"),
    ("c", "c"),
    ("cpp", "cpp"),
    ("csharp", "cs"),
    ("ruby", "rb"),
]

FIXTURE_FILES: list[tuple[str, Path]] = [
    (language, path) for language, ext in GOLDEN for path in sorted((FIXTURES / language).glob(f"*.{ext}"))
]

FIELDS = ("kind", "symbol", "scope", "start_line", "end_line")


def _summary(chunks: list[Chunk]) -> list[dict[str, object]]:
    return [{name: getattr(c, name) for name in FIELDS} for c in chunks]


def _assert_same(expected: list[dict[str, object]], actual: list[dict[str, object]], label: str) -> None:
    if expected == actual:
        return
    diff = difflib.unified_diff(
        [json.dumps(row) for row in expected],
        [json.dumps(row) for row in actual],
        fromfile=f"{label} (expected)",
        tofile=f"{label} (actual)",
        lineterm="",
        n=len(expected) + len(actual),
    )
    pytest.fail("chunks differ:\n" + "\n".join(diff), pytrace=False)


def _lines_of(chunk: Chunk, source: str) -> str:
    """The source lines a chunk claims to hold, counting lines the way editors do (``\\n`` only)."""
    lines = source.split("\n")
    return "\n".join(lines[chunk.start_line - 1 : chunk.end_line])


def _fixture_chunks(language: str, path: Path) -> tuple[str, list[Chunk]]:
    source = path.read_text(encoding="utf-8")
    return source, chunk_source(path.name, language, source, max_tokens=256)


@pytest.mark.parametrize(("language", "path"), FIXTURE_FILES, ids=[f"{lang}/{p.name}" for lang, p in FIXTURE_FILES])
def test_golden_fixture(language: str, path: Path) -> None:
    expected = json.loads(path.with_name(f"{path.stem}.expected.json").read_text(encoding="utf-8"))

    source, chunks = _fixture_chunks(language, path)

    _assert_same(expected, _summary(chunks), f"{language}/{path.name}")
    for chunk in chunks:
        assert chunk.path == path.name
        assert chunk.language == language
        assert chunk.code == _lines_of(chunk, source), f"code of {chunk.kind} {chunk.symbol} at {chunk.start_line}"
        # No fixture chunk is longer than the limit, so none is split.
        assert (chunk.span_start, chunk.span_end) == (chunk.start_line, chunk.end_line)
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert prev.end_line < nxt.start_line, f"{prev.symbol} and {nxt.symbol} share lines"


def test_golden_fixtures_are_all_listed() -> None:
    assert sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()) == sorted(lang for lang, _ in GOLDEN)
    for language, ext in GOLDEN:
        sources = {p.stem for p in (FIXTURES / language).glob(f"*.{ext}")}
        expected = {p.name.removesuffix(".expected.json") for p in (FIXTURES / language).glob("*.expected.json")}
        assert "sample" in sources and sources == expected, language


# --- hygiene: no remainder chunk is boilerplate or a lone line -------------------------------------------

# The one-line class chunks of the fixtures: each is a whole definition, not a leftover of one.
WHOLE_ONE_LINE_TYPES = {
    ("go", "type Stack[T any] struct{ items []T }"),
    ("rust", "pub struct EnvSource;"),
    ("csharp", "public enum OrderStatus { Draft, Placed, Shipped }"),
    ("csharp", "public record OrderLine(string Sku, int Quantity, decimal Price);"),
    ("ruby", "class Reminder < Struct.new(:invoice, :sent_at); end"),
}
TRIVIAL = re.compile(
    r"^\s*(?:[^\w\s]*|(?:end|private|public|protected|pass)\W*|(?:module|class|namespace|mod|impl)\s+[\w:.]+\s*\{?"
    r"|#\s*frozen_string_literal:.*|['\"]use strict['\"];?)\s*$"
)


@pytest.mark.parametrize(("language", "path"), FIXTURE_FILES, ids=[f"{lang}/{p.name}" for lang, p in FIXTURE_FILES])
def test_no_class_or_module_chunk_is_a_lone_or_trivial_line(language: str, path: Path) -> None:
    _, chunks = _fixture_chunks(language, path)
    for c in chunks:
        if c.kind not in ("class", "module"):
            continue
        lines = c.code.split("\n")
        assert not all(TRIVIAL.match(line) for line in lines), f"trivial {c.kind} chunk {c.code!r}"
        if len(lines) == 1:
            assert (language, c.code.strip()) in WHOLE_ONE_LINE_TYPES, f"one-line {c.kind} chunk {c.code!r}"


@pytest.mark.parametrize(
    ("language", "source"),
    [
        ("ruby", "# frozen_string_literal: true\n\nmodule Rack\n  private\nend\n"),
        ("javascript", "'use strict';\n\n/* eslint-disable no-console */\n"),
        ("python", "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n\n# noqa\n"),
        ("go", "//go:build linux\n"),
        ("cpp", "#pragma once\n}  // namespace tiles\n"),
    ],
    ids=["ruby", "javascript", "python", "go", "cpp"],
)
def test_boilerplate_only_lines_give_no_chunk(language: str, source: str) -> None:
    chunks = chunk_source("f", language, source)
    assert [c.code for c in chunks if c.kind == "module" and c.symbol is None] == []
    assert all(c.start_line != c.end_line for c in chunks), [c.code for c in chunks]


def test_minimum_remainder_size() -> None:
    """Two non-noise lines and 32 identifier characters (see ``remainders.py``): pinned so that a change is
    deliberate, as it moves chunk boundaries in every index."""
    assert (MIN_REMAINDER_LINES, MIN_REMAINDER_WORD_CHARS) == (2, 32)
    kept = "MAX_RETRIES = compute_retries()\nBACKOFF_SECONDS = 2.5\n\n\ndef run():\n    pass\n"
    merged = "X = 1\nY = 2\n\n\ndef run():\n    pass\n"
    assert [(c.kind, c.start_line, c.end_line) for c in chunk_source("f.py", "python", kept)] == [
        ("module", 1, 2),
        ("function", 5, 6),
    ]
    assert [(c.kind, c.start_line, c.end_line) for c in chunk_source("f.py", "python", merged)] == [("function", 1, 6)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # A small leftover right after a method that names it joins that method.
        (
            "class P:\n    def submit(self):\n        pass\n    submit.__doc__ = 'x'\n\n    def map(self): pass",
            [("method", "submit", 1, 4), ("method", "map", 6, 6)],
        ),
        # A lone header line goes forward into the first member; a lone line at the end of its owner goes back.
        (
            "class P:\n\n    def a(self):\n        pass\n\n    LIMIT = 3\n\n\ndef b():\n    pass\n",
            [("method", "a", 1, 6), ("function", "b", 9, 10)],
        ),
        # A small file-level leftover between definitions goes forward, to the code that follows it.
        (
            "def a():\n    pass\n\n\nTIMEOUT = 5\n\n\ndef b():\n    return TIMEOUT\n",
            [("function", "a", 1, 2), ("function", "b", 5, 9)],
        ),
        # A small file with nothing to merge into stays whole.
        ("from .core import run\n", [("module", None, 1, 1)]),
    ],
    ids=["trailing-alias", "class-header-and-tail", "module-constant", "lone-file"],
)
def test_small_remainders_merge_into_a_neighbour(source: str, expected: list[tuple[object, ...]]) -> None:
    chunks = chunk_source("f.py", "python", source)
    assert [(c.kind, c.symbol, c.start_line, c.end_line) for c in chunks] == expected


# --- splitting of long definitions ---------------------------------------------------------------------


FLAGS = ("verbose", "quiet", "force", "dry_run", "color", "json", "strict", "cache", "trace", "offline")


def _flag_parser(flags: tuple[str, ...]) -> str:
    """A module with a two-line import header and one function of ``4 + 2 * len(flags)`` lines, at line 5."""
    branches = "".join(f'        elif arg == "--{name}":\n            opts["{name}"] = True\n' for name in flags)
    return (
        "import sys\n"
        "from collections.abc import Sequence\n"
        "\n"
        "\n"
        "def parse_flags(argv):\n"
        "    opts = {}\n"
        "    for arg in argv:\n"
        '        if arg == "--":\n'
        "            break\n"
        f"{branches}"
        "    return opts\n"
    )


def test_long_function_is_split_into_overlapping_windows() -> None:
    source = _flag_parser(FLAGS)
    def_start, def_end = 5, 5 + 5 + 2 * len(FLAGS)
    max_tokens = 64

    chunks = chunk_source("cli/flags.py", "python", source, max_tokens=max_tokens)

    assert [(c.kind, c.start_line, c.end_line) for c in chunks if c.kind != "function"] == [("module", 1, 2)]
    windows = [c for c in chunks if c.kind == "function"]
    assert len(windows) > 2
    assert {(c.symbol, c.scope) for c in windows} == {("parse_flags", None)}
    assert {(c.span_start, c.span_end) for c in windows} == {(def_start, def_end)}
    assert windows[0].start_line == def_start
    assert windows[-1].end_line == def_end
    for prev, nxt in zip(windows, windows[1:], strict=False):
        assert prev.start_line < nxt.start_line <= prev.end_line < nxt.end_line, (prev, nxt)
        assert prev.end_line - nxt.start_line + 1 == OVERLAP_LINES
    covered = {line for c in windows for line in range(c.start_line, c.end_line + 1)}
    assert covered == set(range(def_start, def_end + 1))
    for c in windows:
        assert c.code == _lines_of(c, source)
        text = embedding_text(c.path, c.kind, c.qualified_symbol, c.code)
        assert estimate_tokens([text])[0] <= max_tokens, (c.start_line, c.end_line)


def test_unsplit_function_keeps_its_own_span() -> None:
    source = _flag_parser(FLAGS[:2])
    chunks = chunk_source("cli/flags.py", "python", source, max_tokens=256)
    assert [(c.kind, c.start_line, c.end_line, c.span_start, c.span_end) for c in chunks] == [
        ("module", 1, 2, 1, 2),
        ("function", 5, 14, 5, 14),
    ]


def test_no_window_lies_inside_the_previous_one() -> None:
    lines = ["def build_query(filters):", "    parts = []"]
    lines += [f"    parts.append('f{i} = ' + str(filters[{i}]))" for i in range(4)]
    lines.append(
        "    clause = ' AND '.join(p for p in parts if p and not p.isspace() and len(p) < 200)"
        " + ' ORDER BY id DESC LIMIT 50'"
    )
    lines.append("    return clause")
    source = "\n".join(lines) + "\n"

    chunks = chunk_source("db/query.py", "python", source, max_tokens=64)

    assert len(chunks) > 1
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert nxt.end_line > prev.end_line, f"window {nxt.start_line}-{nxt.end_line} repeats its predecessor"


# --- files without definitions ---------------------------------------------------------------------------


def test_text_file_is_cut_into_overlapping_line_windows() -> None:
    assert (TEXT_WINDOW_LINES, OVERLAP_LINES) == (40, 3)
    source = "".join(f"line {n}: some prose about the project\n" for n in range(1, 101))

    chunks = chunk_source("docs/notes.txt", "text", source, max_tokens=100_000)

    assert len(chunks) >= 3
    assert chunks[0].start_line == 1 and chunks[-1].end_line == 100
    for c in chunks:
        assert c.kind == "window" and c.symbol is None and c.scope is None
        assert (c.span_start, c.span_end) == (c.start_line, c.end_line)
        assert c.end_line - c.start_line + 1 <= TEXT_WINDOW_LINES
        assert c.code == _lines_of(c, source)
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert prev.end_line - nxt.start_line + 1 == OVERLAP_LINES


def test_text_windows_end_at_blank_lines_between_paragraphs() -> None:
    paragraphs = ["\n".join(f"paragraph {p} sentence {i}." for i in range(9)) for p in range(12)]
    source = "\n\n".join(paragraphs) + "\n"

    chunks = chunk_source("docs/notes.md", "text", source, max_tokens=100_000)

    lines = source.split("\n")
    for c in chunks[:-1]:
        assert lines[c.end_line - 1] == "", f"window {c.start_line}-{c.end_line} cut inside a paragraph"


def _window_texts(source: str, language: str, path: str, max_tokens: int) -> list[str]:
    return [c.code for c in chunk_source(path, language, source, max_tokens=max_tokens)]


def test_an_edit_early_in_a_long_function_keeps_the_later_windows_text() -> None:
    """Windows are cut at content-chosen lines, so they re-synchronise after an edit (cache hits downstream)."""
    body = []
    for block in range(30):
        body += [
            f"    if options.get('flag_{block}'):",
            f"        total += compute_{block}(items, weight={block})",
            f"        log.debug('step {block} gave %s', total)",
            "",
        ]
    source = "def long_function(items, options):\n    total = 0\n" + "\n".join(body) + "\n    return total\n"
    edited = source.replace("    total = 0\n", "    total = 0\n    seen = set()\n    extra = []\n", 1)

    before = _window_texts(source, "python", "pkg/long.py", 128)
    after = _window_texts(edited, "python", "pkg/long.py", 128)

    assert len(before) >= 6
    kept = set(before) & set(after)
    # The first window or two change with the edit; every later one keeps its text.
    assert len(kept) >= len(before) - 2, f"only {len(kept)} of {len(before)} windows kept their text"


def test_a_line_inserted_at_the_top_of_a_long_remainder_keeps_its_later_pieces() -> None:
    table = [f"ENTRY_{i} = register('entry-{i}', priority={i % 7})" for i in range(200)]
    for i in range(10, 200, 13):
        table[i] = "\n" + table[i]
    source = "\n".join(table) + "\n"
    edited = "import registry\n" + source

    before = _window_texts(source, "python", "pkg/table.py", 100_000)
    after = _window_texts(edited, "python", "pkg/table.py", 100_000)

    assert len(before) >= 4
    assert len(set(before) & set(after)) >= len(before) - 1


@pytest.mark.parametrize("language", ["python", "javascript", "c", "text"])
def test_empty_file_gives_no_chunks(language: str) -> None:
    assert chunk_source("empty", language, "") == []


@pytest.mark.parametrize(
    ("language", "source"),
    [
        ("python", "\n\n   \n\t\n"),
        ("text", "\n \n\n"),
        ("javascript", "\n{\n}\n\n[];\n();\n"),
        ("c", "\n;\n{\n}\n"),
        ("go", "\n\n"),
    ],
)
def test_blank_or_bracket_only_file_gives_no_chunks(language: str, source: str) -> None:
    assert chunk_source("blank", language, source) == []


# --- regressions: bugs found by the golden fixtures, fixed in the chunker -----------------------------


@pytest.mark.parametrize(
    ("language", "source", "expected"),
    [
        (
            "python",
            "RETRIES = 3  # then give up\nTIMEOUT = 5  # seconds\ndef wait():\n    return TIMEOUT\n",
            [("module", None, 1, 2), ("function", "wait", 3, 4)],
        ),
        (
            "java",
            "class Counter {\n    private int count; // adds so far\n    void add() {\n        count++;\n    }\n}\n",
            [("class", "Counter", 1, 2), ("method", "add", 3, 5)],
        ),
        (
            "java",
            "@ThreadSafe(false)\nclass Counter { // not thread-safe\n    void add() {\n        count++;\n    }\n}\n",
            [("class", "Counter", 1, 2), ("method", "add", 3, 5)],
        ),
    ],
    ids=["python-constant", "java-field", "java-class-header"],
)
def test_trailing_comment_stays_with_its_line(language: str, source: str, expected: list[tuple[object, ...]]) -> None:
    chunks = chunk_source("f", language, source)
    assert [(c.kind, c.symbol, c.start_line, c.end_line) for c in chunks] == expected


def test_rust_doc_comment_after_blank_line_is_not_attached() -> None:
    source = '//! Prints the version of the tool.\n//! Takes no arguments.\n\nfn main() {\n    println!("1.0");\n}\n'
    chunks = chunk_source("src/main.rs", "rust", source)
    assert [(c.kind, c.symbol, c.start_line, c.end_line) for c in chunks] == [
        ("module", None, 1, 2),
        ("function", "main", 4, 6),
    ]


def test_form_feed_does_not_shift_lines() -> None:
    source = "def first():\n    pass\n\x0c\ndef second():\n    return 1\n"
    chunks = chunk_source("pages.py", "python", source)
    assert [(c.kind, c.symbol, c.start_line, c.end_line, c.code) for c in chunks] == [
        ("function", "first", 1, 2, "def first():\n    pass"),
        ("function", "second", 4, 5, "def second():\n    return 1"),
    ]


def test_csharp_file_scoped_namespace_scopes_its_types() -> None:
    source = "namespace Shop.Orders;\n\npublic class Order\n{\n    public void Place() { }\n}\n"
    chunks = chunk_source("Order.cs", "csharp", source)
    assert [(c.symbol, c.scope) for c in chunks if c.kind == "method"] == [("Place", "Shop.Orders.Order")]


# A doc comment (or attribute) above the first member of a body sits, in several grammars, beside the body node
# rather than in it (Python ``block``, Ruby ``body_statement``): it must still travel with that member.
FIRST_MEMBER_DOCS = [
    ("python", "class Outer:\n    # Says hello.\n    def hello(self):\n        return 1\n", "hello", 2),
    ("python", "class Outer:\n    # Cached.\n    @property\n    def size(self):\n        return 1\n", "size", 2),
    ("python", "if True:\n    # Only here.\n    def f():\n        pass\n", "f", 2),
    ("ruby", "class Body\n  # Builds one.\n  def initialize(p)\n    @p = p\n  end\nend\n", "initialize", 2),
    (
        "ruby",
        "module Rack\n  # A response body.\n  class Body\n    include Comparable\n    def a; end\n  end\nend",
        "Body",
        2,
    ),
    ("ruby", "class Foo\n  class << self\n    # Builds one.\n    def build\n      1\n    end\n  end\nend", "build", 3),
    ("javascript", "class A {\n  /** Makes one. */\n  static create() {\n    return new A();\n  }\n}\n", "create", 2),
    ("typescript", "class S {\n  /** Makes one. */\n  constructor(private n: string) {}\n}\n", "constructor", 2),
    ("tsx", "class S {\n  // Draws.\n  @bound\n  render() {\n    return <p />;\n  }\n}\n", "render", 2),
    ("rust", "impl Store {\n    /// Creates a store.\n    pub fn new() -> Self {\n        Store\n    }\n}\n", "new", 2),
    ("rust", "mod inner {\n    /// First.\n    #[inline]\n    pub fn first() {}\n}\n", "first", 2),
    ("go", "package p\n\n// First is first.\nfunc First() {}\n", "First", 3),
    ("java", "class W {\n    /** Makes one. */\n    @Inject\n    W() {}\n}\n", "W", 2),
    ("csharp", "class C\n{\n    /// <summary>One.</summary>\n    [Pure]\n    public int M() => 1;\n}\n", "M", 3),
    ("cpp", "struct S {\n    // Reads it.\n    int get() const { return 1; }\n};\n", "get", 2),
    ("c", "#include <stdio.h>\n/* Entry point. */\nint main(void) { return 0; }\n", "main", 2),
]


@pytest.mark.parametrize(
    ("language", "source", "symbol", "doc_line"), FIRST_MEMBER_DOCS, ids=[f"{c[0]}-{c[2]}" for c in FIRST_MEMBER_DOCS]
)
def test_doc_comment_of_a_first_member_attaches_to_it(language: str, source: str, symbol: str, doc_line: int) -> None:
    chunks = chunk_source("f", language, source)
    holders = [c.symbol for c in chunks if c.start_line <= doc_line <= c.end_line]
    assert holders == [symbol], f"line {doc_line} is in the chunks of {holders}"


def test_js_doc_comment_above_a_parenthesised_export_assignment_attaches() -> None:
    """mocha's ``var color = (exports.color = function (type, str) {...})`` kept its JSDoc in the module chunk."""
    source = "/**\n * Colors a string.\n */\nvar color = (exports.color = function (type, str) {\n  return str;\n});\n"
    chunks = chunk_source("lib/base.js", "javascript", source)
    assert [(c.kind, c.symbol, c.start_line, c.end_line) for c in chunks] == [("function", "color", 1, 6)]


def test_no_window_of_a_split_remainder_is_blank() -> None:
    """pygments' unistring.py: lines over the token limit with blank lines between gave blank windows."""
    long_line = "Cn = '" + "".join(f"\\u{i:04x}" for i in range(0x400, 0x480)) + "'"
    source = "\n".join([long_line, "", long_line.replace("Cn", "Co"), "", long_line.replace("Cn", "Lu")]) + "\n"
    chunks = chunk_source("pkg/unistring.py", "python", source, max_tokens=128)
    assert len(chunks) >= 3
    assert all(c.code.strip() for c in chunks), [(c.start_line, c.end_line) for c in chunks]
