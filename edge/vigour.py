"""Vigour: how fast a person moves about their own hips, against the most vigorous normal second.

Where normal is standing or sitting still, the encoder places different people's calm about as far
apart as calm and a punch (issue 21: 0.79 against 1.01), so a threshold calibrated on three other
people's second of calm either misses the strikes or floods. What the strikes share is speed. A
second's vigour is the median over its frames of the mean joint speed about the root, in torso
lengths per second (so children and adults, and any sensor's units, compare); the median ignores a
few frames of tracking glitches. A profile's reference is its most vigorous second: of its enrolled
clips (``meta["vigour"]``, written at enrolment) and of the windows feedback marked normal.

A window's last second at least ``worker.vigour_factor`` times the reference is abnormal, by how much
(:func:`ratios`, :func:`hinge`); below that, vigour says nothing, so a walking profile's scores are the
encoder's. On every built-in stream set no second of normal motion by a person who was not enrolled
reaches 3 times the reference (docs/experiments/2026-12-06-vigour.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edge.profiles import FEEDBACK, Profile
from models.preprocess import WindowSpec
from models.skeleton import ROOT, torso_length

SECOND_S = 1.0  # the stretch a vigour is measured over
STRIDE = 5  # frames between the stretches of a clip or window (the live hop at 20 fps)
MIN_REFERENCE = 0.1  # torso lengths / s: a perfectly still enrolment (synthetic clips) is not a zero


def speeds(frames: np.ndarray, dt: np.ndarray | float, *, torso: bool = True) -> np.ndarray:
    """Frames ``(..., T, J, 3)``, ``dt`` seconds between frames (scalar, one per sequence, or one per
    step ``(..., T - 1)``) -> ``(..., T - 1)`` mean joint speed about the root, in the sequence's
    median torso lengths per second (``torso`` False: in the frames' own units per second, e.g. the
    worker's windows, normalised to a torso length of 1 already)."""
    xt = np.asarray(frames, np.float32).swapaxes(-1, -2)  # (..., T, 3, J): joints innermost, faster
    d = xt[..., 1:, :, :] - xt[..., :-1, :, :]
    d -= d[..., ROOT : ROOT + 1].copy()  # about the root (a copy: in place, the overlap is slower)
    d *= d
    step = d[..., 0, :] + d[..., 1, :] + d[..., 2, :]
    step = np.sqrt(step, out=step).mean(-1)
    scale = np.asarray(dt, np.float64)
    if scale.ndim < step.ndim:  # one per sequence
        scale = scale[..., None]
    if torso:
        scale = scale * np.median(torso_length(np.asarray(frames)), axis=-1)[..., None]
    return (step / np.maximum(scale, 1e-9)).astype(np.float32)


def most_vigorous(frames: np.ndarray, fps: float) -> float:
    """The largest vigour of any second of ``frames`` ``(..., T, J, 3)`` at ``fps`` (every ``STRIDE``
    frames; the whole sequence where it is shorter than a second); NaN where nothing is finite."""
    s = speeds(np.asarray(frames, np.float32), 1.0 / fps)
    n = min(max(round(SECOND_S * fps), 2) - 1, s.shape[-1])
    if n < 1:
        return float("nan")
    stretches = np.lib.stride_tricks.sliding_window_view(s, n, axis=-1)[..., ::STRIDE, :]
    med = np.median(stretches, axis=-1)
    return float(np.nanmax(med)) if np.isfinite(med).any() else float("nan")


def enrolled_reference(clips: Sequence[np.ndarray], fps: float) -> float:
    """The most vigorous second of enrolment clips (each ``(N, J, 3)`` resampled to ``fps``)."""
    found = [v for c in clips if np.isfinite(v := most_vigorous(c, fps))]
    return max(found) if found else float("nan")


def reference(profile: Profile, spec: WindowSpec, *, overlay: bool = False) -> float:
    """A profile's reference: the larger of its enrolled clips' (``meta["vigour"]``) and its feedback
    windows' most vigorous second, at least ``MIN_REFERENCE``. NaN (vigour off) for a profile enrolled
    before vigour was recorded: its clips' vigour is unknown. A camera's ``overlay`` holds marked
    windows only: theirs, 0 when it has none."""
    enrolled = 0.0 if overlay else float(profile.meta.get("vigour", np.nan))
    if np.isnan(enrolled):
        return float("nan")
    marked = [int(b["id"]) for b in profile.behaviour_table if b.get("kind") == FEEDBACK]
    rows = np.ones(len(profile.windows), bool) if overlay else np.isin(profile.behaviour_ids, marked)
    found = most_vigorous(profile.windows[rows], spec.fps) if rows.any() else float("nan")
    best = max(enrolled, found) if np.isfinite(found) else enrolled
    return best if overlay else max(best, MIN_REFERENCE)


def last_second(windows: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """Normalised windows ``(B, F, J, 3)`` (torso length 1) with ``(B,)`` real seconds between their frames -> ``(B,)``
    the vigour of each one's last second (of all of it where it spans less)."""
    f = windows.shape[1] - 1  # speeds per window
    n = np.clip(np.round(SECOND_S / np.maximum(dt, 1e-6)).astype(int), 1, f)
    sizes = np.unique(n)  # only the last second's frames are measured (the worker's hot path)
    if len(sizes) == 1:  # the usual batch: every window full
        return np.median(speeds(windows[:, f - sizes[0] :], dt, torso=False), axis=-1)
    out = np.empty(len(windows), np.float32)
    for size in sizes:
        rows = np.flatnonzero(n == size)
        out[rows] = np.median(speeds(windows[rows, f - size :], dt[rows], torso=False), axis=-1)
    return out


def ratios(vigour: np.ndarray, references: np.ndarray, factor: float) -> np.ndarray:
    """``(B,)`` vigours against ``(B, P)`` references (or ``(1, P)``: one row for all) -> ``(B, P)``
    vigour over ``factor`` times the reference; 0 where either is unknown (NaN) or vigour is off
    (``factor`` 0)."""
    if factor <= 0:
        return np.zeros((len(vigour), np.shape(references)[-1]), np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = vigour[:, None] / (factor * references)
    return np.nan_to_num(r, nan=0.0, posinf=0.0).astype(np.float32)


def hinge(ratio: np.ndarray, vigour_ratio: np.ndarray) -> np.ndarray:
    """A score-to-threshold ``ratio`` raised to the vigour ratio where that is over 1 (and unchanged
    elsewhere: a calm second's vigour says nothing)."""
    return np.where(vigour_ratio > 1.0, np.maximum(ratio, vigour_ratio), ratio).astype(np.float32)
