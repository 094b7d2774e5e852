#!/usr/bin/env python3
"""Mine (query, code) training pairs from the sources in shared/train/sources.txt, the CodeSearchNet way.

    .venv/bin/python training/mine.py fetch     # download, check sha256 against training/sources.lock, unpack
    .venv/bin/python training/mine.py mine      # unpacked sources -> training/data/pairs.jsonl.gz + mining_stats.json
    .venv/bin/python training/mine.py all       # both

A documented function gives one pair (Husain et al., 2019, arXiv:1909.09436): the cleaned first sentence of its doc
comment as the query, and as the positive exactly the text codegraph embeds for the function's chunk once the doc is
deleted: ``embedding_text(path, kind, qualified_symbol, code)``, ``path`` being the file's path inside its package
(``requests/sessions.py``). Extraction and query cleaning: :mod:`codegraph.docstrings`.

Left out: vendored copies, tests, examples, benchmarks, minified or bundled JavaScript, dev-set packages (wherever
they appear) and dev-set queries; duplicate queries and duplicate code keep their first occurrence (sources.txt
order, then path order).
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from fnmatch import fnmatch
from multiprocessing import Pool
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from artifacts import (  # noqa: E402
    FetchError,
    Pin,
    Source,
    fetch_one,
    json_dump,
    read_lock,
    read_sources,
    read_text_file,
    sha256_file,
    stdlib_files,
    stdlib_pin,
    stdlib_root,
    write_lock,
)

from codegraph.chunk import chunk_source, embedding_text  # noqa: E402
from codegraph.docstrings import find_documented, normalize_query, query_issue, strip_docs  # noqa: E402
from codegraph.languages import detect_language  # noqa: E402

log = logging.getLogger("codegraph.training")

SHARED = next((p for p in (ROOT / "shared", ROOT.parent / "shared") if p.is_dir()), ROOT.parent / "shared")
LOCK = ROOT / "training" / "sources.lock"
DATA = ROOT / "training" / "data"
MAX_FILE_BYTES = 1_000_000  # codegraph's default max_file_bytes
MAX_LINE_CHARS = 2_000  # codegraph skips files with a longer line as minified
LANGUAGES = frozenset({"python", "javascript", "typescript", "tsx", "go", "rust", "ruby"})

VENDORED_DIRS = frozenset(
    {"_vendor", "vendor", "vendored", "_vendored", "third_party", "node_modules", "_click", "externals", "extern"}
)
TEST_DIRS = frozenset(
    {"test", "tests", "testing", "spec", "__tests__", "benches", "examples", "testdata", "idle_test", "__mocks__"}
)
BUNDLE_DIRS = frozenset({"dist", "umd", "bundles", "bundle"})
TEST_FILE_SUFFIXES = ("_test.go", "_test.py", "_spec.rb", "_test.rb")
JS_TEST_MARKERS = (".test.", ".spec.")
# npm tarballs ship build variants side by side: mine one, the untranspiled or TypeScript source where shipped.
# Globs are relative to the package root (fnmatch: `*` crosses `/`).
NPM_SKIP: dict[str, tuple[str, ...]] = {
    "graphql": ("*.mjs",),  # .js and .mjs copies of every module
    "highlight.js": ("es/*",),  # lib/ and es/ copies
    "jquery": ("dist-module/*",),  # builds of src/
    "mathjs": ("lib/cjs/*", "lib/browser/*"),  # lib/esm kept
    "moment": ("moment.js", "ender.js", "dojo.profile.js", "locale/*", "min/*"),  # builds of src/
    "ramda": ("es/*",),  # src/ and es/ copies
    "sinon": ("pkg/*",),  # bundles of lib/
    "socket.io": ("client-dist/*",),  # browser bundles
    "typeorm": ("browser/*",),  # ESM copy of the CommonJS tree
}
NPM_DIST_IS_SOURCE = frozenset({"socket.io"})  # dist/ holds tsc output file by file, and nothing else


# ----------------------------------------------------------------------------------------------------------------
# fetch
# ----------------------------------------------------------------------------------------------------------------
def fetch(
    sources: list[Source],
    devset: list[str],
    cache: Path,
    lock_path: Path,
    *,
    relock: bool,
    all_sources: list[Source] | None = None,
) -> list[Pin]:
    """Fetch every source (pinned when the lock has it); a failing source is logged and skipped.

    Without a lock file, or with ``relock``, the current versions are fetched and the lock is (re)written; when
    ``sources`` is a subset of ``all_sources`` (``--only``), the other rows of the lock are kept.
    """
    all_sources = all_sources or sources
    partial = len(sources) < len(all_sources)
    pins = read_lock(lock_path)
    relock = relock or not lock_path.exists()
    fetched: list[Pin] = []
    for source in sources:
        if source.name in devset:
            log.warning("skip %s/%s: a dev-set package", source.ecosystem, source.name)
            continue
        pin = pins.get((source.ecosystem, source.name))
        if pin is None and not relock:
            log.warning("skip %s/%s: not pinned in %s (run fetch --relock)", source.ecosystem, source.name, lock_path)
            continue
        try:
            got = fetch_one(source, pin, cache, relock=relock)
        except (FetchError, OSError, ValueError) as e:
            log.warning("skip %s/%s: %s", source.ecosystem, source.name, e)
            continue
        log.info("%s/%s %s %s %s", got.ecosystem, got.name, got.version, got.artifact, got.license)
        fetched.append(got)
    if relock:
        if partial:  # --only: keep the other pins
            merged = {**pins, **{(p.ecosystem, p.name): p for p in fetched}}
            order = {(s.ecosystem, s.name): i for i, s in enumerate(all_sources)}
            fetched_all = sorted(merged.values(), key=lambda p: order.get((p.ecosystem, p.name), len(order)))
        else:
            fetched_all = fetched
        write_lock(lock_path, fetched_all)
        log.info("wrote %s (%d sources)", lock_path, len(fetched_all))
    return fetched


# ----------------------------------------------------------------------------------------------------------------
# which files, under which path
# ----------------------------------------------------------------------------------------------------------------
def package_files(pin: Pin, cache: Path) -> Iterator[tuple[Path, str]]:
    """(file, path inside the package) of one source's unpacked files, sorted by path."""
    if pin.ecosystem == "python-stdlib":
        yield from stdlib_files(stdlib_root())
        return
    src = cache / "src" / pin.ecosystem / pin.name
    files = sorted((p for p in src.rglob("*") if p.is_file() and not p.name.startswith(".")), key=lambda p: str(p))
    rels = [p.relative_to(src).as_posix() for p in files]
    prefix_of = _path_mapper(pin, rels)
    out = []
    for path, rel in zip(files, rels, strict=True):
        mapped = prefix_of(rel)
        if mapped is not None:
            out.append((path, mapped))
    yield from sorted(out, key=lambda x: x[1])


