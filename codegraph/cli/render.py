"""All terminal output: the one module that imports rich. Results go to stdout, everything else to stderr."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from ..types import Hit, IndexStats
from .common import output_closed

if TYPE_CHECKING:
    # rich.progress and rich.syntax (Pygments) are imported where used: together ~60 ms of every command's start.
    from rich.progress import Progress

    from ..assist.testgen import Round
    from ..embed.registry import ModelEntry
    from ..evaluate import EvalReport
    from ..graph.query import GraphHit
    from ..store.snippets import TestRun
    from ..types import Snippet

SNIPPET_LINES = 12
"""Lines of each result's excerpt shown in human output."""

WARNINGS_SHOWN = 10

_LEXERS = {"csharp": "csharp", "cpp": "cpp", "tsx": "tsx", "text": "text"}


class _Console(Console):
    """A rich Console whose closed pipe ends the command with exit 0 (rich's default raises ``SystemExit(1)``)."""

    def on_broken_pipe(self) -> None:
        raise output_closed(sys.stderr if self.stderr else sys.stdout)


out = _Console(soft_wrap=True)
err = _Console(stderr=True, soft_wrap=True)


def error(message: str) -> None:
    """One line on stderr: ``codegraph: error: ...``."""
    err.print(f"[bold red]codegraph: error:[/] {escape(message)}", highlight=False)


def warning(message: str) -> None:
    """One line on stderr: ``codegraph: warning: ...``."""
    err.print(f"[yellow]codegraph: warning:[/] {escape(message)}", highlight=False)


def notice(message: str) -> None:
    """A one-line notice on stderr."""
    err.print(escape(message), style="yellow", highlight=False)


