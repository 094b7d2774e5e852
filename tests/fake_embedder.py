"""A fast deterministic embedder for scale tests: the real bundled tokenizer, memo and batching of
:class:`~codegraph.embed.OnnxEncoder`, with the ONNX forward pass replaced by a fixed random projection of the
token ids (a bag-of-tokens vector). No onnxruntime session is ever created."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from codegraph.embed import OnnxEncoder, resolve_model
from codegraph.embed.counting import TokenCounting

BUCKETS = 4096
"""Token ids are folded into this many rows of the projection table."""


class HashingEncoder(OnnxEncoder):
    """An :class:`OnnxEncoder` whose vectors are the L2-normalised mean of fixed random rows, one per token id
    (mod :data:`BUCKETS`). Deterministic across runs; ~100x faster than the model."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(resolve_model("minilm"), **kwargs)
        rng = np.random.default_rng(1729)
        self._table = rng.standard_normal((BUCKETS, self.dim)).astype(np.float32)
        self.runs = 0

    def _run(self, ids: np.ndarray[Any, Any], mask: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float32]]:
        self.runs += 1
        rows = self._table[ids % BUCKETS] * mask[:, :, None]
        pooled = rows.sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        out: np.ndarray[Any, np.dtype[np.float32]] = (
            pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        ).astype(np.float32)
        return out


BOOM = "boom_in_the_chunker"
"""A file containing this text makes :class:`FaultyEncoder`'s token counting raise (in every process)."""

CRASH = "crash_the_worker"
"""A file containing this text kills the parse worker that counts its tokens (``os._exit``); this process's own
counting is unaffected, as if only a worker's parser had crashed."""


class FaultyCounting(TokenCounting):
    """:class:`TokenCounting` that raises on :data:`BOOM` and kills its (worker) process on :data:`CRASH`."""

    __slots__ = ()

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if any(CRASH in t for t in texts):
            os._exit(3)
        if any(BOOM in t for t in texts):
            raise RuntimeError("the chunker tripped")
        return super().count_tokens(texts)


class FaultyEncoder(HashingEncoder):
    """:class:`HashingEncoder` whose token counting raises on :data:`BOOM` here and in workers, and whose workers
    die on :data:`CRASH`."""

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if any(BOOM in t for t in texts):
            raise RuntimeError("the chunker tripped")
        return super().count_tokens(texts)

    def token_counting(self) -> TokenCounting:
        plain = super().token_counting()
        return FaultyCounting(plain.tokenizer_json, document_prefix=plain.document_prefix, special_tokens=True)
