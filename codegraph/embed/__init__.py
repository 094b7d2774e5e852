"""Embedding: model profiles, the onnxruntime, static and remote (``openai:MODEL``) encoders, and (optional
extra) export + INT8 quantisation."""

from __future__ import annotations

from ..config import Settings, resolve_settings
from ..errors import IndexUnusableError
from .profile import ModelProfile, ResolvedModel, load_profile
from .protocol import Embedder
from .registry import resolve_model
from .remote import RemoteEncoder, is_remote, open_remote, parse_model_id
from .runtime import OnnxEncoder
from .static import StaticEncoder

AnyEncoder = OnnxEncoder | StaticEncoder | RemoteEncoder
"""Every encoder :func:`open_embedder` returns."""


def open_embedder(
    model: ResolvedModel, *, threads: int = 0, batch_size: int = 8, settings: Settings | None = None
) -> AnyEncoder:
    """The encoder for a resolved model, chosen by its profile's ``runtime`` (``onnx``, ``static`` or ``remote``).

    Args:
        model: from :func:`resolve_model`.
        threads: onnxruntime intra-op threads (0: all available cores); ignored by static and remote models.
        batch_size: texts per ``session.run``; ignored by static and remote models.
        settings: the ``embed_*`` settings of a remote model (default: from the environment alone).

    Raises:
        ModelError: the model's files cannot be loaded.
        RemoteEmbeddingError: a remote model and no API key in the environment.
    """
    if model.profile.runtime == "remote":
        return open_remote(model.profile.name, settings or resolve_settings(None))
    if model.profile.runtime == "static":
        return StaticEncoder(model)
    return OnnxEncoder(model, threads=threads, batch_size=batch_size)


def encoder_for_index(
    model_id: str | None, *, threads: int = 0, batch_size: int = 8, settings: Settings | None = None
) -> AnyEncoder:
    """The encoder of the model that built an index.

    Args:
        model_id: the index's ``meta.model_id`` (``name@sha256[:16]``, or ``openai:MODEL@DIM[+dimensions]`` for a
            remote model, whose width is taken from it: no probe request), ``None`` for an index with no model.
        threads, batch_size, settings: as for :func:`open_embedder`.

    Raises:
        IndexUnusableError: the index has no model yet, or the installed model differs from the one that built it.
        ModelError: the model is not installed.
        RemoteEmbeddingError: a remote model and no API key in the environment.
    """
    if not model_id:
        raise IndexUnusableError("the index is empty (no model recorded); run: codegraph index")
    if is_remote(model_id):
        remote_name, dim, requested = parse_model_id(model_id)
        return open_remote(
            f"openai:{remote_name}", settings or resolve_settings(None), dim=dim, dimensions_requested=requested
        )
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
    "AnyEncoder",
    "OnnxEncoder",
    "RemoteEncoder",
    "ResolvedModel",
    "StaticEncoder",
    "encoder_for_index",
    "load_profile",
    "open_embedder",
    "resolve_model",
]
