"""The worker's short scale: each window's last second or so, scored by the same encoder.

A 3-second window is hot once anything abnormal is inside it and stays hot until it has all left,
so a window's score says *whether* but not *when* (issue 24). Beside it, the worker scores the
window's last ``short_window_s`` (``WorkerConfig``): those frames re-timed to the encoder's length
(:func:`models.preprocess.crop_windows`, the ``retime`` rule of short clips). The profile's support
at that scale is every crop of its support windows (every ``CROP_STRIDE`` frames), and its threshold
is calibrated from them by the profile's own rule (:func:`edge.enroll.calibrated`) with the
encoder's prior for that scale (models/calibration_prior.py): crops lie further from one another
than whole windows, so each scale needs its own threshold.

A window's score is then ``max(score / threshold)`` over the two scales, in units of the full
window's threshold (:func:`fuse`): the episode rules, the stored scores and the threshold keep
their meaning, and a window is hot as soon as either scale says so.

A moment's score (:func:`moment_scores`) also counts a kinematic score of the crops around it (their
raw-DCT distance to the support cropped alike, over its own threshold), weighted by how well that
score agrees with the encoder on the support alone (:func:`kinematic_weight`): on some behaviours
the kinematic score sees a second-long action sooner than the encoder, on others (walking as the
normal) it ranks by speed what the encoder does not count, and enrolment can tell which
(docs/experiments/2026-12-06-say-when-4.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from config.worker import CalibrationConfig
from edge.backends import EncoderBackend
from edge.enroll import calibrated
from edge.profiles import Profile
from edge.scoring import leave_one_clip_out_scores
from models.preprocess import WindowSpec, crop_starts, crop_windows

CROP_STRIDE = 5  # frames between the crops of a support window (the live hop at 20 fps)


def crop_frames(seconds: float, spec: WindowSpec) -> int:
    """Frames of a short-scale crop (at least 2, at most a window)."""
    return int(min(max(round(seconds * spec.fps), 2), spec.frames))


def short_profile(
    profile: Profile, backend: EncoderBackend, calibration: CalibrationConfig, seconds: float
) -> Profile:
    """``profile`` at the short scale: every crop of its support (and calibration) windows, embedded,
    and its threshold calibrated from them (module docstring). Crops keep their window's clip, behaviour
    and generated flag, so leave-one-clip-out leaves a clip's crops out together."""
    spec = backend.spec
    n = crop_frames(seconds, spec)
    k = len(crop_starts(profile.windows.shape[1], n, CROP_STRIDE))  # crops per window

    def crops(windows: np.ndarray) -> np.ndarray:
        return crop_windows(windows.astype(np.float32), n, spec, CROP_STRIDE)

    windows = crops(profile.windows)
    cal = profile.calibration_windows
    at_scale = replace(
        profile,
        embeddings=backend.embed(windows),
        groups=np.repeat(profile.groups, k),
        windows=windows,
        behaviours=None if profile.behaviours is None else np.repeat(profile.behaviours, k),
        generated=np.repeat(profile.generated_rows, k),
        calibration_windows=None if cal is None else crops(cal),
        calibration_groups=None
        if profile.calibration_groups is None
        else np.repeat(profile.calibration_groups, k),
        calibration_behaviours=None
        if profile.calibration_behaviours is None
        else np.repeat(profile.calibration_behaviours, k),
    )
    return calibrated(at_scale, backend, calibration, scale_s=seconds)


def short_embeddings(windows: np.ndarray, backend: EncoderBackend, seconds: float) -> np.ndarray:
    """Every crop (every ``CROP_STRIDE`` frames) of ``windows`` ``(A, F, J, 3)``, embedded: a camera
    overlay's marked windows at the short scale, each crop a behaviour of its own."""
    if not len(windows):
        return np.zeros((0, backend.embedding_dim), np.float32)
    crops = crop_windows(
        windows.astype(np.float32), crop_frames(seconds, backend.spec), backend.spec, CROP_STRIDE
    )
    return backend.embed(crops)


