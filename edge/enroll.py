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

from config.sampling import SUPPORT_GAP, SUPPORT_OBSERVED, Gap
from config.worker import CalibrationConfig
from edge.backends import EncoderBackend
from edge.profiles import Profile, check_name
from edge.scoring import calibrate_threshold
from models.preprocess import ClipError, clip_to_windows

if TYPE_CHECKING:
    from models.humanmac import HumanMAC

log = logging.getLogger("haad.enroll")


@dataclass(frozen=True)
class EnrolClip:
    """A recorded clip in the canonical skeleton: joints ``(T, 20, 3)``, times ``(T,)`` seconds."""

    name: str
    joints: np.ndarray
    times: np.ndarray


@dataclass(frozen=True)
class Augmentation:
    """HumanMAC completions added to every support window (N_g, observed frames O, where the
    generated frames are, DDIM steps)."""

    generator: HumanMAC
    n_g: int = 10
    observed: int = SUPPORT_OBSERVED
    gap: Gap = SUPPORT_GAP
    steps: int = 100
    seed: int = 0

    def settings(self) -> dict[str, Any]:
        """Every setting but the model, JSON-ready (profile metadata, evaluation reports)."""
        return {k: getattr(self, k) for k in ("n_g", "observed", "gap", "steps", "seed")}


def build_profile(
    name: str,
    clips: Sequence[EnrolClip],
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
        from config.sampling import SamplerSettings
        from training.support_aug import augment_support

        support, source = augment_support(
            support,
            augmentation.generator,
            augmentation.n_g,
            observed=augmentation.observed,
            gap=augmentation.gap,
            steps=augmentation.steps,
            seed=augmentation.seed,
        )
        clip_of = clip_of[source]  # variants belong to their source window's clip
        aug_meta = {
            "model": augmentation.generator.fingerprint,
            **augmentation.settings(),
            "sampler": SamplerSettings().model_dump(),
        }
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


def default_augmentation(path: Path | None = None, **settings: Any) -> Augmentation | None:
    """HumanMAC augmentation with the bundled (or given) model and ``settings`` (the fields of
    :class:`Augmentation`); None, with a warning, if the model is absent."""
    from models.humanmac import load_humanmac

    try:
        return Augmentation(load_humanmac(path), **settings)
    except FileNotFoundError as e:
        log.warning("enrolling without HumanMAC augmentation: %s", e)
        return None
