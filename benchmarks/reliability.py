#!/usr/bin/env python
"""The reliability campaign (issue 11) at full size; its table is docs/reliability.md.

Usage::

    nice python benchmarks/reliability.py > benchmarks/results/reliability-$(date +%F).txt   # ~25-35 min
    python benchmarks/reliability.py --quick                 # the CI sizes of tests/test_reliability.py, ~5 min
    python benchmarks/reliability.py --only soak,kill9 --soak-s 600

Sections (``--only`` takes their names): ``kill9`` (SIGKILL at --kill-points points of a build of 400 modules,
800 chunks, with the default ``code`` model), ``soak`` (watch + 3 index + 10 search processes on one repository
for --soak-s seconds while files change), ``diskfull``, ``readonly``, ``corrupt``, ``wal``, ``race``, ``names``,
``patho`` (10k-deep nesting, a 100k-line function, and how chunking time grows with nested definitions),
``sandbox``, ``e2e`` (``codegraph test`` with the fake LLM), ``inject`` and ``large`` (the whole standard library
indexed with ``--model fast``: files, distinct lines, chunks, seconds, peak RSS).

The campaign's machinery is ``tests/campaign.py`` (shared with the tests; this script puts the repository root
on ``sys.path`` to import it, and the fake LLM server ``tests/fake_llm.py`` with it, the campaign's only
stand-in). Each row says how many runs (kills, checks, processes) it made, how many failed, and how much data
was lost (chunks or lines of the current tree missing or stale afterwards); the failures are listed under the
table. Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from _harness import STDLIB_EXCLUDED_DIRS, Bench, Report, log, temp_dir
from _measure import child_peak_rss

from codegraph.embed import open_embedder, resolve_model

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import campaign as cp  # noqa: E402 - the repository root must be on sys.path first

SECTIONS = (
    "kill9",
    "soak",
    "diskfull",
    "readonly",
    "corrupt",
    "wal",
    "race",
    "names",
    "patho",
    "sandbox",
    "e2e",
    "inject",
    "large",
)


@dataclass
class Line:
    """One row of the campaign's table."""

    number: str
    test: str
    runs: str
    failures: int
    lost: str
    notes: str = ""
    details: list[str] = field(default_factory=list)


