from __future__ import annotations

import numpy as np

from models import skeleton
from models.preprocess import WindowSpec, clip_to_windows
from training.windows import reproportion, tilt


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
