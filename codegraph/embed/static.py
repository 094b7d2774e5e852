"""The static runtime: a token-vector table run with a lookup and a mean in numpy (no onnxruntime, no torch).

A static model (model2vec-style: Tulkens & van Dongen, "Model2Vec: Fast State-of-the-Art Static Embeddings",
2024) maps each token id to one learned vector; a text's embedding is the mean of its tokens' vectors, then
L2-normalised. There is no attention, so it costs a tokenisation and a gather per text: on the 2-core
development machine ~100x cheaper per chunk than the 6-layer MiniLM (``benchmarks/``), which makes it the fast
tier for first results on any repository.

Files: ``embeddings.npy`` (float16 or float32, shape ``(vocab_size, dim)``) and ``tokenizer.json``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ModelError
from ..types import ProgressFn
from .profile import ResolvedModel
from .runtime import ModelInfo, line_token_counts

if TYPE_CHECKING:
    import numpy.typing as npt

    from .counting import TokenCounting

STATIC_BATCH = 1024
"""Texts tokenised and pooled per step."""


class StaticEncoder(ModelInfo):
    """Embeds text with a static token-vector table (see the module docstring); implements the indexer's and
    search's ``Embedder`` protocol like :class:`~.runtime.OnnxEncoder`.

    Tokens are counted and pooled without special tokens; texts longer than the profile's ``max_tokens`` are
    truncated to their first ``max_tokens`` tokens (the chunker cuts longer definitions into windows first).

    Args:
        model: the resolved model (``profile.runtime == "static"``).

    Raises:
        ModelError: the tokenizer or the table cannot be loaded, or the table's width differs from the profile.
    """

    def __init__(self, model: ResolvedModel) -> None:
        from tokenizers import Tokenizer

        self.model = model
        self.profile = model.profile
        try:
            self.tokenizer = Tokenizer.from_file(str(model.path / "tokenizer.json"))
        except Exception as exc:  # tokenizers raises a bare Exception on malformed files
            raise ModelError(f"{model.path / 'tokenizer.json'}: cannot load tokenizer: {exc}") from None
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        path = model.path / self.profile.weights_file
        try:
            table = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ModelError(f"{path}: cannot load the token-vector table: {exc}") from None
        if table.ndim != 2 or table.shape[1] != self.profile.dim:
            raise ModelError(
                f"{path}: table of shape {table.shape} does not match the profile's dim = {self.profile.dim}"
            )
        self.table: npt.NDArray[np.float32] = np.asarray(table, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token count of each text as a document (prefix included, no special tokens), without truncation."""
        prefix = self.profile.document_prefix
        return [len(e.ids) for e in self.tokenizer.encode_batch([prefix + t for t in texts], add_special_tokens=False)]

    def count_line_tokens(self, text: str) -> list[int]:
        """Tokens on each line of ``text`` from one tokenisation (see :func:`.runtime.line_token_counts`)."""
        return line_token_counts(self.tokenizer, text)

    def token_counting(self) -> TokenCounting:
        """This encoder's token counts in a picklable form for worker processes (equal to :meth:`count_tokens`
        and :meth:`count_line_tokens`; no special tokens)."""
        from .counting import TokenCounting

        return TokenCounting(
            self.tokenizer.to_str(), document_prefix=self.profile.document_prefix, special_tokens=False
        )

    def embed_documents(self, texts: Sequence[str], *, progress: ProgressFn | None = None) -> npt.NDArray[np.float32]:
        """Embed chunk texts: float32 ``(len(texts), dim)``, rows in input order, L2-normalised."""
        return self._collect(self.iter_embed_documents(texts), len(texts), progress)

    def embed_queries(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed search queries (the profile's query prefix is prepended). Shape ``(len(texts), dim)``."""
        prefix = self.profile.query_prefix
        return self._pool([prefix + t for t in texts])

    def iter_embed_documents(
        self, texts: Sequence[str]
    ) -> Iterator[tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]]:
        """Embed chunk texts :data:`STATIC_BATCH` at a time, in input order.

        Yields:
            ``(indices, vectors)``: int indices into ``texts`` and float32 ``(len(indices), dim)`` rows.
        """
        prefix = self.profile.document_prefix
        for start in range(0, len(texts), STATIC_BATCH):
            part = [prefix + t for t in texts[start : start + STATIC_BATCH]]
            yield np.arange(start, start + len(part), dtype=np.intp), self._pool(part)

    def _pool(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Mean of each text's first ``max_tokens`` token vectors, L2-normalised (a zero row for no tokens).

        One gather per text: memory stays at one text's ``(tokens, dim)`` rows (a single gather over a whole
        batch would materialise every token's row at once, hundreds of MB for 1,024 long chunks).
        """
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        limit = self.max_tokens
        table = self.table
        for row, encoding in enumerate(self.tokenizer.encode_batch(texts, add_special_tokens=False)):
            ids = encoding.ids[:limit]
            if ids:
                out[row] = table[ids].mean(axis=0)
        if self.profile.normalize:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out