def render(lines: list[Line]) -> str:
    cols = ("#", "test", "runs", "failures", "data lost", "notes")
    rows = [cols] + [(x.number, x.test, x.runs, str(x.failures), x.lost, x.notes) for x in lines]
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]

    def fmt(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [fmt(rows[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [fmt(r) for r in rows[1:]]
    failures = [f"- {x.number} {x.test}: {d}" for x in lines for d in x.details]
    if failures:
        out += ["", "Failures and skips:", *failures]
    return "\n".join(out)


@dataclass
class CampaignReport(Report):
    """The harness's header and footer around the campaign's own table (:func:`render`)."""

    lines: list[Line] = field(default_factory=list)

    def render(self) -> str:
        return "\n".join([*self.header, "", render(self.lines), "", *self.footer])


def check_line(number: str, test: str, checks: list[cp.Check], notes: str = "") -> Line:
    """A row for a scenario made of :class:`~tests.campaign.Check` results."""
    ran = [c for c in checks if not c.skipped]
    failed = [c for c in ran if not c.ok]
    skipped = [c for c in checks if c.skipped]
    lost = sum(c.lost for c in checks)
    details = [f"FAILED {c.what}: {c.detail[:300]}" for c in failed]
    details += [f"skipped {c.what}: {c.skipped}" for c in skipped]
    extra = f"; {len(skipped)} skipped (platform)" if skipped else ""
    return Line(number, test, f"{len(ran)} checks{extra}", len(failed), str(lost), notes, details)


# -- the sections ---------------------------------------------------------------------------------------------


def kill9(work: Path, args: argparse.Namespace) -> list[Line]:
    files = cp.make_corpus(120, 1) if args.quick else cp.make_corpus(400, 2)
    report = cp.kill9_campaign(work, files, cp.kill_points(args.kill_points), log=log)
    phases = ", ".join(f"{k} {v}" for k, v in sorted(report.phases.items(), key=lambda kv: -kv[1]))
    notes = (
        f"{len(files)} files, {report.chunks} chunks, clean build {report.clean_seconds:.1f} s; kills by stage: "
        f"{phases}; after every kill: integrity_check ok, search answered, next index bit-identical to the clean "
        "build"
    )
    details = [f"FAILED {o.point} ({o.phase}): {'; '.join(o.problems)}" for o in report.failures]
    lost = sum(o.lost for o in report.outcomes)
    runs = f"{len(report.kills)} kills ({len(report.outcomes)} points)"
    return [Line("1", "kill -9 during index", runs, len(report.failures), f"{lost} chunks", notes, details)]


def soak(work: Path, args: argparse.Namespace) -> list[Line]:
    seconds = 30.0 if args.quick else args.soak_s
    report = cp.soak(work / "repo", seconds, log=log)
    diff = report.comparison
    assert diff is not None
    lost = diff.lost
    changes = sum(report.mutations.values())
    runs = (
        f"{seconds:.0f} s: {sum(report.index_runs.values())} index, {report.search_processes} search processes "
        f"({report.searches} queries), {report.watch_batches} watch batches, {changes} file changes"
    )
    notes = (
        f"index outcomes {report.index_runs}; watch caught up {report.converged_s} s after the last change and "
        f"exited {report.watch_exit} on SIGINT; final index vs clean build: {diff.describe()} (finding 3)"
    )
    failures = len(report.errors) + (0 if diff.equal(min_cosine=0.98) else 1)
    details = [f"FAILED {e[:300]}" for e in report.errors]
    return [Line("2", "concurrency soak", runs, failures, f"{lost} chunks", notes, details)]


def diskfull(work: Path, args: argparse.Namespace) -> list[Line]:
    problem = cp.mount_namespace_problem()
    if problem:
        return [Line("3", "disk full (tmpfs)", "0", 0, "-", f"skipped: {problem}")]
    corpus = work / "corpus"
    cp.write_tree(corpus, cp.make_corpus(30, 10) if args.quick else cp.make_corpus(60, 10))
    clean = work / "clean"
    cp.copy_tree(corpus, clean)
    _, expected = cp.clean_build(clean)
    size = (clean / ".codegraph" / "index.db").stat().st_size
    factors = (0.5, 1.0, 1.3, 4.0) if args.quick else (0.25, 0.5, 0.8, 1.0, 1.15, 1.3, 1.6, 2.0, 4.0)
    budgets = [4096] + [int(size * f) for f in factors]
    spec = {"corpus": str(corpus), "work": str(work / "ns"), "budgets": budgets, "tmpfs_bytes": size * 8}
    results = cp.in_mount_namespace("diskfull", spec)["results"]
    checks: list[cp.Check] = []
    stages = []
    for r in results:
        label = f"{r['budget']:,} bytes free"
        first = r["first"]
        one_line = not first["traceback"] and (
            first["returncode"] == 0 or (first["returncode"] == 1 and "; free some space" in first["stderr"])
        )
        checks.append(cp.Check("disk full", f"{label}: index fails with one line", one_line, first["stderr"][-300:]))
        if first["returncode"] != 0:
            counts = r["counts"]
            stages.append(cp.phase_of(cp.Counts(**counts) if counts else None, 10**9, 10**9).split()[0])
        readable = r["integrity"] in ("ok", "no database file") or "disk is full" in r["integrity"]
        checks.append(cp.Check("disk full", f"{label}: integrity", readable, r["integrity"]))
        for name in ("search", "status"):
            run = r[name]
            said = "free some space" in run["stderr"] or cp.NO_INDEX in run["stderr"]
            fine = not run["traceback"] and (run["returncode"] == 0 or said)
            checks.append(cp.Check("disk full", f"{label}: {name}", fine, run["stderr"][-300:]))
        again = r["again"]
        checks.append(
            cp.Check(
                "disk full", f"{label}: index after freeing space", again["returncode"] == 0, again["stderr"][-300:]
            )
        )
        diff = cp.compare(cp.snapshot_from_rows(r["snapshot"]), expected)
        checks.append(
            cp.Check("disk full", f"{label}: equals a clean build", diff.equal(), diff.describe(), lost=diff.lost)
        )
    failed_at = ", ".join(stages) or "-"
    notes = f"{len(budgets)} free-space budgets from 4 KiB to 4x the index ({size:,} bytes); failed at: {failed_at}"
    return [check_line("3", "disk full (tmpfs)", checks, notes)]


def readonly(work: Path, args: argparse.Namespace) -> list[Line]:
    problem = cp.mount_namespace_problem()
    if problem:
        return [Line("4", "read-only .codegraph / repository", "0", 0, "-", f"skipped: {problem}")]
    repo = work / "repo"
    cp.write_tree(repo, cp.make_corpus(10, 3))
    cp.cli("index", ".", "-q", cwd=repo)
    (repo / "new.py").write_text("def brand_new_function():\n    return 1\n", encoding="utf-8")
    seen = cp.in_mount_namespace("readonly", {"repo": str(repo)})
    checks = []
    for where, runs in seen.items():
        runs.pop("files", None)
        for command, run in runs.items():
            last = (run["stderr"].strip().splitlines() or [""])[-1]
            if command in ("index", "watch"):  # writers: one line saying what needs write access
                fine = not run["traceback"] and run["returncode"] == 1 and last.startswith("codegraph: error:")
            else:  # readers: answer (check: exit 1, new.py is stale), with one notice line
                notices = run["stderr"].count("is not writable here; opened it read-only")
                fine = not run["traceback"] and run["returncode"] == (command == "check") and notices == 1
            checks.append(cp.Check("read-only", f"{where}: {command}", fine, last))
    after = cp.cli("index", ".", "-q", cwd=repo)
    checks.append(cp.Check("read-only", "index once writable again", after.returncode == 0, after.describe()))
    clean = work / "clean"
    cp.copy_tree(repo, clean)
    _, expected = cp.clean_build(clean)
    diff = cp.compare(cp.snapshot(repo), expected)
    checks.append(cp.Check("read-only", "equals a clean build", diff.lost == 0, diff.describe(), lost=diff.lost))
    notes = (
        "index file, index dir, repository read-only: index/watch 'need write access'; search, status, --check, "
        "--verify, def answer read-only (mode=ro for the file, immutable for the directory)"
    )
    return [check_line("4", "read-only .codegraph / repository", checks, notes)]


def corrupt(work: Path, args: argparse.Namespace) -> list[Line]:
    checks = cp.corruption_checks(work, cp.make_corpus(20, 5))
    kept = "; ".join(f"{c.what.split(':')[0]}: {c.detail.split(' (')[0]}" for c in checks if "snippets kept" in c.what)
    notes = (
        f"{len(cp.DAMAGES) - 1} damages and a sound index: {', '.join(cp.DAMAGES)}; advice followed = "
        f"codegraph index --rebuild, which kept (of 12 snippets, 12 test runs): {kept}"
    )
    return [check_line("5", "damaged index file", checks, notes)]


def wal(work: Path, args: argparse.Namespace) -> list[Line]:
    checks = cp.wal_cut_checks(work, cp.make_corpus(20, 10))
    return [check_line("6", "torn WAL after a kill", checks, "WAL cut mid-frame after a kill at 60 % embedded")]


def race(work: Path, args: argparse.Namespace) -> list[Line]:
    checks = cp.race_checks(work, open_embedder(resolve_model("fast")))
    notes = "deleted, grown, turned into a directory, turned into a symlink between discovery and read"
    return [check_line("7", "files changing mid-index", checks, notes)]


def names(work: Path, args: argparse.Namespace) -> list[Line]:
    checks = cp.names_checks(work)
    notes = "not UTF-8 (file, directory), newline, tab, quotes, leading dash, NFC/NFD, 254 bytes; index and watch"
    return [check_line("8", "awkward file names", checks, notes)]


def patho(work: Path, args: argparse.Namespace) -> list[Line]:
    checks, timings = cp.pathological_checks(work)
    notes = (
        f"model fast; index {timings['default_s']} s with default limits, {timings['huge_s']} s with the "
        f"100,000-line function ({timings.get('huge_chunks', 0)} chunks)"
    )
    lines = [check_line("9", "pathological inputs", checks, notes)]
    if not args.quick:
        lines.append(nesting_growth())
    return lines


def nesting_growth() -> Line:
    """Chunking time of N nested function definitions (JavaScript) and N nested modules (Ruby), in-process."""
    from codegraph.chunk import chunk_source

    enc = open_embedder(resolve_model("fast"))
    cells = []
    for lang, make in (
        ("javascript", lambda n: "".join(f"function f{i}() {{\n" for i in range(n)) + "}\n" * n),
        ("ruby", lambda n: "".join(f"module M{i}\n" for i in range(n)) + "def f; end\n" + "end\n" * n),
    ):
        for n in (2_500, 5_000, 10_000):
            t0 = time.perf_counter()
            chunk_source(
                f"x.{lang[:2]}",
                lang,
                make(n),
                max_tokens=enc.profile.chunk_tokens,
                count_tokens=enc.count_tokens,
                count_line_tokens=enc.count_line_tokens,
            )
            cells.append(f"{lang} {n:,}: {time.perf_counter() - t0:.1f} s")
            log(cells[-1])
    return Line(
        "9b", "nested definitions: chunking time", "6 files", 0, "0", "; ".join(cells) + " (quadratic: finding 5)"
    )


def sandbox(work: Path, args: argparse.Namespace) -> list[Line]:
    checks = cp.sandbox_checks(work)
    notes = "~/.ssh, env and /proc secrets, network, writes outside, fork bomb, daemon, sleep forever, 4 GiB output"
    return [check_line("10", "sandbox: hostile tests (run_tests)", checks, notes)]


def e2e(work: Path, args: argparse.Namespace) -> list[Line]:
    checks = cp.e2e_test_checks(work)
    notes = "codegraph generate + test --fix 1 -v with the fake LLM; key grepped in prompts, outputs, db files"
    return [check_line("11", "sandbox: codegraph test end to end", checks, notes)]


def inject(work: Path, args: argparse.Namespace) -> list[Line]:
    checks = cp.injection_checks(work)
    notes = "repository text, feedback, test output; the fake LLM obeys: no fence, two, bash, sh, Fix: shell"
    return [check_line("12", "prompt injection", checks, notes)]


def large(work: Path, args: argparse.Namespace) -> list[Line]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    root = work / "stdlib"
    ignore = shutil.ignore_patterns(*STDLIB_EXCLUDED_DIRS)
    if args.quick:
        root.mkdir()
        for name in ("json", "email", "asyncio", "unittest"):
            shutil.copytree(stdlib / name, root / name, ignore=ignore)
    else:
        shutil.copytree(stdlib, root, ignore=ignore, symlinks=True)
    files = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
    distinct: set[bytes] = set()
    for path in files:
        distinct.update(line.strip() for line in path.read_bytes().splitlines() if line.strip())
    log(f"large: {len(files):,} files, {len(distinct):,} distinct lines; indexing with --model fast")
    cmd = [*cp.CODEGRAPH, "index", ".", "--json", "-q", "--model", "fast"]
    try:
        wall, rss, out = child_peak_rss(cmd, root)
    except RuntimeError as exc:
        return [Line("13", "large tree (stdlib)", "1 index", 1, "?", "", [f"FAILED index: {str(exc)[:500]}"])]
    stats = json.loads(out)
    again = cp.cli("index", ".", "--json", "--model", "fast", cwd=root)
    unchanged = again.returncode == 0 and json.loads(again.stdout)["files_changed"] == 0
    found = cp.cli("search", "ThreadPoolExecutor", "--json", "-k", "1", cwd=root)
    first = json.loads(found.stdout)["results"][0]["path"] if found.returncode == 0 else "-"
    checks = [
        cp.Check("large", "index", True),
        cp.Check("large", "no-change re-index", unchanged, again.describe()),
        cp.Check("large", "search", found.returncode == 0, found.describe()),
    ]
    if not args.quick:
        checks.append(
            cp.Check(
                "large",
                ">= 2,400 files and >= 300k distinct lines",
                len(files) >= 2400 and len(distinct) >= 300_000,
                f"{len(files)} / {len(distinct)}",
            )
        )
    notes = (
        f"{len(files):,} files ({stats['files_seen']:,} indexed, {stats['files_skipped']} skipped), "
        f"{len(distinct):,} distinct lines, {stats['chunks']:,} chunks in {wall:.0f} s, peak RSS {rss:.0f} MiB; "
        f"re-index {again.seconds:.1f} s; 'ThreadPoolExecutor' -> {first}"
    )
    return [check_line("13", "large tree: the standard library, --model fast", checks, notes)]


RUNNERS: dict[str, Callable[[Path, argparse.Namespace], list[Line]]] = {
    "kill9": kill9,
    "soak": soak,
    "diskfull": diskfull,
    "readonly": readonly,
    "corrupt": corrupt,
    "wal": wal,
    "race": race,
    "names": names,
    "patho": patho,
    "sandbox": sandbox,
    "e2e": e2e,
    "inject": inject,
    "large": large,
}


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="the CI sizes (30 s soak, 20 kill points, a stdlib subset)")
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections: {', '.join(SECTIONS)}")
    ap.add_argument("--soak-s", type=float, default=300.0, help="soak duration in seconds (default 300)")
    ap.add_argument("--kill-points", type=int, default=40, help="kill points (default 40; --quick: 20)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    args.only = [s for s in args.only.split(",") if s]
    unknown = set(args.only) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown sections: {', '.join(sorted(unknown))}")
    if args.quick and args.kill_points == 40:
        args.kill_points = 20
    return args


def main() -> None:
    args = parse_args()
    bench = Bench("reliability")
    report = bench.report = CampaignReport()
    code, fast = open_embedder(resolve_model("code")), open_embedder(resolve_model("fast"))
    mode = "quick (CI sizes)" if args.quick else f"full (soak {args.soak_s:.0f} s, {args.kill_points} kill points)"
    namespace = cp.mount_namespace_problem() or "available"
    bench.header(
        [code, fast],
        ["onnxruntime", "numpy", "tree-sitter", "openai"],
        [
            f"run: {mode}; sections: {', '.join(args.only)}; uid {os.geteuid()}; mount namespace: {namespace}",
            f"nice: {os.nice(0)}",
        ],
    )
    lines: list[Line] = []
    with temp_dir("cg-reliability-", keep=args.keep) as tmp:
        for name in args.only:
            bench.section(name, f"{name} ...")
            work = tmp / name
            work.mkdir()
            t0 = time.perf_counter()
            try:
                got = RUNNERS[name](work, args)
            except Exception as exc:  # noqa: BLE001 - a crashed section is a failed row, not a lost table
                got = [Line("!", name, "-", 1, "?", "", [f"FAILED the section crashed: {type(exc).__name__}: {exc}"])]
            for line in got:
                line.notes = f"{line.notes} [{time.perf_counter() - t0:.0f} s]".strip()
                log(f"{line.test}: {line.runs}, {line.failures} failures, lost {line.lost}")
            lines += got
    report.lines = lines
    bench.finish()


if __name__ == "__main__":
    main()
