"""MediaPipe Pose as a sensor: turn Kinect skeletons into what the live RGB frontend would deliver.

The benchmarks and the training sets are Kinect v1 recordings, but the edge device sees people
through MediaPipe Pose on an RGB camera. The two sensors differ in ways an encoder notices:

* joint definitions: MediaPipe's hips sit on the hip joints (wider than Kinect's pelvis points), and
  HipCenter, Spine, ShoulderCenter, Head and the hands are synthesised by
  :func:`models.skeleton.from_mediapipe33` from other landmarks;
* MediaPipe world landmarks are centred on the mid-hip in every frame, so the root's trajectory is lost,
  and their metric scale comes from a learned body-size prior rather than from the person;
* depth is regressed from one image: root-relative ``z`` is stretched and wanders slowly;
* ``x``/``y`` jitter;
* joints dropped at low visibility, which the live worker fills by interpolation
  (:func:`models.preprocess.fill_gaps`, ``max_gap_s``).

:func:`simulate` applies all of these to canonical frames; :class:`SensorModel` holds the figures it
uses, measured on real MediaPipe runs by ``docs/experiments/2026-11-30-mediapipe-sensor/measure.py``
and stored in ``models/sensors/<name>.json``. numpy only: the edge runtime may import this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from models import skeleton
from models.skeleton import NUM_JOINTS, J

SENSORS_DIR = Path(__file__).parent / "sensors"
SENSOR_NAMES: tuple[str, ...] = ("mediapipe",)

# Joints whose position MediaPipe reports (directly, or as the mean of two landmarks: Head = mid-ears,
# Hand = mid index/pinky knuckles). HipCenter, Spine and ShoulderCenter are built from them.
_SOURCE_JOINTS: tuple[int, ...] = tuple(
    J[n] for n in skeleton.JOINT_NAMES if n not in ("HipCenter", "Spine", "ShoulderCenter")
)
_HL, _HR, _SL, _SR = J["HipLeft"], J["HipRight"], J["ShoulderLeft"], J["ShoulderRight"]


@dataclass(frozen=True)
class SensorModel:
    """Measured parameters of a pose sensor relative to Kinect v1 (see module docstring).

    Lengths marked "torso" are in torso lengths: canonical HipCenter -> ShoulderCenter as
    :func:`models.skeleton.from_mediapipe33` builds it. Per-joint tuples have 20 entries in canonical
    order; entries of HipCenter, Spine and ShoulderCenter are ignored by :func:`simulate` (those
    joints follow the hips and shoulders).
    """

    name: str
    source: str  # one sentence: how the figures were measured (names the command)
    # --- joint definitions (dimensionless factors applied to Kinect geometry) ---
    hip_width_scale: float  # HipLeft/HipRight spread about their midpoint
    shoulder_width_scale: float  # ShoulderLeft/ShoulderRight spread about their midpoint
    head_offset_scale: float  # Head's offset from the mid-shoulder
    hand_offset_scale: float  # Hand's offset from the wrist
    foot_offset_scale: float  # Foot's offset from the ankle
    hip_width_ratio: float  # target: hip width / torso in real output (torso); what the scale aims at
    torso_length_m: float  # metric torso length of the output (m); <= 0 keeps the input's scale
    # --- regressed depth ---
    depth_spread_ratio: float  # target: RMS root-relative z in output / input (dimensionless)
    depth_scale: float  # factor on hip-centred z (calibrated so that noise + scale give the target)
    depth_scale_log_std: float  # per-clip log-normal spread of depth_scale
    # --- landmark error: a per-clip offset plus AR(1) wander, per joint and axis ---
    noise_std: tuple[float, float, float]  # stationary std of the x, y, z wander (torso)
    noise_tau_s: tuple[float, float, float]  # correlation time of the x, y, z wander (s)
    noise_bias_std: tuple[float, float, float]  # std of a joint's x, y, z offset held for a clip (torso)
    noise_joint_factor: tuple[float, ...]  # per-joint multiplier of both (20, mean 1 over sources)
    # --- visibility drops, filled by interpolation as the live worker does ---
    visibility_threshold: float  # joints below this visibility are dropped (NaN) by the frontend
    drop_rate: tuple[float, ...]  # fraction of frames each joint is below the threshold (20)
    drop_duration_s: tuple[float, ...]  # mean length of a joint's drop (s) (20)
    frame_drop_rate: float  # fraction of frames lost whole (no person, or mean visibility too low)
    frame_drop_duration_s: float  # mean length of a whole-frame loss (s)
    max_gap_s: float  # longest drop generated: the worker bridges up to this and resets beyond

    def __post_init__(self) -> None:
        for f in ("noise_joint_factor", "drop_rate", "drop_duration_s"):
            if len(getattr(self, f)) != NUM_JOINTS:
                raise ValueError(f"SensorModel.{f} needs {NUM_JOINTS} entries; got {len(getattr(self, f))}")
        for f in ("noise_std", "noise_tau_s", "noise_bias_std"):
            if len(getattr(self, f)) != 3:
                raise ValueError(f"SensorModel.{f} needs 3 entries (x, y, z)")
        rates = (*self.drop_rate, self.frame_drop_rate)
        if any(not 0.0 <= r < 1.0 for r in rates):
            raise ValueError("drop rates must lie in [0, 1)")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SensorModel:
        """Build from a dict of the fields; a ``measurements`` entry (raw figures) is ignored."""
        d = {k: v for k, v in d.items() if k != "measurements"}
        names = {f.name for f in fields(cls)}
        if set(d) != names:
            raise ValueError(f"sensor model keys differ: missing {names - set(d)}, unknown {set(d) - names}")
        kwargs: dict[str, Any] = {
            k: tuple(float(x) for x in v) if isinstance(v, list) else v for k, v in d.items()
        }
        return cls(**kwargs)


def load_sensor(name: str) -> SensorModel:
    """The sensor model stored as ``models/sensors/<name>.json``; ValueError for an unknown name."""
    if name not in SENSOR_NAMES:
        raise ValueError(f"unknown sensor {name!r}; known: {', '.join(SENSOR_NAMES)}")
    return SensorModel.from_dict(json.loads((SENSORS_DIR / f"{name}.json").read_text()))


def mediapipe_geometry(frames: np.ndarray, model: SensorModel) -> np.ndarray:
    """Move Kinect's joints to where MediaPipe's landmarks sit: ``(N, T, 20, 3)`` -> same shape.

    Only the joints MediaPipe reports are moved (hips and shoulders spread about their midpoints, head,
    hand and foot offsets scaled); HipCenter, Spine and ShoulderCenter are left for
    :func:`models.skeleton.from_mediapipe33` to rebuild.
    """
    p = frames.copy()
    for (a, b), k in (((_HL, _HR), model.hip_width_scale), ((_SL, _SR), model.shoulder_width_scale)):
        mid = 0.5 * (frames[..., a, :] + frames[..., b, :])
        p[..., a, :] = mid + k * (frames[..., a, :] - mid)
        p[..., b, :] = mid + k * (frames[..., b, :] - mid)
    mid_shoulder = 0.5 * (frames[..., _SL, :] + frames[..., _SR, :])
    p[..., J["Head"], :] = mid_shoulder + model.head_offset_scale * (frames[..., J["Head"], :] - mid_shoulder)
    for side in ("Left", "Right"):
        for end, base, k in (
            ("Hand", "Wrist", model.hand_offset_scale),
            ("Foot", "Ankle", model.foot_offset_scale),
        ):
            e, b = J[end + side], J[base + side]
            p[..., e, :] = frames[..., b, :] + k * (frames[..., e, :] - frames[..., b, :])
    return p


def _hip_centre(p: np.ndarray) -> None:
    """Subtract each frame's mid-hip from ``(N, T, 20, 3)`` in place."""
    for a in range(3):  # one axis at a time: numpy is slow on an innermost broadcast of length 3
        pa = p[..., a]
        pa -= 0.5 * (pa[..., _HL : _HL + 1] + pa[..., _HR : _HR + 1])


