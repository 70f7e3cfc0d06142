"""Training-time generative augmentation (Algorithm 1): HumanMAC variants as extra positives.

Each training clip is cut into windows every ``bank_stride`` frames; ``bank_size`` HumanMAC
completions of each are generated once into an :class:`~training.augbank.AugmentationBank` (so runs
with different N_g share one bank). When the sampler draws a window (a random crop) from a clip, N_g
of the variants of that clip's bank window nearest to the crop, drawn at random, join the batch
with the crop's label: positives of every window of the category (Eq. 5).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from config.training import AugmentSettings, GenerativeAugSettings
from models.humanmac import HumanMAC
from models.preprocess import WindowSpec, cut_windows, normalise_windows
from training.augbank import AugmentationBank, BankSettings
from training.train_encoder import VariantSource
from training.windows import TrainClips, augment_windows


def bank_windows(
    train: TrainClips, spec: WindowSpec, stride: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised windows of every clip every ``stride`` frames -> (windows, clip index, centre frame)."""
    strided = replace(spec, clip_stride=stride)
    windows, clip_of, centres = [], [], []
    for i, frames in enumerate(train.frames):
        w = cut_windows(frames, strided)
        n = len(frames)
        if n < spec.frames:  # one padded window, centred on the clip
            starts = [-(spec.frames - n) // 2]
        else:
            starts = list(range(0, n - spec.frames + 1, stride))
            if starts[-1] + spec.frames < n:
                starts.append(n - spec.frames)
        windows.append(normalise_windows(w, spec))
        clip_of += [i] * len(w)
        centres += [s + (spec.frames - 1) / 2 for s in starts]
    return np.concatenate(windows), np.array(clip_of), np.array(centres, dtype=np.float64)


def bank_variant_source(
    train: TrainClips,
    spec: WindowSpec,
    settings: GenerativeAugSettings,
    augment: AugmentSettings,
    generator: HumanMAC,
    *,
    seed: int = 0,
    progress: bool = True,
) -> VariantSource:
    """A variant source for :func:`training.train_encoder.train_encoder` backed by a cached bank."""
    if settings.n_g > settings.bank_size:
        raise ValueError(f"N_g ({settings.n_g}) exceeds the bank's {settings.bank_size} variants per window")
    windows, clip_of, centres = bank_windows(train, spec, settings.bank_stride)
    bank = AugmentationBank(settings.cache_dir).load_or_build(
        windows,
        generator,
        BankSettings(
            n_g=settings.bank_size,
            observed=settings.observed,
            steps=settings.steps,
            seed=seed,
            sampler=settings.sampler,
        ),  # fmt: skip
        progress=progress,
    )
    rows_of_clip = [np.flatnonzero(clip_of == i) for i in range(len(train.frames))]

    def variants(clip_idx: np.ndarray, crop_centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        picked = []
        for i, c in zip(clip_idx, crop_centres, strict=True):
            rows = rows_of_clip[i]
            picked.append(rows[np.argmin(np.abs(centres[rows] - c))])
        draws = np.argsort(rng.random((len(picked), settings.bank_size)), axis=1)[:, : settings.n_g]
        gen = bank[np.array(picked)[:, None], draws].astype(np.float32)  # (B, N_g, F, J, 3)
        b, g = gen.shape[:2]
        return augment_windows(gen.reshape(b * g, *gen.shape[2:]), augment, rng).reshape(gen.shape)

    return variants
