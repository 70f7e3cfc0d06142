from __future__ import annotations

import numpy as np

from config.training import AugmentSettings, SensorAugSettings
from models import skeleton
from models.preprocess import WindowSpec, clip_to_windows
from training.windows import WindowSampler, build_train_clips, reproportion, tilt


def test_reproportion_scales_whole_segments_alike_and_keeps_the_root(kinder_gator) -> None:
    clip = kinder_gator.clips[0]
    windows = clip_to_windows(clip.joints, clip.times, WindowSpec())
    out = reproportion(windows, 0.2, np.random.default_rng(0))
    ratio = skeleton.bone_lengths(out) / skeleton.bone_lengths(windows)
    assert np.allclose(ratio, ratio[:, :1], atol=1e-3)  # one factor per bone for the whole window
    assert ratio.min() >= 0.8 - 1e-3 and ratio.max() <= 1.2 + 1e-3 and ratio.std() > 0.05
    bone = {skeleton.JOINT_NAMES[c]: i for i, (_, c) in enumerate(skeleton.BONES)}
    limbs = (
        ["ElbowLeft", "WristLeft", "HandLeft", "ElbowRight", "WristRight", "HandRight"],
        ["KneeLeft", "AnkleLeft", "FootLeft", "KneeRight", "AnkleRight", "FootRight"],
        ["ShoulderLeft", "ShoulderRight"],
    )
    for limb in limbs:  # a limb (both sides) shares one factor
        r = ratio[..., [bone[name] for name in limb]]
        assert np.allclose(r, r[..., :1], atol=1e-3), limb
    assert not np.allclose(ratio[..., bone["ElbowLeft"]], ratio[..., bone["KneeLeft"]], atol=1e-3)
    np.testing.assert_array_equal(out[:, :, skeleton.ROOT], windows[:, :, skeleton.ROOT])


def test_tilt_is_a_rotation_that_leans_the_body_by_the_given_angles() -> None:
    windows = np.zeros((3, 1, 2, 3), np.float32)
    windows[:, :, 1] = [0.0, 1.0, 0.0]  # a point straight above the origin
    out = tilt(windows, np.deg2rad([[10.0, 0.0, 0.0], [0.0, 10.0, 0.0]]))
    up = out[:, 0, 1]
    np.testing.assert_allclose(np.linalg.norm(up, axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.rad2deg(np.arccos(up[:, 1])), [10.0, 10.0, 0.0], atol=1e-4)
    assert abs(up[0, 2]) > 0.17 and up[0, 0] == 0  # pitch leans toward z
    assert abs(up[1, 0]) > 0.17 and up[1, 2] == 0  # roll leans toward x


def _sampler(
    kinder_gator, spec: WindowSpec, sensor: SensorAugSettings | None, short_crop_p: float = 0.0
) -> WindowSampler:
    clips = [c for c in kinder_gator.clips if c.label in ("Jump", "Punch")][:12]
    augment = AugmentSettings(rotation_deg=0, scale=0, noise_std=0, speed=0, short_crop_p=short_crop_p)
    return WindowSampler(
        build_train_clips(clips, spec),
        spec,
        augment,
        per_category=8,
        rng=np.random.default_rng(0),
        sensor=sensor,
    )


def test_short_crops_are_one_second_stretched_over_the_window(kinder_gator) -> None:
    spec = WindowSpec()
    whole, labels, _, _ = _sampler(kinder_gator, spec, None).sample()
    short, short_labels, _, _ = _sampler(kinder_gator, spec, None, short_crop_p=1.0).sample()
    np.testing.assert_array_equal(labels, short_labels)  # positives of their category at both scales
    step = np.abs(np.diff(whole, axis=1)).mean()
    # 1 s (20 frames, 19 steps) over the window's 59 steps: each step about a third as long
    assert 0.2 < np.abs(np.diff(short, axis=1)).mean() / step < 0.5


def test_sensor_augmentation_turns_about_the_given_fraction_of_windows_into_mediapipe_output(
    kinder_gator,
) -> None:
    spec = WindowSpec(root="per_frame")  # MediaPipe output: every frame centred near HipCenter
    plain, _, _, _ = _sampler(kinder_gator, spec, None).sample()
    seen, _, _, _ = _sampler(kinder_gator, spec, SensorAugSettings(p=0.5)).sample()
    assert seen.shape == plain.shape and np.isfinite(seen).all()
    # the sensor widens the hips (MediaPipe's hip landmarks sit on the joints, Kinect's near the pelvis)
    width = np.linalg.norm(seen[:, :, skeleton.J["HipLeft"]] - seen[:, :, skeleton.J["HipRight"]], axis=-1)
    base = np.linalg.norm(plain[:, :, skeleton.J["HipLeft"]] - plain[:, :, skeleton.J["HipRight"]], axis=-1)
    changed = np.median(width, axis=1) > 1.1 * np.median(base, axis=1)
    assert 0.2 < changed.mean() < 0.8  # about half, not none and not all
    everything, _, _, _ = _sampler(kinder_gator, spec, SensorAugSettings(p=1.0)).sample()
    wide = np.median(
        np.linalg.norm(
            everything[:, :, skeleton.J["HipLeft"]] - everything[:, :, skeleton.J["HipRight"]], axis=-1
        ),
        axis=1,
    )
    assert (wide > 1.1 * np.median(base, axis=1)).mean() > 0.9


def test_short_clips_fill_training_windows_when_the_spec_retimes_them(kinder_gator) -> None:
    clip = next(c for c in kinder_gator.clips if 1.2 < c.duration_s < 2.5)
    spec = WindowSpec(short="retime")
    train = build_train_clips([clip, clip], spec)
    sampler = WindowSampler(train, spec, AugmentSettings(speed=0.2, noise_std=0), 2, np.random.default_rng(0))
    windows, _, _, _ = sampler.sample()
    # no frame is held: consecutive frames differ all through the window (padding repeats the ends)
    moved = np.abs(np.diff(windows, axis=1)).max(axis=(2, 3))
    assert (moved[:, :3] > 0).all() and (moved[:, -3:] > 0).all()
    padded, _, _, _ = WindowSampler(train, WindowSpec(), AugmentSettings(speed=0.2, noise_std=0), 2,
                                    np.random.default_rng(0)).sample()  # fmt: skip
    assert (np.abs(np.diff(padded, axis=1)).max(axis=(2, 3))[:, :3] == 0).all()
