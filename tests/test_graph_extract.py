"""Graph extraction (``codegraph.graph.extract``): golden fixtures per language, the chunk fixture corpus, import
normalisation, name handling and the query convention.

Each ``tests/fixtures/graph/<language>/sample.<ext>`` has an ``expected.json`` beside it that pins every definition,
reference and import extracted from it. The expected files were checked by hand against their sample, entry by
entry: a change in one is a change in behaviour to review, not to re-dump. To rewrite them after a deliberate
change, run ``GRAPH_GOLDEN_UPDATE=1 pytest tests/test_graph_extract.py`` (the rewritten fixtures are
reported as skipped) and review ``git diff tests/fixtures/graph`` line by line.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from codegraph.chunk import chunk_source
from codegraph.chunk.grammars import ts_parser
from codegraph.graph.extract import (
    CLASS_LIKE_KINDS,
    DEFINITION_KINDS,
    QUERIES_DIR,
    REFERENCE_KINDS,
    FileGraph,
    Import,
    _pattern_plan,
    _qualifier,
    _split_name,
    extract,
    extract_source,
    graph_query,
    query_source,
)
from codegraph.languages import LANGUAGES

extract_module = importlib.import_module("codegraph.graph.extract")  # the package re-exports the function

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN_DIR = FIXTURES / "graph"
UPDATE = os.environ.get("GRAPH_GOLDEN_UPDATE") == "1"
"""Rewrite the expected files (not ``CODEGRAPH_*``: conftest clears those variables before every test)."""

EXTENSIONS = {
    "python": "py",
    "javascript": "js",
    "typescript": "ts",
    "tsx": "tsx",
    "go": "go",
    "rust": "rs",
    "java": "java",
    "c": "c",
    "cpp": "cpp",
    "csharp": "cs",
    "ruby": "rb",
}
LANGUAGE_NAMES = [spec.name for spec in LANGUAGES]


def _sample(language: str) -> Path:
    return GOLDEN_DIR / language / f"sample.{EXTENSIONS[language]}"


def dump_graph(graph: FileGraph) -> str:
    """``expected.json`` text: one record per line, so that a diff shows each changed record."""
    data = graph.to_dict()
    out = ["{"]
    for i, key in enumerate(("definitions", "references", "imports")):
        rows = [json.dumps(row, ensure_ascii=False) for row in data[key]]
        body = ",\n".join(f"    {row}" for row in rows)
        out.append(f'  "{key}": [\n{body}\n  ]' if rows else f'  "{key}": []')
        out[-1] += "," if i < 2 else ""
    out.append("}")
    return "\n".join(out) + "\n"


def _lines(data: dict[str, Any]) -> list[str]:
    return [f"{key} {json.dumps(row, ensure_ascii=False)}" for key in data for row in data[key]]


# --- golden fixtures -------------------------------------------------------------------------------------------


def test_every_language_has_a_golden_fixture() -> None:
    assert sorted(EXTENSIONS) == sorted(LANGUAGE_NAMES)
    assert sorted(p.name for p in GOLDEN_DIR.iterdir() if p.is_dir()) == sorted(LANGUAGE_NAMES)
    for language in LANGUAGE_NAMES:
        assert _sample(language).is_file(), language
        assert (GOLDEN_DIR / language / "expected.json").is_file(), language


@pytest.mark.parametrize("language", LANGUAGE_NAMES)
def test_golden_graph(language: str) -> None:
    path = _sample(language)
    expected_path = path.with_name("expected.json")
    graph = extract_source(path.name, language, path.read_text(encoding="utf-8"))
    if UPDATE:
        expected_path.write_text(dump_graph(graph), encoding="utf-8")
        pytest.skip(f"rewrote {expected_path}: review the diff before committing it")
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    actual = graph.to_dict()
    if expected != actual:
        diff = difflib.unified_diff(_lines(expected), _lines(actual), "expected", "actual", lineterm="", n=2)
        pytest.fail(f"{language} graph differs from {expected_path.name}:\n" + "\n".join(diff), pytrace=False)


@pytest.mark.parametrize("language", LANGUAGE_NAMES)
def test_golden_records_point_at_their_names(language: str) -> None:
    """1-based inclusive lines: a definition's name is inside its line range, a reference's name on its line."""
    path = _sample(language)
    lines = path.read_text(encoding="utf-8").split("\n")
    graph = extract_source(path.name, language, "\n".join(lines))
    assert graph.definitions and graph.references and graph.imports
    for d in graph.definitions:
        assert d.kind in DEFINITION_KINDS
        assert 1 <= d.start_line <= d.end_line <= len(lines), d
        assert d.name in "\n".join(lines[d.start_line - 1 : d.end_line]), d
    for r in graph.references:
        assert r.kind in REFERENCE_KINDS
        assert r.name in lines[r.line - 1], r
    for i in graph.imports:
        assert 1 <= i.line <= len(lines), i
    assert [d.start_line for d in graph.definitions] == sorted(d.start_line for d in graph.definitions)
    assert [r.line for r in graph.references] == sorted(r.line for r in graph.references)


def test_methods_are_functions_in_class_like_definitions() -> None:
    for language in LANGUAGE_NAMES:
        path = _sample(language)
        graph = extract_source(path.name, language, path.read_text(encoding="utf-8"))
        kinds = {d.qualified_name: d.kind for d in graph.definitions}
        for d in graph.definitions:
            if d.kind == "function" and d.scope in kinds:
                assert kinds[d.scope] not in CLASS_LIKE_KINDS, (language, d)


# --- the chunk fixture corpus ---------------------------------------------------------------------------------

CHUNK_FILES = sorted((p.parent.name, p) for p in (FIXTURES / "chunk").rglob("*") if p.is_file() and p.suffix != ".json")


@pytest.mark.parametrize(("language", "path"), CHUNK_FILES, ids=[f"{lang}/{p.name}" for lang, p in CHUNK_FILES])
def test_every_chunker_definition_is_a_graph_definition(language: str, path: Path) -> None:
    """Extraction never raises on the chunk corpus, and what the chunker names is a definition of the graph: a
    function or method chunk's ``scope.symbol`` is a function/method's qualified name (on this corpus the scopes
    agree too; on other code the graph may know an owner the chunker does not, as in JavaScript ``obj.f =
    function``); a class chunk's symbol, last part of ``Foo::Bar`` taken, is a definition's name or a part of a
    scope (a Rust ``impl`` block is a scope, not a definition)."""
    text = path.read_text(encoding="utf-8")
    graph = extract_source(path.name, language, text)
    functions = {d.qualified_name for d in graph.definitions if d.kind in ("function", "method")}
    names = {d.name for d in graph.definitions} | {p for d in graph.definitions for p in (d.scope or "").split(".")}
    chunks = chunk_source(path.name, language, text)
    assert any(c.symbol for c in chunks)
    for chunk in chunks:
        if chunk.kind in ("function", "method"):
            assert chunk.qualified_symbol in functions, (chunk.kind, chunk.qualified_symbol, chunk.start_line)
        elif chunk.symbol:
            assert _split_name(chunk.symbol)[1] in names, (chunk.kind, chunk.symbol, chunk.start_line)


@pytest.mark.parametrize("language", LANGUAGE_NAMES)
def test_truncated_and_garbled_sources_do_not_raise(language: str) -> None:
    text = _sample(language).read_text(encoding="utf-8")
    for cut in range(0, len(text), max(1, len(text) // 37)):
        extract_source("f", language, text[:cut])
        extract_source("f", language, text[cut:])
    extract_source("f", language, '}{ ) class def fn ( :: -> <<< \x00 \ufeff é 漢字 "unterminated')
    assert extract_source("f", language, "") == FileGraph(language, (), (), ())


def test_extract_reuses_the_tree_it_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    source = b"import os\n\ndef main():\n    os.exit(run())\n"
    tree = ts_parser("python").parse(source)

    def no_parse(_language: str) -> None:
        raise AssertionError("extract parsed the file again")

    monkeypatch.setattr(extract_module, "ts_parser", no_parse)
    graph = extract("python", tree, source)
    assert [(d.name, d.kind, d.start_line, d.end_line) for d in graph.definitions] == [("main", "function", 3, 4)]
    assert [(r.name, r.qualifier, r.enclosing) for r in graph.references] == [
        ("exit", "os", "main"),
        ("run", None, "main"),
    ]


def test_non_ascii_names_and_lines() -> None:
    source = "# Größe\nclass Größe:\n    def größer(self):\n        return café()\n"
    graph = extract_source("f.py", "python", source)
    assert [(d.name, d.kind, d.scope, d.start_line) for d in graph.definitions] == [
        ("Größe", "class", None, 2),
        ("größer", "method", "Größe", 3),
    ]
    assert [(r.name, r.line, r.enclosing) for r in graph.references] == [("café", 4, "Größe.größer")]


# --- imports ---------------------------------------------------------------------------------------------------

IMPORT_CASES: list[tuple[str, str, list[Import]]] = [
    (
        "python",
        "import a.b\nimport a.b as c, d\nfrom . import x\nfrom ...pkg.mod import (y,\n    z as w)\nfrom m import *\n",
        [
            Import("a.b", 1),
            Import("a.b", 2, alias="c"),
            Import("d", 2),
            Import("", 3, ("x",), 1),
            Import("pkg.mod", 4, ("y", "z"), 3, renames=(("z", "w"),)),
            Import("m", 6, ("*",)),
        ],
    ),
    (
        "javascript",
        'import d, { a, b as c } from "./x";\nimport * as ns from "../../y/z.js";\nimport ".";\n'
        'export { e } from "pkg/e";\nconst m = require("../m");\nconst { p, q: r } = require("pq");\n'
        'const lazy = () => import("./lazy");\n',
        [
            Import("x", 1, ("a", "b"), 1, "d", renames=(("b", "c"),)),
            Import("y/z.js", 2, (), 3, "ns"),
            Import("", 3, (), 1),
            Import("pkg/e", 4, ("e",)),
            Import("m", 5, (), 2, "m"),
            Import("pq", 6, ("p", "q"), renames=(("q", "r"),)),
            Import("lazy", 7, (), 1),
        ],
    ),
    (
        "typescript",
        'import type { T } from "./t";\nimport fs = require("fs");\nexport * from "./all";\n',
        [Import("t", 1, ("T",), 1), Import("fs", 2, alias="fs"), Import("all", 3, (), 1)],
    ),
    (
        "go",
        'package p\n\nimport "fmt"\nimport (\n\tf "os"\n\t_ "embed"\n\t"example.com/m/v2/pkg"\n)\n',
        [
            Import("fmt", 3),
            Import("os", 5, alias="f"),
            Import("embed", 6, alias="_"),
            Import("example.com/m/v2/pkg", 7),
        ],
    ),
    (
        "rust",
        "use crate::a::b;\nuse self::c::D;\nuse super::super::e::{f, g::{H, I as J}, self};\nuse std::io::*;\n"
        "use k as l;\nmod m;\nextern crate serde;\n",
        [
            Import("crate.a", 1, ("b",)),
            Import("c", 2, ("D",), 1),
            Import("e", 3, ("f", "self"), 3),
            Import("e.g", 3, ("H", "I"), 3, renames=(("I", "J"),)),
            Import("std.io", 4, ("*",)),
            Import("k", 5, alias="l"),
            Import("m", 6, relative_level=1),
            Import("serde", 7),
        ],
    ),
    (
        "java",
        "import a.b.C;\nimport a.b.*;\nimport static a.b.C.m;\nimport static a.b.C.*;\n",
        [Import("a.b.C", 1), Import("a.b", 2, ("*",)), Import("a.b.C", 3, ("m",)), Import("a.b.C", 4, ("*",))],
    ),
    (
        "csharp",
        "using System;\nusing static System.Math;\nusing IO = System.IO;\nglobal using A.B;\n",
        [Import("System", 1), Import("System.Math", 2), Import("System.IO", 3, alias="IO"), Import("A.B", 4)],
    ),
    (
        "c",
        '#include "x.h"\n#include <sys/types.h>\n#include "../y.h"\n',
        [Import("x.h", 1), Import("sys/types.h", 2, system=True), Import("../y.h", 3)],
    ),
    ("cpp", '#include <vector>\n#include "a/b.hpp"\n', [Import("vector", 1, system=True), Import("a/b.hpp", 2)]),
    (
        "ruby",
        'require "json"\nrequire_relative "x"\nrequire_relative "../lib/y"\nrequire "#{dir}/z"\nload "tasks.rb"\n',
        [Import("json", 1), Import("x", 2, (), 1), Import("lib/y", 3, (), 2), Import("tasks.rb", 5)],
    ),
]


@pytest.mark.parametrize(("language", "source", "expected"), IMPORT_CASES, ids=[c[0] for c in IMPORT_CASES])
def test_imports_are_normalised(language: str, source: str, expected: list[Import]) -> None:
    assert list(extract_source("f", language, source).imports) == expected


# --- names, qualifiers, scopes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("send", ([], "send")),
        ("ns::Foo<T>::bar", (["ns", "Foo"], "bar")),
        ("Foo<std::vector<T>>::bar", (["Foo"], "bar")),
        ("Foo::operator<", (["Foo"], "operator<")),
        ("operator==", ([], "operator==")),
        ("Foo::operator bool", (["Foo"], "operator bool")),
        ("~Client", ([], "~Client")),
        ("Shop.Orders", (["Shop"], "Orders")),
        ("Shop::Billing", (["Shop"], "Billing")),
        (":total", ([], "total")),
        ("<=>", ([], "<=>")),
        ("'quoted-key'", ([], "quoted-key")),
    ],
)
def test_definition_names_are_split_into_owner_and_name(text: str, expected: tuple[list[str], str]) -> None:
    assert _split_name(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("self.client", "self.client"),
        ("std::fs", "std.fs"),
        ("this->sock_", "this.sock_"),
        ("obj?.inner", "obj.inner"),
        ("super()", "super()"),
        ("@client", "@client"),
        ("session\n    .query(X)", None),
        ("session\n    .query()", "session.query()"),
        ("new Foo()", None),
        ("items[0]", None),
        ("a." * 61, None),
        ("(" * 200 + "x", None),
    ],
)
def test_qualifier_is_a_plain_path_or_none(text: str, expected: str | None) -> None:
    assert _qualifier(text) == expected


SCOPE_CASES: dict[str, tuple[str, str, list[tuple[str, str, str | None]]]] = {
    "go-receiver": ("go", "package p\nfunc (s *Store[T]) Get(k T) T { return s.m[k] }\n", [("Get", "method", "Store")]),
    "cpp-qualified": (
        "cpp",
        "namespace net { void Client::send() {} }\n",
        [("net", "module", None), ("send", "method", "net.Client")],
    ),
    "rust-impl": (
        "rust",
        "mod m { impl<T> Tr for Wrap<T> { fn f(&self) {} } }\n",
        [("m", "module", None), ("f", "method", "m.Wrap")],
    ),
    "js-prototype": ("javascript", "Foo.prototype.bar = function () {};\n", [("bar", "method", "Foo")]),
    "ruby-singletons": (
        "ruby",
        "class Foo::Bar\n  def self.make; end\n  class << self\n    def build; end\n  end\nend\n",
        [("Bar", "class", "Foo"), ("make", "method", "Foo.Bar"), ("build", "method", "Foo.Bar")],
    ),
    "ruby-const-owner": (
        "ruby",
        "class Foo\n  def Foo.make; end\nend\n",
        [("Foo", "class", None), ("make", "method", "Foo")],
    ),
    "python-nested": (
        "python",
        "def outer():\n    class Inner:\n        def m(self): pass\n",
        [("outer", "function", None), ("Inner", "class", "outer"), ("m", "method", "outer.Inner")],
    ),
    "go-const-names": ("go", "package p\nconst A, B = 1, 2\n", [("A", "constant", None), ("B", "constant", None)]),
    "js-computed-name": (
        "javascript",
        "class A { [Symbol.iterator]() {} }\n",
        [("A", "class", None), ("[Symbol.iterator]", "method", "A")],
    ),
    "rust-impl-for-ref": ("rust", "impl<'a> Tr for &'a Foo { fn f(&self) {} }\n", [("f", "method", "Foo")]),
    "ruby-def-on-object": ("ruby", "def task.timestamp\n  0\nend\n", [("timestamp", "method", None)]),
    "cpp-macro-before-name": (
        "cpp",
        "DECL_T storage_t\nconvert(double x) { return 0; }\n",
        [("convert", "function", None)],
    ),
    "csharp-file-scoped-namespace": (
        # pythonnet: `namespace Python.Runtime;` is a sibling of the declarations it holds in the grammar.
        "csharp",
        "using System;\nnamespace A.B;\npublic class C\n{\n    void F() { }\n}\n",
        [("B", "module", "A"), ("C", "class", "A.B"), ("F", "method", "A.B.C")],
    ),
    "c-typedef-struct": (
        "c",
        "typedef struct node { int v; } node_t;\n",
        [("node", "struct", None), ("node_t", "struct", None)],
    ),
}


@pytest.mark.parametrize(("language", "source", "expected"), list(SCOPE_CASES.values()), ids=list(SCOPE_CASES))
def test_scopes(language: str, source: str, expected: list[tuple[str, str, str | None]]) -> None:
    graph = extract_source("f", language, source)
    assert [(d.name, d.kind, d.scope) for d in graph.definitions] == expected


def test_type_parameters_are_not_references() -> None:
    java = "class Box<T extends Item> { <U> U map(Function<T, U> f, T t) { return f.apply(t); } }\n"
    refs = [(r.name, r.kind) for r in extract_source("f", "java", java).references]
    assert refs == [("Item", "type"), ("Function", "type"), ("apply", "call")]
    go = "package p\nfunc (s *S[T]) Put(k pkg.T, v T) {}\n"
    assert [(r.name, r.qualifier) for r in extract_source("f", "go", go).references] == [("T", "pkg")]


def test_python_subscripted_attribute_annotations_are_type_references() -> None:
    # `t.Dict[str, Foo]` is a `subscript` of an attribute, not a `generic_type`: found missing by
    # benchmarks/graph_accuracy.py (click annotates with `import typing as t`).
    source = (
        "x: t.Dict[str, Option] = {}\n"
        "def f(a: t.Optional[pkg.Bar] = None) -> t.List[Baz]: ...\n"
        "y: t.Optional[t.List[Deep]]\n"
        "z: t.Optional[Dict[int, Other]]\n"
    )
    refs = [(r.name, r.line, r.qualifier) for r in extract_source("f", "python", source).references]
    assert refs == [
        ("Dict", 1, "t"),
        ("Option", 1, None),
        ("Optional", 2, "t"),
        ("Bar", 2, "pkg"),
        ("List", 2, "t"),
        ("Baz", 2, None),
        ("Optional", 3, "t"),
        ("List", 3, "t"),
        ("Deep", 3, None),
        ("Optional", 4, "t"),
        ("Dict", 4, None),
        ("Other", 4, None),
    ]


def test_a_name_seen_by_several_patterns_keeps_the_most_specific_kind() -> None:
    # `Q` is a type_identifier (type pattern) inside `new Q()` (call pattern) and `I` one inside `implements I`.
    refs = extract_source("f", "java", "class A extends B implements I { void f() { new Q(); } }\n").references
    assert [(r.name, r.kind) for r in refs] == [("B", "inherit"), ("I", "inherit"), ("Q", "call")]


def test_rust_impl_references_belong_to_the_type() -> None:
    source = "impl<T: Bound> fmt::Display for Wrapper<T> {\n    fn fmt(&self) -> Out { write!(x) }\n}\n"
    refs = extract_source("f", "rust", source).references
    assert [(r.name, r.kind, r.enclosing, r.qualifier) for r in refs] == [
        ("Bound", "type", "Wrapper", None),
        ("Display", "inherit", "Wrapper", "fmt"),
        ("Out", "type", "Wrapper.fmt", None),
        ("write", "call", "Wrapper.fmt", None),
    ]


# --- the query convention --------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGE_NAMES)
def test_queries_compile_and_follow_the_convention(language: str) -> None:
    query = graph_query(language)  # raises for a capture outside the convention
    assert query.pattern_count > 0
    readme = (QUERIES_DIR / "README.md").read_text(encoding="utf-8")
    assert f"### {language}" in readme or f"`{language}`" in readme


def test_tsx_adds_jsx_patterns_to_typescripts() -> None:
    assert query_source("tsx").startswith(query_source("typescript"))
    assert "jsx_self_closing_element" in query_source("tsx")
    assert "jsx_self_closing_element" not in query_source("typescript")


@pytest.mark.parametrize(
    ("captures", "message"),
    [
        ({"name.definition.widget", "definition.widget"}, "not in the graph query convention"),
        ({"name.definition.class"}, "without @definition.class"),
        ({"name.reference.call", "name.reference.type"}, "must yield one thing"),
        ({"name.reference.call", "scope"}, "@scope in a pattern"),
        ({"local.name"}, "without @local.scope"),
        ({"qualifier"}, "must yield one thing"),
    ],
)
def test_pattern_captures_outside_the_convention_are_refused(captures: set[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _pattern_plan(captures)


def test_graph_imports_only_the_language_table_and_the_grammars() -> None:
    """Extraction and import resolution sit on the chunker's grammars (one parse per file) and nothing above
    them; the query layer (``graph/query.py``) reads the store and is checked by ``test_layers.py``."""
    package = Path(extract_module.__file__).resolve().parent
    for path in (package / "extract.py", package / "resolve.py", package / "__init__.py"):
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module:
                imported.add(node.module.split(".")[0])
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("codegraph."):
                imported.add(node.module.split(".")[1])
        assert imported <= {"languages", "chunk"}, (path.name, imported)


def test_spot_check_references() -> None:
    # Found by the spot checks in docs/graph.md. semver (Rust): a type used as the path of a value or a pattern.
    rust = "use a::B::C;\nfn f() { match k { ErrorKind::Empty(p) => {} } Pre::EMPTY; error::Kind::X; Self::g(); }\n"
    refs = [(r.name, r.kind, r.qualifier) for r in extract_source("f", "rust", rust).references]
    assert refs == [
        ("ErrorKind", "type", None),
        ("Pre", "type", None),
        ("Kind", "type", "error"),
        ("g", "call", "Self"),
    ]
    # thor (Ruby): `Foo.new` and `Thor::Option.new` call the class.
    ruby = "a = Foo.new(1)\nb = Thor::Option.new\nc = foo.new\n"
    refs = [(r.name, r.qualifier) for r in extract_source("f", "ruby", ruby).references]
    assert refs == [("Foo", None), ("new", "Foo"), ("Option", "Thor"), ("new", "Thor.Option"), ("new", "foo")]
    # pythonnet (C#): a reference after a file-scoped namespace is made inside it.
    cs = "namespace A;\nclass C { void F() { G(); } }\n"
    assert [r.enclosing for r in extract_source("f", "csharp", cs).references] == ["A.C.F"]
