"""The model registry: where models live, which one is the default, and how a name becomes an installed model.

Places searched for a model named NAME, in order:

1. the model store: ``<codegraph home>/models/NAME`` (:func:`codegraph.home.codegraph_home`: ``$CODEGRAPH_HOME``,
   default the per-user cache directory, e.g. ``~/.cache/codegraph/models/NAME`` on Linux);
2. the models bundled with codegraph: ``codegraph/_models/NAME`` in an installed wheel, or ``models/NAME`` in a
   source checkout. A bundled directory without weights is a *profile template* that ``model pull`` and
   ``model import`` install from.

A name ``openai:MODEL`` is a remote model (:mod:`codegraph.embed.remote`): it has no files and is never looked
up on disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelError
from ..home import codegraph_home
from .checksums import checked_sha256, read_manifest
from .profile import ModelProfile, ResolvedModel, load_profile, model_files

DEFAULT_MODELS = ("code", "minilm")
"""The default model is the first of these that is installed: codegraph's code-trained model (bundled), else
stock all-MiniLM-L6-v2 (bundled). Chosen by measured dev-set quality (``docs/eval.md``); CodeBERT-family models,
trained without a retrieval objective, are weak zero-shot retrievers and are used only when named."""

FAST_MODEL = "fast"
"""The static fast tier (token vectors; ~100x cheaper per chunk than the transformer): a first search on an
unindexed git work tree indexes with it."""

BUNDLED_MODEL = "minilm"
"""all-MiniLM-L6-v2, INT8, bundled with codegraph so it works offline with no download."""


def model_home() -> Path:
    """The model store: ``<codegraph home>/models`` (see :func:`codegraph.home.codegraph_home`)."""
    return codegraph_home() / "models"


def bundled_models_dir() -> Path:
    """Directory of the models bundled with codegraph (wheel: ``codegraph/_models``; checkout: ``models/``)."""
    package_dir = Path(__file__).resolve().parent.parent
    in_wheel = package_dir / "_models"
    if in_wheel.is_dir():
        return in_wheel
    return package_dir.parent / "models"


def _is_complete(directory: Path) -> bool:
    """``directory`` holds a readable profile, a manifest and the files its runtime needs."""
    if not (directory / "profile.toml").is_file() or not (directory / "manifest.json").is_file():
        return False
    try:
        runtime = load_profile(directory).runtime
    except ModelError:
        return False
    return all((directory / f).is_file() for f in model_files(runtime))


def find_model_dir(name: str, *, installed: bool = True, bundled_only: bool = False) -> Path | None:
    """The directory of model ``name``, searching the model store, then the bundled models.

    Args:
        name: model name (``code``, ``codebert``).
        installed: only a complete installation (profile, manifest, weights, tokenizer; checksums not
            verified); ``False`` also accepts a directory holding just ``profile.toml`` (a template).
        bundled_only: search the bundled models only.

    Returns:
        The first match, or ``None``.
    """
    bases = (bundled_models_dir(),) if bundled_only else (model_home(), bundled_models_dir())
    for base in bases:
        candidate = base / name
        if _is_complete(candidate) if installed else (candidate / "profile.toml").is_file():
            return candidate
    return None


def is_installed(name: str) -> bool:
    """Whether model ``name`` is installed (in the model store or bundled), checksums not verified."""
    return find_model_dir(name) is not None


def known_model_names(*, bundled_only: bool = False) -> list[str]:
    """Sorted names of every model with a profile (installed in the model store, or bundled)."""
    bases = (bundled_models_dir(),) if bundled_only else (model_home(), bundled_models_dir())
    return sorted({p.parent.name for base in bases if base.is_dir() for p in base.glob("*/profile.toml")})


def bundled_profile_dir(name: str) -> Path:
    """The profile template bundled with codegraph for model ``name`` (``models/<name>``), which ``model pull``
    and ``model import`` install from.

    Raises:
        ModelError: no such profile; the message lists the known ones.
    """
    found = find_model_dir(name, installed=False, bundled_only=True)
    if found is None:
        known = ", ".join(known_model_names(bundled_only=True))
        raise ModelError(f"unknown model '{name}'; known: {known}")
    return found


def open_model(directory: Path, *, verify: bool = True, notice: str | None = None) -> ResolvedModel:
    """Load a model directory's profile and manifest, checking file checksums.

    Args:
        directory: a model directory (``profile.toml``, ``model.onnx``, ``tokenizer.json``, ``manifest.json``).
        verify: compare the sha256 of the weights and ``tokenizer.json`` with the manifest (recomputed only
            when a file's size or mtime changed since it was last checked, see
            :func:`~codegraph.embed.checksums.checked_sha256`).
        notice: passed through to :class:`ResolvedModel`.

    Raises:
        ModelError: missing files, unreadable manifest, or a checksum mismatch.
    """
    profile = load_profile(directory)
    manifest = read_manifest(directory)
    sums = manifest["sha256"]
    assert isinstance(sums, dict)
    for fname in model_files(profile.runtime):
        path = directory / fname
        if not path.is_file():
            raise ModelError(f"{path} is missing; reinstall the model (codegraph model import {profile.name})")
        if verify and checked_sha256(path) != sums.get(fname):
            raise ModelError(
                f"{path}: sha256 does not match manifest.json (corrupt or modified); "
                f"reinstall the model (codegraph model import {profile.name} --from DIR)"
            )
    return ResolvedModel(profile=profile, path=directory, sha256=str(sums[profile.weights_file]), notice=notice)


def resolve_model(name: str | None, *, verify: bool = True) -> ResolvedModel:
    """Find the model to use.

    Args:
        name: a model name set explicitly (flag, env, config), or ``None`` for the default: the first installed
            of :data:`DEFAULT_MODELS` (with a one-line notice when it is not the first).
        verify: check file checksums against the manifest.

    Raises:
        ModelError: an explicitly named model is not installed (the message says how to install it), or a
            checksum mismatch.

    A remote name (``openai:MODEL``) resolves without any file: runtime ``remote``, ``path`` ``.``, no sha256, and
    ``dim`` from :data:`~codegraph.embed.remote.KNOWN_DIMS` (0 when the server will tell);
    :func:`~codegraph.embed.open_embedder` turns it into a :class:`~codegraph.embed.remote.RemoteEncoder`.
    """
    from .remote import KNOWN_DIMS, REMOTE_PREFIX, is_remote, remote_profile

    if is_remote(name):
        assert name is not None
        model = name[len(REMOTE_PREFIX) :]
        if not model:
            raise ModelError(f"'{name}': name the remote model after the prefix, e.g. openai:text-embedding-3-small")
        return ResolvedModel(
            profile=remote_profile(model, dim=KNOWN_DIMS.get(model, 0), max_tokens=8191), path=Path("."), sha256=""
        )
    if name is None:
        for candidate in DEFAULT_MODELS:
            found = find_model_dir(candidate)
            if found is not None:
                notice = None
                if candidate != DEFAULT_MODELS[0]:
                    notice = (
                        f"codegraph: the default model '{DEFAULT_MODELS[0]}' is not installed (a broken install?); "
                        f"using '{candidate}'. Reinstall codegraph to get it back"
                    )
                return open_model(found, verify=verify, notice=notice)
        raise ModelError(f"no default model installed (looked for {', '.join(DEFAULT_MODELS)}); reinstall codegraph")
    found = find_model_dir(name)
    if found is None:
        if find_model_dir(name, installed=False) is None:
            raise ModelError(f"unknown model '{name}'; known: {', '.join(known_model_names())}")
        raise ModelError(
            f"model '{name}' is not installed (looked in {model_home()} and {bundled_models_dir()}); "
            f"install it with: codegraph model pull {name}  (offline: codegraph model import {name} --from DIR, "
            "DIR a local Hugging Face model folder)"
        )
    return open_model(found, verify=verify)


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One line of ``codegraph model list``.

    Attributes:
        profile: the model's profile (the installed copy's when installed, else the bundled template's).
        location: installed directory, ``None`` when not installed.
        bundled: installed inside codegraph itself (``codegraph/_models`` or the checkout's ``models/``).
        size_bytes: bytes of the installed directory's files (0 when not installed).
        default: the model used when none is set (the first installed of :data:`DEFAULT_MODELS`).
        fidelity_mean_cosine: mean cosine INT8 vs fp32 recorded by the export, ``None`` if unknown.
    """

    profile: ModelProfile
    location: Path | None
    bundled: bool
    size_bytes: int
    default: bool
    fidelity_mean_cosine: float | None

    def to_json(self) -> dict[str, Any]:
        """One model of ``codegraph model list --json``."""
        return {
            "name": self.profile.name,
            "source": self.profile.source,
            "revision": self.profile.revision,
            "architecture": self.profile.architecture,
            "dim": self.profile.dim,
            "max_tokens": self.profile.max_tokens,
            "pooling": self.profile.pooling,
            "license": self.profile.license,
            "installed": self.location is not None,
            "bundled": self.bundled,
            "location": str(self.location) if self.location else None,
            "size_bytes": self.size_bytes,
            "default": self.default,
            "fidelity_mean_cosine": self.fidelity_mean_cosine,
        }


