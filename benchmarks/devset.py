#!/usr/bin/env python
"""Dev-set retrieval quality, in process: every model x mode x ranking configuration on the same indexes.

Usage::

    python benchmarks/devset.py [--models minilm,code,fast] [--modes hybrid,semantic,keyword]
        [--config NAME=key:value,key:value ...] [--lang go] [--package click] [--json OUT.json]
        [--store postgresql://...]

The benchmark kit (``../shared/eval``: 917 doc-comment queries over 18 pinned packages, MRR@10 and recall@k)
must be built first (``bash ../shared/eval/setup.sh && ~/.cache/codegraph-devset/venv/bin/python
../shared/eval/build.py all``). Each package corpus is copied once per (model, chunker version) under
``$CODEGRAPH_DEVSET_CACHE/work/`` and indexed there with ``codegraph.index_repo`` (so a second run re-uses the
index and embeds nothing); every query is then answered by ``Searcher.search`` for each mode and each
``--config`` (a named set of :class:`codegraph.search.SearchOptions` fields), and scored with the kit's own
``score.py`` (lenient variant for the table; ``--json`` keeps all three). With ``--store URL`` every package
is a project of that PostgreSQL store instead (named ``<lang>-<package>-<model tag>``), searched as
``codegraph search --store`` would.

This is a benchmark, not a test: it prints a table and asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from _harness import log

from codegraph.chunk import CHUNKER_VERSION
from codegraph.config import resolve_settings
from codegraph.embed import open_embedder, resolve_model
from codegraph.index import index_repo
from codegraph.search import Searcher, SearchOptions
from codegraph.store import open_index

CACHE = Path(os.environ.get("CODEGRAPH_DEVSET_CACHE") or "~/.cache/codegraph-devset").expanduser()
KIT = Path(__file__).resolve().parents[2] / "shared" / "eval"
LANGS = ("python", "javascript", "go", "rust")


def parse_config(spec: str) -> tuple[str, dict[str, Any]]:
    """``"name=key:value,key:value"`` -> (name, SearchOptions fields); values typed like the field defaults."""
    name, _, body = spec.partition("=")
    types = {
        f.name: (str if f.name == "fusion" else float) if f.default is None else type(f.default)
        for f in dataclasses.fields(SearchOptions)
    }
    fields: dict[str, Any] = {}
    for item in filter(None, body.split(",")):
        key, _, value = item.partition(":")
        if key not in types:
            raise SystemExit(f"--config {spec!r}: unknown SearchOptions field {key!r}; known: {', '.join(types)}")
        kind = types[key]
        fields[key] = value.lower() in ("1", "true", "yes", "on") if kind is bool else kind(value)
    return name, fields


def load_queries(langs: list[str] | None, packages: list[str] | None) -> list[dict[str, Any]]:
    path = CACHE / "queries.jsonl"
    if not path.is_file():
        raise SystemExit(f"{path} missing: build the dev set first (see this script's docstring)")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [q for q in rows if (not langs or q["lang"] in langs) and (not packages or q["package"] in packages)]


def corpus_copy(model_tag: str, lang: str, package: str) -> Path:
    """A private copy of one package corpus for this model (indexes of different models never mix)."""
    src = CACHE / "corpus" / lang / package
    dst = CACHE / "work" / model_tag / lang / package
    if not dst.is_dir():
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".codegraph"))
    return dst


def kit_score(queries: list[dict[str, Any]], results: list[dict[str, Any]]) -> dict[str, Any]:
    sys.path.insert(0, str(KIT))
    try:
        import score  # the kit's scorer: the numbers are the kit's, not ours
    finally:
        sys.path.pop(0)
    report: dict[str, Any] = score.score(queries, results, by_package=True)
    return report


def run(args: argparse.Namespace) -> dict[str, Any]:
    queries = load_queries(args.lang, args.package)
    configs = dict(parse_config(c) for c in args.config) or {"default": {}}
    by_package: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for q in queries:
        by_package.setdefault((q["lang"], q["package"]), []).append(q)
    out: dict[str, Any] = {"chunker": CHUNKER_VERSION, "queries": len(queries), "runs": [], "index": {}}
    for model_name in args.models.split(","):
        embedder = open_embedder(resolve_model(model_name))
        tag = f"{embedder.model_id.replace('@', '-')}-c{CHUNKER_VERSION}"
        answers: dict[tuple[str, str], list[dict[str, Any]]] = {}
        indexing = {"chunks": 0, "embedded": 0, "seconds": 0.0}
        for (lang, package), qs in sorted(by_package.items()):
            root = corpus_copy(tag, lang, package)
            overrides = {"store": args.store, "project": f"{lang}-{package}-{tag}"} if args.store else {}
            settings = resolve_settings(root, overrides=overrides)
            stats = index_repo(root, embedder, settings=settings)
            indexing["embedded"] += stats.embedded
            indexing["seconds"] += stats.seconds if stats.embedded else 0.0
            indexing["chunks"] += stats.chunks
            log(f"{model_name} {lang}/{package}: {stats.chunks} chunks, {stats.embedded} embedded")
            store = open_index(root, settings=settings, project=settings.project if args.store else None)
            with Searcher(store, embedder) as searcher:
                for config, fields in configs.items():
                    searcher.options = SearchOptions(**fields)
                    for mode in args.modes.split(","):
                        started = time.perf_counter()
                        rows = answers.setdefault((mode, config), [])
                        for q in qs:
                            hits = searcher.search(q["query"], k=10, mode=mode)
                            rows.append({"id": q["id"], "hits": [h.to_json() for h in hits]})
                        indexing[f"query_s_{mode}_{config}"] = indexing.get(f"query_s_{mode}_{config}", 0.0) + (
                            time.perf_counter() - started
                        )
        out["index"][model_name] = indexing
        for (mode, config), rows in answers.items():
            report = kit_score(queries, rows)
            out["runs"].append({"model": model_name, "mode": mode, "config": config, "report": report})
    return out


def print_table(out: dict[str, Any], variant: str = "lenient") -> None:
    langs = [lang for lang in LANGS if any(lang in r["report"] for r in out["runs"])]
    print(f"dev set, {out['queries']} queries, chunker {out['chunker']}, {variant}: MRR@10 per language")
    print("| model | mode | config | " + " | ".join(langs) + " | overall MRR@10 | R@1 | R@10 |")
    print("|---|---|---|" + "---:|" * (len(langs) + 3))
    for r in out["runs"]:
        rep = r["report"]
        cells = [f"{rep[lang][variant]['MRR@10']:.3f}" for lang in langs]
        total = rep["overall"][variant]
        print(
            f"| {r['model']} | {r['mode']} | {r['config']} | "
            + " | ".join(cells)
            + f" | {total['MRR@10']:.3f} | {total['R@1']:.3f} | {total['R@10']:.3f} |"
        )
    for model, info in out["index"].items():
        rate = info["embedded"] / info["seconds"] if info["seconds"] else 0.0
        print(f"{model}: {info['chunks']} chunks, {info['embedded']} embedded this run ({rate:.1f} chunks/s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="minilm", help="comma-separated model names (default: minilm)")
    ap.add_argument("--modes", default="hybrid,semantic,keyword")
    ap.add_argument("--config", action="append", default=[], help="NAME=field:value,... (repeatable)")
    ap.add_argument("--lang", action="append", help="only these languages (repeatable)")
    ap.add_argument("--package", action="append", help="only these packages (repeatable)")
    ap.add_argument("--json", help="write every report (all variants, per package) here")
    ap.add_argument("--store", help="index and search in this PostgreSQL store (one project per package)")
    args = ap.parse_args()
    out = run(args)
    print_table(out)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