def _ar1(rng: np.random.Generator, shape: tuple[int, ...], rho: np.ndarray) -> np.ndarray:
    """Unit-variance stationary AR(1) noise ``shape`` ``(N, T, ...)`` correlated along T; ``rho``
    broadcasts against ``shape[2:]``. Returned as a view of a time-major array (contiguous steps)."""
    n, t = shape[:2]
    out = rng.standard_normal((t, n, *shape[2:]), dtype=np.float32)
    flat = out.reshape(t, n, -1)  # long inner loops: numpy is slow on innermost 3-vectors
    r = np.broadcast_to(rho, shape[2:]).reshape(-1).astype(np.float32)
    flat[1:] *= np.sqrt(1.0 - r**2)
    for i in range(1, t):
        flat[i] += r * flat[i - 1]
    return np.moveaxis(out, 0, 1)


def _drops(
    rng: np.random.Generator,
    n: int,
    t: int,
    rate: np.ndarray,
    duration_s: np.ndarray,
    fps: float,
    max_run: int,
) -> np.ndarray:
    """Two-state Markov drop masks ``(N, T, K)`` (True = dropped) with stationary ``rate`` ``(K,)`` and
    mean run ``duration_s``; runs are cut at ``max_run`` frames so every gap is one the worker fills."""
    k = rate.shape[0]
    mask = np.zeros((n, t, k), dtype=bool)
    if max_run < 1 or not np.any(rate > 0):
        return mask
    p_exit = np.clip(1.0 / np.maximum(duration_s * fps, 1e-6), 0.0, 1.0)
    p_enter = np.clip(rate * p_exit / np.maximum(1.0 - rate, 1e-6), 0.0, 1.0)
    u = rng.random((n, t, k))
    state = u[:, 0] < rate
    run = state.astype(np.int32)
    mask[:, 0] = state
    for i in range(1, t):
        stay = state & (u[:, i] >= p_exit) & (run < max_run)
        start = ~state & (u[:, i] < p_enter)
        state = stay | start
        run = np.where(state, run + 1, 0)
        mask[:, i] = state
    return mask


