#!/usr/bin/env python
"""Accuracy of the code graph (``codegraph def/refs/callers``) against jedi, on real Python packages.

Usage::

    pip install jedi            # benchmark-only: codegraph does not depend on it
    python benchmarks/graph_accuracy.py [--packages DIR,DIR] [--sample 100] [--seed 0] [--model fast]

Each ``DIR`` holds a package's sources (a folder with the package directory in it, e.g. an unpacked wheel). The
default is click 8.1.7 and urllib3 2.2.3 from the dev-set cache (``~/.cache/codegraph-devset/src/python/``);
without it::

    pip download --no-deps --only-binary :all: click==8.1.7 urllib3==2.2.3 -d /tmp/wheels
    unzip -q -d /tmp/pkgs/click /tmp/wheels/click-*.whl && unzip -q -d /tmp/pkgs/urllib3 /tmp/wheels/urllib3-*.whl
    python benchmarks/graph_accuracy.py --packages /tmp/pkgs/click,/tmp/pkgs/urllib3

Each package is copied to a temporary directory and indexed with ``python -m codegraph index . --model MODEL``
(embeddings play no part here). jedi (``Project`` whose ``sys_path`` is the copy and the standard library only,
so an installed copy of the same package is never used) is the ground truth. Over every ``.py`` file, jedi's
definitions of functions, methods and classes (names whose parent is a ``def``/``class``) are collected, and
``--sample`` of them are drawn (seeded). For each sampled definition D (query: its qualified name, ``Class.method``
or ``function``, as a user would type it):

* **refs**: jedi ``Script.get_references(scope="project")`` on D, keeping references in the package's own files
  that are not definitions (``is_definition()``: this drops D itself, its overloads and every name in an
  ``import`` statement) and not inside an ``import`` statement. Both sides are compared as sets of
  ``(path, line)`` (several references on one line count once). Each jedi reference is classed as a ``call``
  (the name is followed by ``(``), ``inherit`` (in a class's base list), ``type`` (a parameter, return or
  variable annotation, or an ``except`` clause) or ``other`` (any other use: an argument, a decorator without
  a call, an attribute read): codegraph only extracts the first three, so ``other`` is the recall it does not
  try for. A codegraph hit is correct when jedi has a reference at its ``(path, line)``.
* **callers**: the jedi references that are calls, mapped to their enclosing ``def``/``class`` (innermost, by
  the parse tree; the module for top-level code), against ``Graph.callers(D, depth=1)``; both as sets of
  ``(path, definition line)`` (module level: ``(path, 0)``).
* **def**: for sampled D with at least one reference, one reference u (seeded): jedi
  ``goto(follow_imports=True)`` at u gives the true definition sites T, widened to every jedi definition of the
  same qualified name in the same file (``@overload`` stubs, a property's setter: codegraph lists each). Two
  codegraph answers are scored against T as ``(path, line)`` sets, micro-averaged: ``def NAME`` (the CLI: every
  definition of the bare name) and the resolution of the reference at u (``Graph.resolve_reference`` on
  codegraph's own reference with u's name and line; none when codegraph did not extract u), which is what
  ``refs``/``callers``/``callees`` use, split by how it resolved (``same_file``, ``import``, ``by_name``).

A census row compares all of jedi's function/method/class definitions with codegraph's ``(path, line, name)``.
jedi is not perfect: it misses references through receivers it cannot infer (untyped parameters, dynamic
attributes), so some codegraph "false positives" are real; see ``docs/graph.md``.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import sysconfig
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _harness import banner, code_version, copy_corpus, log, temp_dir

from codegraph.graph.query import Graph
from codegraph.store import Store
from codegraph.store.graph import RefRow

try:
    import jedi
except ImportError:  # pragma: no cover - benchmark-only dependency
    raise SystemExit("graph_accuracy.py needs jedi (benchmark-only): pip install jedi") from None

DEVSET_SRC = Path(os.environ.get("CODEGRAPH_DEVSET_CACHE") or "~/.cache/codegraph-devset").expanduser() / "src"
DEFAULT_PACKAGES = (DEVSET_SRC / "python" / "click", DEVSET_SRC / "python" / "urllib3")
RESOLUTIONS = ("same_file", "import", "by_name")
REF_KINDS = ("call", "type", "inherit", "other")
Key = tuple[str, int]


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packages", help="comma-separated package source folders (default: click, urllib3)")
    ap.add_argument("--sample", type=int, default=100, help="definitions sampled per package (default 100)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="fast", help="codegraph model for the index (default fast)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary copies")
    ap.add_argument("--show", type=int, default=0, help="print up to N wrong/missed examples per package")
    args = ap.parse_args()
    args.packages = [Path(p).expanduser() for p in args.packages.split(",")] if args.packages else DEFAULT_PACKAGES
    for p in args.packages:
        if not p.is_dir():
            ap.error(f"{p}: not a directory (see --help for how to get the packages)")
    return args


# -- jedi side ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JediDef:
    path: str
    line: int
    column: int
    name: str
    qualified: str
    kind: str  # function | class


def _ancestor(node: Any, *types: str) -> Any:
    node = node.parent
    while node is not None and node.type not in types:
        node = node.parent
    return node


def _qualified(tree_name: Any) -> str:
    """``Outer.inner`` from the enclosing ``def``/``class`` nodes (codegraph's scheme for Python)."""
    parts = [tree_name.value]
    node = _ancestor(tree_name.parent, "funcdef", "classdef")
    while node is not None:
        parts.append(node.name.value)
        node = _ancestor(node, "funcdef", "classdef")
    return ".".join(reversed(parts))


def _enclosing_line(tree_name: Any) -> int:
    """Line of the innermost ``def``/``class`` around a reference (0: module level)."""
    node = _ancestor(tree_name, "funcdef", "classdef")
    return int(node.name.line) if node is not None else 0


def _ref_kind(tree_name: Any, source_lines: list[str]) -> str:
    line = source_lines[tree_name.line - 1]
    if line[tree_name.column + len(tree_name.value) :].lstrip().startswith("("):
        return "call"
    node, child = tree_name.parent, tree_name
    while node is not None and node.type not in ("funcdef", "classdef", "file_input", "suite", "lambdef"):
        if node.type == "param" and getattr(node, "annotation", None) is not None:
            ann = node.annotation
            if ann.start_pos <= tree_name.start_pos < ann.end_pos:
                return "type"
        if node.type == "annassign" and node.children[1].start_pos <= tree_name.start_pos < node.children[1].end_pos:
            return "type"
        if node.type == "except_clause":
            return "type"
        child, node = node, node.parent
    if node is not None and node.type == "funcdef":
        ann = node.annotation
        if ann is not None and ann.start_pos <= tree_name.start_pos < ann.end_pos:
            return "type"
    if node is not None and node.type == "classdef" and child is not node.children[-1] and child is not node.name:
        return "inherit"
    return "other"


@dataclass
class JediProject:
    root: Path
    project: Any
    env: Any
    scripts: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, list[str]] = field(default_factory=dict)

    def script(self, path: str) -> Any:
        if path not in self.scripts:
            text = (self.root / path).read_text(encoding="utf-8")
            self.lines[path] = text.splitlines()
            self.scripts[path] = jedi.Script(text, path=self.root / path, project=self.project, environment=self.env)
        return self.scripts[path]

    def rel(self, name: Any) -> str | None:
        if name.module_path is None:
            return None
        try:
            return Path(name.module_path).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return None

    def definitions(self, paths: list[str]) -> list[JediDef]:
        out = []
        for path in paths:
            for n in self.script(path).get_names(all_scopes=True, definitions=True, references=False):
                tree = n._name.tree_name
                if tree is None or tree.parent.type not in ("funcdef", "classdef") or tree.parent.name is not tree:
                    continue
                kind = "class" if tree.parent.type == "classdef" else "function"
                out.append(JediDef(path, n.line, n.column, n.name, _qualified(tree), kind))
        return out

    def references(self, d: JediDef) -> list[tuple[Key, str, int, int]]:
        """(``(path, line)``, kind, column, enclosing definition line) of each non-definition, non-import
        reference to ``d`` in the package."""
        out = []
        for r in self.script(d.path).get_references(d.line, d.column, scope="project"):
            path = self.rel(r)
            if path is None or not path.endswith(".py") or r.is_definition():
                continue
            tree = r._name.tree_name
            if tree is None or _ancestor(tree, "import_from", "import_name") is not None:
                continue
            self.script(path)
            out.append(((path, r.line), _ref_kind(tree, self.lines[path]), r.column, _enclosing_line(tree)))
        return out

    def goto(self, path: str, line: int, column: int) -> set[Key]:
        out = set()
        for g in self.script(path).goto(line, column, follow_imports=True):
            rel = self.rel(g)
            if rel is not None and g.line is not None:
                out.add((rel, g.line))
        return out


