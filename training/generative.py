"""Training-time generative augmentation (Algorithm 1): HumanMAC variants as extra positives.

Each training clip is cut into windows every ``bank_stride`` frames; ``bank.n_g`` HumanMAC
completions of each are generated once into an :class:`~training.augbank.AugmentationBank` (so runs
with different N_g share one bank). When the sampler draws a window (a random crop) from a clip, N_g
of the variants of that clip's bank window nearest to the crop, drawn at random, join the batch
with the crop's label: positives of every window of the category (Eq. 5).

A completion is a plausible motion, not necessarily one of its source's category: under the bundled
encoder only about half of the bank's variants lie nearest to their own category's centroid (real
windows: four in five). ``filter_encoder`` keeps only those; a window left without a consistent
variant contributes its real bank window instead (another augmented view of real motion).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from config.training import AugmentSettings, GenerativeAugSettings
from models.embedding import EmbedFn, embed_all
from models.encoder import encoder_embed_fn, load_encoder
from models.humanmac import HumanMAC
from models.preprocess import WindowSpec, cut_windows, normalise_windows
from models.scoring import pairwise_distances
from training.augbank import AugmentationBank, BankSettings
from training.windows import TrainClips, augment_windows

log = logging.getLogger(__name__)

# Given the sampled windows' clip indices and crop centres, N_g normalised generated windows of each:
# (B,) clip indices, (B,) crop centres, rng -> (B, N_g, F, J, 3).
VariantSource = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]


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


def consistent_variants(
    windows: np.ndarray, variants: np.ndarray, labels: np.ndarray, embed: EmbedFn
) -> tuple[np.ndarray, float]:
    """``(W, N)`` mask over ``variants`` ``(W, N, F, J, 3)`` of ``windows`` ``(W, F, J, 3)`` (category
    indices ``labels`` ``(W,)``): True where, under ``embed``, the variant's nearest category centroid of
    the real windows is its source window's category; and the share of real windows passing the same
    test (what a consistent variant is compared with)."""
    real = embed_all(embed, windows)
    categories = np.unique(labels)
    centroids = np.stack([real[labels == k].mean(axis=0) for k in categories])

    def own_category(embeddings: np.ndarray, source: np.ndarray) -> np.ndarray:
        return categories[pairwise_distances(embeddings, centroids).argmin(axis=1)] == source

    generated = embed_all(embed, variants.reshape(-1, *windows.shape[1:]))
    keep = own_category(generated, np.repeat(labels, variants.shape[1])).reshape(variants.shape[:2])
    return keep, float(own_category(real, labels).mean())


def draw_variants(
    bank: np.ndarray,
    keep: np.ndarray,
    windows: np.ndarray,
    rows: np.ndarray,
    n_g: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """``n_g`` variants ``(B, n_g, F, J, 3)`` float32 of each bank window in ``rows``, drawn at random
    from those ``keep`` ``(W, N)`` marks; where fewer are marked, the real window stands in."""
    draws = np.argsort(rng.random((len(rows), bank.shape[1])) - keep[rows], axis=1)[:, :n_g]  # kept first
    gen = bank[rows[:, None], draws].astype(np.float32)
    fallback = ~keep[rows[:, None], draws]
    gen[fallback] = np.broadcast_to(windows[rows][:, None], gen.shape)[fallback]
    return gen


def bank_variant_source(
    train: TrainClips,
    spec: WindowSpec,
    settings: GenerativeAugSettings,
    augment: AugmentSettings,
    generator: HumanMAC,
    *,
    seed: int = 0,
    progress: bool = True,
) -> tuple[VariantSource, dict[str, Any]]:
    """A variant source for :func:`training.train_encoder.train_encoder` backed by a cached bank, and
    facts about the bank for the checkpoint's metadata (its size; with ``filter_encoder``, the share
    of variants kept and, for comparison, the share of real windows nearest their own centroid)."""
    windows, clip_of, centres = bank_windows(train, spec, settings.bank_stride)
    bank = AugmentationBank(settings.cache_dir).load_or_build(
        windows,
        generator,
        BankSettings(completions=settings.bank, seed=seed),
        progress=progress,
    )
    keep = np.ones(bank.shape[:2], dtype=bool)
    info: dict[str, Any] = {"bank_windows": int(bank.shape[0]), "bank_variants": int(keep.size)}
    if settings.filter_encoder is not None:
        encoder, encoder_spec, _ = load_encoder(Path(settings.filter_encoder))
        # It embeds windows the bank has already cut: how it would cut short clips does not matter.
        if replace(encoder_spec, short=spec.short) != spec:
            raise ValueError(f"filter encoder uses windows {encoder_spec}, this training {spec}")
        keep, real_share = consistent_variants(
            windows, bank, train.labels[clip_of], encoder_embed_fn(encoder)
        )
        info["consistent_variants"] = float(keep.mean())
        info["consistent_real_windows"] = real_share
        log.info("consistent variants: %.1f%% of %d", 100 * keep.mean(), keep.size)
    rows_of_clip = [np.flatnonzero(clip_of == i) for i in range(len(train.frames))]

    def variants(clip_idx: np.ndarray, crop_centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        picked = []
        for i, c in zip(clip_idx, crop_centres, strict=True):
            rows = rows_of_clip[i]
            picked.append(rows[np.argmin(np.abs(centres[rows] - c))])
        gen = draw_variants(bank, keep, windows, np.array(picked), settings.n_g, rng)
        b, g = gen.shape[:2]
        return augment_windows(gen.reshape(b * g, *gen.shape[2:]), augment, rng).reshape(gen.shape)

    return variants, info
