"""The runtime encoder: onnxruntime + ``tokenizers`` + numpy only (no torch at run time).

Throughput notes (measured on the 2-core dev machine, see ``../shared/FACTS.md``): sorting inputs by token
length before batching is 3-4x faster than random order, because padding wastes 65-77 % of tokens otherwise;
batches above 8 do not help on 2 cores.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ModelError
from ..types import ProgressFn
from .profile import ModelProfile, ResolvedModel

if TYPE_CHECKING:
    import numpy.typing as npt

    from .counting import TokenCounting

TOKENIZE_BLOCK = 1024
"""Texts tokenised per ``encode_batch`` call when embedding."""


def available_cores() -> int:
    """CPU cores this process may run on (``sched_getaffinity`` where the OS has it, else ``os.cpu_count``)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _session_options(threads: int, level: Any) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = level
    options.log_severity_level = 3
    return options


def optimized_cache_path(path: Path) -> Path:
    """Where the graph-optimised copy of an ONNX file is cached: keyed by the file's resolved path, size and
    mtime_ns, the onnxruntime version and this CPU's feature flags, because fully optimised graphs may use
    hardware-specific kernels."""
    import hashlib
    import platform

    import onnxruntime as ort

    from ..home import codegraph_home

    try:
        flags = next(
            line for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines() if line.startswith("flags")
        )
    except (OSError, StopIteration):
        flags = platform.processor()
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{ort.__version__}|{platform.machine()}|{flags}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return codegraph_home() / "ort-cache" / f"{digest}.onnx"


ORT_CACHE_FILES = 8
"""Graph-optimised model copies kept in the cache (each as large as its model); the least recently written
beyond this are deleted, so updated or removed models do not pile up."""


