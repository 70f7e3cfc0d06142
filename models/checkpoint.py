"""Checkpoints: unwrapped state_dict as safetensors + a JSON sidecar that rebuilds the model.

``<name>.safetensors`` holds the weights; ``<name>.json`` holds ``format``, ``kind``, the model config,
the weights' sha256, and whatever the trainer adds (window spec, data split, metrics, git revision).
A loader needs nothing else. The two files are written one after the other: a save interrupted
between them leaves new weights beside the old sidecar (an architecture or window spec they were
not trained with), which :func:`load_state` refuses by the digest (sidecars written before the
digest was recorded are read as they are). Reading the sidecar needs no torch (an ONNX Runtime host never imports it); torch is
imported by the functions that touch weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.files import atomic_write

if TYPE_CHECKING:
    import torch

FORMAT_VERSION = 1
WEIGHTS_DIGEST = "weights_sha256"  # the sidecar's record of the weights it was written with
_PROJECT_ROOT = Path(__file__).resolve().parents[1]


def git_revision() -> str:
    """The checkout's commit (``+dirty`` when it has uncommitted changes), or ``unknown``."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=_PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=_PROJECT_ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def sidecar_path(weights: Path) -> Path:
    return weights.with_suffix(".json")


def checkpoint_destination(path: Path) -> Path:
    """``path`` made ready to take a checkpoint (its folder created), or ValueError / OSError saying
    why it cannot: a trainer calls it before training, not after hours of it."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"checkpoint path must end in .safetensors: {path}")
    for target in (path, sidecar_path(path)):
        if target.is_dir():
            raise ValueError(f"cannot write a checkpoint to {path}: {target} is a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError as e:
        raise NotADirectoryError(f"cannot write a checkpoint to {path}: {e.filename} is a file") from None
    except OSError as e:
        raise OSError(f"cannot write a checkpoint to {path}: {e.strerror} ({e.filename})") from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write a checkpoint to {path}: {path.parent} is not writable")
    return path


def save_checkpoint(path: Path, module: torch.nn.Module, kind: str, metadata: dict[str, Any]) -> None:
    """Write ``path`` (.safetensors) and its JSON sidecar. ``metadata`` must be JSON-serialisable."""
    from safetensors.torch import save

    path = checkpoint_destination(path)
    # The revision is read before writing: retraining a committed checkpoint would otherwise mark
    # its own checkout dirty.
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    weights = save(state)
    meta = {"format": FORMAT_VERSION, "kind": kind, "git_revision": git_revision(), **metadata,
            WEIGHTS_DIGEST: hashlib.sha256(weights).hexdigest()}  # fmt: skip
    # Readable by every user, as the graphs exported from it are: the daemon runs as its own user
    # (deploy/haad.service), and a copied owner-only checkpoint would stop it.
    atomic_write(path, lambda f: f.write(weights), mode=0o644)
    text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
    atomic_write(sidecar_path(path), lambda f: f.write(text.encode()), mode=0o644)


def load_metadata(path: Path, kind: str) -> dict[str, Any]:
    side = sidecar_path(path)
    if not path.is_file() or not side.is_file():
        raise FileNotFoundError(f"checkpoint needs both {path} and {side}")
    meta: dict[str, Any] = json.loads(side.read_text())
    if meta.get("kind") != kind:
        raise ValueError(f"{path} is a {meta.get('kind')!r} checkpoint, not {kind!r}")
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: checkpoint format {meta.get('format')} (expected {FORMAT_VERSION})")
    return meta


def load_state(path: Path) -> dict[str, torch.Tensor]:
    """The weights of ``path``, refused (ValueError) when its sidecar records other weights."""
    from safetensors.torch import load

    data = Path(path).read_bytes()
    recorded = json.loads(sidecar_path(path).read_text()).get(WEIGHTS_DIGEST)
    if recorded is not None and hashlib.sha256(data).hexdigest() != recorded:
        raise ValueError(
            f"{path} is not the weights {sidecar_path(path).name} was written with (a save interrupted "
            "between the two files?): save or copy both again"
        )
    return load(data)