# -- scoring --------------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Micro-averaged counts: results returned, of them correct; truth items, of them found."""

    results: int = 0
    correct: int = 0
    truth: int = 0
    found: int = 0

    def add(self, results: int, correct: int, truth: int, found: int) -> None:
        self.results += results
        self.correct += correct
        self.truth += truth
        self.found += found

    def cells(self) -> list[str]:
        prec = f"{self.correct / self.results:.3f}" if self.results else "-"
        rec = f"{self.found / self.truth:.3f}" if self.truth else "-"
        return [str(self.results or "-"), str(self.correct if self.results else "-"), prec] + [
            str(self.truth or "-"),
            str(self.found if self.truth else "-"),
            rec,
        ]


@dataclass
class PackageResult:
    name: str
    files: int
    lines: int
    jedi_defs: int
    census: Tally
    rows: dict[tuple[str, str], Tally]
    sampled: int
    with_refs: int
    examples: list[str]
    extras: Counter[str]
    seconds: float


def score_package(src: Path, args: argparse.Namespace, tmp: Path) -> PackageResult:
    t_start = time.perf_counter()
    root = tmp / src.name
    copy_corpus(src, root)
    log(f"{src.name}: indexing {root} with --model {args.model}")
    cmd = [sys.executable, "-m", "codegraph", "index", ".", "--model", args.model, "-q"]
    subprocess.run(cmd, cwd=root, check=True)
    store = Store.open(root)
    graph = Graph(store)
    paths = sorted(p for p in graph.files if p.endswith(".py"))
    nlines = sum(len((root / p).read_text(encoding="utf-8").splitlines()) for p in paths)
    project = jedi.Project(root, sys_path=[str(root), sysconfig.get_paths()["stdlib"]], smart_sys_path=False)
    jp = JediProject(root, project, jedi.InterpreterEnvironment())
    jdefs = jp.definitions(paths)
    rows: dict[tuple[str, str], Tally] = defaultdict(Tally)
    examples: list[str] = []
    extras: Counter[str] = Counter()  # wrong refs hits by the reference's form

    # Census: every jedi function/method/class definition against codegraph's definitions.
    cg_defs = {
        (path, start, name)
        for path, start, name, kind in store.conn.execute(
            "SELECT f.path, d.start_line, d.name, d.kind FROM graph_defs d JOIN files f ON f.id = d.file_id"
            " WHERE d.kind IN ('function', 'method', 'class')"
        )
    }
    truth_defs = {(d.path, d.line, d.name) for d in jdefs}
    census = Tally(len(cg_defs), len(cg_defs & truth_defs), len(truth_defs), len(cg_defs & truth_defs))
    for miss in sorted(truth_defs - cg_defs)[: args.show]:
        examples.append(f"census: jedi def not in codegraph {miss}")
    for extra in sorted(cg_defs - truth_defs)[: args.show]:
        examples.append(f"census: codegraph def not in jedi {extra}")

    by_site = {(d.path, d.line): (d.path, d.qualified) for d in jdefs}
    groups: dict[tuple[str, str], list[Key]] = defaultdict(list)
    for d in jdefs:
        groups[d.path, d.qualified].append((d.path, d.line))
    rng = random.Random(args.seed)
    sample = rng.sample(jdefs, min(args.sample, len(jdefs)))
    with_refs = 0
    for i, d in enumerate(sample):
        if i % 20 == 0:
            log(f"{src.name}: definition {i + 1}/{len(sample)}")
        refs = jp.references(d)
        truth_refs: dict[Key, str] = {}
        for key, kind, _col, _enc in refs:  # a line with a call and another use counts as the call
            if key not in truth_refs or REF_KINDS.index(kind) < REF_KINDS.index(truth_refs[key]):
                truth_refs[key] = kind

        # refs
        hits: dict[Key, str] = {}
        receiver: dict[Key, str] = {}
        for ref, how in sorted(graph.references(d.qualified), key=lambda rh: RESOLUTIONS.index(rh[1])):
            key = (ref.path, ref.line)
            hits.setdefault(key, how)  # surest first, as `codegraph refs` sorts them
            receiver.setdefault(key, _receiver(ref))
        correct = {k for k in hits if k in truth_refs}
        for k in hits.keys() - correct:
            extras[receiver[k]] += 1
        rows["refs", "all"].add(len(hits), len(correct), len(truth_refs), len(correct))
        for how in RESOLUTIONS:
            mine = {k for k, v in hits.items() if v == how}
            rows["refs", how].add(len(mine), len(mine & correct), 0, 0)
        for kind in REF_KINDS:
            want = {k for k, v in truth_refs.items() if v == kind}
            rows["refs", f"jedi {kind}"].add(0, 0, len(want), len(want & hits.keys()))
        for k in sorted(hits.keys() - correct)[: args.show]:
            examples.append(f"refs {d.qualified}: extra {k} ({hits[k]})")
        for k in sorted(truth_refs.keys() - hits.keys())[: args.show]:
            examples.append(f"refs {d.qualified}: missed {k} ({truth_refs[k]})")

        # callers
        truth_callers = {(key[0], enc) for key, kind, _col, enc in refs if kind == "call"}
        got: dict[Key, str] = {}
        for h in graph.callers(d.qualified, 1):
            got.setdefault((h.path, h.start_line if h.symbol else 0), h.resolution or "")
        ok = got.keys() & truth_callers
        rows["callers", "all"].add(len(got), len(ok), len(truth_callers), len(ok))
        for how in RESOLUTIONS:
            mine = {k for k, v in got.items() if v == how}
            rows["callers", how].add(len(mine), len(mine & ok), 0, 0)
        for k in sorted(got.keys() - ok)[: args.show]:
            examples.append(f"callers {d.qualified}: extra {k} ({got[k]})")
        for k in sorted(truth_callers - got.keys())[: args.show]:
            examples.append(f"callers {d.qualified}: missed {k}")

        # def
        if not refs:
            continue
        with_refs += 1
        (upath, uline), _kind, ucol, _enc = refs[rng.randrange(len(refs))]
        truth = jp.goto(upath, uline, ucol)
        truth |= {site for t in truth for site in groups.get(by_site.get(t, ("", "")), ())}
        if not truth:
            continue
        bare = {(x.path, x.start_line) for x in graph.definitions(d.name)}
        rows["def", "def NAME"].add(len(bare), len(bare & truth), len(truth), len(bare & truth))
        cg_ref = next(
            (r for r in _refs_at(graph, upath, uline) if r.name == d.name),
            None,
        )
        if cg_ref is None:
            rows["def", "resolve: not extracted"].add(0, 0, len(truth), 0)
            rows["def", "resolve"].add(0, 0, len(truth), 0)
            continue
        cands, how = graph.resolve_reference(cg_ref)
        sites = {(x.path, x.start_line) for x in cands}
        rows["def", "resolve"].add(len(sites), len(sites & truth), len(truth), len(sites & truth))
        rows["def", f"resolve: {how}"].add(len(sites), len(sites & truth), len(truth), len(sites & truth))
        if sites != truth and len(examples) < 40 * max(args.show, 1) and args.show:
            examples.append(f"def at {upath}:{uline} {d.name}: codegraph {sorted(sites)} ({how}) jedi {sorted(truth)}")

    store.close()
    return PackageResult(
        src.name,
        len(paths),
        nlines,
        len(jdefs),
        census,
        dict(rows),
        len(sample),
        with_refs,
        examples,
        extras,
        time.perf_counter() - t_start,
    )


