#!/usr/bin/env python
"""CodeBERT-size model benchmark for codegraph (not a test: it measures and prints, it does not assert).

Usage::

    python benchmarks/bench_model.py [--corpus DIR] [--subset NAMES] [--sample N] [--repeat N] [--edits N]
                                     [--cold-runs N] [--process-runs N] [--quick] [--keep]

The model hubs are unreachable here, so the model is built offline (in a child process, so torch never runs in
the measuring process):

* **weights**: ``transformers.RobertaModel(RobertaConfig(...))`` with exactly microsoft/codebert-base's
  configuration (vocab 50,265, hidden 768, 12 layers, 12 heads, intermediate 3,072, 514 positions, 1 token
  type, layer-norm eps 1e-5, pad 1, bos 0, eos 2; 124.6 M parameters), randomly initialised with a fixed torch
  seed and saved with ``save_pretrained``. Speed and memory do not depend on the weight values.
* **tokenizer**: CodeBERT uses RoBERTa's byte-level BPE, which cannot be downloaded; a byte-level BPE with the
  same vocabulary size is trained here with ``tokenizers`` on the Python standard library's sources (RoBERTa's
  special tokens ``<s> <pad> </s> <unk> <mask>`` at ids 0-4, a ``RobertaProcessing`` post-processor, so
  encodings are ``<s> ... </s>``). Token counts per chunk are therefore close to, not identical to, real
  CodeBERT's (the corpus row prints them next to MiniLM's WordPiece counts of the same texts).
* **export**: codegraph's own ``codegraph.embed.export.import_model("codebert", ...)`` (the code of
  ``codegraph model import``: optimum ONNX export, dynamic INT8 per-channel quantisation, fidelity check with the
  threshold disabled, install into ``$CODEGRAPH_HOME/models/codebert``). ``import_model`` deletes its fp32
  ONNX, so the fp32 graph for row 1 is exported again from the same weights with optimum.

``CODEGRAPH_HOME`` points into the temporary directory for the whole run (models, sha256 cache, onnxruntime's
optimised-model cache), so nothing touches the user's cache. Rows, on a temporary copy of a corpus (default:
the standard-library packages of ``bench_index.py``), chunked with ``max_tokens`` 512:

0. the model (parameters), the tokenizer, ``import_model`` (time, fp32 / INT8 sizes, fidelity), the corpus
   (chunks at 512 tokens vs MiniLM's at 256);
1. INT8 vs fp32 throughput (chunks/s), ``OnnxEncoder.embed_documents`` on the same fixed, seeded, uniform
   sample of the corpus's chunk texts (``--sample``; a full fp32 pass would take too long), alternated;
2. ``codegraph.index_repo`` from an empty index on a subset of the corpus (``--subset``) vs the same texts
   through a plain ``onnxruntime.InferenceSession`` (only ``session.run`` timed), alternated, as in
   ``bench_index.py`` row 3;
3. cold start: creating the encoder's onnxruntime session in-process with the cached graph-optimised model vs
   without the cache; and as a process (start to model ready), with vs without the cache;
4. peak RSS of ``codegraph index --model codebert`` of the whole corpus in a child process, vs a child that only
   loads the model and embeds one text;
5. one-function edit latency: after a full index, ``index_repo(root, encoder, paths=[file])`` after inserting a
   comment line into one function (``--edits`` edits, spread over files of 2-64 KB), P50 / P95 with the bundled
   MiniLM and with the CodeBERT-size model, and the embedding part alone (``_measure.TimingEmbedder``).

Timed sections alternate value and baseline runs so that noise from other processes hits both; medians are
reported. The 1/5/15-minute load averages are printed at start and end. The default run takes ~20-25 minutes on
a quiet 2-core machine (estimates are logged on stderr as the run goes); ``--quick`` (two small packages, tiny
sample, few edits) takes ~5 minutes, most of it building and exporting the model. See
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import random
import shutil
import statistics
import sys
import sysconfig
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _harness import (
    DEFAULT_PACKAGES,
    EDIT_MAX_BYTES,
    EDIT_MIN_BYTES,
    Bench,
    Report,
    alternate,
    copy_corpus,
    copy_packages,
    fmt_rate,
    fresh_copy,
    log,
    median,
    p50_p95_ms,
    percentile,
    scoped_env,
    stdlib_files,
    target_mark,
    temp_dir,
    time_index,
    timed_process,
)
from _measure import ChunkRun, TimingEmbedder, chunk_corpus, index_peak_rss, pipeline_vs_raw

import codegraph
import codegraph.embed
import codegraph.search
import codegraph.store
from codegraph.chunk import chunk_source, embedding_text
from codegraph.config import resolve_settings
from codegraph.embed.registry import model_home
from codegraph.embed.runtime import optimized_cache_path

# codegraph imports its modules lazily; the ones above are imported now so that one version of the library is
# used throughout even if its files change while the benchmark runs (the footer warns if they did).

MODEL = "codebert"
BUNDLED = "minilm"

CODEBERT_CONFIG: dict[str, Any] = {
    "vocab_size": 50265,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "max_position_embeddings": 514,
    "type_vocab_size": 1,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-5,
    "pad_token_id": 1,
    "bos_token_id": 0,
    "eos_token_id": 2,
}
"""microsoft/codebert-base's ``config.json`` (a ``RobertaModel``, 124,645,632 parameters with the pooler)."""

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
"""RoBERTa's special tokens; trained first, so they get ids 0-4 (real RoBERTa has ``<mask>`` at 50264)."""

