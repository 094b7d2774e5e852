"""Cross-repository references (``def|refs|callers|callees --all`` on a PostgreSQL store): a repository's calls
into another repository's code, found through its imports (``Graph.foreign_targets``). Two real indexes per
case (SQLite files, real tree-sitter); the PostgreSQL path is tested end to end in ``tests/test_pg_store.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codegraph.graph.packages import META_KEY
from codegraph.graph.query import Graph
from codegraph.index import index_repo
from codegraph.store import Store

from .conftest import write_files
from .fake_embedder import HashingEncoder

CASES = {
    "javascript": (
        {
            "package.json": '{"name": "@acme/textkit", "main": "./dist/index.js"}\n',
            "src/index.js": "export { slugify } from './slug.js';\n",
            "src/slug.js": "export function slugify(text) {\n  return text.toLowerCase();\n}\n",
        },
        {
            "app/page.js": (
                "import { slugify } from '@acme/textkit';\n\n"
                "export function pageUrl(title) {\n  return '/' + slugify(title);\n}\n"
            ),
        },
        "slugify",
        "pageUrl",
    ),
    "typescript subpath": (
        {
            "package.json": '{"name": "textkit"}\n',
            "src/slug.ts": "export function slugify(text: string): string {\n  return text.toLowerCase();\n}\n",
        },
        {
            "app/page.ts": (
                "import { slugify } from 'textkit/src/slug';\n\n"
                "export function pageUrl(title: string): string {\n  return '/' + slugify(title);\n}\n"
            ),
        },
        "slugify",
        "pageUrl",
    ),
    "rust": (
        {
            "Cargo.toml": '[package]\nname = "text-kit"\nversion = "0.1.0"\n',
            "src/lib.rs": "pub mod slug;\n",
            "src/slug.rs": "pub fn slugify(text: &str) -> String {\n    text.to_lowercase()\n}\n",
        },
        {
            "src/main.rs": (
                "use text_kit::slug::slugify;\n\nfn page_url(title: &str) -> String {\n    slugify(title)\n}\n"
            ),
        },
        "slugify",
        "page_url",
    ),
    "go": (
        {
            "go.mod": "module example.com/textkit\n\ngo 1.22\n",
            "slug/slug.go": "package slug\n\nfunc Slugify(text string) string {\n\treturn text\n}\n",
        },
        {
            "go.mod": "module example.com/site\n\ngo 1.22\n",
            "page/page.go": (
                'package page\n\nimport "example.com/textkit/slug"\n\n'
                "func PageURL(title string) string {\n\treturn slug.Slugify(title)\n}\n"
            ),
        },
        "Slugify",
        "PageURL",
    ),
}


def _index_pair(case: str, tmp_path: Path, encoder: HashingEncoder) -> tuple[Path, Path, str, str]:
    """Index the case's library and consumer as two repositories: ``(library, consumer, name, caller)``."""
    library_files, consumer_files, name, caller = CASES[case]
    library, consumer = tmp_path / "library", tmp_path / "consumer"
    write_files(library, library_files)
    write_files(consumer, consumer_files)
    index_repo(library, encoder)
    index_repo(consumer, encoder)
    return library, consumer, name, caller


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_call_into_another_repository_resolves_through_its_import(
    case: str, tmp_path: Path, fake_encoder: HashingEncoder
) -> None:
    library, consumer, name, caller = _index_pair(case, tmp_path, fake_encoder)
    with Store.open(library) as lib_store, Store.open(consumer) as app_store:
        lib, app = Graph.of(lib_store), Graph.of(app_store)
        assert app.refs(name) == []  # alone, the consumer defines nothing of that name
        callers = app.callers(name, home=lib)
        assert [(h.symbol, h.resolution) for h in callers] == [(caller, "import")]
        callees = app.callees(caller, others=[("library", lib)])
        assert [(h.project, h.symbol) for h in callees] == [("library", name)]
        assert lib.callers(name, home=app) == []  # the library does not call the consumer


def test_a_namesake_or_an_unrelated_import_is_not_a_cross_repository_reference(
    tmp_path: Path, fake_encoder: HashingEncoder
) -> None:
    library, other = tmp_path / "library", tmp_path / "other"
    write_files(library, {"textkit/__init__.py": "def slugify(text):\n    return text.lower()\n"})
    write_files(
        other,
        {
            "site/own.py": "def slugify(text):\n    return text\n",  # its own namesake
            "site/page.py": "from site.own import slugify\n\n\ndef url(t):\n    return slugify(t)\n",
            "site/other.py": "import requests\n\n\ndef fetch(t):\n    return slugify(t)\n",  # imports elsewhere
        },
    )
    index_repo(library, fake_encoder)
    index_repo(other, fake_encoder)
    with Store.open(library) as lib_store, Store.open(other) as other_store:
        lib, site = Graph.of(lib_store), Graph.of(other_store)
        assert site.refs("slugify", home=lib) == []
        assert {h.symbol for h in site.refs("slugify")} == {"url", "fetch"}  # within its own repository


