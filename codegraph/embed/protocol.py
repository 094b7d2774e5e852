"""The contract between models and the rest of codegraph: what the indexer and search need from an encoder.

:class:`~codegraph.embed.runtime.OnnxEncoder`, :class:`~codegraph.embed.static.StaticEncoder` and
:class:`~codegraph.embed.remote.RemoteEncoder` implement it; so does the tests' fast deterministic fake
(``tests/fake_embedder.py``). An encoder may also count the texts it truncated in an int attribute ``truncated``
(the remote one does); the indexer reports the run's increase as ``IndexStats.truncated``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from .profile import ModelProfile


class Embedder(Protocol):
    """What the indexer and search need from a model.

    ``count_tokens`` counts without truncation (special tokens and document prefix included);
    ``count_line_tokens`` gives the tokens on each ``\\n``-separated line of one text; ``iter_embed_documents``
    yields ``(indices into texts, float32 (n, dim) vectors)`` batch by batch, in any order (the indexer commits each
    batch as it arrives, also when the iterator then raises); ``embed_queries`` returns float32
    ``(len(texts), dim)``. Vectors are L2-normalised when the profile says so.
    """

    @property
    def model_id(self) -> str: ...
    @property
    def profile(self) -> ModelProfile: ...
    @property
    def model_sha256(self) -> str: ...
    @property
    def dim(self) -> int: ...
    @property
    def max_tokens(self) -> int: ...
    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...
    def count_line_tokens(self, text: str) -> list[int]: ...
    def iter_embed_documents(
        self, texts: Sequence[str]
    ) -> Iterator[tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]]: ...
    def embed_queries(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...