def _fill(x: np.ndarray, dropped: np.ndarray) -> np.ndarray:
    """Linear interpolation in time over dropped samples, ends held at the nearest kept value.

    x: ``(N, T, J, 3)``, changed in place and returned; dropped: ``(N, T, J)``. A joint dropped in
    every frame keeps its values. Matches :func:`models.preprocess.fill_gaps` on uniform timestamps
    for interior gaps.
    """
    t = x.shape[1]
    ti = np.arange(t, dtype=np.int32)[None, :, None]
    prev = np.maximum.accumulate(np.where(dropped, -1, ti), axis=1)
    nxt = np.minimum.accumulate(np.where(dropped, t, ti)[:, ::-1], axis=1)[:, ::-1]
    bn, bt, bj = np.nonzero(dropped)  # only the dropped samples are touched: a few percent
    lo, hi = prev[bn, bt, bj], nxt[bn, bt, bj]
    lo_ok, hi_ok = lo >= 0, hi < t
    lo, hi = np.where(lo_ok, lo, np.where(hi_ok, hi, bt)), np.where(hi_ok, hi, np.where(lo_ok, lo, bt))
    w = np.where(hi > lo, (bt - lo) / np.maximum(hi - lo, 1), 0.0).astype(np.float32)[:, None]
    x[bn, bt, bj] = (1.0 - w) * x[bn, lo, bj] + w * x[bn, hi, bj]
    return x


