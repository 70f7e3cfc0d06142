"""A procedural performer: canonical skeletons from a script of motions, no camera and no files.

The body is a kinematic tree over ``models.skeleton`` with fixed, Kinect-v1-like adult bone
lengths (torso 0.45 m, upper arm 0.28 m, thigh 0.42 m, ...). Each motion is a function of time
that sets local joint rotations; forward kinematics turns them into joints, so bone lengths stay
constant by construction (up to the optional sensor noise). Consecutive motions are cross-faded in
joint-angle space and the body is kept on the floor by its lowest joint, so the motion is smooth.

Coordinates are Kinect-like camera space: the performer stands about 2.5 m in front of the camera
(``z`` = 2.5), facing it (looking toward ``-z``), floor at ``y = -0.95``. Numpy only.

    performer = SyntheticPerformer([("walk_in_place", 10.0), ("fall", 4.0)], fps=30, seed=0)
    for t, joints in performer:  # t in seconds from 0, joints (20, 3) float32
        ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import get_args

import numpy as np

from config.frontend import Motion
from models.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS, J

FLOOR_Y = -0.95
STAND_Z = 2.5
# Height of the lowest joint above the floor: Kinect puts the foot joint a few cm above the ground.
_CLEARANCE = 0.05

# Rest pose (arms hanging, facing -z): offset of each joint from its parent, metres.
_REST: dict[str, tuple[float, float, float]] = {
    "HipCenter": (0.0, 0.0, 0.0),
    "Spine": (0.0, 0.09, 0.0),
    "ShoulderCenter": (0.0, 0.36, 0.0),
    "Head": (0.0, 0.20, 0.0),
    "ShoulderLeft": (-0.17, -0.03, 0.0),
    "ElbowLeft": (0.0, -0.28, 0.0),
    "WristLeft": (0.0, -0.25, 0.0),
    "HandLeft": (0.0, -0.08, 0.0),
    "ShoulderRight": (0.17, -0.03, 0.0),
    "ElbowRight": (0.0, -0.28, 0.0),
    "WristRight": (0.0, -0.25, 0.0),
    "HandRight": (0.0, -0.08, 0.0),
    "HipLeft": (-0.08, -0.07, 0.0),
    "KneeLeft": (0.0, -0.42, 0.0),
    "AnkleLeft": (0.0, -0.40, 0.0),
    "FootLeft": (0.0, -0.05, -0.12),
    "HipRight": (0.08, -0.07, 0.0),
    "KneeRight": (0.0, -0.42, 0.0),
    "AnkleRight": (0.0, -0.40, 0.0),
    "FootRight": (0.0, -0.05, -0.12),
}
REST_OFFSETS = np.array([_REST[name] for name in JOINT_NAMES], dtype=np.float64)  # (20, 3)
_THIGH = 0.42
_SHANK = 0.40
_LEG = 0.07 + _THIGH + _SHANK + 0.05  # HipCenter height above the foot joints when standing


@dataclass(frozen=True)
class _Style:
    """Per-segment variation drawn from the seed: how fast, how large, where in the cycle."""

    tempo: float
    amp: float
    phase: float


@dataclass
class _Pose:
    """Local rotations ``(n, 20, 3)`` (rx, ry, rz radians; index 0 is the pelvis's orientation),
    the pelvis's horizontal position ``(n, 2)`` (x, z) and its lift above ground contact ``(n,)``."""

    angles: np.ndarray
    root_xz: np.ndarray
    lift: np.ndarray


def _standing(n: int) -> _Pose:
    angles = np.zeros((n, NUM_JOINTS, 3))
    angles[:, J["ShoulderLeft"], 2] = -0.10  # arms a little away from the body
    angles[:, J["ShoulderRight"], 2] = 0.10
    angles[:, J["ElbowLeft"], 0] = 0.15  # elbows slightly bent, forearms forward
    angles[:, J["ElbowRight"], 0] = 0.15
    root_xz = np.tile([0.0, STAND_Z], (n, 1))
    return _Pose(angles, root_xz, np.zeros(n))


def _wave(t: np.ndarray, hz: float, s: _Style) -> np.ndarray:
    return np.sin(2 * np.pi * hz * s.tempo * t + s.phase)


# --- motions: local time t (n,) seconds -> pose --------------------------------------------------
# Sign conventions (canonical axes): +rx swings a hanging limb forward (toward the camera) and leans
# an upright one backward; +rz swings a hanging limb toward +x (the subject's right).


def _idle(t: np.ndarray, s: _Style) -> _Pose:
    p = _standing(len(t))
    breath = _wave(t, 0.25, s)
    p.angles[:, J["Spine"], 0] += 0.015 * s.amp * breath
    p.angles[:, J["ShoulderCenter"], 0] += 0.01 * s.amp * breath
    p.angles[:, J["ShoulderLeft"], 2] -= 0.03 * s.amp * breath
    p.angles[:, J["ShoulderRight"], 2] += 0.03 * s.amp * breath
    p.root_xz[:, 0] += 0.015 * s.amp * _wave(t, 0.2, s)  # weight shifting from foot to foot
    p.root_xz[:, 1] += 0.01 * s.amp * _wave(t, 0.13, s)
    return p


def _walk_in_place(t: np.ndarray, s: _Style) -> _Pose:
    p = _standing(len(t))
    step = _wave(t, 0.9, s)
    left, right = np.maximum(step, 0.0), np.maximum(-step, 0.0)
    for side, lift in (("Left", left), ("Right", right)):
        p.angles[:, J[f"Hip{side}"], 0] = 0.75 * s.amp * lift
        p.angles[:, J[f"Knee{side}"], 0] = -1.3 * s.amp * lift
        p.angles[:, J[f"Ankle{side}"], 0] = 0.3 * s.amp * lift
    # Arms swing against the legs.
    p.angles[:, J["ShoulderLeft"], 0] = -0.35 * s.amp * step
    p.angles[:, J["ShoulderRight"], 0] = 0.35 * s.amp * step
    p.angles[:, J["ElbowLeft"], 0] += 0.2 * left
    p.angles[:, J["ElbowRight"], 0] += 0.2 * right
    p.angles[:, J["Spine"], 1] = 0.06 * step
    p.root_xz[:, 0] += 0.025 * step  # over the standing foot
    return p


def _wave_right_hand(t: np.ndarray, s: _Style) -> _Pose:
    p = _idle(t, s)
    p.angles[:, J["ShoulderRight"], 2] = 2.3 + 0.05 * _wave(t, 0.5, s)
    p.angles[:, J["ShoulderRight"], 0] = 0.25
    p.angles[:, J["ElbowRight"], 0] = 0.1
    p.angles[:, J["ElbowRight"], 2] = 0.7 + 0.45 * s.amp * _wave(t, 2.0, s)
    p.angles[:, J["WristRight"], 2] = 0.15 * _wave(t, 2.0, s)
    return p


def _arm_circles(t: np.ndarray, s: _Style) -> _Pose:
    p = _idle(t, s)
    a = 0.5 * s.amp
    phi = 2 * np.pi * 1.0 * s.tempo * t + s.phase
    p.angles[:, J["ShoulderRight"], 2] = np.pi / 2 + a * np.cos(phi)
    p.angles[:, J["ShoulderLeft"], 2] = -(np.pi / 2 + a * np.cos(phi))
    p.angles[:, J["ShoulderRight"], 0] = a * np.sin(phi)
    p.angles[:, J["ShoulderLeft"], 0] = a * np.sin(phi)
    p.angles[:, J["ElbowLeft"], 0] = p.angles[:, J["ElbowRight"], 0] = 0.05
    return p


def _squat(t: np.ndarray, s: _Style) -> _Pose:
    p = _standing(len(t))
    depth = 0.5 * (1.0 - np.cos(2 * np.pi * t * s.tempo / 2.5)) * s.amp  # one squat per 2.5 s
    hip = 1.3 * depth  # thigh forward from vertical
    shin = 0.55 * depth  # shank's forward tilt
    for side in ("Left", "Right"):
        p.angles[:, J[f"Hip{side}"], 0] = hip
        p.angles[:, J[f"Knee{side}"], 0] = -(hip + shin)
        p.angles[:, J[f"Ankle{side}"], 0] = shin  # foot stays flat
        p.angles[:, J[f"Shoulder{side}"], 0] = 1.3 * depth  # arms forward for balance
    p.angles[:, J["Spine"], 0] = -0.45 * depth  # trunk leans forward
    # Hips move back so that the feet stay where they are.
    p.root_xz[:, 1] += _THIGH * np.sin(hip) - _SHANK * np.sin(shin)
    return p


def _fall(t: np.ndarray, s: _Style) -> _Pose:
    """Stumble, topple sideways (to the subject's left) and lie on the ground."""
    p = _standing(len(t))
    start, duration = 0.3, 0.8 / s.tempo
    u = np.clip((t - start) / duration, 0.0, 1.0)
    tilt = (np.pi / 2 - 0.05) * u**2  # accelerating like a falling body
    p.angles[:, 0, 2] = tilt
    p.root_xz[:, 0] -= _LEG * np.sin(tilt)  # pivoting over the feet
    flail = np.clip(u * (1.0 - u) * 4.0, 0.0, 1.0)
    # The left arm (the side it lands on) reaches out overhead; the right one flails and drops.
    p.angles[:, J["ShoulderLeft"], 2] -= 2.7 * u * s.amp
    p.angles[:, J["ShoulderRight"], 2] += (1.4 * flail + 0.2 * u) * s.amp
    p.angles[:, J["ShoulderRight"], 0] += 0.8 * flail * _wave(t, 2.5, s)
    knee = 0.6 * np.clip((t - 0.1) / 0.5, 0.0, 1.0) * (1.0 - 0.6 * u)  # knees buckle first
    for side in ("Left", "Right"):
        p.angles[:, J[f"Hip{side}"], 0] = 0.5 * knee
        p.angles[:, J[f"Knee{side}"], 0] = -knee
    # Lying: shallow breathing and a weak arm movement.
    lying = u >= 1.0
    p.angles[lying, J["Spine"], 0] += 0.02 * _wave(t[lying], 0.3, s)
    p.angles[lying, J["ShoulderRight"], 0] += 0.15 * _wave(t[lying], 0.4, s)
    return p


def _jump_flail(t: np.ndarray, s: _Style) -> _Pose:
    """Jumps on the spot with the arms thrown around."""
    p = _standing(len(t))
    period = 0.9 / s.tempo
    phase = (t + s.phase / (2 * np.pi) * period) % period / period  # 0..1 per jump
    airborne = phase >= 0.5
    p.lift = np.where(airborne, 0.28 * s.amp * np.sin(np.pi * (phase - 0.5) / 0.5), 0.0)
    crouch = np.where(airborne, 0.0, np.sin(np.pi * phase / 0.5))  # load and push off
    for side in ("Left", "Right"):
        p.angles[:, J[f"Hip{side}"], 0] = 0.8 * crouch
        p.angles[:, J[f"Knee{side}"], 0] = -1.2 * crouch
        p.angles[:, J[f"Ankle{side}"], 0] = 0.4 * crouch
    p.angles[:, J["Spine"], 0] = -0.3 * crouch
    for side, sign, f1, f2 in (("Left", -1.0, 1.7, 2.3), ("Right", 1.0, 2.1, 1.9)):
        p.angles[:, J[f"Shoulder{side}"], 2] = sign * (1.3 + 1.0 * s.amp * _wave(t, f1, s))
        p.angles[:, J[f"Shoulder{side}"], 0] = 0.9 * s.amp * _wave(t + 0.3, f2, s)
        p.angles[:, J[f"Elbow{side}"], 0] = 0.8 + 0.6 * _wave(t + 0.7, f1 + f2, s)
    p.angles[:, J["ShoulderCenter"], 0] = 0.15 * _wave(t, 2.7, s)
    return p


def _kick(t: np.ndarray, s: _Style) -> _Pose:
    """Forward kicks with the right leg, one every 1.6 s."""
    p = _idle(t, s)
    period = 1.6 / s.tempo
    phase = (t % period) / period
    chamber = np.clip(np.sin(np.pi * np.clip((phase - 0.1) / 0.5, 0.0, 1.0)), 0.0, 1.0)  # knee comes up
    snap = np.clip(np.sin(np.pi * np.clip((phase - 0.3) / 0.25, 0.0, 1.0)), 0.0, 1.0)  # shank shoots out
    p.angles[:, J["HipRight"], 0] = (0.9 * chamber + 0.5 * snap) * s.amp
    p.angles[:, J["KneeRight"], 0] = -1.4 * chamber * (1.0 - snap)
    p.angles[:, J["AnkleRight"], 0] = -0.4 * snap
    p.angles[:, J["Spine"], 0] = 0.25 * snap  # leaning back against the kick
    p.angles[:, J["ShoulderLeft"], 0] = 0.7 * chamber
    p.angles[:, J["ShoulderRight"], 2] = 0.10 + 0.5 * snap
    return p


_MOTION_FUNCS: dict[str, Callable[[np.ndarray, _Style], _Pose]] = {
    "idle": _idle,
    "walk_in_place": _walk_in_place,
    "wave_right_hand": _wave_right_hand,
    "arm_circles": _arm_circles,
    "squat": _squat,
    "fall": _fall,
    "jump_flail": _jump_flail,
    "kick": _kick,
}
MOTIONS: tuple[str, ...] = get_args(Motion)
assert set(MOTIONS) == set(_MOTION_FUNCS), "every motion the config accepts needs an implementation"
# Motions an everyday "normal" profile would not contain; the demo's abnormal episodes use them.
ABNORMAL_MOTIONS: frozenset[str] = frozenset({"fall", "jump_flail", "kick"})


# --- kinematics ----------------------------------------------------------------------------------


def _rotations(angles: np.ndarray) -> np.ndarray:
    """``(..., 3)`` (rx, ry, rz) -> ``(..., 3, 3)`` matrices ``Rz @ Rx @ Ry`` (twist, flex, sideways)."""
    cx, cy, cz = np.cos(angles).transpose(-1, *range(angles.ndim - 1))
    sx, sy, sz = np.sin(angles).transpose(-1, *range(angles.ndim - 1))
    one, zero = np.ones_like(cx), np.zeros_like(cx)
    rx = np.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], -1).reshape(*cx.shape, 3, 3)
    ry = np.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).reshape(*cx.shape, 3, 3)
    rz = np.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], -1).reshape(*cx.shape, 3, 3)
    return rz @ rx @ ry


