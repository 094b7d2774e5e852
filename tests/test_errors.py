"""Every error codegraph raises on purpose lives in codegraph.errors, is drawn in its tree and is exported."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import codegraph
from codegraph import errors


def _all_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(codegraph.__path__, "codegraph.") if ".__main__" not in m.name]


def test_every_error_class_is_defined_in_errors_and_exported() -> None:
    defined_elsewhere = []
    for name in _all_modules():
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, Exception) and value.__module__ == name:
                if name != "codegraph.errors":
                    defined_elsewhere.append(f"{name}.{attr}")
    assert defined_elsewhere == []
    classes = {n for n, v in vars(errors).items() if inspect.isclass(v) and issubclass(v, Exception)}
    assert set(errors.__all__) == classes
    library_errors = {n for n in classes if issubclass(getattr(errors, n), errors.CodegraphError)}
    assert library_errors <= set(codegraph.__all__)
    assert all(getattr(codegraph, n) is getattr(errors, n) for n in library_errors)


def test_the_docstring_tree_draws_every_error_under_its_parent() -> None:
    doc = errors.__doc__ or ""
    tree = doc[doc.index("CodegraphError\n") :].splitlines()
    depth = {}
    for line in tree:
        stripped = line.strip().lstrip("│├└─ ").split(" ")[0]
        if stripped:
            depth[stripped] = len(line) - len(line.lstrip(" │├└─"))
    for name in errors.__all__:
        if not issubclass(getattr(errors, name), errors.CodegraphError):
            continue  # a signal such as OutputClosed, described below the tree
        assert name in depth, f"{name} is missing from the tree in codegraph/errors.py's docstring"
        cls = getattr(errors, name)
        if cls is not errors.CodegraphError:
            parent = cls.__mro__[1].__name__
            assert depth[parent] < depth[name], f"{name} is not drawn under {parent}"
