"""Helpers shared by the commands: settings and model loading with the user-facing notice."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings, resolve_settings
from ..errors import IndexError_

if TYPE_CHECKING:
    from ..embed import OnnxEncoder, StaticEncoder


def stdout_json(obj: Any) -> None:
    """One JSON document (or JSON Lines record) on stdout, flushed."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def load_encoder(name: str | None, settings: Settings) -> OnnxEncoder | StaticEncoder:
    """Resolve and load a model; prints the bundled-model notice (stderr) when the default was replaced."""
    from ..embed import open_embedder, resolve_model
    from . import render

    model = resolve_model(name)
    if model.notice:
        render.notice(model.notice)
    return open_embedder(model, threads=settings.threads, batch_size=settings.batch_size)


def encoder_for_index(model_id: str | None, settings: Settings) -> OnnxEncoder | StaticEncoder:
    """The encoder of the model that built an index (``model_id`` = ``name@sha256prefix`` from its meta).

    Raises:
        IndexError_: the index has no model yet, or the installed model differs from the one that built it.
        ModelError: the model is not installed.
    """
    from ..embed import open_embedder, resolve_model

    if not model_id:
        raise IndexError_("the index is empty (no model recorded); run: codegraph index")
    name = model_id.split("@", 1)[0]
    model = resolve_model(name)
    if model.model_id != model_id:
        raise IndexError_(
            f"the index was built with {model_id} but the installed '{name}' is {model.model_id}; "
            "re-index with: codegraph index"
        )
    return open_embedder(model, threads=settings.threads, batch_size=settings.batch_size)


def settings_for(root: Path | None, **overrides: Any) -> Settings:
    """Resolve settings for ``root`` with CLI flag overrides (``None`` values ignored)."""
    return resolve_settings(root, overrides=overrides)
