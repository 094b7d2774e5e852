"""Model profiles and where installed models live.

A model is a directory holding ``profile.toml`` (what the model is and how to use it), and once exported
its weights (``model.onnx``, INT8, for a transformer run by onnxruntime; ``embeddings.npy`` for a static
model), ``tokenizer.json`` and ``manifest.json`` (sha256 of each file, provenance).

Places searched for a model named NAME, in order:

1. the model store: ``$CODEGRAPH_HOME/models/NAME`` (default: the per-user cache directory, e.g.
   ``~/.cache/codegraph/models/NAME`` on Linux);
2. the models bundled with codegraph: ``codegraph/_models/NAME`` in an installed wheel, or ``models/NAME`` in a
   source checkout.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_MODELS = ("code", "minilm")
"""The default model is the first of these that is installed: codegraph's code-trained model (bundled), else
stock all-MiniLM-L6-v2 (bundled). Chosen by measured dev-set quality (``docs/eval.md``); CodeBERT-family models,
trained without a retrieval objective, are weak zero-shot retrievers and are used only when named."""

FAST_MODEL = "fast"
"""The static fast tier (token vectors; ~100x cheaper per chunk than the transformer): a first search on an
unindexed git work tree indexes with it."""

BUNDLED_MODEL = "minilm"
"""all-MiniLM-L6-v2, INT8, shipped inside codegraph so it works offline with no download."""

RUNTIMES = ("onnx", "static")
"""How a model is run: ``onnx`` (a transformer encoder through onnxruntime, :class:`~.runtime.OnnxEncoder`) or
``static`` (a token-vector table: a lookup and a mean in numpy, :class:`~.static.StaticEncoder`)."""

WEIGHTS_FILE = {"onnx": "model.onnx", "static": "embeddings.npy"}
"""The weights file of each runtime; its sha256 is the model's identity."""


def model_files(runtime: str) -> tuple[str, str]:
    """The files a model of ``runtime`` needs besides its profile and manifest: (weights, tokenizer)."""
    return (WEIGHTS_FILE[runtime], "tokenizer.json")


MODEL_FILES = model_files("onnx")


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
        """Identity used in cache keys and recorded in the index: ``name@sha256[:16]``."""
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


def model_home() -> Path:
    """The model store: ``$CODEGRAPH_HOME/models``, default ``<user cache dir>/codegraph/models``."""
    home = os.environ.get("CODEGRAPH_HOME")
    if home:
        return Path(home).expanduser() / "models"
    import platformdirs

    return Path(platformdirs.user_cache_dir("codegraph", appauthor=False)) / "models"


def bundled_models_dir() -> Path:
    """Directory of the models shipped with codegraph (wheel: ``codegraph/_models``; checkout: ``models/``)."""
    package_dir = Path(__file__).resolve().parent.parent
    in_wheel = package_dir / "_models"
    if in_wheel.is_dir():
        return in_wheel
    return package_dir.parent / "models"


def sha256_file(path: Path, *, chunk_bytes: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in ``chunk_bytes`` pieces."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


def _checked_sha256(path: Path) -> str:
    """sha256 of a model file, re-hashed only when its size or mtime changed since the last check.

    Hashing the 23 MB bundled model costs ~40 ms, a tenth of a one-shot ``codegraph search``; the results are
    remembered in ``<model store>/../verified.json`` keyed by path, size and mtime_ns (best effort: an
    unwritable cache only means hashing every time).
    """
    st = path.stat()
    stamp = f"{st.st_size}:{st.st_mtime_ns}"
    cache_file = model_home().parent / "verified.json"
    try:
        cache = json.loads(cache_file.read_text(encoding="utf-8"))
        if not isinstance(cache, dict):
            cache = {}
    except (OSError, ValueError):
        cache = {}
    entry = cache.get(str(path))
    if isinstance(entry, dict) and entry.get("stamp") == stamp and isinstance(entry.get("sha256"), str):
        return str(entry["sha256"])
    digest = sha256_file(path)
    cache[str(path)] = {"stamp": stamp, "sha256": digest}
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache), encoding="utf-8")
        os.replace(tmp, cache_file)
    except OSError:
        pass
    return digest


def _installed_dir(name: str) -> Path | None:
    for base in (model_home(), bundled_models_dir()):
        candidate = base / name
        if not (candidate / "profile.toml").is_file() or not (candidate / "manifest.json").is_file():
            continue
        try:
            runtime = load_profile(candidate).runtime
        except ModelError:
            continue
        if all((candidate / f).is_file() for f in model_files(runtime)):
            return candidate
    return None


