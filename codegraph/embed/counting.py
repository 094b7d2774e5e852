"""Token counting that can cross a process boundary: what the indexer's parse workers count chunks with.

An encoder's own ``count_tokens`` / ``count_line_tokens`` hold a live tokenizer (and :class:`OnnxEncoder` an
onnxruntime session beside it), which must not be copied into worker processes. :class:`TokenCounting` carries
only the tokenizer's JSON, the document prefix and whether special tokens count, and rebuilds the tokenizer
on first use in the process that counts; its counts equal the encoder's for every text (tested in
``tests/test_parallel.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from .runtime import line_token_counts


class TokenCounting:
    """The token counts of one encoder, picklable (only the three fields below travel).

    Args:
        tokenizer_json: the ``tokenizers.Tokenizer`` as ``to_str()`` writes it (truncation and padding are
            turned off when it is loaded).
        document_prefix: prepended to every text :meth:`count_tokens` counts (the profile's document prefix).
        special_tokens: whether :meth:`count_tokens` counts special tokens (``[CLS]``, ``[SEP]``), as the ONNX
            encoders do; static models do not.
    """

    __slots__ = ("tokenizer_json", "document_prefix", "special_tokens", "_tokenizer")

    def __init__(self, tokenizer_json: str, *, document_prefix: str, special_tokens: bool) -> None:
        self.tokenizer_json = tokenizer_json
        self.document_prefix = document_prefix
        self.special_tokens = special_tokens
        self._tokenizer: Any = None

    def __getstate__(self) -> tuple[str, str, bool]:
        return self.tokenizer_json, self.document_prefix, self.special_tokens

    def __setstate__(self, state: tuple[str, str, bool]) -> None:
        self.tokenizer_json, self.document_prefix, self.special_tokens = state
        self._tokenizer = None

    @property
    def tokenizer(self) -> Any:
        """The ``tokenizers.Tokenizer``, loaded from :attr:`tokenizer_json` on first use (truncation and padding
        off)."""
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_str(self.tokenizer_json)
            tokenizer.no_truncation()
            tokenizer.no_padding()
            self._tokenizer = tokenizer
        return self._tokenizer

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token count of each text as a document (prefix included), without truncation: ``len(texts)`` ints."""
        prefix = self.document_prefix
        encodings = self.tokenizer.encode_batch([prefix + t for t in texts], add_special_tokens=self.special_tokens)
        return [len(e.ids) for e in encodings]

    def count_line_tokens(self, text: str) -> list[int]:
        """Tokens on each ``\\n``-separated line of ``text`` (see :func:`.runtime.line_token_counts`)."""
        return line_token_counts(self.tokenizer, text)


@runtime_checkable
class CountsInWorkers(Protocol):
    """An encoder that can hand its token counting to worker processes (the bundled encoders can; an encoder
    without :meth:`token_counting` is indexed in one process)."""

    def token_counting(self) -> TokenCounting: ...