def list_models() -> list[ModelEntry]:
    """Every model with a profile (bundled, or installed in the model store), sorted by name.

    Checksums are not verified here (that happens on load); a broken manifest shows as unknown fidelity.
    """
    default = next((name for name in DEFAULT_MODELS if find_model_dir(name)), DEFAULT_MODELS[-1])
    entries = []
    for name in known_model_names():
        found = find_model_dir(name)
        template = found or find_model_dir(name, installed=False)
        assert template is not None
        fidelity = None
        if found is not None:
            try:
                score = read_manifest(found).get("fidelity")
                if isinstance(score, dict) and isinstance(score.get("mean_cosine"), int | float):
                    fidelity = float(score["mean_cosine"])
            except ModelError:
                pass
        entries.append(
            ModelEntry(
                profile=load_profile(template),
                location=found,
                bundled=found is not None and found.parent == bundled_models_dir(),
                size_bytes=sum(p.stat().st_size for p in found.iterdir() if p.is_file()) if found else 0,
                default=name == default,
                fidelity_mean_cosine=fidelity,
            )
        )
    return entries


@dataclass(frozen=True, slots=True)
class ModelCatalog:
    """What ``codegraph model list`` shows: the model store's location and every known model.

    Attributes:
        model_store: :func:`model_home`.
        models: :func:`list_models`, sorted by name.
    """

    model_store: Path
    models: tuple[ModelEntry, ...]

    def to_json(self) -> dict[str, Any]:
        """``{"model_store", "models": [entry, ...]}`` as printed by ``codegraph model list --json``."""
        return {"model_store": str(self.model_store), "models": [m.to_json() for m in self.models]}


def model_catalog() -> ModelCatalog:
    """The model store's location and :func:`list_models`."""
    return ModelCatalog(model_home(), tuple(list_models()))