def forward_kinematics(
    angles: np.ndarray, yaw: float = 0.0, offsets: np.ndarray = REST_OFFSETS
) -> np.ndarray:
    """Local rotations ``(T, 20, 3)`` -> joints ``(T, 20, 3)`` with the pelvis at the origin.

    Joint ``j``'s rotation turns the bones that leave ``j`` (index 0: the whole body); ``yaw``
    turns the body about the vertical.
    """
    n = angles.shape[0]
    local = _rotations(angles)  # (T, 20, 3, 3)
    glob = np.empty_like(local)
    glob[:, 0] = _rotations(np.array([0.0, yaw, 0.0])) @ local[:, 0]
    pos = np.zeros((n, NUM_JOINTS, 3))
    for c in range(1, NUM_JOINTS):  # parents come before their children in the canonical order
        p = PARENTS[c]
        pos[:, c] = pos[:, p] + glob[:, p] @ offsets[c]
        glob[:, c] = glob[:, p] @ local[:, c]
    return pos


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _blend(a: _Pose, b: _Pose, w: np.ndarray) -> _Pose:
    return _Pose(
        angles=(1.0 - w)[:, None, None] * a.angles + w[:, None, None] * b.angles,
        root_xz=(1.0 - w)[:, None] * a.root_xz + w[:, None] * b.root_xz,
        lift=(1.0 - w) * a.lift + w * b.lift,
    )