def model_table(entries: Sequence[ModelEntry]) -> None:
    """``codegraph model list``: one row per model, name first; never wrapped (paths stay whole)."""
    rows = [("name", "status", "default", "size", "dim", "tokens", "source", "location")]
    for e in entries:
        status = "not installed" if e.location is None else "bundled" if e.bundled else "installed"
        rows.append(
            (
                e.profile.name,
                status,
                "yes" if e.default else "",
                f"{e.size_bytes / 1e6:.1f} MB" if e.location else "-",
                str(e.profile.dim),
                str(e.profile.max_tokens),
                e.profile.source,
                str(e.location) if e.location else "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        cells = [c.rjust(w) if i in (3, 4, 5) else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        line = escape("  ".join(cells).rstrip())
        out.print(f"[bold]{line}[/]" if n == 0 else line, highlight=False, crop=False, overflow="ignore")


def eval_table(report: EvalReport) -> None:
    """``codegraph eval``: a header line, one row per model x mode (MRR@10, R@1, R@5, R@10, n, then MRR@10 per
    language), and one line per model with its indexing speed and search latency (all on stdout)."""
    eval_set = report.eval_set
    languages = list(eval_set.languages())
    n = len(eval_set.queries)
    counts = ", ".join(f"{language} {count}" for language, count in eval_set.languages().items())
    out.print(
        f"{n} queries ({counts}) from {eval_set.documented} documented functions in {escape(str(eval_set.root))}; "
        f"seed {eval_set.seed}; lenient relevance, top 10",
        highlight=False,
    )
    rows = [("model", "mode", "MRR@10", "R@1", "R@5", "R@10", "n", *(f"{lang} MRR@10" for lang in languages))]
    for result in report.models:
        for mode in report.modes:
            m = result.modes[mode]
            o = m.overall
            per_language = [f"{m.by_language[lang].mrr_at_10:.3f}" for lang in languages]
            rows.append(
                (
                    result.model,
                    mode,
                    *(f"{v:.3f}" for v in (o.mrr_at_10, o.recall_at_1, o.recall_at_5, o.recall_at_10)),
                    str(o.n),
                    *per_language,
                )
            )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out.print()
    for number, row in enumerate(rows):
        cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        line = escape("  ".join(cells).rstrip())
        out.print(f"[bold]{line}[/]" if number == 0 else line, highlight=False, crop=False, overflow="ignore")
    out.print()
    for result in report.models:
        out.print(
            f"{escape(result.model)}: indexed {result.files} files, {result.chunks} chunks in "
            f"{result.index_seconds:.1f} s ({result.chunks_per_s:.1f} chunks/s); search median "
            f"{result.latency_ms_median:.1f} ms",
            highlight=False,
        )
    out.print(
        "[dim]MRR@10: mean of 1/rank of the documented function (1.0 = always first, 0 = not in the top 10); "
        "R@k: share found in the top k[/]",
        highlight=False,
    )
    if n < 50:
        out.print(f"[dim]only {n} queries: differences of a few points are noise[/]", highlight=False)


def hits(query: str, results: Sequence[Hit], *, mode: str, contexts: Sequence[dict[str, Any]] | None = None) -> None:
    """Human-readable results: ``path:start-end  symbol  kind  score`` and a highlighted excerpt."""
    if not results:
        err.print(f"no results for {query!r} ({mode})", highlight=False)
        return
    for rank, hit in enumerate(results, 1):
        where = f"{hit.project + ':' if hit.project else ''}{hit.path}:{hit.start_line}-{hit.end_line}"
        symbol = f"  [bold]{escape(hit.symbol)}[/]" if hit.symbol else ""
        out.print(
            f"[dim]{rank:>2}.[/] [cyan]{escape(where)}[/]{symbol}  [dim]{hit.kind} · {hit.language} · "
            f"{hit.score:.4f}[/]",
            highlight=False,
        )
        lines = hit.excerpt.splitlines()
        shown = "\n".join(lines[:SNIPPET_LINES])
        from rich.syntax import Syntax

        syntax = Syntax(
            shown,
            _LEXERS.get(hit.language, hit.language),
            line_numbers=True,
            start_line=hit.excerpt_line,
            theme="ansi_dark",
            word_wrap=False,
        )
        if contexts is not None and rank <= len(contexts):
            parts = []
            for key, label in (("callers", "called by"), ("callees", "calls")):
                item = contexts[rank - 1][key]
                if item["count"]:
                    more = f" (+{item['count'] - len(item['top'])})" if item["count"] > len(item["top"]) else ""
                    parts.append(f"{label} {', '.join(item['top'])}{more}")
            out.print(
                f"    [dim]{escape(' · '.join(parts) or 'no callers or callees in the index')}[/]", highlight=False
            )
        out.print(syntax)
        if len(lines) > SNIPPET_LINES:
            out.print(f"[dim]    … {len(lines) - SNIPPET_LINES} more lines[/]")
        out.print()


def graph_hits(hits: Sequence[GraphHit], *, outline: bool = False) -> None:
    """Graph answers, one per line: ``[project:]path:start-end  symbol  kind`` then, for references, the
    reference's line and how it was resolved (``by_name`` is a guess); ``outline`` indents nested definitions by
    their scope."""
    for hit in hits:
        where = f"{hit.project + ':' if hit.project else ''}{hit.path}:{hit.start_line}-{hit.end_line}"
        indent = "  " * (hit.symbol or "").count(".") if outline else ""
        symbol = f"  [bold]{escape(hit.symbol)}[/]" if hit.symbol else ""
        extra = []
        if hit.depth > 1:
            extra.append(f"depth {hit.depth}")
        if hit.line is not None and not outline:
            extra.append(f"line {hit.line}")
        if hit.resolution:
            extra.append(hit.resolution)
        tail = f"  [dim]{' · '.join(extra)}[/]" if extra else ""
        out.print(f"{indent}[cyan]{escape(where)}[/]{symbol}  [dim]{hit.kind}[/]{tail}", highlight=False)


def rebuild_notice(stats: IndexStats) -> None:
    """One line on stderr when the run emptied the index because its model or chunker version changed."""
    if not stats.rebuilt:
        return
    if stats.previous_model != stats.model:
        notice(
            f"codegraph: the index was built with {stats.previous_model}; re-embedding every chunk with {stats.model}"
        )
    elif stats.previous_vectors and stats.previous_vectors != stats.vectors:
        notice(
            f"codegraph: the index stored {stats.previous_vectors} vectors, which cannot become {stats.vectors} "
            "ones without the model; re-embedded every chunk"
        )
    else:
        notice(
            "codegraph: the index was built by another codegraph version (chunker) or with another vector_dims; "
            "re-chunked every file"
        )


def recovery_notice(stats: IndexStats) -> None:
    """After ``index --rebuild``: one line on stderr saying which snippets and test runs were kept and lost."""
    report = stats.rebuild
    if report is None:
        return

    def count(kept: int | None, lost: int | None, what: str) -> str:
        if lost is None:
            return f"{what} could not be read (how many is unknown)"
        if kept is None:
            return f"{what} kept"
        return f"{kept} {what} kept" + (f", {lost} could not be read" if lost else "")

    snippets = count(report["snippets_kept"], report["snippets_lost"], "snippets")
    runs = count(report["test_runs_kept"], report["test_runs_lost"], "test runs")
    line = f"codegraph: rebuilt the index from scratch; {snippets}; {runs}"
    if report["old_copy"]:
        line += f"; the old file is kept as {report['old_copy']} (delete it when done)"
    if report["snippets_lost"] != 0 or report["test_runs_lost"] != 0:
        warning(line.removeprefix("codegraph: "))
    else:
        notice(line)


def index_summary(stats: IndexStats) -> None:
    """The end-of-index summary (stdout) and the skipped-file warnings (stderr)."""
    if stats.warnings:
        err.print(f"[yellow]warning:[/] {len(stats.warnings)} file(s) skipped:", highlight=False)
        for line in stats.warnings[:WARNINGS_SHOWN]:
            err.print(f"  {escape(line)}", highlight=False)
        if len(stats.warnings) > WARNINGS_SHOWN:
            err.print(f"  … and {len(stats.warnings) - WARNINGS_SHOWN} more (--json lists all)", highlight=False)
    if stats.truncated:
        err.print(
            f"[yellow]warning:[/] {stats.truncated} chunk(s) longer than the model's token limit were truncated to "
            "their head before embedding",
            highlight=False,
        )
    looked_up = stats.cache_hits + stats.embedded
    out.print(
        f"indexed {stats.files_seen} files ({stats.files_changed} changed, {stats.files_removed} removed, "
        f"{stats.files_skipped} skipped) · {stats.chunks} chunks · {stats.embedded} embedded, "
        f"{stats.cache_hits} cache hits"
        + (f" ({stats.cache_hits / looked_up:.0%})" if looked_up else "")
        + f" · {stats.seconds:.1f}s · model {stats.model}",
        highlight=False,
    )


PROGRESS_LINE_S = 5.0
"""Seconds between progress lines when stderr is not a terminal (CI logs, ``2> file``)."""


class IndexProgress:
    """Progress of ``index`` on stderr: bars with an ETA on a terminal; otherwise one plain line every
    :data:`PROGRESS_LINE_S` seconds (nothing for a run shorter than that), so CI logs show a long index moving."""

    _LABELS = {"chunk": "chunking files", "embed": "embedding chunks", "store": "writing index"}

    def __init__(self, progress: Progress | None, *, lines: bool = False) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}
        self.lines = lines
        self.started = time.monotonic()
        self.next_line = self.started + PROGRESS_LINE_S
        self.state: dict[str, tuple[int, int]] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.state[stage] = (done, total)
        if self.progress is not None:
            if stage not in self.tasks:
                self.tasks[stage] = self.progress.add_task(self._LABELS.get(stage, stage), total=max(total, 1))
            self.progress.update(self.tasks[stage], completed=done, total=max(total, 1))
        elif self.lines and time.monotonic() >= self.next_line:
            self.next_line = time.monotonic() + PROGRESS_LINE_S
            self._line()

    def _line(self) -> None:
        parts = []
        for stage, (done, total) in self.state.items():
            share = f" ({done / total:.0%})" if total else ""
            parts.append(f"{self._LABELS.get(stage, stage)} {done:,}/{total:,}{share}")
        elapsed = time.monotonic() - self.started
        done, total = self.state.get("chunk", (0, 0))
        left = f", about {elapsed * (total - done) / done:.0f} s of chunking left" if 0 < done < total else ""
        err.print(f"codegraph: {'; '.join(parts)}; {elapsed:.0f} s elapsed{left}", highlight=False, markup=False)


@contextmanager
def index_progress(enabled: bool) -> Iterator[IndexProgress]:
    """Yield a progress callback: bars with an ETA on stderr when ``enabled`` and stderr is a terminal, a plain
    line every few seconds when ``enabled`` and it is not, nothing otherwise."""
    if not enabled:
        yield IndexProgress(None)
        return
    if not err.is_terminal:
        yield IndexProgress(None, lines=True)
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("{task.description:<17}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    with progress:
        yield IndexProgress(progress)


@contextmanager
def status(message: str) -> Iterator[None]:
    """A spinner on stderr while a step runs (plain line when not a terminal)."""
    if err.is_terminal:
        with err.status(message):
            yield
    else:
        err.print(message, highlight=False)
        yield


@contextmanager
def answer_stream(*, enabled: bool) -> Iterator[Callable[[str], None] | None]:
    """Show a model's answer as it streams: re-rendered as Markdown (fenced code highlighted) on a terminal,
    raw text otherwise. Yields the callback for each piece of text, or ``None`` when not ``enabled``."""
    if not enabled:
        yield None
        return
    if not out.is_terminal:

        def write(piece: str) -> None:
            out.file.write(piece)
            out.file.flush()

        yield write
        out.file.write("\n")
        return
    from rich.live import Live
    from rich.markdown import Markdown

    parts: list[str] = []
    with Live(Markdown(""), console=out, refresh_per_second=8, vertical_overflow="visible") as live:

        def update(piece: str) -> None:
            parts.append(piece)
            live.update(Markdown("".join(parts)))

        yield update


def snippet_saved(snippet: Snippet) -> None:
    """One line on stderr after ``generate``: the id and how to test or refine it."""
    usage = f"{snippet.prompt_tokens}+{snippet.completion_tokens} tokens"
    err.print(
        f"saved snippet [bold]{snippet.id}[/] ({escape(snippet.title)}; {snippet.language}; "
        f"{escape(snippet.model)}; {usage}; {len(snippet.context)} context chunks)\n"
        f'next: codegraph test {snippet.id}   or   codegraph generate --refine {snippet.id} "feedback"',
        highlight=False,
    )


def snippet_list(items: Sequence[Snippet]) -> None:
    """``codegraph snippets list``: a header row, then one row per snippet: id, the revision it refines
    (``<-ID``), language, origin, creation time (local, minutes) and title."""
    if not items:
        err.print('no snippets yet; create one with: codegraph generate "description"', highlight=False)
        return
    out.print(
        f"{'id':>4} {'parent':<6} {'language':<10} {'origin':<8} {'created':<16}  title", style="bold", highlight=False
    )
    for s in items:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.created_at))
        parent = f"<-{s.parent_id}" if s.parent_id else ""
        out.print(
            f"{s.id:>4} {parent:<6} {s.language:<10} {s.origin:<8} {when:<16}  {escape(s.title)}",
            highlight=False,
        )


