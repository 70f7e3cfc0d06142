"""MacDiff augmentation of the encoder's training batches (``macdiff_augment``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from config.loader import parse_config
from config.training import EncoderTrainConfig, MacDiffAugSettings
from models.macdiff import MacDiff, save_macdiff
from models.preprocess import WindowSpec
from training.macdiff_aug import macdiff_augmenter
from training.train_encoder import train_encoder


@pytest.fixture
def macdiff_path(tiny_macdiff: MacDiff, tmp_path: Path) -> Path:
    path = tmp_path / "md.safetensors"
    save_macdiff(path, tiny_macdiff, {})
    return path


def test_variants_join_the_batch_with_their_sources_labels(macdiff_path: Path) -> None:
    augment = macdiff_augmenter(MacDiffAugSettings(model=str(macdiff_path), ratio=0.5), WindowSpec(), seed=0)
    rng = np.random.default_rng(0)
    windows = np.cumsum(rng.normal(0.0, 0.03, size=(8, 60, 20, 3)), axis=1).astype(np.float32)
    labels = np.arange(8) % 4
    out, out_labels = augment(windows, labels, rng)
    assert out.shape == (12, 60, 20, 3) and np.array_equal(out[:8], windows)
    # each variant carries the label of the window it is nearest to (its source)
    nearest = np.linalg.norm(out[8:, None] - windows[None], axis=-1).mean(axis=(2, 3)).argmin(axis=1)
    assert np.array_equal(out_labels[8:], labels[nearest])
    assert np.array_equal(out_labels[:8], labels)


def test_window_length_must_match(macdiff_path: Path) -> None:
    with pytest.raises(ValueError, match="60-frame windows, the encoder uses 30"):
        macdiff_augmenter(MacDiffAugSettings(model=str(macdiff_path)), WindowSpec(frames=30), seed=0)


@pytest.mark.slow  # trains an encoder for real
def test_encoder_trains_with_the_switch_on(macdiff_path: Path, tmp_path: Path, data_root: Path) -> None:
    text = (
        f"datasets: [msr]\nsteps: 3\ndata_root: {data_root}\nencoder: {{hidden: 16, blocks: 1, members: 1}}\n"
    )
    cfg = parse_config(text + f"macdiff_augment: {{model: {macdiff_path}, ratio: 1.0}}\n", EncoderTrainConfig)
    result = train_encoder(cfg, out=tmp_path / "enc.safetensors", progress=False)
    assert result.path.exists() and np.isfinite(result.metrics["final_loss"])