SEED = 0
"""torch seed of the random weights and seed of the row-1 sample."""

DEFAULT_SUBSET = ("json", "concurrent", "logging")
"""Top-level entries of the default corpus indexed in row 2 (~540 chunks at 512 tokens on CPython 3.11)."""

QUICK_PACKAGES = ("json", "concurrent")
"""``--quick``: the corpus (~190 chunks); its row-2 subset is ``json`` alone."""

FACTS_RATES = {"int8": 13.0, "fp32": 6.0, "minilm": 60.0}
"""Chunks/s assumed for the first time estimate (2 quiet cores, real chunk lengths); replaced by row 1's."""


# -- the model (built in a child process) ------------------------------------------------------------------


def train_tokenizer(path: Path) -> dict[str, Any]:
    """Train a byte-level BPE (RoBERTa's scheme, vocab 50,265) on the stdlib's ``.py`` files; save ``path``."""
    from tokenizers import ByteLevelBPETokenizer
    from tokenizers.processors import RobertaProcessing  # type: ignore[import-untyped]

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = [stdlib / rel for rel in stdlib_files(stdlib, None) if rel.endswith(".py")]
    texts: list[str] = []
    for file in files:
        try:
            texts.append(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue  # a few test files are deliberately in other encodings
    t0 = time.perf_counter()
    tokenizer = ByteLevelBPETokenizer(add_prefix_space=False, trim_offsets=True)
    tokenizer.train_from_iterator(
        texts,
        vocab_size=CODEBERT_CONFIG["vocab_size"],
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        show_progress=False,
    )
    tokenizer._tokenizer.post_processor = RobertaProcessing(
        (SPECIAL_TOKENS[2], 2), (SPECIAL_TOKENS[0], 0), trim_offsets=True, add_prefix_space=False
    )
    seconds = time.perf_counter() - t0
    path.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(path))
    ids = [tokenizer.token_to_id(t) for t in SPECIAL_TOKENS]
    if ids != [0, 1, 2, 3, 4]:
        raise RuntimeError(f"special tokens got ids {ids}, expected 0-4")
    return {
        "tok_files": len(texts),
        "tok_bytes": sum(len(t.encode("utf-8")) for t in texts),
        "tok_seconds": seconds,
        "vocab": tokenizer.get_vocab_size(),
    }