MANIFESTS = {"javascript": "package.json", "typescript subpath": "package.json", "rust": "Cargo.toml", "go": "go.mod"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_package_names_come_from_the_index_not_the_checkout(
    case: str, tmp_path: Path, fake_encoder: HashingEncoder
) -> None:
    """The library's manifest is read when it is indexed and recorded in its index: with the file gone from the
    checkout (on a team server, the asking machine has no checkout of the library at all) the consumer's calls
    still resolve into it."""
    library, consumer, name, caller = _index_pair(case, tmp_path, fake_encoder)
    (library / MANIFESTS[case]).unlink()
    with Store.open(library) as lib_store, Store.open(consumer) as app_store:
        recorded = json.loads(lib_store.get_meta(META_KEY) or "{}")
        assert recorded["version"] == 1
        lib, app = Graph.of(lib_store), Graph.of(app_store)
        assert [(h.symbol, h.resolution) for h in app.callers(name, home=lib)] == [(caller, "import")]
        assert [h.symbol for h in app.callees(caller, others=[("library", lib)])] == [name]


def test_an_index_made_before_the_record_reads_the_manifest_file(tmp_path: Path, fake_encoder: HashingEncoder) -> None:
    library_files, consumer_files, name, caller = CASES["javascript"]
    library, consumer = tmp_path / "library", tmp_path / "consumer"
    write_files(library, library_files)
    write_files(consumer, consumer_files)
    index_repo(library, fake_encoder)
    index_repo(consumer, fake_encoder)
    with Store.open(library) as lib_store:
        lib_store.conn.execute("DELETE FROM meta WHERE key = ?", (META_KEY,))  # as an older codegraph left it
    with Store.open(library) as lib_store, Store.open(consumer) as app_store:
        callers = Graph.of(app_store).callers(name, home=Graph.of(lib_store))
        assert [h.symbol for h in callers] == [caller]  # from package.json at the recorded root
    (library / "package.json").unlink()
    with Store.open(library) as lib_store, Store.open(consumer) as app_store:
        assert Graph.of(app_store).callers(name, home=Graph.of(lib_store)) == []  # no record, no file: no name


def test_a_renamed_package_takes_effect_at_the_next_index(tmp_path: Path, fake_encoder: HashingEncoder) -> None:
    """The manifest is read at every run, even where discovery leaves it out (``.codegraphignore``): renaming the
    package moves the consumer's imports off it until the consumer imports the new name."""
    library_files, consumer_files, name, caller = CASES["javascript"]
    library, consumer = tmp_path / "library", tmp_path / "consumer"
    write_files(library, {**library_files, ".codegraphignore": "package.json\n"})
    write_files(consumer, consumer_files)
    index_repo(library, fake_encoder)
    index_repo(consumer, fake_encoder)

    def callers() -> list[str | None]:
        with Store.open(library) as lib_store, Store.open(consumer) as app_store:
            assert "package.json" not in Graph.of(lib_store).files  # not an indexed file, still read
            return [h.symbol for h in Graph.of(app_store).callers(name, home=Graph.of(lib_store))]

    assert callers() == [caller]
    (library / "package.json").write_text('{"name": "@acme/words", "main": "./dist/index.js"}\n', encoding="utf-8")
    assert callers() == [caller]  # not re-indexed yet: the index answers as it was built
    assert index_repo(library, fake_encoder).files_changed == 0
    assert callers() == []  # '@acme/textkit' names no package now
    page = consumer / "app" / "page.js"
    page.write_text(page.read_text(encoding="utf-8").replace("@acme/textkit", "@acme/words"), encoding="utf-8")
    index_repo(consumer, fake_encoder)
    assert callers() == [caller]


def test_a_changed_package_record_recomputes_the_cached_pagerank(tmp_path: Path, fake_encoder: HashingEncoder) -> None:
    """go.mod's module path resolves a Go repository's own imports: when the record changes (go.mod left out of
    the index, so no file's hash changes), the PageRank cached for the old record is not reused."""
    from codegraph.graph.rank import ranked_definitions

    library_files, consumer_files, _name, _caller = CASES["go"]
    root = tmp_path / "site"
    write_files(
        root, {**library_files, **{f"cmd/{k}": v for k, v in consumer_files.items()}, ".codegraphignore": "go.mod\n"}
    )
    index_repo(root, fake_encoder)
    with Store.open(root) as store:
        assert ranked_definitions(Graph.of(store))
        first = store.get_meta("rank_fingerprint")
    (root / "go.mod").write_text("module example.com/renamed\n\ngo 1.22\n", encoding="utf-8")
    assert index_repo(root, fake_encoder).files_changed == 0
    with Store.open(root) as store:
        assert Graph.of(store).go_module == "example.com/renamed"
        assert ranked_definitions(Graph.of(store))
        assert store.get_meta("rank_fingerprint") not in (None, first)
