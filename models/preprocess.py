"""Preprocessing shared by training, evaluation, enrolment and the live window worker.

One implementation, numpy-only: the same functions turn a recorded clip or a live stream into the
normalised 60-frame windows the encoder sees. Shapes: a clip is ``(T, J, 3)`` canonical joints with
``(T,)`` timestamps in seconds; a batch of windows is ``(B, F, J, 3)``.

The rule that turns a clip into windows (benchmark, enrolment and augmentation all use it):

1. drop rows whose timestamp does not increase (duplicate rows keep the first);
2. fill short gaps (NaN joints) by linear interpolation in time;
3. resample by timestamps to ``spec.fps`` (linear interpolation);
4. a clip shorter than ``spec.frames`` becomes one window: re-timed to fill it (``short="retime"``:
   a short action is seen whole, at a slower pace) or centred and padded by holding its first and
   last pose (``short="pad"``: the person stands still before and after); a longer clip gives windows starting
   every ``spec.clip_stride`` frames, plus one window aligned to the clip's end when the strided
   windows miss its tail;
5. each window is normalised independently by :func:`normalise_windows`.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from models import skeleton

RootMode = Literal["first_frame", "per_frame"]
ShortRule = Literal["retime", "pad"]


@dataclass(frozen=True)
class WindowSpec:
    """How skeleton streams become encoder windows. Stored with every encoder checkpoint.

    frames: window length in frames.
    fps: frame rate windows are resampled to (frames / fps = window duration in seconds).
    clip_stride: stride in frames between windows cut from a recorded clip.
    root: ``first_frame`` subtracts the HipCenter of the window's first frame from every frame
        (movement of the body within the window is kept); ``per_frame`` centres every frame.
    scale: divide by the window's median torso length (HipCenter -> ShoulderCenter), so adults,
        children and sensors with other bone proportions land on one scale.
    facing: rotate about the vertical so the subject's left->right axis at the first frame is +x.
    max_gap_s: NaN runs up to this long (seconds) are interpolated; longer ones break the clip.
    short: how a clip shorter than a window fills it: ``retime`` stretches it in time, ``pad`` holds
        its first and last pose (checkpoints from before this setting existed pad).
    """

    frames: int = 60
    fps: float = 20.0
    clip_stride: int = 30
    root: RootMode = "first_frame"
    scale: bool = True
    facing: bool = True
    max_gap_s: float = 0.5
    short: ShortRule = "pad"

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WindowSpec:
        return cls(**d)


def same_frames(model: str, its: WindowSpec, encoders: WindowSpec) -> None:
    """Refuse a model that takes windows of another length than the encoder cuts, before scoring."""
    if its.frames != encoders.frames:
        raise ValueError(
            f"{model} takes windows of {its.frames} frames, the encoder cuts {encoders.frames}; use one "
            "trained with the same window.frames"
        )


class ClipError(ValueError):
    """A clip that cannot be turned into windows (empty, wrong shape, all NaN, ...)."""


def check_clip(joints: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate a canonical clip; returns float32 joints and float64 times. Raises ClipError."""
    joints = np.asarray(joints)
    times = np.asarray(times, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (skeleton.NUM_JOINTS, 3):
        raise ClipError(f"a clip must have shape (T, {skeleton.NUM_JOINTS}, 3); got {joints.shape}")
    if joints.shape[0] == 0:
        raise ClipError("the clip is empty (0 frames)")
    if times.shape != (joints.shape[0],):
        raise ClipError(f"expected {joints.shape[0]} timestamps; got shape {times.shape}")
    if not np.all(np.isfinite(times)):
        raise ClipError("timestamps must be finite")
    return joints.astype(np.float32, copy=False), times


def drop_non_increasing(joints: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep only rows whose timestamp is larger than every earlier kept one."""
    keep = np.ones(len(times), dtype=bool)
    last = -np.inf
    for i, t in enumerate(times):
        if t <= last:
            keep[i] = False
        else:
            last = t
    return joints[keep], times[keep]


def fill_gaps(joints: np.ndarray, times: np.ndarray, max_gap_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Interpolate NaN joint runs no longer than ``max_gap_s`` between two valid samples.

    Returns ``(filled, valid)``: filled joints ``(T, J, 3)`` and ``valid`` ``(T,)``, False for frames
    that still hold a NaN (gaps too long, or at the clip's ends).
    """
    out = joints.astype(np.float32, copy=True)
    bad = ~np.isfinite(out).all(axis=-1)  # (T, J)
    for j in np.flatnonzero(bad.any(axis=0)):
        missing = bad[:, j]
        good = np.flatnonzero(~missing)
        if good.size == 0:
            continue
        # Each missing frame between two good ones is filled if that good-to-good span is short.
        idx = np.flatnonzero(missing)
        right = np.searchsorted(good, idx)
        inner = (right > 0) & (right < good.size)
        idx, right = idx[inner], right[inner]
        lo, hi = good[right - 1], good[right]
        short = (times[hi] - times[lo]) <= max_gap_s + 1e-9
        idx, lo, hi = idx[short], lo[short], hi[short]
        w = ((times[idx] - times[lo]) / (times[hi] - times[lo]))[:, None]
        out[idx, j] = (1.0 - w) * out[lo, j] + w * out[hi, j]
    valid = np.isfinite(out).all(axis=(-1, -2))
    return out, valid


def resample(joints: np.ndarray, times: np.ndarray, fps: float) -> np.ndarray:
    """Linear resampling of ``(T, J, 3)`` at uniform steps of ``1/fps`` from ``times[0]``.

    ``times`` must be strictly increasing. Returns ``(N, J, 3)`` with N = floor(span * fps) + 1.
    """
    if len(times) == 1:
        return joints.copy()
    n = int(np.floor((times[-1] - times[0]) * fps + 1e-6)) + 1
    return interpolate_at(joints, times, times[0] + np.arange(n) / fps)


def interpolate_at(
    joints: np.ndarray | Sequence[np.ndarray],
    times: np.ndarray | Sequence[float],
    grid: np.ndarray | Sequence[float],
) -> np.ndarray:
    """Linear interpolation of ``(T, J, 3)`` frames (an array, or a list of ``(J, 3)`` arrays; T >= 2,
    strictly increasing ``times``) at ``grid`` times (arrays or lists).

    Points outside ``[times[0], times[-1]]`` hold the end pose. Returns ``(len(grid), J, 3)`` float32.
    The live window worker resamples stream segments with it, exactly as :func:`resample` does clips.
    """
    # Each grid point's neighbours and weights in Python (bisect): the live window resamples about
    # five points per window from a list of frames, where a vectorised search costs a dozen numpy
    # calls (docs/experiments/2026-12-06-worker-speed-3.md); a clip pays about 1 us a point.
    t = times.tolist() if isinstance(times, np.ndarray) else times
    last = len(t) - 1
    rows: list[int] = []  # left and right neighbour of each grid point, in turn
    weights: list[float] = []  # their weights, 1 - w and w
    for x in grid.tolist() if isinstance(grid, np.ndarray) else grid:
        right = min(max(bisect.bisect_right(t, x), 1), last)
        w = min(max((x - t[right - 1]) / (t[right] - t[right - 1]), 0.0), 1.0)
        rows += (right - 1, right)
        weights += (1.0 - w, w)
    if not rows:
        return np.zeros((0, *joints[0].shape), np.float32)
    pairs = joints[rows] if isinstance(joints, np.ndarray) else np.array([joints[i] for i in rows])
    # (1 - w) * left + w * right in float64 (the weights' type), then float32: one product, one sum.
    both = np.array(weights)[:, None, None] * pairs
    return np.add(both[0::2], both[1::2]).astype(np.float32)


def cut_windows(frames: np.ndarray, spec: WindowSpec) -> np.ndarray:
    """Resampled clip ``(N, J, 3)`` -> raw windows ``(W, spec.frames, J, 3)`` by the module's rule."""
    n, f = len(frames), spec.frames
    if n < f and spec.short == "retime" and n > 1:
        return retime(frames[None], f)
    if n < f:
        before = (f - n) // 2
        after = f - n - before
        padded = np.concatenate(
            [np.repeat(frames[:1], before, axis=0), frames, np.repeat(frames[-1:], after, axis=0)]
        )
        return padded[None]
    starts = list(range(0, n - f + 1, spec.clip_stride))
    if starts[-1] + f < n:
        starts.append(n - f)
    return np.stack([frames[s : s + f] for s in starts])


def retime(frames: np.ndarray, f: int) -> np.ndarray:
    """Stretch ``(B, n, J, 3)`` frames (n >= 2) in time to ``(B, f, J, 3)`` by linear interpolation:
    the ``retime`` rule that fits a short clip, or a short crop of a window, to the encoder's length."""
    b, n = frames.shape[:2]
    flat = np.asarray(frames, dtype=np.float32).reshape(b, n, -1)
    return np.matmul(retime_matrix(n, f), flat).reshape(b, f, *frames.shape[2:])


@lru_cache(maxsize=32)
def retime_matrix(n: int, f: int) -> np.ndarray:
    """``(f, n)`` float32: :func:`retime` as one matrix over time (row t holds the two interpolation
    weights of output frame t; rows sum to 1). Read-only, cached: the worker retimes every batch's crops."""
    if n < 2:
        raise ValueError(f"retiming needs at least 2 frames; got {n}")
    pos = np.linspace(0.0, n - 1.0, f)
    lo = np.minimum(np.floor(pos).astype(int), n - 2)
    w = pos - lo
    m = np.zeros((f, n), np.float64)
    m[np.arange(f), lo] = 1.0 - w
    m[np.arange(f), lo + 1] += w
    out = m.astype(np.float32)
    out.setflags(write=False)
    return out


def crop_starts(f: int, n: int, stride: int | None = None) -> list[int]:
    """First frames of the ``n``-frame crops of an ``f``-frame window: the last ``n`` frames only
    (``stride`` None), or every ``stride`` frames plus the last."""
    return [f - n] if stride is None else sorted({*range(0, f - n + 1, stride), f - n})


def crop_windows(windows: np.ndarray, n: int, spec: WindowSpec, stride: int | None = None) -> np.ndarray:
    """Windows ``(B, F, J, 3)`` (raw or normalised: normalisation is a shift, a turn and a scale, so a
    crop of a normalised window normalises like the same crop of the raw one) -> their crops of ``n``
    frames re-timed to ``spec.frames`` and normalised, ``(B * K, spec.frames, J, 3)``, window by window:
    the last ``n`` frames only (``stride`` None: K = 1), or crops every ``stride`` frames plus the last.

    Equal (to float rounding) to ``normalise_windows(retime(crops, spec.frames), spec)``, computed in
    the other order: re-timing mixes neighbouring frames with weights summing to 1, so it commutes
    with the shift and the linear map. The map needs only the crop's first frame (kept as is by
    re-timing) and its torso lengths (re-timed alone); the ``n`` frames are normalised, then re-timed.
    """
    starts = crop_starts(windows.shape[1], n, stride)
    crops = np.stack([windows[:, s : s + n] for s in starts], axis=1)
    flat = np.asarray(crops, dtype=np.float32).reshape(-1, *crops.shape[2:])  # (B*K, n, J, 3)
    lengths = None
    if spec.scale:  # the torso vectors (B*K, n, 3), re-timed, then measured
        torso = flat[:, :, skeleton.TORSO[1]] - flat[:, :, skeleton.TORSO[0]]
        torso = np.matmul(retime_matrix(n, spec.frames), torso)
        lengths = np.sqrt(np.einsum("bti,bti->bt", torso, torso))
    return retime(apply_maps(flat, maps_of(flat[:, 0], lengths, spec), spec), spec.frames)


def clip_frames(joints: np.ndarray, times: np.ndarray, spec: WindowSpec) -> np.ndarray:
    """Steps 1-3 of the rule: a canonical clip -> raw frames ``(N, J, 3)`` resampled to ``spec.fps``.

    The longest stretch of valid frames is used when unfillable gaps split the clip.
    Raises :class:`ClipError` for an empty clip, a wrong shape or a clip with no valid frame.
    """
    joints, times = check_clip(joints, times)
    joints, times = drop_non_increasing(joints, times)
    joints, valid = fill_gaps(joints, times, spec.max_gap_s)
    if not valid.any():
        raise ClipError("the clip has no frame with all joints finite")
    if not valid.all():
        start, stop = longest_run(valid)
        joints, times = joints[start:stop], times[start:stop]
    return resample(joints, times, spec.fps)


def clip_to_windows(joints: np.ndarray, times: np.ndarray, spec: WindowSpec) -> np.ndarray:
    """A recorded canonical clip -> normalised windows ``(W, spec.frames, 20, 3)`` float32."""
    return normalise_windows(cut_windows(clip_frames(joints, times, spec), spec), spec)


def longest_run(mask: np.ndarray) -> tuple[int, int]:
    """``[start, stop)`` of the longest run of True in a 1-D boolean mask (must contain a True)."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    starts, stops = edges[::2], edges[1::2]
    k = int(np.argmax(stops - starts))
    return int(starts[k]), int(stops[k])


def normalise_windows(windows: np.ndarray, spec: WindowSpec) -> np.ndarray:
    """Root, facing and scale normalisation of raw windows ``(B, F, J, 3)`` -> float32 copy.

    Facing and scale make one linear map per window (:func:`window_maps`), applied with the root
    offset in one matmul and one subtraction, each running along frames x joints: three passes over
    the batch instead of a dozen (the worker normalises every batch; docs/worker.md).
    """
    w = np.asarray(windows, dtype=np.float32)
    if w.ndim != 4 or w.shape[2:] != (skeleton.NUM_JOINTS, 3):
        raise ValueError(f"windows must have shape (B, F, {skeleton.NUM_JOINTS}, 3); got {w.shape}")
    return apply_maps(w, window_maps(w, spec), spec)


def apply_maps(w: np.ndarray, maps: np.ndarray, spec: WindowSpec) -> np.ndarray:
    """``(B, F, J, 3)`` float32 points -> their root offset taken away and mapped by ``maps``
    ``(B, 3, 3)`` (row vectors), as a new array."""
    b, f, j, _ = w.shape
    root = w[:, : 1 if spec.root == "first_frame" else f, skeleton.ROOT]  # (B, 1 or F, 3)
    # map^T @ points^T keeps frames x joints as the long inner axis; (B, 3, F, J) is then written
    # straight into the (B, F, J, 3) result through a transposed view.
    moved = np.matmul(maps.transpose(0, 2, 1), w.reshape(b, f * j, 3).transpose(0, 2, 1)).reshape(b, 3, f, j)
    offset = np.matmul(root, maps).transpose(0, 2, 1)[..., None]  # (B, 3, 1 or F, 1)
    out = np.empty_like(w)
    np.subtract(moved, offset, out=out.transpose(0, 3, 1, 2))
    return out


def window_maps(windows: np.ndarray, spec: WindowSpec) -> np.ndarray:
    """The facing rotation and scale of each raw window ``(B, F, J, 3)`` as ``(B, 3, 3)`` float32
    matrices acting on row vectors: the rotation about y that makes the left->right axis of the first
    frame +x (:func:`rotate_y`'s), divided by the median torso length."""
    return maps_of(windows[:, 0], skeleton.torso_length(windows) if spec.scale else None, spec)


def maps_of(first: np.ndarray, torso: np.ndarray | None, spec: WindowSpec) -> np.ndarray:
    """:func:`window_maps` from what it needs: each window's first frame ``(B, J, 3)`` and its torso
    length per frame ``(B, F)`` (None when ``spec.scale`` is off)."""
    b = len(first)
    maps = np.zeros((b, 3, 3), np.float32)
    maps[:, 1, 1] = 1.0
    if spec.facing:
        j = skeleton.J
        across = (first[:, j["ShoulderRight"]] - first[:, j["ShoulderLeft"]]) + (
            first[:, j["HipRight"]] - first[:, j["HipLeft"]]
        )
        angle = np.arctan2(across[:, 2], across[:, 0])  # angle of the across-body axis from +x toward +z
        degenerate = np.hypot(across[:, 0], across[:, 2]) < 1e-6
        angle = np.where(degenerate, 0.0, angle)
        c, s = np.cos(angle), np.sin(angle)
        maps[:, 0, 0], maps[:, 2, 0], maps[:, 0, 2], maps[:, 2, 2] = c, s, -s, c
    else:
        maps[:, 0, 0] = maps[:, 2, 2] = 1.0
    if spec.scale:
        assert torso is not None
        maps /= np.maximum(np.median(torso, axis=1), 1e-3)[:, None, None]
    return maps


def rotate_y(windows: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate ``(B, ..., 3)`` points about the vertical axis by ``angle`` ``(B,)`` radians (x toward z).

    A positive angle turns +z toward +x, i.e. undoes an across-body axis pointing ``angle`` from +x
    toward +z.
    """
    c = np.cos(angle).astype(np.float32)
    s = np.sin(angle).astype(np.float32)
    shape = (-1,) + (1,) * (windows.ndim - 2)
    c, s = c.reshape(shape), s.reshape(shape)
    x, y, z = windows[..., 0], windows[..., 1], windows[..., 2]
    return np.stack([c * x + s * z, y, -s * x + c * z], axis=-1)