def build_model(tmp_name: str) -> dict[str, Any]:
    """Build the random CodeBERT-size model and its tokenizer, run ``import_model`` and export the fp32 graph.

    Runs in a child process (torch, transformers and optimum stay out of the measuring process). Returns
    plain data: sizes, times, the export report's fields and the path of the fp32 ONNX file.
    """
    import warnings

    import torch
    from optimum.onnxruntime import ORTModelForFeatureExtraction
    from transformers import RobertaConfig, RobertaModel

    from codegraph.embed.export import import_model

    tmp = Path(tmp_name)
    src, fp32_dir = tmp / "codebert-src", tmp / "codebert-fp32"
    log("  training the byte-level BPE tokenizer on the standard library's sources")
    out = train_tokenizer(src / "tokenizer.json")
    log(f"  tokenizer: vocab {out['vocab']:,}, trained in {out['tok_seconds']:.1f} s; building the model")
    torch.manual_seed(SEED)
    t0 = time.perf_counter()
    model = RobertaModel(RobertaConfig(**CODEBERT_CONFIG))  # type: ignore[no-untyped-call]
    model.eval()  # type: ignore[no-untyped-call]
    out["parameters"] = int(sum(p.numel() for p in model.parameters()))
    out["init_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.save_pretrained(str(src))
    out["save_seconds"] = time.perf_counter() - t0
    del model
    out["weights_bytes"] = sum(p.stat().st_size for p in src.glob("*.safetensors"))
    log(f"  {out['parameters']:,} parameters; import_model('{MODEL}', ..., min_mean_cosine=0.0)")

    steps: list[tuple[float, str]] = []
    t0 = time.perf_counter()

    def step(message: str) -> None:
        steps.append((time.perf_counter() - t0, message))
        log(f"  import_model: {message}")

    report = import_model(MODEL, src, out=model_home() / MODEL, min_mean_cosine=0.0, step=step)
    out.update(
        import_seconds=report.seconds,
        mean_cosine=report.mean_cosine,
        min_cosine=report.min_cosine,
        samples=report.samples,
        fp32_bytes=report.fp32_bytes,
        int8_bytes=report.int8_bytes,
        steps=steps,
        directory=str(report.directory),
    )
    log("  exporting the fp32 ONNX graph again for row 1 (import_model deletes its own)")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ORTModelForFeatureExtraction.from_pretrained(str(src), export=True).save_pretrained(str(fp32_dir))
    out["fp32_seconds"] = time.perf_counter() - t0
    out["fp32_path"] = str(fp32_dir / "model.onnx")
    out["fp32_own_bytes"] = (fp32_dir / "model.onnx").stat().st_size
    return out


# -- corpus and helpers ----------------------------------------------------------------------------------------


def copy_subset(corpus: Path, dest: Path, names: Sequence[str]) -> None:
    dest.mkdir(parents=True)
    for name in names:
        source = corpus / name
        if source.is_dir():
            shutil.copytree(source, dest / name, symlinks=True, ignore=shutil.ignore_patterns(".codegraph"))
        elif source.is_file():
            shutil.copy2(source, dest / name)
        else:
            raise SystemExit(f"--subset {name}: not in the corpus")


def token_stats(counts: Sequence[int]) -> str:
    a = np.asarray(counts, dtype=np.float64)
    return f"mean {a.mean():.0f}, median {np.median(a):.0f}, p90 {np.percentile(a, 90):.0f}"


def time_embed(enc: Any, texts: list[str]) -> float:
    t0 = time.perf_counter()
    enc.embed_documents(texts)
    return time.perf_counter() - t0


def compare_precisions(enc: Any, fp32_path: Path, sample: list[str], repeat: int) -> tuple[list[float], list[float]]:
    """Row 1: seconds of ``embed_documents(sample)`` with the INT8 encoder and an fp32 encoder of the same model
    (same tokenizer and settings, ``onnx_path`` = the fp32 graph), alternated after one warm-up batch each."""
    fp32 = codegraph.OnnxEncoder(enc.model, threads=enc.threads, batch_size=enc.batch_size, onnx_path=fp32_path)
    for e in (enc, fp32):
        e.embed_documents(sample[:8])
    return alternate(repeat, lambda: time_embed(enc, sample), lambda: time_embed(fp32, sample))


def pairwise_cosine(enc: Any, count: int) -> float:
    """Mean cosine similarity between the embeddings of different texts of the export's fidelity sample."""
    from codegraph.embed.export import fidelity_sample

    vectors = enc.embed_documents(fidelity_sample(count))
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    upper = np.triu_indices(len(vectors), 1)
    return float((vectors @ vectors.T)[upper].mean())


def mb(n: int) -> str:
    return f"{n / 1e6:,.1f}"


@dataclass
class Estimate:
    """Seconds each remaining section should take, from chunk counts and embedding rates (chunks/s)."""

    corpus_texts: int
    subset_texts: int
    sample: int
    repeat: int
    edits: int

    def sections(self, int8: float, fp32: float, minilm: float) -> dict[str, float]:
        return {
            "1": self.repeat * self.sample * (1 / int8 + 1 / fp32),
            "2": self.repeat * self.subset_texts * 2 / int8,
            "3": 30.0,
            "4": self.corpus_texts / int8 + 15,
            "5": self.corpus_texts * 1.2 / minilm + self.edits * 2 * 0.4,
        }


def log_estimate(est: dict[str, float], after: str) -> str:
    line = f"estimate {after}: " + ", ".join(f"row {k} ~{v / 60:.1f} min" for k, v in est.items())
    line += f"; total ~{sum(est.values()) / 60:.0f} min"
    log(line)
    return line


# -- 5. one-function edits -----------------------------------------------------------------------------------


def editable_spans(text: str, rel: str, encoders: Sequence[Any]) -> list[tuple[int, int]]:
    """(start, end) lines of the functions of ``text`` that every encoder chunks as one unsplit chunk of at
    least 3 lines and at most ``max_tokens - 24`` tokens, and whose next-to-last line does not end in a
    backslash (a comment line may not follow a line continuation)."""
    lines = [line.removesuffix("\r") for line in text.split("\n")]  # as the chunker counts lines
    spans: set[tuple[int, int]] | None = None
    for enc in encoders:
        chunks = [
            c
            for c in chunk_source(rel, "python", text, max_tokens=enc.max_tokens, count_tokens=enc.count_tokens)
            if c.kind in ("function", "method")
            and (c.start_line, c.end_line) == (c.span_start, c.span_end)
            and c.end_line - c.start_line >= 2
        ]
        counts = enc.count_tokens([embedding_text(c.path, c.kind, c.qualified_symbol, c.code) for c in chunks])
        # room for the comment line, so the edited function is not split into windows
        found = {(c.start_line, c.end_line) for c, k in zip(chunks, counts, strict=True) if k <= enc.max_tokens - 24}
        spans = found if spans is None else spans & found
    return sorted(s for s in spans or () if not lines[s[1] - 2].endswith("\\"))


def edit_candidates(tree: Path, count: int, encoders: Sequence[Any]) -> list[str]:
    """``count`` Python files of the tree (repeating when there are fewer), evenly spread over the size range
    [EDIT_MIN_BYTES, EDIT_MAX_BYTES], all UTF-8 with a function :func:`editable_spans` accepts."""
    found: list[tuple[int, str]] = []
    for path in sorted(tree.rglob("*.py")):
        size = path.stat().st_size
        if not EDIT_MIN_BYTES <= size <= EDIT_MAX_BYTES:
            continue
        rel = path.relative_to(tree).as_posix()
        try:
            if editable_spans(path.read_bytes().decode("utf-8"), rel, encoders):
                found.append((size, rel))
        except UnicodeDecodeError:
            continue
    found.sort()
    if not found:
        raise SystemExit(f"no Python file of {EDIT_MIN_BYTES:,}-{EDIT_MAX_BYTES:,} bytes with a function to edit")
    if count >= len(found):
        return [found[i % len(found)][1] for i in range(count)]
    step = len(found) / count
    return [found[int(i * step)][1] for i in range(count)]


def edit_one_function(text: str, rel: str, encoders: Sequence[Any], n: int) -> tuple[str, str]:
    """Insert the comment line ``# codegraph bench_model edit <n>`` before the last line of one function of
    :func:`editable_spans` (so the edit changes exactly one chunk), picked with ``random.Random(n)``.

    Returns:
        (new text, ``"start-end"`` lines of the edited function before the edit).
    """
    choices = editable_spans(text, rel, encoders)
    if not choices:
        raise RuntimeError(f"{rel}: no function to edit")
    start, end = choices[random.Random(n).randrange(len(choices))]
    lines = text.split("\n")  # as the chunker counts lines
    last = lines[end - 1].removesuffix("\r")
    indent = last[: len(last) - len(last.lstrip(" \t"))]
    carriage = "\r" if lines[end - 1].endswith("\r") else ""
    lines.insert(end - 1, f"{indent}# codegraph bench_model edit {n}{carriage}")
    return "\n".join(lines), f"{start}-{end}"


@dataclass
class EditRun:
    path: str
    size: int
    wall: float  # index_repo(paths=[path])
    embed_s: float
    count_s: float
    embedded: int


def edit_rows(report: Report, name: str, runs: list[EditRun], *, target: bool) -> None:
    walls = [r.wall for r in runs]
    embeds = [r.embed_s for r in runs]
    rest = [r.wall - r.embed_s for r in runs]
    sizes = [r.size for r in runs]
    p95 = percentile(walls, 95)
    slow = max(runs, key=lambda r: r.wall)
    embedded = Counter(r.embedded for r in runs)
    report.add(
        "5",
        f"one-function edit, {name}: index_repo P50 / P95 (ms)",
        p50_p95_ms(walls),
        f"{p50_p95_ms(embeds)} (embed changed chunks)",
        f"{median(walls) / max(median(embeds), 1e-9):.1f}x",
        f"P95 < 100 ms: {target_mark(p95 < 0.1)}" if target else f"(P95 {'<' if p95 < 0.1 else '>='} 100 ms)",
        f"{len(runs)} edits to {len({r.path for r in runs})} files ({min(sizes) / 1e3:.0f}-{max(sizes) / 1e3:.0f} "
        f"KB, median {statistics.median(sizes) / 1e3:.0f} KB); chunks embedded per edit "
        + ", ".join(f"{k}: {v}x" for k, v in sorted(embedded.items()))
        + f"; count_tokens {p50_p95_ms([r.count_s for r in runs])} ms; max {slow.wall * 1000:.0f} ms "
        f"({slow.path}, {slow.size / 1e3:.0f} KB)",
    )
    report.add("5", "  minus embed P50 / P95 (ms)", p50_p95_ms(rest))


# -- sections -----------------------------------------------------------------------------------------------


@dataclass
class Ctx:
    args: argparse.Namespace
    bench: Bench
    tmp: Path
    corpus: Path
    settings: Any
    enc: Any  # the CodeBERT-size model, INT8
    mini: Any  # the bundled MiniLM


def encoder(name: str, settings: Any) -> Any:
    model = codegraph.resolve_model(name)
    return codegraph.OnnxEncoder(model, threads=settings.threads, batch_size=settings.batch_size)


def copy_inputs(args: argparse.Namespace, corpus: Path) -> tuple[str, list[str]]:
    """Fill ``corpus``; returns its description and the names of the row-2 subset."""
    if args.corpus is not None:
        description = copy_corpus(args.corpus, corpus)
        return description, args.subset.split(",") if args.subset else sorted(p.name for p in corpus.iterdir())
    description = copy_packages(corpus, QUICK_PACKAGES if args.quick else DEFAULT_PACKAGES)
    return description, args.subset.split(",") if args.subset else ["json"] if args.quick else list(DEFAULT_SUBSET)


def build_in_child(bench: Bench, tmp: Path) -> dict[str, Any]:
    """Row 0's model: :func:`build_model` in a spawned child process."""
    bench.section("0", "building the CodeBERT-size model in a child process (tokenizer, weights, import_model)")
    log("  about 2-3 minutes on 2 quiet cores: ~15 s tokenizer, ~10 s weights, ~2 min import_model")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        built: dict[str, Any] = pool.submit(build_model, str(tmp)).result()
    return built


def header(ctx: Ctx, built: dict[str, Any], description: str, subset_names: list[str]) -> None:
    args = ctx.args
    ctx.bench.header(
        [ctx.enc, ctx.mini],
        ("onnxruntime", "tokenizers", "numpy", "torch", "transformers", "optimum-onnx"),
        [
            f"MODEL: full-size RoBERTa with microsoft/codebert-base's exact configuration, {built['parameters']:,} "
            f"parameters, RANDOM WEIGHTS (torch seed {SEED}): speed and memory do not depend on weight values",
            f"TOKENIZER: byte-level BPE, vocab {built['vocab']:,}, TRAINED LOCALLY on {built['tok_files']:,} "
            f"standard-library .py files ({mb(built['tok_bytes'])} MB), RoBERTa's special tokens at ids 0-4: "
            "token counts per chunk are close to but not identical to real CodeBERT's",
            f"corpus: {description}; row 2 subset: {', '.join(subset_names)}",
            f"repeat {args.repeat} (medians), row-1 sample {args.sample}, edits {args.edits}, cold-start runs "
            f"{args.cold_runs}, process runs {args.process_runs}" + (" (--quick)" if args.quick else ""),
        ],
    )


def model_rows(ctx: Ctx, built: dict[str, Any]) -> None:
    """Row 0: the model, the tokenizer, ``import_model``, the ONNX sizes, the fidelity."""
    report = ctx.bench.report
    report.add(
        "0",
        "model: codebert-base config, random weights",
        f"{built['parameters']:,} parameters",
        notes=f"transformers RobertaModel(RobertaConfig(...)), torch.manual_seed({SEED}); built in "
        f"{built['init_seconds']:.1f} s, save_pretrained {built['save_seconds']:.1f} s "
        f"({mb(built['weights_bytes'])} MB safetensors)",
    )
    report.add(
        "0",
        "tokenizer: byte-level BPE trained here",
        f"vocab {built['vocab']:,}",
        notes=f"trained in {built['tok_seconds']:.1f} s on {built['tok_files']:,} stdlib .py files "
        f"({mb(built['tok_bytes'])} MB, which include the corpus); RobertaProcessing <s> ... </s>",
    )
    report.add(
        "0",
        "import_model: export + INT8 + fidelity (s)",
        f"{built['import_seconds']:.0f}",
        notes="steps at (s): "
        + ", ".join(f"{t:.0f} {m.split(' into ')[0]}" for t, m in built["steps"])
        + "; fp32 re-export for row 1 "
        f"{built['fp32_seconds']:.0f} s ({mb(built['fp32_own_bytes'])} MB"
        + (", same size as import_model's)" if built["fp32_own_bytes"] == built["fp32_bytes"] else ", SIZE DIFFERS!)"),
    )
    report.add(
        "0",
        "model.onnx size, INT8 (MB)",
        mb(built["int8_bytes"]),
        f"{mb(built['fp32_bytes'])} (fp32 ONNX)",
        f"{built['int8_bytes'] / built['fp32_bytes']:.2f}",
    )
    ctx.bench.section("0", "cosine between different texts (what a random model gives any pair)")
    pair = pairwise_cosine(ctx.enc, 40)
    report.add(
        "0",
        "fidelity INT8 vs fp32: mean / min cosine",
        f"{built['mean_cosine']:.4f} / {built['min_cosine']:.4f}",
        f"{pair:.4f} (different texts, INT8)",
        "",
        "not enforced (0.0)",
        f"{built['samples']} stdlib chunks; threshold set to 0.0 (codegraph's is 0.98); baseline: mean cosine "
        "between the embeddings of two different chunks (40 of the same sample): random weights embed every "
        "text near one common direction, so the fidelity says little about real CodeBERT",
    )


def corpus_row(ctx: Ctx) -> ChunkRun:
    """Row 0: the corpus chunked with both models (real token counters)."""
    ctx.bench.section("0", "chunking the corpus with both models (real token counters)")
    enc, max_file_bytes = ctx.enc, ctx.settings.max_file_bytes
    cr = chunk_corpus(ctx.corpus, enc, max_file_bytes)
    mcr = chunk_corpus(ctx.corpus, ctx.mini, max_file_bytes)
    bpe = enc.count_tokens(cr.texts)
    wordpiece = ctx.mini.count_tokens(cr.texts)
    over = sum(c > enc.max_tokens for c in bpe)
    ctx.bench.report.add(
        "0",
        "corpus, max_tokens 512",
        f"{cr.files - cr.skipped:,} files, {cr.bytes / 1e6:.2f} MB, {cr.chunks:,} chunks",
        f"{mcr.chunks:,} chunks (minilm, 256)",
        f"{cr.chunks / mcr.chunks:.2f}",
        "",
        f"{len(cr.texts):,} distinct texts; tokens per text: local BPE {token_stats(bpe)} "
        f"({over} over 512 before truncation); MiniLM WordPiece on the same texts {token_stats(wordpiece)}",
    )
    return cr


def precision_row(ctx: Ctx, cr: ChunkRun, estimate: Estimate, fp32_path: Path) -> float:
    """Row 1: INT8 vs fp32 throughput on a seeded sample; returns the INT8 rate (chunks/s) and records the
    estimate of rows 2-5 at the measured rates in the header."""
    enc, repeat = ctx.enc, ctx.args.repeat
    sample = random.Random(SEED).sample(cr.texts, estimate.sample)
    ctx.bench.section("1", f"warm-up; then {repeat} x (INT8, fp32) alternated on a sample of {len(sample)} texts")
    t8, t32 = compare_precisions(enc, fp32_path, sample, repeat)
    rate8, rate32 = len(sample) / median(t8), len(sample) / median(t32)
    ctx.bench.report.add(
        "1",
        "INT8 vs fp32 throughput (chunks/s)",
        fmt_rate(rate8),
        f"{fmt_rate(rate32)} (fp32 ONNX, same texts)",
        f"{rate8 / rate32:.1f}x",
        "≈ 2x expected",
        f"SAMPLE of {len(sample)} of {len(cr.texts):,} distinct texts (uniform, seed {SEED}), tokens "
        f"{token_stats(enc.count_tokens(sample))}; OnnxEncoder.embed_documents, same tokenizer; each run (s): "
        "INT8 " + " ".join(f"{t:.1f}" for t in t8) + ", fp32 " + " ".join(f"{t:.1f}" for t in t32) + "; whole "
        f"corpus at these rates: INT8 {len(cr.texts) / rate8 / 60:.1f} min, fp32 "
        f"{len(cr.texts) / rate32 / 60:.1f} min",
    )
    scale = rate8 / FACTS_RATES["int8"]  # how loaded / fast this machine is compared with the quiet one
    est = estimate.sections(rate8, rate32, FACTS_RATES["minilm"] * scale)
    ctx.bench.report.header.insert(
        -1, log_estimate({k: v for k, v in est.items() if k != "1"}, "of rows 2-5 after row 1")
    )
    return rate8


def cold_start_row(ctx: Ctx) -> None:
    """Row 3: creating the INT8 session in-process with the cached optimised graph, a cache miss, no cache."""
    cold, model, threads = max(1, ctx.args.cold_runs), ctx.enc.model, ctx.enc.threads
    cached = optimized_cache_path(model.path / "model.onnx")
    ctx.bench.section("3", f"cold start: {cold} x (no cache, cache miss, cache hit) session creations, rotated")

    def create(variant: str) -> tuple[float, float]:
        """(OnnxEncoder() seconds: tokenizer load, first ``session`` access seconds) for one variant."""
        if variant == "miss":
            cached.unlink(missing_ok=True)
        elif variant == "hit" and not cached.is_file():
            codegraph.OnnxEncoder(model, threads=threads).session  # noqa: B018 - writes the cache
        t0 = time.perf_counter()
        e = codegraph.OnnxEncoder(model, threads=threads, cache_optimized=variant != "none")
        t1 = time.perf_counter()
        e.session  # noqa: B018 - the property creates the session
        return t1 - t0, time.perf_counter() - t1

    variants = ("none", "miss", "hit")
    times: dict[str, list[tuple[float, float]]] = {v: [] for v in variants}
    for i in range(cold):
        for v in variants[i % 3 :] + variants[: i % 3]:
            times[v].append(create(v))
    sess = {v: [s for _, s in times[v]] for v in variants}
    hit, none = median(sess["hit"]), median(sess["none"])
    ctx.bench.report.add(
        "3",
        "cold start in-process: session, cached (s)",
        f"{hit:.3f}",
        f"{none:.3f} (no cache: optimise at load)",
        f"{hit / none:.2f}",
        "",
        f"first `session` access of the INT8 model, median of {cold}, warm page cache; cache miss (optimise + "
        f"write {mb(cached.stat().st_size)} MB to ort-cache/) {median(sess['miss']):.3f} s; each run (s): hit "
        + " ".join(f"{s:.2f}" for s in sess["hit"])
        + ", no cache "
        + " ".join(f"{s:.2f}" for s in sess["none"])
        + f"; OnnxEncoder() itself (tokenizer load) {median([t for v in variants for t, _ in times[v]]):.3f} s",
    )


def cold_process_row(ctx: Ctx) -> None:
    """Row 3b: a process from start to a ready model, with and without the cached optimised graph."""
    runs_n, tmp = max(1, ctx.args.process_runs), ctx.tmp
    ctx.bench.section("3", f"cold start as a process: {runs_n} x (cached, no cache) alternated, and python -c pass")
    ready = (
        "import codegraph; e = codegraph.OnnxEncoder(codegraph.resolve_model({name!r}), cache_optimized={c}); e.session"
    )
    cmd_hit = [sys.executable, "-c", ready.format(name=MODEL, c=True)]
    cmd_none = [sys.executable, "-c", ready.format(name=MODEL, c=False)]
    timed_process(cmd_hit, tmp)  # warm-up (page cache, sha256 cache)
    p_hit, p_none = alternate(runs_n, lambda: timed_process(cmd_hit, tmp)[0], lambda: timed_process(cmd_none, tmp)[0])
    bare = [timed_process([sys.executable, "-c", "pass"], tmp)[0] for _ in range(runs_n)]
    ctx.bench.report.add(
        "3b",
        "cold start as a process, cached (s)",
        f"{median(p_hit):.3f} / {percentile(p_hit, 95):.3f}",
        f"{median(p_none):.3f} / {percentile(p_none, 95):.3f} (no cache)",
        f"{median(p_hit) / median(p_none):.2f}",
        "",
        "median / p95 wall: process start, import codegraph, resolve_model (sha256 checked via its cache), "
        f"OnnxEncoder, session; {runs_n} runs each; python -c pass {median(bare):.3f} s",
    )


def peak_rss_row(ctx: Ctx, cr: ChunkRun, rate8: float) -> Path:
    """Row 4: peak RSS of ``codegraph index -m codebert`` of a fresh copy of the corpus; returns that tree."""
    ctx.bench.section("4", f"peak RSS: codegraph index -m {MODEL} of a fresh copy of the corpus in a child process")
    log(f"  ~{len(cr.texts) / rate8 / 60:.1f} min at row 1's INT8 rate")
    fresh = ctx.tmp / "rss"
    fresh_copy(ctx.corpus, fresh)
    # cwd = tmp, not the corpus: ``-c`` puts the cwd first on sys.path, where the copied stdlib packages
    # would shadow the real ones.
    rss = index_peak_rss(ctx.bench.report, MODEL, fresh, cwd=ctx.tmp, chunks=cr.chunks)
    ctx.bench.report.add(
        "4",
        "codegraph index -m codebert peak RSS (MiB)",
        *rss.cells(),
        f"< 1 GB: {target_mark(rss.rss < 1024)}",
        f"whole corpus; {rss.notes()}",
    )
    return fresh


def edit_rows_both(ctx: Ctx, cb_tree: Path) -> None:
    """Row 5: one-function edits, each indexed with both models (order alternated); ``cb_tree`` is row 4's
    index of the corpus with the CodeBERT-size model, MiniLM's is built here."""
    report, enc, mini, settings = ctx.bench.report, ctx.enc, ctx.mini, ctx.settings
    ctx.bench.section("5", f"indexing a copy of the corpus with {BUNDLED} for the edit latencies")
    mini_tree = ctx.tmp / "edit-minilm"
    fresh_copy(ctx.corpus, mini_tree)
    codegraph.index_repo(mini_tree, mini, settings=settings)
    cb_timing, mini_timing = TimingEmbedder(enc), TimingEmbedder(mini)
    again = codegraph.index_repo(cb_tree, cb_timing, settings=settings)
    if again.embedded or again.rebuilt:
        report.footer.append(f"WARNING: the in-process encoder re-embedded {again.embedded} texts of the child's index")
    targets = edit_candidates(mini_tree, ctx.args.edits + 1, (mini, enc))
    ctx.bench.section("5", f"{ctx.args.edits} one-function edits, each indexed with both models (order alternated)")
    runs: dict[str, list[EditRun]] = {BUNDLED: [], MODEL: []}
    trees = {BUNDLED: (mini_tree, mini_timing), MODEL: (cb_tree, cb_timing)}
    edited: list[str] = []
    for n, rel in enumerate(targets):  # edit 0 is an unrecorded warm-up
        text = (mini_tree / rel).read_bytes().decode("utf-8")
        new, span = edit_one_function(text, rel, (mini, enc), n)
        data = new.encode("utf-8")
        edited.append(f"{rel}:{span}")
        for name in (BUNDLED, MODEL) if n % 2 == 0 else (MODEL, BUNDLED):
            root, timing = trees[name]
            (root / rel).write_bytes(data)
            timing.take()
            wall, stats = time_index(root, timing, settings=settings, paths=[rel])
            embed_s, count_s, _ = timing.take()
            if stats.files_changed != 1:
                report.footer.append(f"WARNING: edit {n} ({rel}, {name}): {stats.files_changed} files changed")
            if n:
                runs[name].append(EditRun(rel, len(data), wall, embed_s, count_s, stats.embedded))
    edit_rows(report, f"{BUNDLED} (bundled)", runs[BUNDLED], target=True)
    edit_rows(report, "codebert-size", runs[MODEL], target=False)
    log(f"  edited (path:function lines): {' '.join(edited[:6])} ...")


# -- main ---------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, help="directory to index (copied to a temp dir first)")
    parser.add_argument(
        "--subset",
        help="comma-separated top-level entries of the corpus indexed in row 2 (default: "
        + ",".join(DEFAULT_SUBSET)
        + " for the default corpus, else the whole corpus)",
    )
    parser.add_argument("--sample", type=int, default=400, help="chunk texts in the row-1 INT8 vs fp32 sample")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of rows 1 and 2 (median)")
    parser.add_argument("--edits", type=int, default=60, help="one-function edits per model in row 5")
    parser.add_argument("--cold-runs", type=int, default=5, help="session creations per variant in row 3")
    parser.add_argument("--process-runs", type=int, default=5, help="runs of each row-3 child process")
    parser.add_argument("--quick", action="store_true", help="development run: 2 small packages, few of everything")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (path on stderr)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sample, args.repeat, args.edits = min(args.sample, 24), 1, min(args.edits, 8)
        args.cold_runs, args.process_runs = min(args.cold_runs, 2), min(args.process_runs, 2)
    args.repeat = max(1, args.repeat)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench = Bench("bench_model")
    with temp_dir("codegraph-model-", keep=args.keep) as tmp, scoped_env("CODEGRAPH_HOME", str(tmp / "home")):
        corpus = tmp / "corpus"  # CODEGRAPH_HOME (models, caches) is inherited by every child process
        log(f"copying corpus to {corpus}; CODEGRAPH_HOME={tmp / 'home'}")
        description, subset_names = copy_inputs(args, corpus)
        settings = resolve_settings(corpus)
        built = build_in_child(bench, tmp)
        enc, mini = encoder(MODEL, settings), encoder(BUNDLED, settings)
        ctx = Ctx(args, bench, tmp, corpus, settings, enc, mini)
        header(ctx, built, description, subset_names)
        model_rows(ctx, built)
        cr = corpus_row(ctx)
        subset = tmp / "subset"
        copy_subset(corpus, subset, subset_names)
        scr = chunk_corpus(subset, enc, settings.max_file_bytes)
        estimate = Estimate(len(cr.texts), len(scr.texts), min(args.sample, len(cr.texts)), args.repeat, args.edits)
        quiet = estimate.sections(FACTS_RATES["int8"], FACTS_RATES["fp32"], FACTS_RATES["minilm"])
        log_estimate(quiet, "(rates of a quiet 2-core machine)")
        rate8 = precision_row(ctx, cr, estimate, Path(built["fp32_path"]))
        notes = f"subset {', '.join(subset_names)}: {scr.chunks:,} chunks, "
        pipeline_vs_raw(bench, "2", subset, enc, scr.texts, args.repeat, notes)
        cold_start_row(ctx)
        cold_process_row(ctx)
        cb_tree = peak_rss_row(ctx, cr, rate8)
        edit_rows_both(ctx, cb_tree)
    bench.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
