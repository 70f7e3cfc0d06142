"""Support-set augmentation at enrolment (Algorithm 2, lines 2-7) and its timing benchmark."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from config.sampling import SUPPORT_GAP, SUPPORT_OBSERVED, Gap
from models.humanmac import HumanMAC
from models.preprocess import clip_to_windows
from training.datasets import load_dataset
from training.protocol import KINDER_GATOR


def augment_support(
    windows: np.ndarray,
    generator: HumanMAC,
    n_g: int,
    *,
    observed: int = SUPPORT_OBSERVED,
    gap: Gap = SUPPORT_GAP,
    steps: int = 100,
    seed: int = 0,
    eta: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The support windows plus ``n_g`` HumanMAC completions of each.

    windows: ``(S, F, J, 3)`` normalised support windows. Returns ``(S·(1+n_g), F, J, 3)`` float32
    windows (the S originals first, then the variants of window 0, of window 1, ...) and
    ``(S·(1+n_g),)`` group ids: the index of the support window each one comes from. ``n_g = 0``
    returns the originals. All ``S·n_g`` samples are generated in one batched sampling call. ``gap``:
    where in the window the completions differ from it (:mod:`models.humanmac.sampler`).
    """
    w = np.asarray(windows, dtype=np.float32)
    s = len(w)
    groups = np.arange(s)
    if n_g < 0:
        raise ValueError(f"n_g must be >= 0; got {n_g}")
    if n_g == 0 or s == 0:
        return w.copy(), groups
    variants = generator.generate(
        w, n_g, observed=observed, gap=gap, steps=steps, eta=eta, rng=torch.Generator().manual_seed(seed)
    )  # (S, n_g, F, J, 3)
    out = np.concatenate([w, variants.reshape(s * n_g, *w.shape[1:])])
    return out, np.concatenate([groups, np.repeat(groups, n_g)])


def benchmark_support_aug(
    generator: HumanMAC,
    *,
    clips: int = 3,
    samples: int = 10,
    steps: int = 100,
    repeats: int = 3,
    data_root: str | None = None,
) -> dict[str, Any]:
    """Seconds to augment a support set of ``clips`` Kinder-Gator test clips (all their windows).

    The clips are the first ``clips`` test-participant clips of the first category (sorted) that has
    that many, as an enrolment would provide. One untimed warm-up call, then ``repeats`` timed ones.
    """
    test = [
        c
        for c in load_dataset(KINDER_GATOR.dataset, data_root).clips
        if c.subject in KINDER_GATOR.test_subjects
    ]
    label = next(lb for lb in sorted({c.label for c in test}) if sum(c.label == lb for c in test) >= clips)
    chosen = [c for c in test if c.label == label][:clips]
    windows = np.concatenate([clip_to_windows(c.joints, c.times, generator.spec) for c in chosen])
    augment_support(windows, generator, samples, steps=steps)
    times = []
    for r in range(repeats):
        started = time.perf_counter()
        augment_support(windows, generator, samples, steps=steps, seed=r)
        times.append(time.perf_counter() - started)
    return {
        "category": label,
        "clips": [c.name for c in chosen],
        "support_windows": int(len(windows)),
        "generated": int(len(windows) * samples),
        "steps": steps,
        "threads": torch.get_num_threads(),
        "seconds": times,
        "median_s": float(np.median(times)),
    }
