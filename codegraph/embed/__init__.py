"""Embedding: model profiles, the onnxruntime and static encoders, and (optional extra) export + INT8
quantisation."""

from __future__ import annotations

from ..errors import IndexUnusableError
from .profile import ModelProfile, ResolvedModel, load_profile
from .protocol import Embedder
from .registry import resolve_model
from .runtime import OnnxEncoder
from .static import StaticEncoder


def open_embedder(model: ResolvedModel, *, threads: int = 0, batch_size: int = 8) -> OnnxEncoder | StaticEncoder:
    """The encoder for a resolved model, chosen by its profile's ``runtime`` (``onnx`` or ``static``).

    Args:
        model: from :func:`resolve_model`.
        threads: onnxruntime intra-op threads (0: all available cores); ignored by static models.
        batch_size: texts per ``session.run``; ignored by static models.

    Raises:
        ModelError: the model's files cannot be loaded.
    """
    if model.profile.runtime == "static":
        return StaticEncoder(model)
    return OnnxEncoder(model, threads=threads, batch_size=batch_size)


def encoder_for_index(model_id: str | None, *, threads: int = 0, batch_size: int = 8) -> OnnxEncoder | StaticEncoder:
    """The encoder of the model that built an index.

    Args:
        model_id: the index's ``meta.model_id`` (``name@sha256[:16]``), ``None`` for an index with no model yet.
        threads, batch_size: as for :func:`open_embedder`.

    Raises:
        IndexUnusableError: the index has no model yet, or the installed model differs from the one that built it.
        ModelError: the model is not installed.
    """
    if not model_id:
        raise IndexUnusableError("the index is empty (no model recorded); run: codegraph index")
    name = model_id.split("@", 1)[0]
    model = resolve_model(name)
    if model.model_id != model_id:
        raise IndexUnusableError(
            f"the index was built with {model_id} but the installed '{name}' is {model.model_id}; "
            "re-index with: codegraph index"
        )
    return open_embedder(model, threads=threads, batch_size=batch_size)


__all__ = [
    "Embedder",
    "ModelProfile",
    "OnnxEncoder",
    "ResolvedModel",
    "StaticEncoder",
    "encoder_for_index",
    "load_profile",
    "open_embedder",
    "resolve_model",
]
