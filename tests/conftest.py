"""Shared fixtures. Tests that need ../shared/data skip without it, except in CI (CI=true) where a
missing dataset is a failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from training.datasets import DataNotFoundError, resolve_data_root


@pytest.fixture(scope="session")
def data_root() -> Path:
    try:
        return resolve_data_root()
    except DataNotFoundError as e:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the shared datasets are missing: {e}")
        pytest.skip(f"shared datasets not available: {e}")


@pytest.fixture(scope="session")
def kinder_gator(data_root: Path):  # -> training.datasets.ClipSet
    """The Kinder-Gator clip set (real Kinect v1 skeletons, irregular timestamps), loaded once."""
    from training.datasets import load_dataset

    return load_dataset("kinder-gator", data_root)


@pytest.fixture(scope="session")
def tiny_humanmac():  # -> models.humanmac.HumanMAC
    """A small HumanMAC with random (seeded, non-zero) weights and a codec fitted to smooth random
    motion: real modules, untrained, built in memory in well under a second."""
    import numpy as np
    import torch

    from models.humanmac import HumanMAC
    from models.humanmac.codec import MotionCodec
    from models.humanmac.network import DenoiserConfig, MotionDenoiser
    from models.humanmac.scheduler import CosineDDIMScheduler
    from models.preprocess import WindowSpec

    torch.manual_seed(0)
    network = MotionDenoiser(DenoiserConfig(width=16, depth=1, heads=2))
    with torch.no_grad():
        for p in network.parameters():  # zero-initialised heads would make every prediction 0
            p.normal_(0.0, 0.05)
    rng = np.random.default_rng(0)
    motion = np.cumsum(rng.normal(0.0, 0.02, size=(32, 60, 20, 3)), axis=1).astype(np.float32)
    codec = MotionCodec(60, 20, 20).fit(motion)
    return HumanMAC(network, codec, CosineDDIMScheduler(), WindowSpec())


@pytest.fixture(scope="session")
def generate():  # -> Callable[..., np.ndarray]
    """``generate(model, windows, n_g, observed=30, gap="end", steps=50, sampler=None, eta=0.0, rng=None)``:
    HumanMAC completions with the settings spelled as keywords (predicted ends of 30 observed frames
    unless told otherwise, the paper's form)."""
    from config.completions import CompletionSettings, SamplerSettings

    def run(model, windows, n_g, *, observed=30, gap="end", steps=50, sampler=None, eta=0.0, rng=None):
        sampler = (sampler or SamplerSettings()).model_copy(update={"eta": eta})
        settings = CompletionSettings(n_g=n_g, observed=observed, gap=gap, steps=steps, sampler=sampler)
        return model.generate(windows, settings, rng=rng)

    return run