def snippet_detail(snippet: Snippet, runs: Sequence[TestRun] = ()) -> None:
    """``codegraph snippets show``: metadata, highlighted code, explanation, context, then one line per
    ``codegraph test`` round run on it (``runs``, oldest first)."""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(snippet.created_at))
    parent = f", revises {snippet.parent_id}" if snippet.parent_id else ""
    out.print(f"[bold]{escape(snippet.title)}[/]  [dim]#{snippet.id}{parent} · {snippet.origin} · {when}[/]")
    out.print(
        f"[dim]{snippet.language} · {escape(snippet.model)} · {snippet.prompt_tokens}+{snippet.completion_tokens} "
        "tokens[/]"
    )
    out.print(f"[dim]request:[/] {escape(snippet.prompt)}")
    if out.is_terminal:
        from rich.syntax import Syntax

        out.print(Syntax(snippet.code.rstrip("\n"), snippet.language, line_numbers=True, word_wrap=True))
    else:  # piped: the code exactly as stored, never cropped to a guessed width
        out.file.write(snippet.code)
        out.file.flush()
    if snippet.explanation:
        out.print(escape(snippet.explanation))
    for c in snippet.context:
        symbol = f"  {c['symbol']}" if c.get("symbol") else ""
        out.print(f"[dim]context: {escape(str(c['path']))}:{c['start_line']}-{c['end_line']}{escape(symbol)}[/]")
    for run in runs:
        d = run.draft
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.created_at))
        style = "green" if d.failed == 0 and d.passed else "red"
        out.print(
            f"[dim]test run {run.id} · round {d.round_no} · {when} ·[/] [{style}]{d.passed} passed, {d.failed} "
            f"failed[/]  [dim](codegraph snippets show {snippet.id} --json has each test's output)[/]"
        )