def live_crops(
    windows: np.ndarray, segment_frames: Sequence[int | None], seconds: float, spec: WindowSpec
) -> np.ndarray:
    """Windows ``(B, F, J, 3)`` -> normalised windows of their last ``seconds``, ``(B, F, J, 3)``. A
    window of a short segment (``segment_frames``: the frames of it it holds, re-timed to ``F``) is
    cropped to its share of its last ``seconds``; one no longer than that is its own crop."""
    n = crop_frames(seconds, spec)
    f = spec.frames
    sizes = np.array([n if m is None else min(f, max(2, round(f * n / m))) for m in segment_frames])
    kinds = np.unique(sizes)
    if len(kinds) == 1:  # every crop alike (the usual batch, no short segment): no gather
        return crop_windows(windows, int(kinds[0]), spec)
    out = np.empty((len(windows), f, *windows.shape[2:]), np.float32)
    for size in kinds:
        rows = np.flatnonzero(sizes == size)
        out[rows] = crop_windows(windows[rows], int(size), spec)
    return out


def fuse(
    full: np.ndarray, short: np.ndarray, full_thresholds: np.ndarray, short_thresholds: np.ndarray
) -> np.ndarray:
    """``(B, P)`` scores at both scales -> the larger score-to-threshold ratio, times the full window's
    threshold (NaN where either is NaN)."""
    ratio = np.maximum(full / full_thresholds, short / short_thresholds)
    return (ratio * full_thresholds).astype(np.float32)


def rank_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two equally long score vectors (ties share their mean rank; 0
    where either is constant)."""

    def ranks(x: np.ndarray) -> np.ndarray:
        _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
        return (np.cumsum(counts) - (counts + 1) / 2)[inverse]

    ra, rb = ranks(np.asarray(a)), ranks(np.asarray(b))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    norm = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / norm) if norm > 0 else 0.0


def kinematic_weight(encoder_profile: Profile, kinematic_profile: Profile, floor: float = 0.0) -> float:
    """How much a moment's score counts the kinematic score, from the enrolment alone: the rank
    agreement of the two scorers' leave-one-clip-out scores on the same support crops (both profiles
    from :func:`short_profile` of one profile), at least ``floor``. A kinematic score that ranks normal
    variation as the encoder does measures the same departures and counts fully. One that disagrees
    may measure something the encoder does not count as abnormal (raw-DCT ranks walking's own
    variation against sitting down backwards), or there may be nothing to rank: a few calm clips vary
    by noise alone, and there sudden motion is what the kinematic score sees best. The floor keeps it
    in the score for the latter (worker.kinematic_floor)."""
    rows = ~encoder_profile.generated_rows

    def loo(p: Profile) -> np.ndarray:
        return leave_one_clip_out_scores(p.embeddings, p.groups, rows, p.behaviour_ids)

    if len(np.unique(encoder_profile.groups[rows])) < 2:  # one clip: nothing left out to rank
        return floor
    return max(rank_agreement(loo(encoder_profile), loo(kinematic_profile)), floor)


def moment_scores(
    windows: np.ndarray, crops: np.ndarray, kinematic: np.ndarray | None = None, weight: float = 0.0
) -> np.ndarray:
    """The score of each moment from the scales' score-to-threshold ratios around it (each a centre-
    weighted mean over the spans covering the moment: the windows' own ratio before :func:`fuse`,
    the crops', and the crops' kinematic ratio): their weighted geometric mean, the windows and
    crops weighing 1 each and the kinematic term ``weight`` (:func:`kinematic_weight`), so a moment
    scores high only where the 3 s context and the last second both depart from normal; where no
    crop covers it (NaN), the windows' alone. Measured against the mean, each scale alone, fused
    windows and an unweighted kinematic term in docs/experiments/2026-12-05-say-when.md,
    2026-12-05-say-when-3.md and 2026-12-06-say-when-4.md."""
    has_crop = ~np.isnan(crops)  # before a segment's first crop: the windows' alone
    terms = [(windows, 1.0, ~np.isnan(windows)), (crops, 1.0, has_crop)]
    if kinematic is not None and weight > 0:
        terms.append((kinematic, weight, has_crop & ~np.isnan(kinematic)))
    logs, weights = np.zeros(np.shape(windows)), np.zeros(np.shape(windows))
    for x, w, ok in terms:
        with np.errstate(divide="ignore"):  # a score of 0 makes the moment's 0
            logs += np.where(ok, w * np.log(np.maximum(np.where(ok, x, 1.0), 0.0)), 0.0)
        weights += np.where(ok, w, 0.0)
    with np.errstate(invalid="ignore"):
        return np.where(weights > 0, np.exp(logs / np.maximum(weights, 1e-12)), np.nan)
