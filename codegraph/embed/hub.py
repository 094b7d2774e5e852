"""Download a model folder from the Hugging Face Hub for ``codegraph model pull``.

Only the files an export needs are fetched: ``config.json``, the tokenizer files, the weights
(``model.safetensors`` when the repository has it, else ``pytorch_model.bin``) and licence files. Every
request has a bounded timeout, so a machine without network fails within seconds instead of hanging:
``huggingface_hub`` gives up on metadata after :data:`METADATA_TIMEOUT_S` and on a stalled download read after
``HF_HUB_DOWNLOAD_TIMEOUT`` seconds (its default, 10). The hub address is ``HF_ENDPOINT`` (default
``https://huggingface.co``), so a mirror works too; ``HF_HUB_OFFLINE=1`` is honoured.

Needs ``huggingface_hub``, which comes with the optional ``export`` extra (through ``transformers``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..distribution import install_extra_command
from ..errors import ModelError

METADATA_TIMEOUT_S = 15.0
"""Seconds to wait for the hub's answer to a metadata request (repository listing, file HEAD)."""

NEEDED_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "vocab.txt",
    "LICENSE",
    "LICENSE.txt",
    "LICENSE.md",
    "NOTICE",
)
"""Files fetched when the repository has them (weights are chosen separately)."""

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
"""Weight files in order of preference: safetensors loads without unpickling."""


@dataclass(frozen=True, slots=True)
class Download:
    """A model folder fetched from the hub.

    Attributes:
        directory: local folder holding the files.
        repo_id: hub repository (``microsoft/codebert-base``).
        commit: the 40-hex commit the requested revision resolved to (pins what was downloaded).
        endpoint: hub address used.
        files: file names fetched, in download order.
    """

    directory: Path
    repo_id: str
    commit: str
    endpoint: str
    files: tuple[str, ...]


def _offline_hint(repo_id: str, name: str) -> str:
    folder = repo_id.rsplit("/", 1)[-1]
    return (
        f"on an offline machine, fetch the folder where the hub is reachable (e.g. `hf download {repo_id} "
        f"--local-dir {folder}`), copy it here and run: codegraph model import {name} --from {folder}"
    )


def download(repo_id: str, revision: str | None, dest: Path, *, name: str, say: Callable[[str], None]) -> Download:
    """Fetch the files an export needs from ``repo_id`` at ``revision`` into ``dest``.

    Args:
        repo_id: hub repository id.
        revision: branch, tag or commit (``None``: the default branch).
        dest: local folder (created).
        name: codegraph model name (for the messages).
        say: progress callback (one short line per step); ``huggingface_hub`` also draws a byte progress bar
            per file on stderr.

    Raises:
        ModelError: ``huggingface_hub`` is missing, the hub cannot be reached or timed out, the repository or
            revision does not exist or needs authentication, or it has no weights / config.
    """
    try:
        import huggingface_hub
        import requests
        from huggingface_hub import errors as hf_errors
    except ImportError:
        raise ModelError(
            "model pull needs huggingface_hub, part of the 'export' extra: "
            f"{install_extra_command('export')} (install torch==2.13.0 first for a CPU-only torch)"
        ) from None
    from huggingface_hub import constants

    endpoint = constants.ENDPOINT
    where = f"{endpoint}/{repo_id}" + (f" (revision {revision})" if revision else "")
    try:
        say(f"looking up {where}")
        info = huggingface_hub.HfApi().model_info(repo_id, revision=revision, timeout=METADATA_TIMEOUT_S)
        present = {s.rfilename for s in info.siblings or ()}
        weights = next((w for w in WEIGHT_FILES if w in present), None)
        if "config.json" not in present or weights is None:
            raise ModelError(
                f"{where} has no config.json or no weights ({' / '.join(WEIGHT_FILES)}); not a transformers model"
            )
        commit = str(info.sha or revision or "")
        wanted = [f for f in NEEDED_FILES if f in present] + [weights]
        dest.mkdir(parents=True, exist_ok=True)
        for fname in wanted:
            say(f"downloading {fname}")
            huggingface_hub.hf_hub_download(
                repo_id, fname, revision=commit or revision, local_dir=dest, etag_timeout=METADATA_TIMEOUT_S
            )
    except ModelError:
        raise
    except hf_errors.GatedRepoError:
        raise ModelError(
            f"{where} is gated: accept its terms on the hub and set HF_TOKEN, then run the pull again"
        ) from None
    except hf_errors.RepositoryNotFoundError:
        raise ModelError(
            f"{where}: repository not found (or private: set HF_TOKEN); check the profile's source"
        ) from None
    except hf_errors.RevisionNotFoundError:
        raise ModelError(f"{where}: revision not found; check the profile's revision") from None
    except hf_errors.OfflineModeIsEnabled:
        raise ModelError(
            f"HF_HUB_OFFLINE is set, so {where} cannot be downloaded; {_offline_hint(repo_id, name)}"
        ) from None
    except (requests.ConnectionError, requests.Timeout, hf_errors.LocalEntryNotFoundError) as exc:
        reason = type(exc).__name__
        raise ModelError(
            f"cannot reach the model hub at {endpoint} ({reason}); {_offline_hint(repo_id, name)}"
        ) from None
    except hf_errors.HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise ModelError(f"model hub error for {where}: HTTP {status}; try again later") from None
    return Download(dest, repo_id, commit, endpoint, tuple(wanted))
