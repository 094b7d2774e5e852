"""Import resolution per language, on sets of repository paths (pure functions)."""

from __future__ import annotations

from codegraph.graph import resolve as r

FILES = frozenset(
    {
        "pkg/__init__.py",
        "pkg/core.py",
        "pkg/sub/__init__.py",
        "pkg/sub/helpers.py",
        "src/lib2/mod.py",
        "web/app.ts",
        "web/util/index.ts",
        "web/util/format.ts",
        "web/legacy.js",
        "cmd/main.go",
        "internal/store/store.go",
        "internal/store/cache.go",
        "internal/store/store_test.go",
        "src/lib.rs",
        "src/net/mod.rs",
        "src/net/http.rs",
        "src/util.rs",
        "java/src/main/java/com/acme/Billing.java",
        "cs/Acme/Billing/Invoice.cs",
        "c/include/ring.h",
        "c/src/ring.c",
        "lib/rack/utils.rb",
        "lib/rack.rb",
        "index.js",
        "bin/cli.js",
        "java/src/main/java/com/acme/Ledger.java",
    }
)


def test_python_absolute_relative_and_packages() -> None:
    assert r.resolve_python("app.py", "pkg.core", 0, (), FILES) == ["pkg/core.py"]
    assert r.resolve_python("app.py", "pkg.sub", 0, (), FILES) == ["pkg/sub/__init__.py"]
    assert r.resolve_python("app.py", "pkg.sub", 0, ("helpers",), FILES) == ["pkg/sub/helpers.py"]
    assert r.resolve_python("pkg/sub/helpers.py", "", 2, ("core",), FILES) == ["pkg/core.py"]
    assert r.resolve_python("pkg/sub/helpers.py", "", 1, ("Thing",), FILES) == ["pkg/sub/__init__.py"]
    assert r.resolve_python("x.py", "lib2.mod", 0, (), FILES) == ["src/lib2/mod.py"]  # src/ layout
    assert r.resolve_python("x.py", "requests", 0, (), FILES) == []  # not in the repository


def test_javascript_relative_paths_extensions_and_index_files() -> None:
    assert r.resolve_js("web/app.ts", "./util", FILES) == ["web/util/index.ts"]
    assert r.resolve_js("web/app.ts", "./util/format.js", FILES) == ["web/util/format.ts"]  # TS "./x.js"
    assert r.resolve_js("web/util/format.ts", "../legacy", FILES) == ["web/legacy.js"]
    assert r.resolve_js("web/app.ts", "react", FILES) == []


def test_go_packages_under_the_module_path() -> None:
    got = r.resolve_go("example.com/shop/internal/store", "example.com/shop", FILES)
    assert got == ["internal/store/cache.go", "internal/store/store.go"]  # the package's files, no tests
    assert r.resolve_go("github.com/other/lib", "example.com/shop", FILES) == []
    assert r.resolve_go("example.com/shop/internal/store", None, FILES) == []


def test_rust_crate_super_and_mod() -> None:
    assert r.resolve_rust("src/lib.rs", "crate::net::http::Client", FILES) == ["src/net/http.rs"]
    assert r.resolve_rust("src/net/http.rs", "super::super::util::trim", FILES) == ["src/util.rs"]
    assert r.resolve_rust("src/lib.rs", "net", FILES, is_mod=True) == ["src/net/mod.rs"]
    assert r.resolve_rust("src/net/mod.rs", "http", FILES, is_mod=True) == ["src/net/http.rs"]
    assert r.resolve_rust("src/lib.rs", "std::collections::HashMap", FILES) == []


def test_java_csharp_includes_and_ruby() -> None:
    assert r.resolve_java("com.acme.Billing", FILES) == ["java/src/main/java/com/acme/Billing.java"]
    assert r.resolve_java("com.acme.*", FILES) == []
    assert r.resolve_csharp("Acme.Billing", FILES) == ["cs/Acme/Billing/Invoice.cs"]
    assert r.resolve_include("c/src/ring.c", "ring.h", FILES, system=False) == ["c/include/ring.h"]
    assert r.resolve_include("c/src/ring.c", "stdio.h", FILES, system=True) == []  # not in the repository
    assert r.resolve_ruby("lib/rack.rb", "rack/utils", FILES, relative=True) == ["lib/rack/utils.rb"]
    assert r.resolve_ruby("app.rb", "rack", FILES, relative=False) == ["lib/rack.rb"]


def test_spot_check_layouts() -> None:
    # Found by the spot checks in docs/graph.md. semver's bin/semver.js does `require('../')`: the root index.js.
    assert r.resolve_js("bin/cli.js", "../", FILES) == ["index.js"]
    assert r.resolve_js("bin/cli.js", "..", FILES) == ["index.js"]
    # semver (Rust): `use crate::{Version, VersionReq}` names items of the crate root, src/lib.rs.
    assert r.resolve_rust("src/util.rs", "crate::Version", FILES) == ["src/lib.rs"]
    assert r.resolve_rust("src/net/http.rs", "super::Client", FILES) == ["src/net/mod.rs"]
    # ujson: `#include <ultrajson.h>` is the project's header, found through -I; a real system header is not indexed.
    assert r.resolve_include("c/src/ring.c", "ring.h", FILES, system=True) == ["c/include/ring.h"]
    # cobra, JPype: files of one Go or Java package see each other without an import.
    assert r.package_files("internal/store/store.go", "go", FILES) == [
        "internal/store/cache.go",
        "internal/store/store_test.go",
    ]
    assert r.package_files("java/src/main/java/com/acme/Billing.java", "java", FILES) == [
        "java/src/main/java/com/acme/Ledger.java"
    ]
    assert r.package_files("pkg/core.py", "python", FILES) == []
