"""``codegraph eval``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..ranking import MODES

if TYPE_CHECKING:
    from ..config import Settings
    from ..evaluate import EvalProgressFn
    from .render import IndexProgress

_STAGES = {
    "load": "loading model",
    "chunk": "chunking files",
    "embed": "embedding chunks",
    "store": "writing index",
    "search": "searching",
}


def _split(values: str) -> list[str]:
    """``"a, b,a"`` -> ``["a", "b"]`` (order kept, duplicates dropped)."""
    return list(dict.fromkeys(v.strip() for v in values.split(",") if v.strip()))


def evaluate(
    path: Annotated[
        Path, typer.Argument(help="Repository to measure (default: the current directory); never modified.")
    ] = Path("."),
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Models to compare, comma-separated (minilm,code,...). Default: the model of the existing index, "
            "else the configured default.",
        ),
    ] = None,
    mode: Annotated[str, typer.Option("--mode", help=f"Search modes, comma-separated: {', '.join(MODES)}.")] = ",".join(
        MODES
    ),
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most queries (sampled round-robin by language).")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Sampling seed: the same seed gives the same queries.")] = 1729,
    lang: Annotated[
        list[str] | None,
        typer.Option("--lang", "-l", help="Queries only from these languages (repeat or comma-separate)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object: metrics, timings and every query's rank.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
    directory: Annotated[Path, typer.Option("--dir", "-C", help="Run as if started in this directory.")] = Path("."),
) -> None:
    """Measure how well search finds code in YOUR repository, per model and mode.

    Every documented function becomes a test: the query is the first sentence
    of its doc comment, the answer is the function itself. A temporary copy of
    the repository is made with those doc comments deleted (so search cannot
    just match the doc text), indexed with each model, and every query is
    searched (top 10). Your repository and its index are never modified.

    Reading the table (higher is better; 1.0 at best):
      MRR@10  mean of 1/rank of the function: 1.0 = always first, 0.5 =
              typically second; a function not in the top 10 counts 0.
      R@k     share of queries whose function is in the top k.
      n       number of queries; under ~50, a few points are noise.
    A result counts when it is in the function's file and overlaps its lines.
    Compare models and modes on the same repository, seed and limit. The last
    lines give each model's indexing speed and median search latency.

    Needs functions with doc comments (Python docstrings, JSDoc /** */, Go,
    Rust, Ruby, C# doc lines, Javadoc) and bodies of 3+ code lines; test,
    example and vendored code is left out.
    """
    from ..evaluate import build_eval_set
    from ..evaluate import evaluate as run_eval
    from . import render
    from .common import languages_option, settings_for, stdout_json

    modes = _split(mode)
    bad = [m for m in modes if m not in MODES]
    if not modes or bad:
        raise typer.BadParameter(f"must be one of: {', '.join(MODES)} (comma-separated)", param_hint="--mode")
    languages = languages_option(lang)
    models = _split(model) if model is not None else []
    if model is not None and not models:
        raise typer.BadParameter("give at least one model name", param_hint="--model")
    root = path if path.is_absolute() else directory / path
    settings = settings_for(root if root.is_dir() else None)
    eval_set = build_eval_set(root, limit=limit, seed=seed, languages=languages, settings=settings)
    models = models or [_default_model(root, settings)]
    counts = ", ".join(f"{language} {n}" for language, n in eval_set.languages().items())
    if not quiet:
        render.notice(
            f"codegraph eval: {len(eval_set.queries)} queries ({counts}) from {eval_set.documented} documented "
            f"functions; models: {', '.join(models)}; modes: {', '.join(modes)}"
        )
    with render.index_progress(not quiet) as bars:
        report = run_eval(eval_set, models, modes, progress=_progress(bars, quiet=quiet), settings=settings)
    if as_json:
        stdout_json(report.to_json())
    else:
        render.eval_table(report)


def _progress(bars: IndexProgress, *, quiet: bool) -> EvalProgressFn:
    """Forward progress to the bars (terminal) or print one line per model and stage (stderr not a terminal)."""
    from . import render

    shown: set[tuple[str, str]] = set()

    def progress(model: str, stage: str, done: int, total: int) -> None:
        label = f"{model}: {_STAGES.get(stage, stage)}"
        if quiet:
            return
        if render.err.is_terminal:
            bars(label, done, total)
        elif (model, stage) not in shown:
            shown.add((model, stage))
            unit = {"chunk": "files", "embed": "chunks", "store": "files", "search": "searches"}.get(stage)
            render.notice(f"codegraph eval: {label}" + (f" ({total} {unit})" if unit else ""))

    return progress


def _default_model(root: Path, settings: Settings) -> str:
    """The model of the index at or above ``root``, else the configured model, else the default (with its notice)."""
    from ..embed import resolve_model
    from ..errors import CodegraphError
    from ..store import Store, find_index_root
    from . import render

    try:
        store = Store.open(find_index_root(root))
        try:
            model_id = store.get_meta("model_id")
        finally:
            store.close()
        if model_id:
            return model_id.split("@", 1)[0]
    except CodegraphError:
        pass  # no usable index: fall back to the configured or default model
    if settings.model:
        return settings.model
    resolved = resolve_model(None)
    if resolved.notice:
        render.notice(resolved.notice)
    return resolved.profile.name
