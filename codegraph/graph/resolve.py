"""Import resolution: which repository files an import statement names, per language, best effort.

Pure functions over repository-relative POSIX paths (no filesystem access): the caller passes the set of
indexed paths and, for Go, the module path from ``go.mod``. An import that names something outside the
repository (a package from PyPI or npm, the standard library, a system header) resolves to nothing.

Rules (first match wins; every candidate must be an indexed path):

* Python: ``a.b.c`` -> ``a/b/c.py``, ``a/b/c/__init__.py``, also under ``src/``; ``from a.b import c`` also tries
  ``a/b/c.py`` (``c`` may be a module); a relative import of level *n* starts *n - 1* directories above the
  importer's package.
* JavaScript / TypeScript: only relative specifiers (``./x``, ``../x``): the path itself, then with each of
  :data:`JS_EXTENSIONS`, then ``index`` files in that directory.
* Go: an import path under the module path of ``go.mod`` -> every non-test ``.go`` file of that directory.
  Without an import, a Go or Java file sees its own package: the other files of its directory
  (:func:`package_files`; used for name resolution, not listed as imports).
* Rust: ``crate::a::b`` -> ``src/a/b.rs``, ``src/a/b/mod.rs``, else the item's parent module file (for an item
  of the crate root, ``use crate::Version``: ``src/lib.rs`` or ``src/main.rs``);
  ``super::``/``self::`` relative to the importer's module; ``mod x;`` -> ``x.rs`` or ``x/mod.rs`` in the
  importer's module directory.
* Java: ``a.b.C`` -> a file ending in ``a/b/C.java``. C#: ``using A.B`` -> files under a directory ending in
  ``A/B`` (namespaces need not follow directories: unresolved otherwise).
* C / C++: ``#include "x.h"`` -> beside the importer, else the shortest indexed path ending in ``/x.h``;
  ``<x.h>`` -> only the shortest indexed path ending in ``/x.h`` (a project header reached through ``-I``).
* Ruby: ``require_relative "x"`` -> beside the importer (``.rb`` added); ``require "x"`` -> ``lib/x.rb`` or a
  path ending in ``/x.rb``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection

JS_EXTENSIONS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts", ".d.ts")
"""Extensions tried, in order, for an extension-less relative JavaScript/TypeScript import."""

PYTHON_ROOTS = ("", "src/", "lib/")
"""Directories an absolute Python import is looked up under (the repository root first)."""


def _first(candidates: list[str], files: Collection[str]) -> list[str]:
    for candidate in candidates:
        if candidate in files:
            return [candidate]
    return []


def _by_suffix(suffix: str, files: Collection[str]) -> list[str]:
    """The shortest indexed path equal to ``suffix`` or ending in ``/suffix`` (deterministic: then sorted)."""
    found = [f for f in files if f == suffix or f.endswith("/" + suffix)]
    return sorted(found, key=lambda f: (len(f), f))[:1]


def resolve_python(importer: str, module: str, level: int, names: tuple[str, ...], files: Collection[str]) -> list[str]:
    """Files for ``import module`` / ``from [.]*module import names`` in ``importer`` (see module docstring)."""
    parts = [p for p in module.split(".") if p]
    if level > 0:
        base = posixpath.dirname(importer)
        for _ in range(level - 1):
            base = posixpath.dirname(base)
        stems = [posixpath.join(base, *parts)] if parts else [base]
    else:
        stems = [root + "/".join(parts) for root in PYTHON_ROOTS] if parts else []
    candidates: list[str] = []
    for stem in stems:
        candidates += [f"{stem}/{name}.py" for name in names if name != "*"]
    for stem in stems:
        candidates += [f"{stem}.py", f"{stem}/__init__.py"]
    return _first([posixpath.normpath(c) for c in candidates if c], files)


def resolve_js(importer: str, specifier: str, files: Collection[str]) -> list[str]:
    """Files for a relative JavaScript/TypeScript import or ``require`` (see module docstring)."""
    if not specifier.startswith("."):
        return []
    target = posixpath.normpath(posixpath.join(posixpath.dirname(importer), specifier))
    stem = target
    for ext in (".js", ".jsx", ".mjs", ".cjs"):  # TypeScript's "./x.js" names the source "./x.ts"
        if target.endswith(ext):
            stem = target[: -len(ext)]
    index = "index" if target == "." else f"{target}/index"  # `require("../")` from bin/x.js: ./index.js
    candidates = [target, *(stem + ext for ext in JS_EXTENSIONS), *(index + ext for ext in JS_EXTENSIONS)]
    return _first(candidates, files)


def resolve_go(module: str, go_module: str | None, files: Collection[str]) -> list[str]:
    """Every non-test ``.go`` file of the package directory an import path names (under ``go.mod``'s module)."""
    if not go_module or not (module == go_module or module.startswith(go_module + "/")):
        return []
    directory = module[len(go_module) :].strip("/")
    return sorted(
        f for f in files if f.endswith(".go") and not f.endswith("_test.go") and posixpath.dirname(f) == directory
    )


def package_files(importer: str, language: str, files: Collection[str]) -> list[str]:
    """The other files of the importer's package, which see its definitions without an import: Go (every ``.go``
    file of the directory, tests included) and Java (every ``.java`` file of the directory: one package per
    directory by convention); ``[]`` for other languages."""
    ext = {"go": ".go", "java": ".java"}.get(language)
    if ext is None:
        return []
    directory = posixpath.dirname(importer)
    return sorted(f for f in files if f != importer and f.endswith(ext) and posixpath.dirname(f) == directory)


def _rust_module_dir(importer: str) -> str:
    """The directory holding the submodules of the module that file ``importer`` defines."""
    name = posixpath.basename(importer)
    directory = posixpath.dirname(importer)
    if name in ("lib.rs", "main.rs", "mod.rs"):
        return directory
    return posixpath.join(directory, name[: -len(".rs")]) if name.endswith(".rs") else directory


def resolve_rust(importer: str, path: str, files: Collection[str], *, is_mod: bool = False) -> list[str]:
    """Files for ``use crate::a::b`` / ``use super::x`` / ``mod x;`` in ``importer``."""
    if is_mod:
        base = posixpath.join(_rust_module_dir(importer), path)
        return _first([base + ".rs", base + "/mod.rs"], files)
    parts = [p for p in path.replace("::", "/").split("/") if p and p != "{" and not p.startswith("{")]
    if not parts:
        return []
    if parts[0] == "crate":
        crate_root = importer.split("/src/")[0] + "/src" if "/src/" in importer else "src"
        base, rest = crate_root, parts[1:]
    elif parts[0] in ("self", "super"):
        base = _rust_module_dir(importer)
        while parts and parts[0] in ("self", "super"):
            if parts[0] == "super":
                base = posixpath.dirname(base)
            parts = parts[1:]
        rest = parts
    else:
        return []
    for end in range(len(rest), 0, -1):  # the longest prefix that is a module file: a::b::Item -> a/b.rs
        stem = posixpath.join(base, *rest[:end])
        found = _first([stem + ".rs", stem + "/mod.rs"], files)
        if found:
            return found
    # An item of the module `base` itself (`use crate::Version`, `use super::Item`): its file.
    return _first([base + ".rs", base + "/mod.rs", base + "/lib.rs", base + "/main.rs"], files)


def resolve_java(module: str, files: Collection[str]) -> list[str]:
    """The file of ``import a.b.C;`` (a path ending in ``a/b/C.java``); wildcard imports are not resolved."""
    if module.endswith(".*"):
        return []
    return _by_suffix(module.replace(".", "/") + ".java", files)


def resolve_csharp(namespace: str, files: Collection[str]) -> list[str]:
    """Files under a directory ending in the namespace's path (``using A.B`` -> ``.../A/B/*.cs``)."""
    suffix = namespace.replace(".", "/")
    return sorted(f for f in files if f.endswith(".cs") and (posixpath.dirname(f) + "/").endswith("/" + suffix + "/"))


def resolve_include(importer: str, header: str, files: Collection[str], *, system: bool) -> list[str]:
    """The file of ``#include "header"`` (beside the importer, else by path suffix); ``#include <header>`` only by
    path suffix (a project header reached through ``-I``: ``<ultrajson.h>``; ``<stdio.h>`` is not indexed)."""
    if system:
        return _by_suffix(posixpath.normpath(header), files)
    beside = posixpath.normpath(posixpath.join(posixpath.dirname(importer), header))
    return [beside] if beside in files else _by_suffix(posixpath.normpath(header), files)


def resolve_ruby(importer: str, feature: str, files: Collection[str], *, relative: bool) -> list[str]:
    """The file of ``require_relative "x"`` (beside the importer) or ``require "x"`` (``lib/`` or by suffix)."""
    name = feature if feature.endswith(".rb") else feature + ".rb"
    if relative:
        return _first([posixpath.normpath(posixpath.join(posixpath.dirname(importer), name))], files)
    return _first(["lib/" + name], files) or _by_suffix(name, files)
