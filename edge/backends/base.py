"""What every encoder backend provides, and the checkpoint bookkeeping they share."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from models.calibration_prior import CalibrationPrior
from models.encoder_config import DEFAULT_ENCODER_PATH, read_encoder_metadata
from models.preprocess import WindowSpec


class BackendUnavailable(RuntimeError):
    """The backend cannot run on this host (missing package, no CUDA device, ...)."""


class EncoderBackend(Protocol):
    """Runs the action encoder on batches of normalised windows.

    name: the backend's config ``type``. spec: the WindowSpec the encoder was trained with (windows
    must be cut and normalised by it). model_version: the checkpoint's sha256 prefix (profiles record
    it, so embeddings of different encoders are never compared). calibration_prior: the encoder's
    prior for thresholds (models/calibration_prior.py), None when it has none.
    """

    name: str
    embedding_dim: int
    spec: WindowSpec
    model_version: str
    calibration_prior: CalibrationPrior | None

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """``(B, F, J, 3)`` float32 normalised windows -> ``(B, D)`` float32 embeddings."""
        ...


@dataclass(frozen=True)
class EncoderFacts:
    """What a profile must agree with, read from a checkpoint without loading any runtime (for
    ``haad config validate``); every backend has the same three attributes."""

    model_version: str
    embedding_dim: int
    spec: WindowSpec

    @classmethod
    def of(cls, checkpoint: Path | None) -> EncoderFacts:
        path = resolve_checkpoint(checkpoint)
        encoder, spec, _ = read_encoder_metadata(path)
        return cls(model_version(checkpoint_sha256(path)), encoder.embedding_dim, spec)


def resolve_checkpoint(checkpoint: Path | None) -> Path:
    """The checkpoint to load: the given one, else the bundled ``models/weights/encoder.safetensors``."""
    path = Path(checkpoint) if checkpoint is not None else DEFAULT_ENCODER_PATH
    if not path.is_file():
        raise FileNotFoundError(f"encoder checkpoint not found: {path}")
    return path


def checkpoint_sha256(path: Path) -> str:
    """sha256 over the weights file and its JSON sidecar (architecture and window spec) together."""
    h = hashlib.sha256()
    for part in (path, path.with_suffix(".json")):
        with part.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def model_version(sha256: str) -> str:
    return sha256[:12]


def check_windows(windows: np.ndarray, spec: WindowSpec, joints: int) -> np.ndarray:
    """Validate ``(B, spec.frames, joints, 3)`` and return it as contiguous float32."""
    w = np.ascontiguousarray(windows, dtype=np.float32)
    if w.ndim != 4 or w.shape[1:] != (spec.frames, joints, 3):
        raise ValueError(f"windows must have shape (B, {spec.frames}, {joints}, 3); got {w.shape}")
    return w