def _common_dir(rels: list[str]) -> str:
    parts = [PurePosixPath(r).parts[:-1] for r in rels]
    common: list[str] = []
    for column in zip(*parts, strict=False):
        if len(set(column)) != 1:
            break
        common.append(column[0])
    return "/".join(common)


def _path_mapper(pin: Pin, rels: list[str]) -> Callable[[str], str | None]:
    """A function from a path inside the unpacked artifact to the path inside the package (or ``None``: skip)."""
    if pin.ecosystem == "pypi":
        return lambda rel: rel
    if pin.ecosystem == "npm":
        return lambda rel: pin.name + "/" + rel.split("/", 1)[1] if "/" in rel else None
    # debian: Go modules under usr/share/gocode/src, the Go tree under usr/share/go-1.xx, crates under
    # usr/share/cargo/registry/<crate>-<version>, Ruby libraries under .../vendor_ruby
    name = pin.name
    if name.startswith("golang-") and name.endswith("-src"):  # golang-1.19-src: the Go distribution
        base = _common_dir([r for r in rels if "/src/" in r])
        root = base[: base.index("/src") + 4] if "/src" in base else base
        return lambda rel: "go/" + rel[len(root) + 1 :] if rel.startswith(root + "/") else None
    if name.startswith("librust-"):
        base = "usr/share/cargo/registry/"
        crates = {r[len(base) :].split("/", 1)[0] for r in rels if r.startswith(base)}
        if len(crates) != 1:
            return lambda rel: None
        crate = crates.pop()
        short = crate.rsplit("-", 1)[0]
        return lambda rel: short + "/" + rel[len(base) + len(crate) + 1 :] if rel.startswith(base + crate) else None
    if name.startswith("ruby-"):
        gem = name.removeprefix("ruby-")

        def ruby(rel: str) -> str | None:
            if "/gems/" in rel:  # rubygems-integration/<ruby>/gems/<gem>-<version>/lib/...
                inner = rel.split("/gems/", 1)[1]
                return gem + "/" + inner.split("/", 1)[1] if "/" in inner else None
            if "/vendor_ruby/" in rel:  # usr/lib/ruby/vendor_ruby/... (and an arch dir with a version)
                inner = rel.split("/vendor_ruby/", 1)[1]
                inner = inner.split("/", 1)[1] if inner[:1].isdigit() and "/" in inner else inner
                return f"{gem}/lib/{inner}"
            return None

        return ruby
    base = _common_dir([r for r in rels if r.startswith("usr/share/gocode/src/")])
    if not base:
        return lambda rel: None
    top = base.rsplit("/", 1)[-1]
    return lambda rel: top + "/" + rel[len(base) + 1 :] if rel.startswith(base + "/") else None


