"""Search quality on the user's own repository: documented functions become queries.

The method is the dev benchmark's (``shared/eval/README.md``, "Method" and "Scoring"), which follows
CodeSearchNet (Husain et al., 2019, arXiv:1909.09436): each documented function gives one query, the first
sentence of its doc comment (:func:`codegraph.docstrings.first_sentence`), and one target, the function itself.
The sampled targets' doc comments are deleted from a temporary copy of the repository (so the answer cannot be
found by matching the doc text), the copy is indexed with each model, every query is searched in each mode, and
the rank of the first relevant hit gives MRR@10 and recall@k.

Relevance is the benchmark's *lenient* variant: a hit is relevant when it has the target's path and its line
range overlaps the target's. With r the rank (1-based) of the first relevant hit among the top 10:
MRR@10 = 1/r and Recall@k = [r <= k]; a query with no relevant hit in the top 10 scores 0 on every metric.

Pipeline: :func:`build_eval_set` (read-only walk of the repository) -> :func:`materialise` (write the stripped
copy) -> :func:`evaluate` (per model: index the copy, search, score). The original repository is never written.
"""

from .evalset import DEFAULT_LIMIT, DEFAULT_SEED, EvalQuery, EvalSet, build_eval_set, materialise, remap_line
from .run import (
    RECALL_AT,
    EvalProgressFn,
    EvalReport,
    K,
    Metrics,
    ModelResult,
    ModeResult,
    evaluate,
    first_relevant_rank,
)

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_SEED",
    "K",
    "RECALL_AT",
    "EvalProgressFn",
    "EvalQuery",
    "EvalReport",
    "EvalSet",
    "Metrics",
    "ModeResult",
    "ModelResult",
    "build_eval_set",
    "evaluate",
    "first_relevant_rank",
    "materialise",
    "remap_line",
]