class SyntheticPerformer:
    """A seeded performance of ``script`` (``[(motion, seconds), ...]``, names from :data:`MOTIONS`).

    Iterating yields ``(t, joints)``: ``t`` seconds (``i / fps``), ``joints`` ``(20, 3)``
    float32 canonical. The same arguments give the same frames every time. ``noise_m`` is the
    standard deviation of independent per-joint sensor noise (0 gives exactly constant bones);
    ``transition_s`` is the cross-fade between consecutive motions.
    """

    def __init__(
        self,
        script: Sequence[tuple[str, float]],
        fps: float = 30.0,
        seed: int = 0,
        *,
        noise_m: float = 0.002,
        transition_s: float = 0.5,
    ) -> None:
        if not script:
            raise ValueError("the script needs at least one (motion, seconds) step")
        for name, seconds in script:
            if name not in _MOTION_FUNCS:
                raise ValueError(f"unknown motion {name!r}; known: {', '.join(MOTIONS)}")
            if not seconds > 0:
                raise ValueError(f"motion {name!r} needs a positive duration; got {seconds}")
        if not fps > 0:
            raise ValueError(f"fps must be positive; got {fps}")
        if noise_m < 0 or transition_s < 0:
            raise ValueError("noise_m and transition_s must not be negative")
        self.script = [(str(name), float(seconds)) for name, seconds in script]
        self.fps = float(fps)
        self.seed = seed
        self.noise_m = noise_m
        self.transition_s = transition_s
        self._frames: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def segments(self) -> list[tuple[str, float, float]]:
        """``(motion, start_s, end_s)`` of each script step on the performance's clock."""
        out, start = [], 0.0
        for name, n in zip((name for name, _ in self.script), self._frame_counts(), strict=True):
            out.append((name, start, start + n / self.fps))
            start += n / self.fps
        return out

    def _frame_counts(self) -> list[int]:
        return [max(1, round(seconds * self.fps)) for _, seconds in self.script]

    def __len__(self) -> int:
        return sum(self._frame_counts())

    def render(self) -> tuple[np.ndarray, np.ndarray]:
        """The whole performance: times ``(T,)`` float64 and joints ``(T, 20, 3)`` float32."""
        if self._frames is None:
            self._frames = self._render()
        return self._frames

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        times, joints = self.render()
        for t, frame in zip(times, joints, strict=True):
            yield float(t), frame

    def _render(self) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        counts = self._frame_counts()
        styles = [
            _Style(tempo=rng.uniform(0.9, 1.1), amp=rng.uniform(0.9, 1.1), phase=rng.uniform(0, 2 * np.pi))
            for _ in counts
        ]
        poses = []
        for k, ((name, _), n) in enumerate(zip(self.script, counts, strict=True)):
            local = np.arange(n) / self.fps
            pose = _MOTION_FUNCS[name](local, styles[k])
            if k > 0 and self.transition_s > 0:
                prev_name, prev_n = self.script[k - 1][0], counts[k - 1]
                previous = _MOTION_FUNCS[prev_name](local + prev_n / self.fps, styles[k - 1])
                pose = _blend(previous, pose, _smoothstep(local / self.transition_s))
            poses.append(pose)
        angles = np.concatenate([p.angles for p in poses])
        total = len(angles)
        times = np.arange(total) / self.fps
        angles = angles + self._jitter(rng, times)
        joints = forward_kinematics(angles, yaw=rng.uniform(-0.15, 0.15))
        root_xz = np.concatenate([p.root_xz for p in poses])
        lift = np.concatenate([p.lift for p in poses])
        joints[..., 0] += root_xz[:, None, 0]
        joints[..., 2] += root_xz[:, None, 1]
        # Standing on the floor: the lowest joint rests on it (plus the jump's lift).
        joints[..., 1] += (FLOOR_Y + _CLEARANCE - joints[..., 1].min(axis=1) + lift)[:, None]
        if self.noise_m > 0:
            joints += rng.normal(0.0, self.noise_m, size=joints.shape)
        return times, joints.astype(np.float32)

    @staticmethod
    def _jitter(rng: np.random.Generator, times: np.ndarray) -> np.ndarray:
        """Small, smooth, seeded wobble of every joint angle (nobody moves exactly on the sine)."""
        freq = rng.uniform(0.2, 1.5, size=(3, NUM_JOINTS, 3))
        phase = rng.uniform(0, 2 * np.pi, size=(3, NUM_JOINTS, 3))
        waves = np.sin(2 * np.pi * freq[None] * times[:, None, None, None] + phase[None])
        return 0.006 * waves.sum(axis=1)  # (T, 20, 3), about 0.01 rad