def skip_reason(rel: str, language: str, devset_dirs: frozenset[str], *, npm_package: str | None = None) -> str | None:
    """Why a file is not mined (``"vendored"``, ``"test"``, ``"bundle"``, ``"variant"``, ``"devset"``), else ``None``.

    Args:
        rel: path inside the package (``requests/sessions.py``; npm: ``<name>/...``).
        language: language id of the file.
        devset_dirs: directory names (or path tails such as ``pkg/errors``) of dev-set packages.
        npm_package: the npm package name when the file comes from an npm tarball.
    """
    parts = rel.split("/")
    dirs, name = parts[:-1], parts[-1]
    if any(d in VENDORED_DIRS for d in dirs):
        return "vendored"
    if any(d in TEST_DIRS for d in dirs) or name.endswith(TEST_FILE_SUFFIXES) or name == "conftest.py":
        return "test"
    if language == "python" and name.startswith("test_"):
        return "test"
    if language in ("javascript", "typescript", "tsx"):
        if any(m in name for m in JS_TEST_MARKERS):
            return "test"
        inner = dirs[1:] if npm_package else dirs
        bundles = BUNDLE_DIRS - ({"dist"} if npm_package in NPM_DIST_IS_SOURCE else set())
        if any(d in bundles for d in inner) or name.endswith((".min.js", ".bundle.js")):
            return "bundle"
        if npm_package and any(fnmatch(rel.split("/", 1)[1], g) for g in NPM_SKIP.get(npm_package, ())):
            return "variant"
    tail = "/" + "/".join(dirs).lower() + "/"
    if any(f"/{d}/" in tail for d in devset_dirs):
        return "devset"
    return None


# ----------------------------------------------------------------------------------------------------------------
# mine
# ----------------------------------------------------------------------------------------------------------------
def _mine_file(job: tuple[str, str, str, str]) -> tuple[list[dict[str, str]], Counter[str]]:
    """Pairs of one file (runs in a worker process)."""
    abspath, rel, language, package = job
    counts: Counter[str] = Counter()
    text = read_text_file(Path(abspath), max_bytes=MAX_FILE_BYTES)
    if text is None:
        counts["file_unreadable_or_large"] += 1
        return [], counts
    if any(len(line) > MAX_LINE_CHARS for line in text.split("\n")):
        counts["file_minified"] += 1
        return [], counts
    counts["files_scanned"] += 1
    pairs: list[dict[str, str]] = []
    defs = find_documented(rel, language, text, drops=counts)
    chunked: set[str] = set()
    if defs:  # what codegraph itself embeds for this file once the docs are gone (a check, reported in the stats)
        chunks = chunk_source(rel, language, strip_docs(text, defs), max_tokens=1 << 30)
        chunked = {embedding_text(c.path, c.kind, c.qualified_symbol, c.code) for c in chunks}
    for d in defs:
        counts["candidates"] += 1
        if d.symbol.lower().startswith("test"):
            counts["test_function"] += 1
            continue
        issue = query_issue(d.query)
        if issue:
            counts["query_" + issue] += 1
            continue
        positive = embedding_text(rel, d.kind, d.qualified_symbol, d.code)
        counts["check_positive_is_a_codegraph_chunk" if positive in chunked else "check_positive_not_a_chunk"] += 1
        pairs.append(
            {
                "lang": language,
                "package": package,
                "path": rel,
                "symbol": d.qualified_symbol,
                "query": d.query,
                "positive": positive,
                "_code": "\n".join(line.strip() for line in d.code.split("\n") if line.strip()),
            }
        )
    return pairs, counts


