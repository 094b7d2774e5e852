"""``codegraph model ...``: list, download and install embedding models."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ..embed.export import ExportReport

app = typer.Typer(
    help="List, download and install embedding models.\n\n"
    "Bundled, offline: code (the default: MiniLM fine-tuned for code search), fast (static token vectors, "
    "~100x faster to index) and minilm (stock all-MiniLM-L6-v2). codebert, graphcodebert and unixcoder can be "
    "pulled from the Hugging Face Hub; compare them on your own code with: codegraph eval --model code,fast,NAME",
    no_args_is_help=True,
)

_OUT_HELP = "Install here instead of the model store ($CODEGRAPH_HOME/models, default a per-user cache directory)."


def _report(report: ExportReport, *, as_json: bool) -> None:
    from ..embed.export import MIN_MEAN_COSINE
    from . import render
    from .common import stdout_json

    if as_json:
        stdout_json(report.to_json())
    else:
        render.out.print(
            f"installed {report.name} in {report.directory} ({report.int8_bytes / 1e6:.1f} MB INT8, "
            f"fp32 {report.fp32_bytes / 1e6:.1f} MB) in {report.seconds:.0f}s",
            highlight=False,
        )
    render.err.print(
        f"fidelity: mean cosine INT8 vs fp32 {report.mean_cosine:.4f} (min {report.min_cosine:.4f}, "
        f"{report.samples} code chunks; threshold {MIN_MEAN_COSINE})",
        highlight=False,
    )


def _step(message: str) -> None:
    from . import render

    render.err.print(f"• {message}", highlight=False)


@app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print the models as one JSON object.")] = False,
) -> None:
    """Show every known model: installed or not, size, where it lives, and which one is the default."""
    from ..embed.registry import model_catalog
    from . import render
    from .common import stdout_json

    catalog = model_catalog()
    if as_json:
        stdout_json(catalog.to_json())
        return
    render.model_table(catalog.models)
    render.err.print(
        f"model store: {catalog.model_store}\n"
        "install a model with: codegraph model pull NAME   (offline: codegraph model import NAME --from DIR)",
        highlight=False,
    )


@app.command("pull")
def pull(
    name: Annotated[str, typer.Argument(help="Model name (see: codegraph model list), e.g. codebert.")],
    out: Annotated[Path | None, typer.Option("--out", help=_OUT_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the export report as JSON.")] = False,
) -> None:
    """Download a model from the Hugging Face Hub, export it to ONNX, quantise it to INT8, check and install it.

    Needs the 'export' extra and network access to the hub (HF_ENDPOINT selects a mirror; HF_TOKEN is used for
    gated models). The INT8 model is installed only if its embeddings of real code stay within mean cosine 0.98
    of the fp32 model's. Offline machines: codegraph model import NAME --from DIR.
    """
    from ..embed.export import pull_model
    from ..embed.registry import model_home

    report = pull_model(name, out=out or model_home() / name, step=_step)
    _report(report, as_json=as_json)


@app.command("import")
def import_(
    name: Annotated[str, typer.Argument(help="Model name with a profile (see: codegraph model list).")],
    source: Annotated[
        Path, typer.Option("--from", exists=True, file_okay=False, help="Local Hugging Face model folder.")
    ],
    out: Annotated[Path | None, typer.Option("--out", help=_OUT_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the export report as JSON.")] = False,
) -> None:
    """Export a local Hugging Face model folder to ONNX, quantise it to INT8, check and install it (offline).

    Needs the 'export' extra. The folder needs config.json, the weights and the tokenizer files. The INT8 model
    is installed only if its embeddings of real code stay within mean cosine 0.98 of the fp32 model's.
    """
    from ..embed.export import import_model
    from ..embed.registry import model_home

    report = import_model(name, source, out=out or model_home() / name, step=_step)
    _report(report, as_json=as_json)
