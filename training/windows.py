"""Training windows: clips resampled once, then random crops with hand-crafted augmentation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clips import Clip
from config.training import AugmentSettings, SensorAugSettings, WindowSettings
from models import skeleton
from models.preprocess import ClipError, WindowSpec, clip_frames, normalise_windows, rotate_y
from models.sensor import load_sensor, simulate


def window_spec(settings: WindowSettings) -> WindowSpec:
    return WindowSpec(**settings.model_dump())


@dataclass(frozen=True)
class TrainClips:
    """Clips resampled to the window frame rate, with integer category ids."""

    frames: tuple[np.ndarray, ...]  # each (N_i, J, 3) raw canonical
    labels: np.ndarray  # (clips,) int
    label_names: tuple[str, ...]
    names: tuple[str, ...]


def build_train_clips(clips: Sequence[Clip], spec: WindowSpec) -> TrainClips:
    """Resample every clip once; clips that cannot be windowed are skipped."""
    label_names = tuple(sorted({c.label for c in clips}))
    index = {name: i for i, name in enumerate(label_names)}
    frames, labels, names = [], [], []
    for c in clips:
        try:
            frames.append(clip_frames(c.joints, c.times, spec))
        except ClipError:
            continue
        labels.append(index[c.label])
        names.append(c.name)
    return TrainClips(tuple(frames), np.array(labels), label_names, tuple(names))


def crop(frames: np.ndarray, start: float, speed: float, length: int) -> np.ndarray:
    """``length`` frames read from ``frames`` at ``start`` every ``speed`` frames (linear, held at ends)."""
    pos = np.clip(start + np.arange(length) * speed, 0.0, len(frames) - 1.0)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(frames) - 1)
    w = (pos - lo)[:, None, None].astype(np.float32)
    return (1.0 - w) * frames[lo] + w * frames[hi]


def random_start(n: int, span: float, rng: np.random.Generator) -> float:
    """Start of a random crop covering ``span`` source frames; short clips are centred (padded)."""
    if n - 1 <= span:
        return -(span - (n - 1)) / 2.0
    return float(rng.uniform(0.0, n - 1 - span))


def _segment_of_bones() -> np.ndarray:
    """Each bone's body segment: 0 torso, 1 head, 2 shoulder width, 3 hip width, 4 arms, 5 legs."""

    def segment(child: str) -> int:
        if child in ("Spine", "ShoulderCenter"):
            return 0
        if child == "Head":
            return 1
        if child.startswith("Shoulder"):
            return 2
        if child.startswith("Hip"):
            return 3
        if child.startswith(("Elbow", "Wrist", "Hand")):
            return 4
        return 5

    return np.array([segment(skeleton.JOINT_NAMES[c]) for _, c in skeleton.BONES])


_SEGMENT_OF_BONE = _segment_of_bones()
_SEGMENTS = int(_SEGMENT_OF_BONE.max()) + 1


def reproportion(windows: np.ndarray, spread: float, rng: np.random.Generator) -> np.ndarray:
    """Each window's body re-proportioned: every body segment (torso, head, shoulder width, hip
    width, arms, legs) scaled by one factor in [1-s, 1+s] for the whole window. A whole limb shares
    its factor, left and right alike: people differ in build, while the ratio of upper arm to forearm
    is what tells a bent arm from a straight one (scaling bones one by one measured worse across
    datasets, docs/experiments/2026-11-29-body-and-camera-augmentations.md)."""
    factors = rng.uniform(1 - spread, 1 + spread, size=(windows.shape[0], _SEGMENTS))
    factors = factors[:, _SEGMENT_OF_BONE][:, None, :]  # (B, 1, bones), broadcast over frames
    # The root is never a child, so it (and the window's origin) stays where it was.
    return skeleton.with_bone_lengths(windows, skeleton.bone_lengths(windows) * factors).astype(np.float32)


