"""Helpers shared by the commands: settings and model loading with the user-facing notice."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings, resolve_settings

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


def settings_for(root: Path | None, **overrides: Any) -> Settings:
    """Resolve settings for ``root`` with CLI flag overrides (``None`` values ignored)."""
    return resolve_settings(root, overrides=overrides)