def devset_dirs(devset: list[str], dev_rows: list[dict[str, str]]) -> dict[str, frozenset[str]]:
    """Per language id, the directory names (or path tails such as ``pkg/errors``) that mark a nested copy of a
    dev-set package. A name is tied to the language its dev-set queries have (``async`` is JavaScript, so
    ``alembic/templates/async/`` stays); a name without queries counts for every language."""
    lang_of = {row["package"].lower(): row["lang"] for row in dev_rows}
    out: dict[str, set[str]] = {lang: set() for lang in LANGUAGES}
    for name in devset:
        lang = lang_of.get(name.lower().rsplit("/", 1)[-1])
        targets = [lang] if lang else list(LANGUAGES)
        if lang == "javascript":
            targets += ["typescript", "tsx"]
        for target in targets:
            out[target].add(name.lower())
            out[target].add(name.lower().replace("_", "-"))  # Debian/crates spell serde_json serde-json
    return {lang: frozenset(names) for lang, names in out.items()}


def _unverified(pin: Pin, cache: Path) -> str | None:
    """Why the unpacked files of ``pin`` cannot be trusted to be the pinned artifact's, or ``None``."""
    if pin.ecosystem == "python-stdlib":
        try:
            got = stdlib_pin(pin.name)
        except FetchError as e:
            return str(e)
        return None if got.sha256 == pin.sha256 else f"Lib/ digest {got.sha256[:12]} is not the pinned one"
    marker = cache / "src" / pin.ecosystem / pin.name / ".artifact"
    if not marker.exists() or marker.read_text() != pin.sha256:
        return "not fetched from the pinned artifact (run `training/mine.py fetch`)"
    return None