def _receiver(ref: RefRow) -> str:
    """The form of a reference: ``self.f()`` / ``cls`` / ``super()``, another receiver, or a bare name (``None``
    qualifier: also a receiver that is not a plain path, such as ``f(x).g()``)."""
    q = ref.qualifier
    if q is None:
        return "bare name or complex receiver"
    if q in ("self", "cls") or q.startswith("super("):
        return "self/cls/super()"
    return "other receiver (obj.f)"


def _refs_at(graph: Graph, path: str, line: int) -> list[RefRow]:
    rows = graph.store.conn.execute(
        "SELECT f.path, f.language, r.name, r.kind, r.line, r.enclosing, r.qualifier FROM graph_refs r"
        " JOIN files f ON f.id = r.file_id WHERE f.path = ? AND r.line = ?",
        (path, line),
    )
    return [RefRow(*row) for row in rows]


ROW_ORDER = [
    ("def", "def NAME"),
    ("def", "resolve"),
    *[("def", f"resolve: {how}") for how in (*RESOLUTIONS, "not extracted")],
    ("refs", "all"),
    *[("refs", how) for how in RESOLUTIONS],
    *[("refs", f"jedi {kind}") for kind in REF_KINDS],
    ("callers", "all"),
    *[("callers", how) for how in RESOLUTIONS],
]