def is_installed(name: str) -> bool:
    """Whether model ``name`` is installed (in the model store or bundled), checksums not verified."""
    return _installed_dir(name) is not None


def _read_manifest(directory: Path) -> dict[str, object]:
    path = directory / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read manifest ({exc}); reinstall the model") from None
    if not isinstance(data, dict) or not isinstance(data.get("sha256"), dict):
        raise ModelError(f"{path}: manifest has no sha256 table; reinstall the model")
    return data


def open_model(directory: Path, *, verify: bool = True, notice: str | None = None) -> ResolvedModel:
    """Load a model directory's profile and manifest, checking file checksums.

    Args:
        directory: a model directory (``profile.toml``, ``model.onnx``, ``tokenizer.json``, ``manifest.json``).
        verify: compare the sha256 of ``model.onnx`` and ``tokenizer.json`` with the manifest (recomputed
            when a file's size or mtime changed since it was last checked, see :func:`_checked_sha256`).
        notice: passed through to :class:`ResolvedModel`.

    Raises:
        ModelError: missing files, unreadable manifest, or a checksum mismatch.
    """
    profile = load_profile(directory)
    manifest = _read_manifest(directory)
    sums = manifest["sha256"]
    assert isinstance(sums, dict)
    for fname in model_files(profile.runtime):
        path = directory / fname
        if not path.is_file():
            raise ModelError(f"{path} is missing; reinstall the model (codegraph model import {profile.name})")
        if verify and _checked_sha256(path) != sums.get(fname):
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
    """
    if name is None:
        for candidate in DEFAULT_MODELS:
            found = _installed_dir(candidate)
            if found is not None:
                notice = None
                if candidate != DEFAULT_MODELS[0]:
                    notice = (
                        f"codegraph: the default model '{DEFAULT_MODELS[0]}' is not installed (a broken install?); "
                        f"using '{candidate}'. Reinstall codegraph to get it back"
                    )
                return open_model(found, verify=verify, notice=notice)
        raise ModelError(f"no default model installed (looked for {', '.join(DEFAULT_MODELS)}); reinstall codegraph")
    found = _installed_dir(name)
    if found is None:
        if not _profile_dir(name):
            raise ModelError(f"unknown model '{name}'; known: {', '.join(sorted(_known_names()))}")
        raise ModelError(
            f"model '{name}' is not installed (looked in {model_home()} and {bundled_models_dir()}); "
            f"install it with: codegraph model pull {name}  (offline: codegraph model import {name} --from DIR, "
            "DIR a local Hugging Face model folder)"
        )
    return open_model(found, verify=verify)


def _profile_names(base: Path) -> set[str]:
    """Names of the model directories under ``base`` that hold a ``profile.toml``."""
    return {p.parent.name for p in base.glob("*/profile.toml")} if base.is_dir() else set()


def _known_names() -> set[str]:
    return _profile_names(model_home()) | _profile_names(bundled_models_dir())


def shipped_profile_dir(name: str) -> Path:
    """The profile template shipped with codegraph for model ``name`` (``models/<name>``), which ``model pull``
    and ``model import`` install from.

    Raises:
        ModelError: no such profile; the message lists the known ones.
    """
    base = bundled_models_dir()
    if not (base / name / "profile.toml").is_file():
        raise ModelError(f"unknown model '{name}'; known: {', '.join(sorted(_profile_names(base)))}")
    return base / name


def _profile_dir(name: str) -> Path | None:
    """Where model ``name``'s profile is: its installed directory, else the bundled template."""
    for base in (model_home(), bundled_models_dir()):
        if (base / name / "profile.toml").is_file():
            return base / name
    return None


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


def list_models() -> list[ModelEntry]:
    """Every model with a profile (shipped or installed in the model store), sorted by name.

    Checksums are not verified here (that happens on load); a broken manifest shows as unknown fidelity.
    """
    default = next((name for name in DEFAULT_MODELS if _installed_dir(name)), DEFAULT_MODELS[-1])
    entries = []
    for name in sorted(_known_names()):
        found = _installed_dir(name)
        template = found or _profile_dir(name)
        assert template is not None
        fidelity = None
        if found is not None:
            try:
                score = _read_manifest(found).get("fidelity")
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
