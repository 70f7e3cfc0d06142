"""``haad bench support-aug``: how long HumanMAC takes to augment a few-clip support set (the
enrolment path, Algorithm 2 lines 2-7)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from config.completions import CompletionSettings
from edge.enroll import Augmentation, augment_support
from models.humanmac import HumanMAC
from models.preprocess import clip_to_windows
from training.datasets import load_dataset
from training.protocol import KINDER_GATOR


def benchmark_support_aug(
    generator: HumanMAC,
    completions: CompletionSettings,
    *,
    clips: int = 3,
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
    augment_support(windows, Augmentation(generator, completions))
    times = []
    for r in range(repeats):
        started = time.perf_counter()
        augment_support(windows, Augmentation(generator, completions, seed=r))
        times.append(time.perf_counter() - started)
    return {
        "category": label,
        "clips": [c.name for c in chosen],
        "support_windows": int(len(windows)),
        "generated": int(len(windows) * completions.n_g),
        "steps": completions.steps,
        "threads": torch.get_num_threads(),
        "seconds": times,
        "median_s": float(np.median(times)),
    }
