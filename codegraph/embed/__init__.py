"""Embedding: model profiles, the onnxruntime encoder, and (optional extra) export + INT8 quantisation."""

from .profiles import ModelProfile, ResolvedModel, load_profile, resolve_model
from .runtime import OnnxEncoder

__all__ = ["ModelProfile", "OnnxEncoder", "ResolvedModel", "load_profile", "resolve_model"]