def _prune_cache(directory: Path, *, keep: int) -> None:
    """Delete all but the ``keep`` most recently modified ``*.onnx`` files of ``directory`` (best effort)."""
    try:
        files = sorted(directory.glob("*.onnx"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for stale in files[keep:]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass


def _open_session(path: Path, threads: int, *, cache: bool) -> Any:
    """An onnxruntime CPU session over ``path``; with ``cache``, reuse a graph-optimised copy of the model.

    Optimising the graph at load time costs ~70 ms of a ~130 ms session start for the bundled model; the
    optimised copy (``SessionOptions.optimized_model_filepath``) loads with optimisation off and gives the
    same outputs. Any problem with the cache falls back to a plain load.

    Raises:
        ModelError: the model cannot be loaded.
    """
    import onnxruntime as ort

    full = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    providers = ["CPUExecutionProvider"]
    try:
        if cache:
            cached = optimized_cache_path(path)
            if cached.is_file():
                try:
                    options = _session_options(threads, ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
                    return ort.InferenceSession(str(cached), options, providers=providers)
                except Exception:  # noqa: BLE001 - a stale or broken cache entry is rebuilt below
                    cached.unlink(missing_ok=True)
            options = _session_options(threads, full)
            try:
                cached.parent.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_suffix(f".{os.getpid()}.tmp")
                options.optimized_model_filepath = str(tmp)
                session = ort.InferenceSession(str(path), options, providers=providers)
                os.replace(tmp, cached)
                _prune_cache(cached.parent, keep=ORT_CACHE_FILES)
                return session
            except OSError:
                pass  # unwritable cache: plain load below
        return ort.InferenceSession(str(path), _session_options(threads, full), providers=providers)
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelError(f"{path}: cannot load ONNX model: {exc}") from None


def line_token_counts(tokenizer: Any, text: str) -> list[int]:
    """Tokens on each line of ``text`` (lines split at ``\\n``), from ONE tokenisation of the whole text.

    A token belongs to the line where it starts (by its character offset); each line also counts 1 for its
    newline. Special tokens and document prefixes are not counted. The chunker cuts an oversized definition into
    windows from these counts instead of tokenising it line by line.

    Args:
        tokenizer: a ``tokenizers.Tokenizer`` with truncation off.
        text: the text.

    Returns:
        ``text.count("\\n") + 1`` ints (a final empty line after a trailing newline included).
    """
    import bisect

    starts = [0]
    at = text.find("\n")
    while at >= 0:
        starts.append(at + 1)
        at = text.find("\n", at + 1)
    counts = [1] * len(starts)
    for begin, _end in tokenizer.encode(text, add_special_tokens=False).offsets:
        counts[bisect.bisect_right(starts, begin) - 1] += 1
    return counts


TOKEN_COUNT_CACHE = 200_000
"""Texts whose token counts an encoder remembers (16 bytes each); the memo is emptied when it is full."""


class ModelInfo:
    """What every encoder tells about its model (the indexer and search read these)."""

    model: ResolvedModel
    profile: ModelProfile

    @property
    def model_sha256(self) -> str:
        """Hex sha256 of the weights file (``model.onnx``, ``embeddings.npy``) as its manifest records it."""
        return self.model.sha256

    @property
    def model_id(self) -> str:
        """``name@sha256[:16]`` of the weights file; part of every cache key."""
        return self.model.model_id

    @property
    def max_tokens(self) -> int:
        """Longest input in tokens (special tokens included); longer texts are truncated to their head."""
        return self.profile.max_tokens

    @property
    def dim(self) -> int:
        """Embedding width."""
        return self.profile.dim

    def _collect(
        self,
        batches: Iterator[tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]],
        count: int,
        progress: ProgressFn | None,
    ) -> npt.NDArray[np.float32]:
        """Gather ``(indices, vectors)`` batches into one float32 ``(count, dim)`` array in input order,
        reporting ``progress("embed", done, count)`` after each batch."""
        out = np.zeros((count, self.dim), dtype=np.float32)
        done = 0
        for idx, vectors in batches:
            out[idx] = vectors
            done += len(idx)
            if progress is not None:
                progress("embed", done, count)
        return out


class OnnxEncoder(ModelInfo):
    """Embeds text with an (INT8) ONNX encoder exported from a Hugging Face model.

    Pooling follows the profile: ``mean`` is the attention-masked mean of the last hidden state
    (sentence-transformers' mean pooling), ``cls`` the first token's state; then optional L2 normalisation.

    Args:
        model: the resolved model (directory, profile, checksum).
        threads: onnxruntime intra-op threads; 0 means every available core.
        batch_size: texts per ``session.run``.
        onnx_path: run this ONNX file instead of ``model.path / "model.onnx"`` (the export fidelity check
            uses it to run the fp32 model with the same tokenizer).
        cache_optimized: load a cached graph-optimised copy of the model (see :func:`_open_session`).

    Raises:
        ModelError: the tokenizer cannot be loaded. (ONNX load errors surface on first use of
            :attr:`session`, i.e. the first embedding.)
    """

    def __init__(
        self,
        model: ResolvedModel,
        *,
        threads: int = 0,
        batch_size: int = 8,
        onnx_path: Path | None = None,
        cache_optimized: bool = True,
    ) -> None:
        from tokenizers import Tokenizer

        self.model = model
        self.profile = model.profile
        self.batch_size = max(1, batch_size)
        self.threads = threads or available_cores()
        try:
            self.tokenizer = Tokenizer.from_file(str(model.path / "tokenizer.json"))
        except Exception as exc:  # tokenizers raises a bare Exception on malformed files
            raise ModelError(f"{model.path / 'tokenizer.json'}: cannot load tokenizer: {exc}") from None
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.profile.max_tokens)
        self._onnx_path = onnx_path or model.path / "model.onnx"
        self._cache_optimized = cache_optimized and onnx_path is None
        self._session: Any = None
        self._input_names: set[str] = set()
        self._output_name = ""
        self._token_counts: dict[int, int] = {}
        self._count_tokenizer: Any = None

    @property
    def session(self) -> Any:
        """The onnxruntime session, created on first use (a no-change ``index`` never pays for it).

        Raises:
            ModelError: the ONNX file cannot be loaded, or its output width differs from the profile.
        """
        if self._session is None:
            path = self._onnx_path
            session = _open_session(path, self.threads, cache=self._cache_optimized)
            output = session.get_outputs()[0]
            width = output.shape[-1] if output.shape else None
            if isinstance(width, int) and width != self.profile.dim:
                raise ModelError(
                    f"{path}: the model outputs {width}-dimensional vectors but its profile says dim = "
                    f"{self.profile.dim}; the model folder does not match the profile '{self.profile.name}'"
                )
            self._input_names = {i.name for i in session.get_inputs()}
            self._output_name = output.name
            self._session = session
        return self._session

    @property
    def _counter(self) -> Any:
        """A copy of the tokenizer with truncation off, used only to count tokens (so counting never toggles
        the embedding tokenizer's truncation, and concurrent callers cannot see it half-switched)."""
        if self._count_tokenizer is None:
            from tokenizers import Tokenizer

            counter = Tokenizer.from_str(self.tokenizer.to_str())
            counter.no_truncation()
            counter.no_padding()
            self._count_tokenizer = counter
        return self._count_tokenizer

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token count of each text as a document, special tokens and the profile's document prefix included,
        *without* truncation.

        Counts are remembered by the text's xxh3_64 (up to :data:`TOKEN_COUNT_CACHE` texts; the memo is emptied
        when a call would overfill it), so re-chunking an edited file in a long-lived process (``watch``) only
        tokenises what changed. The answer never depends on the memo: it is built from this call's own lookups.

        Returns:
            ``len(texts)`` ints.
        """
        import xxhash

        prefix = self.profile.document_prefix
        memo = self._token_counts
        keys = [xxhash.xxh3_64_intdigest(t.encode("utf-8", "surrogatepass")) for t in texts]
        counts: dict[int, int] = {}
        missing: dict[int, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key in counts or key in missing:
                continue
            known = memo.get(key)
            if known is None:
                missing[key] = text
            else:
                counts[key] = known
        if missing:
            encodings = self._counter.encode_batch([prefix + t for t in missing.values()])
            fresh = {key: len(e.ids) for key, e in zip(missing, encodings, strict=True)}
            counts.update(fresh)
            if len(memo) + len(fresh) > TOKEN_COUNT_CACHE:
                memo.clear()
            if len(fresh) <= TOKEN_COUNT_CACHE:
                memo.update(fresh)
        return [counts[k] for k in keys]

    def count_line_tokens(self, text: str) -> list[int]:
        """Tokens on each line of ``text``, from one tokenisation (see :func:`line_token_counts`)."""
        return line_token_counts(self._counter, text)

    def token_counting(self) -> TokenCounting:
        """This encoder's token counts in a picklable form for worker processes (equal to :meth:`count_tokens`
        and :meth:`count_line_tokens`; special tokens counted)."""
        from .counting import TokenCounting

        return TokenCounting(self._counter.to_str(), document_prefix=self.profile.document_prefix, special_tokens=True)

    def embed_documents(self, texts: Sequence[str], *, progress: ProgressFn | None = None) -> npt.NDArray[np.float32]:
        """Embed chunk texts (the profile's document prefix is prepended).

        Returns:
            float32 array of shape ``(len(texts), dim)``, rows in input order; L2-normalised when the profile
            says so. Texts longer than ``max_tokens`` are truncated (the chunker splits them beforehand).
        """
        prefix = self.profile.document_prefix
        return self.embed_raw([prefix + t for t in texts] if prefix else texts, progress)

    def embed_queries(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed search queries (the profile's query prefix is prepended). Shape ``(len(texts), dim)``."""
        prefix = self.profile.query_prefix
        return self.embed_raw([prefix + t for t in texts] if prefix else texts)

    def iter_embed_documents(
        self, texts: Sequence[str]
    ) -> Iterator[tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]]:
        """Embed chunk texts batch by batch, shortest first (so callers can store each batch as it comes).

        Yields:
            ``(indices, vectors)``: int indices into ``texts`` and float32 ``(len(indices), dim)`` rows.
        """
        prefix = self.profile.document_prefix
        yield from self._iter_embed([prefix + t for t in texts] if prefix else list(texts))

    def _iter_embed(self, texts: list[str]) -> Iterator[tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]]:
        if not texts:
            return
        # Keep only the token ids (int32) of each text: tokenizers' Encoding objects cost ~150 bytes per token,
        # which would dominate memory on large repositories.
        token_ids: list[npt.NDArray[np.int32]] = []
        for start in range(0, len(texts), TOKENIZE_BLOCK):
            for enc in self.tokenizer.encode_batch(texts[start : start + TOKENIZE_BLOCK]):
                token_ids.append(np.asarray(enc.ids, dtype=np.int32))
        lengths = np.fromiter((len(t) for t in token_ids), dtype=np.int64, count=len(token_ids))
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            width = int(lengths[idx].max())
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                ids[row, : lengths[i]] = token_ids[i]
                mask[row, : lengths[i]] = 1
            yield idx, self._run(ids, mask)

    def embed_raw(self, texts: Sequence[str], progress: ProgressFn | None = None) -> npt.NDArray[np.float32]:
        """Embed texts exactly as given, with no document or query prefix (the export's fidelity check compares
        two models this way).

        Returns:
            float32 array of shape ``(len(texts), dim)``, rows in input order; L2-normalised when the profile
            says so; texts over ``max_tokens`` are truncated.
        """
        texts = list(texts)
        return self._collect(self._iter_embed(texts), len(texts), progress)

    def _run(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        session = self.session
        feed: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run([self._output_name], feed)[0]
        if self.profile.pooling == "cls":
            pooled = hidden[:, 0, :]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        pooled = pooled.astype(np.float32, copy=False)
        if self.profile.normalize:
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            pooled = pooled / np.maximum(norms, 1e-12)
        result: npt.NDArray[np.float32] = pooled
        return result
