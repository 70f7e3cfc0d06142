"""MacDiff augmentation while training the encoder (Sec. 3.4 in Algorithm 1's batches).

Cheap enough to run on every batch (one decoder call per variant), so unlike HumanMAC's completions
nothing is banked: each step, ``round(λ · B)`` windows of the batch, drawn at random, get one fresh
variant each (new mask, new noise), which joins the batch with its source's label as a positive of
every window of that category (Eq. 5).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from config.training import MacDiffAugSettings
from models.macdiff import load_macdiff
from models.preprocess import WindowSpec

# (B, F, J, 3) windows, (B,) labels, rng -> the batch with its variants appended, and their labels.
BatchAugmenter = Callable[[np.ndarray, np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def macdiff_augmenter(settings: MacDiffAugSettings, spec: WindowSpec, seed: int) -> BatchAugmenter:
    model = load_macdiff(Path(settings.model))
    if model.spec.frames != spec.frames:
        raise ValueError(
            f"MacDiff was trained on {model.spec.frames}-frame windows, the encoder uses {spec.frames}"
        )
    noise = torch.Generator().manual_seed(seed)

    def augment(
        windows: np.ndarray, labels: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        n = int(round(settings.ratio * len(windows)))
        if n == 0:
            return windows, labels
        rows = rng.choice(len(windows), size=n, replace=n > len(windows))
        variants = model.augment(windows[rows], samples=1, t_s=settings.t_s, generator=noise)[:, 0]
        return np.concatenate([windows, variants]), np.concatenate([labels, labels[rows]])

    return augment