def mine(
    sources: list[Source], devset: list[str], cache: Path, lock_path: Path, out: Path, exclude: Path, jobs: int
) -> dict[str, object]:
    """Mine every pinned source into ``out`` (gzipped JSON Lines) and return the statistics."""
    t0 = time.monotonic()
    pins = read_lock(lock_path)
    if not pins:
        raise SystemExit(f"{lock_path} is missing or empty: run `training/mine.py fetch` first")
    dev_rows = []
    if exclude.exists():
        dev_rows = [json.loads(line) for line in exclude.read_text(encoding="utf-8").splitlines() if line.strip()]
    dev_queries = {normalize_query(row["query"]) for row in dev_rows}
    blocked = devset_dirs(devset, dev_rows)
    totals: Counter[str] = Counter()
    by_language: dict[str, Counter[str]] = {}
    skipped_sources: dict[str, str] = {}
    per_lang: Counter[str] = Counter()
    per_package: dict[str, int] = {}
    files_per_package: dict[str, int] = {}
    seen_queries: set[str] = set()
    seen_code: set[str] = set()
    kept: list[dict[str, str]] = []
    with Pool(jobs) as pool:
        for source in sources:
            pin = pins.get((source.ecosystem, source.name))
            if pin is None or source.name in devset:
                continue
            problem = _unverified(pin, cache)
            if problem:
                log.warning("skip %s/%s: %s", source.ecosystem, source.name, problem)
                skipped_sources[f"{source.ecosystem}/{source.name}"] = problem
                continue
            package = source.name
            jobs_list = []
            for path, rel in package_files(pin, cache):
                language = detect_language(rel)
                if language not in LANGUAGES:
                    continue
                npm = package if source.ecosystem == "npm" else None
                reason = skip_reason(rel, language, blocked[language], npm_package=npm)
                if reason:
                    totals["files_skipped_" + reason] += 1
                    continue
                jobs_list.append((str(path), rel, language, package))
            n_before = len(kept)
            for job, (pairs, counts) in zip(jobs_list, pool.imap(_mine_file, jobs_list, chunksize=8), strict=True):
                totals.update(counts)
                lang_counts = by_language.setdefault(job[2], Counter())
                lang_counts.update(counts)
                for pair in pairs:
                    norm = normalize_query(pair["query"])
                    code = pair.pop("_code")
                    reason = ""
                    if norm in dev_queries:
                        reason = "devset_query"
                    elif norm in seen_queries:
                        reason = "duplicate_query"
                    elif code in seen_code:
                        reason = "duplicate_code"
                    if reason:
                        totals[reason] += 1
                        lang_counts[reason] += 1
                        continue
                    seen_queries.add(norm)
                    seen_code.add(code)
                    kept.append(pair)
                    per_lang[pair["lang"]] += 1
            per_package[f"{source.ecosystem}/{package}"] = len(kept) - n_before
            files_per_package[f"{source.ecosystem}/{package}"] = len(jobs_list)
            log.info("%s/%s: %d files, %d pairs", source.ecosystem, package, len(jobs_list), len(kept) - n_before)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        for pair in kept:
            gz.write((json.dumps(pair, ensure_ascii=False) + "\n").encode("utf-8"))
    tmp.replace(out)
    dropped = {k: v for k, v in sorted(totals.items()) if not k.startswith(("file_", "files_", "candidates", "check_"))}
    checks = {k.removeprefix("check_"): v for k, v in sorted(totals.items()) if k.startswith("check_")}
    stats: dict[str, object] = {
        "pairs": len(kept),
        "pairs_per_language": dict(sorted(per_lang.items())),
        "pairs_per_package": per_package,
        "files_per_package": files_per_package,
        "sources_skipped": skipped_sources,
        "files_scanned": totals["files_scanned"],
        "files_skipped": {
            k.removeprefix("files_skipped_"): v for k, v in sorted(totals.items()) if k.startswith("files_skipped_")
        },
        "files_unreadable_or_minified": totals["file_unreadable_or_large"] + totals["file_minified"],
        "candidates": totals["candidates"],
        "dropped": dropped,
        "checks": checks,
        "by_language": {
            lang: {
                "pairs": per_lang[lang],
                "files_scanned": c["files_scanned"],
                "candidates": c["candidates"],
                "dropped": {
                    k: v
                    for k, v in sorted(c.items())
                    if k not in ("files_scanned", "candidates") and not k.startswith("check_")
                },
            }
            for lang, c in sorted(by_language.items())
        },
        "seconds": round(time.monotonic() - t0, 1),
        "jobs": jobs,
        "output": str(out.relative_to(ROOT) if out.is_relative_to(ROOT) else out),
        "output_sha256": sha256_file(out),
    }
    return stats


def main(argv: list[str] | None = None) -> int:
    """Command line: ``fetch``, ``mine`` or ``all``."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["fetch", "mine", "all"])
    ap.add_argument(
        "--cache",
        type=Path,
        default=Path("~/.cache/codegraph-train").expanduser(),
        help="downloads (dl/) and unpacked sources (src/); default %(default)s",
    )
    ap.add_argument("--out", type=Path, default=DATA / "pairs.jsonl.gz", help="pairs file (default %(default)s)")
    ap.add_argument("--sources", type=Path, default=SHARED / "train" / "sources.txt", help="default %(default)s")
    ap.add_argument("--lock", type=Path, default=LOCK, help="pinned artifacts (default %(default)s)")
    ap.add_argument("--relock", action="store_true", help="fetch the registries' current versions, rewrite the lock")
    ap.add_argument(
        "--exclude-queries",
        type=Path,
        default=SHARED / "eval" / "queries.jsonl",
        help="JSON Lines with a 'query' field: pairs with an equal normalised query are dropped",
    )
    ap.add_argument("--only", action="append", default=[], help="only these source names (repeatable; for debugging)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default %(default)s)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    all_sources, devset = read_sources(args.sources)
    sources = [s for s in all_sources if s.name in args.only] if args.only else all_sources
    if args.step in ("fetch", "all"):
        fetch(sources, devset, args.cache, args.lock, relock=args.relock, all_sources=all_sources)
    if args.step in ("mine", "all"):
        stats = mine(sources, devset, args.cache, args.lock, args.out, args.exclude_queries, args.jobs)
        stats_path = args.out.parent / "mining_stats.json"
        stats_path.write_text(json_dump(stats), encoding="utf-8")
        log.info("%d pairs %s -> %s", stats["pairs"], stats["pairs_per_language"], args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