def render(results: list[PackageResult]) -> str:
    cols = ["package", "command", "subset", "codegraph results", "correct", "precision"]
    cols += ["jedi truth", "found", "recall"]
    table = [cols]
    for res in results:
        table.append([res.name, "census", "function/method/class defs", *res.census.cells()])
        for key in ROW_ORDER:
            if key in res.rows:
                table.append([res.name, key[0], key[1], *res.rows[key].cells()])
    widths = [max(len(r[i]) for r in table) for i in range(len(cols))]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in table]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def main() -> None:
    args = parse_args()
    print(banner("graph_accuracy"))
    print(f"codegraph code: {code_version()}; jedi {jedi.__version__}; model {args.model}")
    print(f"sample {args.sample} definitions per package, seed {args.seed}")
    results = []
    with temp_dir("cg-graph-acc-", keep=args.keep) as tmp:
        for src in args.packages:
            results.append(score_package(src, args, tmp))
    for res in results:
        print(
            f"{res.name}: {res.files} .py files, {res.lines:,} lines, {res.jedi_defs} jedi definitions; "
            f"{res.sampled} sampled, {res.with_refs} with references; {res.seconds:.0f} s"
        )
    print()
    print(render(results))
    for res in results:
        wrong = sum(res.extras.values())
        parts = ", ".join(f"{form} {n} ({n / wrong:.0%})" for form, n in res.extras.most_common())
        print(f"\n{res.name}: the {wrong} wrong refs results, by the reference's form: {parts}")
    for res in results:
        if res.examples:
            print(f"\n{res.name} examples:")
            print("\n".join("  " + e for e in res.examples))


if __name__ == "__main__":
    main()