def tilt(windows: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Rotate ``(B, ..., 3)`` points by a pitch (about x, ``angles[0]``) then a roll (about z,
    ``angles[1]``), radians: what a camera mounted higher or askew does to "up"."""
    shape = (-1,) + (1,) * (windows.ndim - 2)
    cp, sp = (f(angles[0]).astype(np.float32).reshape(shape) for f in (np.cos, np.sin))
    cr, sr = (f(angles[1]).astype(np.float32).reshape(shape) for f in (np.cos, np.sin))
    x, y, z = windows[..., 0], windows[..., 1], windows[..., 2]
    y, z = cp * y - sp * z, sp * y + cp * z
    x, y = cr * x - sr * y, sr * x + cr * y
    return np.stack([x, y, z], axis=-1)


def augment_windows(windows: np.ndarray, settings: AugmentSettings, rng: np.random.Generator) -> np.ndarray:
    """Body proportions, rotation about the vertical, camera tilt, isotropic scale and joint noise on
    normalised ``(B, F, J, 3)`` windows."""
    b = windows.shape[0]
    if settings.segment_scale > 0:
        windows = reproportion(windows, settings.segment_scale, rng)
    angle = np.deg2rad(rng.uniform(-settings.rotation_deg, settings.rotation_deg, size=b))
    out = rotate_y(windows, angle)
    if settings.tilt_deg > 0:
        out = tilt(out, np.deg2rad(rng.uniform(-settings.tilt_deg, settings.tilt_deg, size=(2, b))))
    out = out * rng.uniform(1 - settings.scale, 1 + settings.scale, size=(b, 1, 1, 1)).astype(np.float32)
    if settings.noise_std > 0:
        out = out + rng.normal(0.0, settings.noise_std, size=out.shape).astype(np.float32)
    return out.astype(np.float32)


class WindowSampler:
    """Batches of ``per_category`` windows (from distinct clips) for every category; with ``sensor``,
    a fraction of them as that sensor would deliver them (before normalisation, as live)."""

    def __init__(
        self,
        clips: TrainClips,
        spec: WindowSpec,
        augment: AugmentSettings,
        per_category: int,
        rng: np.random.Generator,
        sensor: SensorAugSettings | None = None,
    ) -> None:
        self.clips, self.spec, self.augment, self.rng = clips, spec, augment, rng
        self.per_category = per_category
        self.sensor = (load_sensor(sensor.name), sensor.p) if sensor is not None and sensor.p > 0 else None
        self.by_label = [np.flatnonzero(clips.labels == k) for k in range(len(clips.label_names))]
        few = [clips.label_names[k] for k, idx in enumerate(self.by_label) if len(idx) < 2]
        if few:
            raise ValueError(
                f"categories with fewer than 2 training clips that give a window: {few} (a clip without "
                "a stretch of frames whose every joint is finite is left out)"
            )

    def sample(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """-> (augmented normalised windows (B, F, J, 3), labels (B,), clip index (B,), crop centre (B,))."""
        f = self.spec.frames
        raws, labels, clip_idx, centres = [], [], [], []
        for k, idx in enumerate(self.by_label):
            chosen = self.rng.choice(idx, size=self.per_category, replace=len(idx) < self.per_category)
            for i in chosen:
                frames = self.clips.frames[i]
                speed = float(self.rng.uniform(1 - self.augment.speed, 1 + self.augment.speed))
                # a short_crop_s stretch re-timed to the window; no draw when off (data order holds)
                short_p = self.augment.short_crop_p
                if short_p and self.rng.random() < short_p:
                    speed *= (self.augment.short_crop_s * self.spec.fps - 1) / (f - 1)
                if self.spec.short == "retime" and 1 < len(frames) <= (f - 1) * speed:
                    speed = (len(frames) - 1) / (f - 1)  # a short clip fills the window, as live
                start = random_start(len(frames), (f - 1) * speed, self.rng)
                raws.append(crop(frames, start, speed, f))
                labels.append(k)
                clip_idx.append(i)
                centres.append(start + (f - 1) * speed / 2)
        raw = np.stack(raws)
        if self.sensor is not None:
            model, p = self.sensor
            seen = self.rng.random(len(raw)) < p
            raw[seen] = simulate(raw[seen], self.spec.fps, model, self.rng)
        windows = normalise_windows(raw, self.spec)
        windows = augment_windows(windows, self.augment, self.rng)
        return windows, np.array(labels), np.array(clip_idx), np.array(centres)
