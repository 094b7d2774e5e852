"""The model profile: what a model is and how to run it (``profile.toml``), and a resolved, installed model.

A model is a directory holding ``profile.toml``, and once exported its weights (``model.onnx``, INT8, for a
transformer run by onnxruntime; ``embeddings.npy`` for a static model), ``tokenizer.json`` and ``manifest.json``
(sha256 of each file, provenance; see :mod:`codegraph.embed.checksums`). Where models live:
:mod:`codegraph.embed.registry`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .._compat import tomllib
from ..errors import ModelError

RUNTIMES = ("onnx", "static")
"""How an installed model is run: ``onnx`` (a transformer encoder through onnxruntime,
:class:`~.runtime.OnnxEncoder`) or ``static`` (a token-vector table: a lookup and a mean in numpy,
:class:`~.static.StaticEncoder`). A third runtime, ``remote`` (an OpenAI-compatible API,
:class:`~.remote.RemoteEncoder`), has no directory or weights and never comes from a ``profile.toml``."""

WEIGHTS_FILE = {"onnx": "model.onnx", "static": "embeddings.npy"}
"""The weights file of each runtime; its sha256 is the model's identity."""


def model_files(runtime: str) -> tuple[str, str]:
    """The files a model of ``runtime`` needs besides its profile and manifest: (weights, tokenizer)."""
    return (WEIGHTS_FILE[runtime], "tokenizer.json")


@dataclass(frozen=True, slots=True)
class ModelProfile:
    """What a model is and how to run it (``profile.toml``).

    Attributes:
        name: short name used on the command line (``minilm``).
        source: upstream id (``sentence-transformers/all-MiniLM-L6-v2``).
        revision: upstream revision (commit or tag), ``""`` when unknown.
        architecture: ``bert`` / ``roberta`` (decides whether ``token_type_ids`` exist).
        pooling: ``mean`` (masked mean over tokens) or ``cls`` (first token).
        normalize: L2-normalise embeddings (cosine similarity == dot product).
        max_tokens: longest input in tokens, special tokens included; longer chunks are split.
        dim: embedding width.
        query_prefix: text prepended to search queries.
        document_prefix: text prepended to embedded chunks.
        license: SPDX id of the weights' licence.
        runtime: one of :data:`RUNTIMES` (default ``onnx``).
        semantic_weight: weight of the vector ranking in hybrid search for this model (the keyword ranking
            weighs 1): fitted on the dev set, since a strong dense model is dragged down by equal-weight fusion.
        fusion: how hybrid search combines this model's ranking with BM25: ``rrf`` (reciprocal rank fusion) or
            ``score`` (weighted sum of min-max normalised scores); fitted on the dev set per model.
        window_tokens: token budget of a chunk before the chunker cuts a definition into windows; 0 means
            ``max_tokens``. Above ``max_tokens``, only the head (first ``max_tokens`` tokens) of a longer chunk
            is embedded.
    """

    name: str
    source: str
    revision: str
    architecture: str
    pooling: str
    normalize: bool
    max_tokens: int
    dim: int
    query_prefix: str
    document_prefix: str
    license: str
    runtime: str = "onnx"
    semantic_weight: float = 1.0
    fusion: str = "rrf"
    window_tokens: int = 0

    @property
    def chunk_tokens(self) -> int:
        """The chunker's token budget: ``window_tokens``, else ``max_tokens``."""
        return self.window_tokens or self.max_tokens

    @property
    def weights_file(self) -> str:
        """File name of the weights (``model.onnx`` or ``embeddings.npy``)."""
        return WEIGHTS_FILE[self.runtime]


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """An installed model ready to load.

    Attributes:
        profile: its profile.
        path: directory holding the weights (``model.onnx`` / ``embeddings.npy``) and ``tokenizer.json``.
        sha256: hex sha256 of the weights file as recorded in ``manifest.json``.
        notice: one line for the user when the default model was replaced by the bundled one, else ``None``.
    """

    profile: ModelProfile
    path: Path
    sha256: str
    notice: str | None = None

    @property
    def model_id(self) -> str:
        """Identity used in cache keys and recorded in the index: ``name@sha256[:16]``; a remote model (runtime
        ``remote``, no weights) has just its name here, and its encoder's ``model_id`` adds the width."""
        if self.profile.runtime == "remote":
            return self.profile.name
        return f"{self.profile.name}@{self.sha256[:16]}"


def load_profile(directory: Path) -> ModelProfile:
    """Read ``directory/profile.toml``.

    Raises:
        ModelError: missing file, invalid TOML, or a missing / ill-typed key.
    """
    path = directory / "profile.toml"
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ModelError(f"{path} is missing: not a codegraph model directory") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelError(f"{path}: cannot read profile: {exc}") from None
    try:
        return ModelProfile(
            name=str(data["name"]),
            source=str(data["source"]),
            revision=str(data.get("revision", "")),
            architecture=str(data["architecture"]),
            pooling=str(data.get("pooling", "mean")),
            normalize=bool(data.get("normalize", True)),
            max_tokens=int(data["max_tokens"]),
            dim=int(data["dim"]),
            query_prefix=str(data.get("query_prefix", "")),
            document_prefix=str(data.get("document_prefix", "")),
            license=str(data.get("license", "")),
            runtime=_choice(str(data.get("runtime", "onnx")), RUNTIMES, "runtime", path),
            semantic_weight=float(data.get("semantic_weight", 1.0)),
            fusion=_choice(str(data.get("fusion", "rrf")), ("rrf", "score"), "fusion", path),
            window_tokens=int(data.get("window_tokens", 0)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{path}: invalid profile ({exc!r})") from None


def _choice(value: str, allowed: tuple[str, ...], key: str, path: Path) -> str:
    if value not in allowed:
        raise ModelError(f"{path}: unknown {key} {value!r}; use one of: {', '.join(allowed)}")
    return value
