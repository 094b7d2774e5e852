"""``codegraph model ...``: install models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Install and inspect embedding models.", no_args_is_help=True)


@app.command("import")
def import_(
    name: Annotated[str, typer.Argument(help="Model name with a profile in models/ (e.g. minilm, codebert).")],
    source: Annotated[
        Path, typer.Option("--from", exists=True, file_okay=False, help="Local Hugging Face model folder.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Install here instead of the model store ($CODEGRAPH_HOME).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the export report as JSON.")] = False,
) -> None:
    """Export a local model folder to ONNX, quantise it to INT8 and install it (needs the 'export' extra).

    Prints the fidelity check: mean cosine of INT8 vs fp32 embeddings of real code (must be >= 0.98).
    """
    from ..embed.export import MIN_MEAN_COSINE, import_model
    from ..embed.profiles import model_home
    from . import render
    from .common import stdout_json

    target = out or model_home() / name
    report = import_model(name, source, out=target, step=lambda m: render.err.print(f"• {m}", highlight=False))
    fidelity = (
        f"fidelity: mean cosine INT8 vs fp32 {report.mean_cosine:.4f} (min {report.min_cosine:.4f}, "
        f"{report.samples} code chunks; threshold {MIN_MEAN_COSINE})"
    )
    if as_json:
        stdout_json(
            {
                "name": name,
                "directory": str(report.directory),
                "mean_cosine": report.mean_cosine,
                "min_cosine": report.min_cosine,
                "samples": report.samples,
                "fp32_bytes": report.fp32_bytes,
                "int8_bytes": report.int8_bytes,
                "seconds": round(report.seconds, 2),
            }
        )
        return
    render.out.print(fidelity, highlight=False)
    render.out.print(
        f"installed {name} in {report.directory} ({report.int8_bytes / 1e6:.1f} MB INT8, "
        f"fp32 {report.fp32_bytes / 1e6:.1f} MB) in {report.seconds:.0f}s",
        highlight=False,
    )