_OUTCOME_STYLE = {"passed": "green", "failed": "red", "error": "red", "skipped": "yellow"}


def test_round(r: Round) -> None:
    """One ``codegraph test`` round: per-test outcome, the output of failures, and the counts."""
    rep = r.report
    what = (
        ""
        if r.round == 0
        else f" after fixing the {r.fixed}" + (f" (snippet {r.snippet_id})" if r.fixed == "code" else "")
    )
    out.print(f"[bold]round {r.round}{escape(what)}[/]  [dim]run {r.run_id} · {rep.run.wall_s:.1f}s[/]")
    if r.explanation:
        out.print(f"[dim]{escape(r.explanation)}[/]")
    for case in rep.tests:
        style = _OUTCOME_STYLE.get(case.outcome, "white")
        out.print(f"  [{style}]{case.outcome.upper():<7}[/] {escape(case.name)}", highlight=False)
        if case.outcome in ("failed", "error"):
            detail = (case.message + "\n" + case.output).strip()
            for line in detail.splitlines()[:15]:
                out.print(f"           [dim]{escape(line)}[/]", highlight=False)
    if rep.collection_error:
        out.print(f"  [red]runner error:[/] {escape(rep.collection_error)}", highlight=False)
    if rep.run.timed_out:
        out.print("  [red]killed at the wall-time limit[/]")
    out.print(f"  {rep.passed} passed, {rep.failed} failed, {rep.skipped} skipped", highlight=False)
