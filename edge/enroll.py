"""Enrolment: a few recorded clips of normal behaviour -> a versioned, calibrated profile.

Clips are cut into windows by the benchmark's rule (``models.preprocess.clip_to_windows``), enlarged
with HumanMAC completions when that model is available (Algorithm 2: N_s clips -> N_s·(1+N_g)
support windows), embedded with the running encoder backend and given a threshold calibrated from
the support set alone (``edge.scoring.calibrate_threshold``, leave-one-clip-out).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from clips import Clip
from config.completions import CompletionSettings
from config.worker import CalibrationConfig
from edge.backends import EncoderBackend
from edge.profiles import Profile, check_name
from edge.scoring import calibrate_threshold
from models.preprocess import ClipError, clip_to_windows

if TYPE_CHECKING:
    from models.humanmac import HumanMAC

log = logging.getLogger("haad.enroll")


@dataclass(frozen=True)
class Augmentation:
    """HumanMAC completions added to every support window (Algorithm 2): the generator, what it
    generates, and the noise seed."""

    generator: HumanMAC
    completions: CompletionSettings = CompletionSettings()
    seed: int = 0

    def settings(self) -> dict[str, Any]:
        """Every setting but the model, JSON-ready (profile metadata, evaluation reports)."""
        return {**self.completions.model_dump(), "seed": self.seed}


def augment_support(windows: np.ndarray, augmentation: Augmentation) -> tuple[np.ndarray, np.ndarray]:
    """The support windows plus ``n_g`` HumanMAC completions of each.

    windows: ``(S, F, J, 3)`` normalised support windows. Returns ``(S·(1+n_g), F, J, 3)`` float32
    windows (the S originals first, then the variants of window 0, of window 1, ...) and
    ``(S·(1+n_g),)`` source ids: the index of the support window each one is or completes. All
    ``S·n_g`` samples are generated in one batched sampling call.
    """
    import torch

    w = np.asarray(windows, dtype=np.float32)
    s, n_g = len(w), augmentation.completions.n_g
    sources = np.arange(s)
    if s == 0:
        return w.copy(), sources
    variants = augmentation.generator.generate(
        w, augmentation.completions, rng=torch.Generator().manual_seed(augmentation.seed)
    )  # (S, n_g, F, J, 3)
    out = np.concatenate([w, variants.reshape(s * n_g, *w.shape[1:])])
    return out, np.concatenate([sources, np.repeat(sources, n_g)])


def build_profile(
    name: str,
    clips: Sequence[Clip],
    backend: EncoderBackend,
    *,
    calibration: CalibrationConfig,
    augmentation: Augmentation | None = None,
) -> Profile:
    """A new (unsaved, version 0) profile from ``clips``. Raises ValueError when nothing is usable."""
    check_name(name)
    windows: list[np.ndarray] = []
    groups: list[np.ndarray] = []
    used: list[str] = []
    for c in clips:
        try:
            w = clip_to_windows(c.joints, c.times, backend.spec)
        except ClipError as e:
            log.warning("clip %s skipped: %s", c.name, e)
            continue
        windows.append(w)
        groups.append(np.full(len(w), len(used)))
        used.append(c.name)
    if not windows:
        raise ValueError("no usable clip to enrol (each was empty, all-NaN or malformed)")
    support, clip_of = np.concatenate(windows), np.concatenate(groups)
    n_real = len(support)
    source = np.arange(n_real)  # the real window each support window is (or completes)
    aug_meta = None
    if augmentation is not None:
        support, source = augment_support(support, augmentation)
        clip_of = clip_of[source]  # variants belong to their source window's clip
        aug_meta = {"model": augmentation.generator.fingerprint, **augmentation.settings()}
    embeddings = backend.embed(support)
    real = np.arange(len(support)) < n_real  # augment_support puts the originals first
    # With one clip there is no other clip to leave out: leave out one window (and its variants).
    groups_for_calibration = clip_of if len(used) > 1 else source
    cal = calibrate_threshold(
        embeddings,
        groups_for_calibration,
        target_far=calibration.target_far,
        margin=calibration.margin,
        queries=real,
    )
    meta = {
        "model_version": backend.model_version,
        "window": backend.spec.to_dict(),
        "calibration": cal.to_dict(),
        "sources": used,
        "support_windows": int(len(support)),
        "augmentation": aug_meta,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return Profile(name, 0, embeddings, clip_of, support, cal.threshold, meta)


def default_augmentation(completions: CompletionSettings, path: Path | None = None) -> Augmentation | None:
    """HumanMAC augmentation with the bundled (or given) model; None, with a warning, if the model is
    absent."""
    from models.humanmac import load_humanmac

    try:
        return Augmentation(load_humanmac(path), completions)
    except FileNotFoundError as e:
        log.warning("enrolling without HumanMAC augmentation: %s", e)
        return None