def simulate(frames: np.ndarray, fps: float, model: SensorModel, rng: np.random.Generator) -> np.ndarray:
    """What the live MediaPipe frontend would deliver for the motion in Kinect frames.

    frames: ``(..., T, 20, 3)`` raw canonical frames (metres, finite) resampled at ``fps``: one clip
        ``(T, 20, 3)`` or a batch of windows ``(B, T, 20, 3)``; each leading item is treated as one clip
        (its own depth scale, metric scale and noise).
    Returns the same shape, float32, no NaN, canonical axes (y up, +x the subject's right): the
    joints ``from_mediapipe33`` would give for per-frame hip-centred landmarks, so the mid-hip is the
    origin of every frame whose hips were not dropped and filled, and HipCenter sits above it.
    The input is not modified. Steps and figures: docs/experiments/2026-11-30-mediapipe-sensor.md.
    """
    x = np.asarray(frames, dtype=np.float32)
    if x.ndim < 3 or x.shape[-2:] != (NUM_JOINTS, 3):
        raise ValueError(f"frames must have shape (..., T, {NUM_JOINTS}, 3); got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("frames must be finite (fill gaps before simulating the sensor)")
    if fps <= 0:
        raise ValueError(f"fps must be positive; got {fps}")
    lead, t = x.shape[:-3], x.shape[-3]
    x = x.reshape(-1, t, NUM_JOINTS, 3)
    n = x.shape[0]

    # Scaling and noise commute with the per-frame hip-centring (all linear), so one centring at the
    # end gives scale about the mid-hip and MediaPipe's origin on its own noisy mid-hip.
    p = mediapipe_geometry(x, model)
    hips_to_shoulders = 0.5 * (p[..., _SL, :] + p[..., _SR, :] - p[..., _HL, :] - p[..., _HR, :])
    torso = (1.0 - skeleton.HIP_CENTER_LIFT) * np.median(np.linalg.norm(hips_to_shoulders, axis=-1), axis=1)
    torso = np.maximum(torso, 1e-3).astype(np.float32)  # (N,)
    gain = np.ones((n, 3), dtype=np.float32)
    if model.torso_length_m > 0:
        # MediaPipe's metric scale is a learned prior: a child comes out adult-sized.
        gain *= (model.torso_length_m / torso)[:, None]
        torso = np.full(n, model.torso_length_m, dtype=np.float32)
    gain[:, 2] *= model.depth_scale * np.exp(model.depth_scale_log_std * rng.standard_normal(n))
    flat = p.reshape(n, t, NUM_JOINTS * 3)  # a view: a long inner loop instead of 3-vectors
    flat *= np.tile(gain, NUM_JOINTS)[:, None, :]

    tau = np.asarray(model.noise_tau_s, dtype=np.float64)
    rho = np.exp(-1.0 / (fps * np.maximum(tau, 1e-6))).astype(np.float32)  # (3,)
    factor = np.asarray(model.noise_joint_factor, dtype=np.float32)
    sigma = factor[:, None] * np.asarray(model.noise_std, dtype=np.float32)  # (20, 3)
    noise = _ar1(rng, p.shape, rho)
    noise *= sigma * torso[:, None, None, None]
    p += noise
    # The offset shares the wander's per-joint profile (extremities err most in both).
    sigma_bias = factor[:, None] * np.asarray(model.noise_bias_std, dtype=np.float32)
    p += (
        rng.standard_normal((n, 1, NUM_JOINTS, 3), dtype=np.float32) * sigma_bias * torso[:, None, None, None]
    )
    _hip_centre(p)

    out = skeleton.rebuild_trunk(p)

    src = np.asarray(_SOURCE_JOINTS)
    rate = np.append(np.asarray(model.drop_rate)[src], model.frame_drop_rate)
    dur = np.append(np.asarray(model.drop_duration_s)[src], model.frame_drop_duration_s)
    max_run = int(np.floor(model.max_gap_s * fps + 1e-6)) - 1
    m = _drops(rng, n, t, rate, dur, fps, max_run)
    dropped = np.zeros((n, t, NUM_JOINTS), dtype=bool)
    dropped[..., src] = m[..., :-1]
    # A synthesised joint is missing when a landmark it is built from is (mediapipe_visibility's rule).
    hips_or_shoulders = dropped[..., [_HL, _HR, _SL, _SR]].any(axis=-1)
    dropped[..., J["HipCenter"]] = hips_or_shoulders
    dropped[..., J["Spine"]] = hips_or_shoulders
    dropped[..., J["ShoulderCenter"]] = dropped[..., [_SL, _SR]].any(axis=-1)
    dropped |= m[..., -1:]
    if dropped.any():
        out = _fill(out, dropped)
    return out.astype(np.float32, copy=False).reshape(*lead, t, NUM_JOINTS, 3)
