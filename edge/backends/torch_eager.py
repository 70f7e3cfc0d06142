"""The reference backend: the PyTorch module itself, in eager mode under ``torch.inference_mode``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from config.backend import TorchConfig
from edge.backends.base import (
    BackendUnavailable,
    check_windows,
    checkpoint_sha256,
    model_version,
    resolve_checkpoint,
)
from models.calibration_prior import load_prior
from models.encoder import load_encoder


class TorchEagerBackend:
    name = "torch"

    def __init__(self, config: TorchConfig, checkpoint: Path | None = None) -> None:
        path = resolve_checkpoint(checkpoint)
        if config.device == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailable("torch backend configured for cuda, but no CUDA device is available")
        if config.threads:
            torch.set_num_threads(config.threads)  # process-wide: the worker runs one backend
        self.device = (
            torch.device("cuda", config.device_id) if config.device == "cuda" else torch.device("cpu")
        )
        encoder, self.spec, _ = load_encoder(path)
        self.encoder = encoder.to(self.device)
        self.embedding_dim = encoder.config.embedding_dim
        self.model_version = model_version(checkpoint_sha256(path))
        self.calibration_prior = load_prior(path, self.model_version)

    def embed(self, windows: np.ndarray) -> np.ndarray:
        w = check_windows(windows, self.spec, self.encoder.config.joints)
        with torch.inference_mode():
            out = self.encoder(torch.from_numpy(w).to(self.device))
        return out.float().cpu().numpy()
