"""Adapters into the canonical skeleton, checked on real frames of every source we have."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models import skeleton
from models.skeleton import J
from training.datasets import load_dataset

_LIMBS = [
    i
    for i, (_, child) in enumerate(skeleton.BONES)
    if skeleton.JOINT_NAMES[child].startswith(("Elbow", "Wrist", "Knee", "Ankle"))
]


def _clips(data_root: Path, dataset: str, label: str):
    return [c for c in load_dataset(dataset, data_root).clips if c.label == label]


def test_kinder_gator_raised_hand_ends_above_head(data_root: Path) -> None:
    clips = _clips(data_root, "kinder-gator", "Raise-your-hand")
    assert len(clips) == 20
    above = 0
    for c in clips:
        wrist_top = np.maximum(c.joints[:, J["WristRight"], 1], c.joints[:, J["WristLeft"], 1])
        above += bool(np.any(wrist_top > c.joints[:, J["Head"], 1]))
    assert above >= 18


def test_kinder_gator_left_stays_left(data_root: Path) -> None:
    # 17 of 20 participants are right-handed: they throw with the right arm and kick with the right leg.
    def right_wins(label: str, right: int, left: int) -> int:
        wins = 0
        for c in _clips(data_root, "kinder-gator", label):
            rise = c.joints[:, :, 1].max(axis=0) - c.joints[0, :, 1]
            wins += int(rise[right] > rise[left])
        return wins

    assert right_wins("Throw-a-ball-", J["WristRight"], J["WristLeft"]) >= 15
    assert right_wins("Throw-a-ball-with-your-other-arm", J["WristRight"], J["WristLeft"]) <= 7
    assert right_wins("Kick-a-ball", J["AnkleRight"], J["AnkleLeft"]) >= 16
    c = _clips(data_root, "kinder-gator", "Raise-your-hand")[0]
    assert np.median(c.joints[:, J["ShoulderRight"], 0] - c.joints[:, J["ShoulderLeft"], 0]) > 0.2


def test_kinder_gator_bones_plausible_and_steady(data_root: Path) -> None:
    spreads = []
    for c in load_dataset("kinder-gator", data_root).clips[::10]:
        bones = skeleton.bone_lengths(c.joints)  # (T, 19)
        med = np.median(bones, axis=0)
        assert np.all(med > 0.02) and np.all(med < 0.75), med
        assert 0.15 < np.median(skeleton.torso_length(c.joints)) < 0.6  # children to adults
        # Limb bones are rigid but Kinect v1 loses and guesses occluded joints, so judge the
        # typical spread robustly: IQR relative to the median, per limb bone.
        q1, q3 = np.percentile(bones[:, _LIMBS], [25, 75], axis=0)
        spreads.append((q3 - q1) / med[_LIMBS])
    assert np.median(spreads) < 0.08


def test_msr_high_arm_wave_raises_right_wrist(data_root: Path) -> None:
    clips = _clips(data_root, "msr", "a01 high arm wave")
    assert len(clips) >= 25
    right = [np.max(c.joints[:, J["WristRight"], 1] - c.joints[:, J["ShoulderCenter"], 1]) for c in clips]
    left = [np.max(c.joints[:, J["WristLeft"], 1] - c.joints[:, J["ShoulderCenter"], 1]) for c in clips]
    assert np.median(right) > 0.2
    assert np.median(left) < 0.0
    heights = np.concatenate([c.joints[:, :, 1] for c in clips]).mean(axis=0)
    assert (
        heights[J["Head"]] > heights[J["ShoulderCenter"]] > heights[J["HipCenter"]] > heights[J["KneeLeft"]]
    )
    assert heights[J["KneeRight"]] > heights[J["AnkleRight"]]


def test_msr_forward_kick_raises_right_ankle(data_root: Path) -> None:
    clips = _clips(data_root, "msr", "a14 forward kick")
    wins = sum(
        int(np.ptp(c.joints[:, J["AnkleRight"], 1]) > np.ptp(c.joints[:, J["AnkleLeft"], 1])) for c in clips
    )
    assert wins >= 0.8 * len(clips)


def test_utkinect_throw_uses_right_arm(data_root: Path) -> None:
    clips = _clips(data_root, "utkinect", "throw")
    right = [np.max(c.joints[:, J["WristRight"], 1] - c.joints[:, J["ShoulderCenter"], 1]) for c in clips]
    left = [np.max(c.joints[:, J["WristLeft"], 1] - c.joints[:, J["ShoulderCenter"], 1]) for c in clips]
    assert np.median(right) > np.median(left) + 0.2


def _mediapipe_reference(data_root: Path, name: str) -> np.ndarray:
    return np.array(json.loads((data_root / "mediapipe_pose_testdata" / name).read_text()), dtype=np.float32)


def test_mediapipe_squats_hips_go_down_and_up(data_root: Path) -> None:
    world = _mediapipe_reference(data_root, "pose_squats_3d.full.json")  # (65, 33, 3) MediaPipe world
    canon = skeleton.to_canonical(world, "mediapipe33")
    feet = canon[:, [J["AnkleLeft"], J["AnkleRight"]], 1].mean(axis=1)
    hip_height = canon[:, J["HipCenter"], 1] - feet
    assert np.all(canon[:, J["Head"], 1] > canon[:, J["HipCenter"], 1])  # y is up
    low, high = np.percentile(hip_height, [10, 90])
    assert high - low > 0.2  # squats: the hips travel tens of centimetres
    # Hips go down and come back up more than once: count crossings of the mid level.
    crossings = np.count_nonzero(np.diff(np.sign(hip_height - (low + high) / 2)))
    assert crossings >= 4
    limbs = skeleton.bone_lengths(canon)[
        :,
        [
            i
            for i, (p, c) in enumerate(skeleton.BONES)
            if c
            in (
                J["ElbowLeft"],
                J["ElbowRight"],
                J["KneeLeft"],
                J["KneeRight"],
                J["AnkleLeft"],
                J["AnkleRight"],
            )
        ],
    ]
    assert np.all(np.std(limbs, axis=0) / np.mean(limbs, axis=0) < 0.15)


def test_mediapipe_left_stays_left_on_pose_image(data_root: Path) -> None:
    ref = json.loads((data_root / "mediapipe_pose_testdata" / "pose_jpg_expected_landmarks.json").read_text())
    key = next(k for k in ref if "world" in k)
    canon = skeleton.to_canonical(np.array(ref[key], dtype=np.float32), "mediapipe33")
    # The person in pose.jpg faces the camera: her right side is at larger canonical x.
    assert canon[J["ShoulderRight"], 0] > canon[J["ShoulderLeft"], 0]
    assert canon[J["HipRight"], 0] > canon[J["HipLeft"], 0]
    assert canon[J["Head"], 1] > canon[J["ShoulderCenter"], 1] > canon[J["HipCenter"], 1]
    assert canon[J["Spine"], 1] > canon[J["HipCenter"], 1]


def test_smpl_mapping_follows_the_smpl_tree() -> None:
    # No SMPL data exists here; check the index mapping and axes on a hand-made SMPL T-pose
    # (SMPL frame: y up, +x = body's left, +z = forward).
    smpl = np.zeros((24, 3), dtype=np.float32)
    smpl[[1, 4, 7, 10, 13, 16, 18, 20, 22], 0] = 0.2  # left side joints
    smpl[[2, 5, 8, 11, 14, 17, 19, 21, 23], 0] = -0.2  # right side joints
    smpl[[15], 1] = 0.6
    smpl[[10, 11], 2] = 0.1  # toes point forward
    canon = skeleton.to_canonical(smpl, "smpl24")
    assert canon[J["HandRight"], 0] > 0 > canon[J["HandLeft"], 0]
    assert canon[J["Head"], 1] == pytest.approx(0.6)
    assert canon[J["FootLeft"], 2] < 0  # forward is -z in canonical


@pytest.mark.parametrize(
    "layout,n", [("kinect_v1", 19), ("mediapipe33", 20), ("smpl24", 20), ("msr_action3d", 33)]
)
def test_wrong_joint_count_is_a_clear_error(layout: str, n: int) -> None:
    with pytest.raises(ValueError, match="shape"):
        skeleton.to_canonical(np.zeros((5, n, 3)), layout)  # type: ignore[arg-type]


def test_unknown_layout_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown joint layout"):
        skeleton.to_canonical(np.zeros((5, 20, 3)), "openpose")  # type: ignore[arg-type]


def test_mirror_swaps_sides_and_is_an_involution() -> None:
    rng = np.random.default_rng(0)
    pose = rng.normal(size=(3, 20, 3)).astype(np.float32)
    m = skeleton.mirror(pose)
    assert m[0, J["HandLeft"], 0] == -pose[0, J["HandRight"], 0]
    np.testing.assert_array_equal(skeleton.mirror(m), pose)


def test_with_bone_lengths_sets_lengths_and_keeps_directions() -> None:
    rng = np.random.default_rng(0)
    poses = rng.normal(size=(4, 20, 3)).astype(np.float32)
    lengths = rng.uniform(0.1, 0.5, size=19)
    out = skeleton.with_bone_lengths(poses, lengths)
    np.testing.assert_allclose(skeleton.bone_lengths(out), np.broadcast_to(lengths, (4, 19)), rtol=1e-5)
    np.testing.assert_array_equal(out[:, skeleton.ROOT], poses[:, skeleton.ROOT])
    for p, c in skeleton.BONES:
        before, after = poses[:, c] - poses[:, p], out[:, c] - out[:, p]
        cos = (before * after).sum(-1) / np.linalg.norm(before, axis=-1) / np.linalg.norm(after, axis=-1)
        np.testing.assert_allclose(cos, 1.0, atol=1e-5)
