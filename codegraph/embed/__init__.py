"""Embedding: model profiles, the onnxruntime and static encoders, and (optional extra) export + INT8
quantisation."""

from __future__ import annotations

from .profiles import ModelProfile, ResolvedModel, load_profile, resolve_model
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


__all__ = [
    "ModelProfile",
    "OnnxEncoder",
    "ResolvedModel",
    "StaticEncoder",
    "load_profile",
    "open_embedder",
    "resolve_model",
]
