"""Enrolment: a few recorded clips of normal behaviour -> a versioned, calibrated profile.

Clips are cut into windows by the benchmark's rule (``models.preprocess`` ``clip_frames`` then
``cut_windows``, the rule the live path uses for short segments too), enlarged with HumanMAC
completions when asked (Algorithm 2: N_s clips -> N_s·(1+N_g) support windows), embedded with the
running encoder backend and given a threshold calibrated from the support set alone
(``edge.scoring.calibrate_threshold``: leave-one-clip-out, or with one clip its two halves).

A clip must hold at least ``worker.min_segment_s`` of skeleton (live never scores less), a lone clip
twice that (:func:`clip_problems`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
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
from edge.segments import min_segment_frames, skeleton_seconds, too_short
from models.preprocess import (
    ClipError,
    WindowSpec,
    clip_frames,
    clip_to_windows,
    cut_windows,
    normalise_windows,
)

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


def short_reason(n_frames: int, spec: WindowSpec, min_segment_s: float) -> str | None:
    """Why a clip of ``n_frames`` resampled frames of skeleton is too short to enrol; None if it is not."""
    if n_frames >= min_segment_frames(spec, min_segment_s):
        return None
    return too_short(skeleton_seconds(n_frames, spec), min_segment_s)


def clip_problems(
    lengths: Sequence[tuple[str, int]], spec: WindowSpec, min_segment_s: float, *, total: int | None = None
) -> list[str]:
    """Why clips of these lengths (name, resampled frames of usable skeleton) cannot be enrolled
    together; empty when they can. ``total``: clips in the whole enrolment (default: these). The
    rule: every clip holds at least ``min_segment_s`` of skeleton (edge/segments.py: live never
    scores less), and a lone clip twice that, because its threshold comes from its two halves."""
    need = min_segment_frames(spec, min_segment_s)
    problems = [f"{name}: {why}" for name, n in lengths if (why := short_reason(n, spec, min_segment_s))]
    lone = (len(lengths) if total is None else total) == 1
    if lone and len(lengths) == 1 and not problems and lengths[0][1] < 2 * need:
        name, n = lengths[0]
        problems.append(
            f"{name}: one clip of {skeleton_seconds(n, spec):.2f} s cannot set a threshold: with one clip "
            f"its first half is scored against its second half, and each half needs at least "
            f"{min_segment_s:g} s (worker.min_segment_s); enrol a clip of at least "
            f"{2 * skeleton_seconds(need, spec):g} s, or a second clip"
        )
    return problems


def build_profile(
    name: str,
    clips: Sequence[Clip],
    backend: EncoderBackend,
    *,
    calibration: CalibrationConfig,
    augmentation: Augmentation | None = None,
    min_segment_s: float = 1.0,
    split_stride: int = 5,
) -> Profile:
    """A new (unsaved, version 0) profile from ``clips``.

    Clips that cannot be used (empty, all-NaN, malformed, under ``min_segment_s`` of skeleton) are
    skipped with a warning and listed in the metadata. With one usable clip, the threshold comes from
    windows of its first half against windows of its second half, each cut every ``split_stride``
    frames (the live stride, so several windows even from a short clip). Raises ValueError when no
    clip is usable, or one clip is too short to split (:func:`clip_problems`).
    """
    check_name(name)
    spec = backend.spec
    frames: list[np.ndarray] = []
    windows: list[np.ndarray] = []
    used: list[str] = []
    skipped: dict[str, str] = {}
    for c in clips:
        try:
            f = clip_frames(c.joints, c.times, spec)
            if why := short_reason(len(f), spec, min_segment_s):
                skipped[c.name] = why
                continue
            windows.append(clip_to_windows(c.joints, c.times, spec))  # the benchmark's own windows
        except ClipError as e:
            skipped[c.name] = str(e)
            continue
        frames.append(f)
        used.append(c.name)
    for clip_name, why in skipped.items():
        log.warning("clip %s skipped: %s", clip_name, why)
    if not frames:
        raise ValueError(
            "no usable clip to enrol (" + "; ".join(f"{k}: {v}" for k, v in skipped.items()) + ")"
        )
    if problems := clip_problems(list(zip(used, map(len, frames), strict=True)), spec, min_segment_s):
        raise ValueError("; ".join(problems))
    support = np.concatenate(windows)
    clip_of = np.concatenate([np.full(len(w), i) for i, w in enumerate(windows)])
    n_real = len(support)
    source = np.arange(n_real)  # the real window each support window is (or completes)
    aug_meta = None
    if augmentation is not None:
        support, source = augment_support(support, augmentation)
        clip_of = clip_of[source]  # variants belong to their source window's clip
        aug_meta = {"model": augmentation.generator.fingerprint, **augmentation.settings()}
    embeddings = backend.embed(support)
    cal_windows = cal_groups = None
    if len(frames) > 1:
        real = np.arange(len(support)) < n_real  # augment_support puts the originals first
        cal = calibrate_threshold(
            embeddings, clip_of, target_far=calibration.target_far, margin=calibration.margin, queries=real
        )
    else:
        cal_windows, cal_groups = split_halves(frames[0], spec, split_stride)
        cal = calibrate_threshold(
            backend.embed(cal_windows), cal_groups, target_far=calibration.target_far,
            margin=calibration.margin, method="split_halves",
        )  # fmt: skip
    meta = {
        "model_version": backend.model_version,
        "window": spec.to_dict(),
        "min_segment_s": min_segment_s,
        "calibration": {**cal.to_dict(), "split_stride": split_stride if cal_windows is not None else None},
        "sources": used,
        "skipped": skipped,
        "support_windows": int(len(support)),
        "augmentation": aug_meta,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return Profile(name, 0, embeddings, clip_of, support, cal.threshold, meta, cal_windows, cal_groups)


def split_halves(frames: np.ndarray, spec: WindowSpec, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """One clip's resampled frames ``(N, J, 3)`` -> normalised windows of its first and of its second
    half, each cut by enrolment's rule every ``stride`` frames, and their half (0 or 1)."""
    dense = replace(spec, clip_stride=stride)
    halves = [frames[: len(frames) // 2], frames[len(frames) // 2 :]]
    windows = [normalise_windows(cut_windows(h, dense), spec) for h in halves]
    return np.concatenate(windows), np.concatenate([np.full(len(w), i) for i, w in enumerate(windows)])


def reembed(profile: Profile, backend: EncoderBackend, calibration: CalibrationConfig) -> Profile:
    """``profile`` as ``backend`` sees it: its support windows re-embedded and its threshold
    recalibrated the same way (unchanged when ``backend`` runs the model it was enrolled with), so
    embeddings of different models are never compared."""
    if profile.model_version == backend.model_version:
        return profile
    emb = backend.embed(profile.windows.astype(np.float32))
    far, margin = calibration.target_far, calibration.margin
    if profile.calibration_windows is not None and profile.calibration_groups is not None:
        cal_emb = backend.embed(profile.calibration_windows.astype(np.float32))
        cal = calibrate_threshold(
            cal_emb, profile.calibration_groups, target_far=far, margin=margin, method="split_halves"
        )
    else:
        cal = calibrate_threshold(emb, profile.groups, target_far=far, margin=margin)
    calibration_meta = {**profile.meta.get("calibration", {}), **cal.to_dict()}
    meta = {**profile.meta, "model_version": backend.model_version, "calibration": calibration_meta}
    return replace(profile, embeddings=emb, threshold=cal.threshold, meta=meta)


def default_augmentation(completions: CompletionSettings, path: Path | None = None) -> Augmentation | None:
    """HumanMAC augmentation with the bundled (or given) model; None, with a warning, if the model is
    absent."""
    from models.humanmac import load_humanmac

    try:
        return Augmentation(load_humanmac(path), completions)
    except FileNotFoundError as e:
        log.warning("enrolling without HumanMAC augmentation: %s", e)
        return None
