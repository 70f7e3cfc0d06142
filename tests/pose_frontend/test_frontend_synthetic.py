"""The procedural performer: constant bones, canonical axes, smooth motion, seeded, 30 fps clock."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from models.skeleton import J, bone_lengths, torso_length
from pose_frontend.sources import SyntheticSource
from pose_frontend.synthetic import (
    ABNORMAL_MOTIONS,
    FLOOR_Y,
    MOTIONS,
    SyntheticPerformer,
)

ALL = [(name, 3.0) for name in MOTIONS]


def _feet_y(joints: np.ndarray) -> np.ndarray:
    return np.minimum(joints[:, J["FootLeft"], 1], joints[:, J["FootRight"], 1])


def test_lists_everyday_and_clearly_abnormal_motions() -> None:
    assert {"idle", "walk_in_place", "wave_right_hand", "arm_circles"} <= set(MOTIONS)
    assert {"fall", "jump_flail", "kick"} == set(ABNORMAL_MOTIONS)


def test_demo_scripts_normal_profile_and_one_abnormal_episode_in_the_middle() -> None:
    from edge.demo import PROFILES, STREAM_SCRIPT

    enrolled = {m for script in PROFILES.values() for m, _ in script}
    assert not enrolled & ABNORMAL_MOTIONS
    abnormal = [i for i, (m, _) in enumerate(STREAM_SCRIPT) if m in ABNORMAL_MOTIONS]
    assert len(abnormal) == 1 and 0 < abnormal[0] < len(STREAM_SCRIPT) - 1
    assert {m for m, _ in STREAM_SCRIPT} - ABNORMAL_MOTIONS <= enrolled


def test_timestamps_are_30_fps_from_zero_and_the_iterator_matches_render() -> None:
    performer = SyntheticPerformer([("idle", 1.0), ("wave_right_hand", 1.5)], fps=30, seed=0)
    items = list(performer)
    assert len(items) == len(performer) == 75
    times = np.array([t for t, _ in items])
    np.testing.assert_allclose(times, np.arange(75) / 30)
    assert all(j.shape == (20, 3) and j.dtype == np.float32 for _, j in items)
    np.testing.assert_array_equal(np.stack([j for _, j in items]), performer.render()[1])
    assert [(n, round(a, 3), round(b, 3)) for n, a, b in performer.segments] == [
        ("idle", 0.0, 1.0),
        ("wave_right_hand", 1.0, 2.5),
    ]


def test_bones_are_constant_without_noise_and_nearly_so_with_it() -> None:
    _, exact = SyntheticPerformer(ALL, seed=3, noise_m=0.0).render()
    lengths = bone_lengths(exact)  # (T, 19)
    np.testing.assert_allclose(lengths, np.broadcast_to(lengths[0], lengths.shape), atol=1e-5)
    _, noisy = SyntheticPerformer(ALL, seed=3).render()
    deviation = np.abs(bone_lengths(noisy) - lengths[0])
    assert np.percentile(deviation, 99) < 0.01  # a 2 mm sensor noise moves bones by millimetres


def test_adult_kinect_like_proportions() -> None:
    _, joints = SyntheticPerformer([("idle", 1.0)], seed=0, noise_m=0.0).render()
    assert torso_length(joints[0]) == pytest.approx(0.45, abs=0.02)
    height = joints[0, J["Head"], 1] - _feet_y(joints[:1])[0]
    assert 1.45 < height < 1.75  # head joint (centre of the head) above the foot joints
    upper_arm = np.linalg.norm(joints[0, J["ElbowRight"]] - joints[0, J["ShoulderRight"]])
    thigh = np.linalg.norm(joints[0, J["KneeLeft"]] - joints[0, J["HipLeft"]])
    assert upper_arm == pytest.approx(0.28, abs=0.01) and thigh == pytest.approx(0.42, abs=0.01)


def test_canonical_axes_y_up_right_at_larger_x_facing_the_camera() -> None:
    _, joints = SyntheticPerformer([("idle", 2.0), ("walk_in_place", 2.0)], seed=1).render()
    assert (joints[:, J["Head"], 1] > joints[:, J["HipCenter"], 1] + 0.4).all()
    assert (joints[:, J["ShoulderRight"], 0] > joints[:, J["ShoulderLeft"], 0]).all()
    assert (joints[:, J["HipRight"], 0] > joints[:, J["HipLeft"], 0]).all()
    # Facing the camera = looking toward -z: the toes are nearer the camera than the ankles.
    assert (joints[:, J["FootLeft"], 2] < joints[:, J["AnkleLeft"], 2]).all()
    assert np.median(joints[:, J["HipCenter"], 2]) == pytest.approx(2.5, abs=0.2)


def test_motion_is_smooth_including_the_transitions() -> None:
    performer = SyntheticPerformer(ALL, fps=30, seed=2, noise_m=0.0)
    _, joints = performer.render()
    speed = np.linalg.norm(np.diff(joints, axis=0), axis=-1) * 30  # (T-1, 20) m/s
    assert speed.max() < 12.0  # a kick's foot is fast, but nothing teleports
    # No step change at the boundaries: the frame-to-frame change there is like the one just before.
    for _, start, _ in performer.segments[1:]:
        i = round(start * 30)
        assert speed[i - 1].max() < 3 * speed[i - 6 : i - 1].max() + 0.3


def test_feet_stay_on_the_floor_unless_jumping() -> None:
    _, joints = SyntheticPerformer([("walk_in_place", 4.0), ("squat", 4.0)], seed=0, noise_m=0.0).render()
    np.testing.assert_allclose(_feet_y(joints), FLOOR_Y + 0.05, atol=0.02)
    _, jump = SyntheticPerformer([("jump_flail", 4.0)], seed=0, noise_m=0.0).render()
    assert _feet_y(jump).max() > FLOOR_Y + 0.2


def test_walk_in_place_lifts_each_knee_in_turn() -> None:
    _, joints = SyntheticPerformer([("walk_in_place", 6.0)], seed=0, noise_m=0.0).render()
    left, right = joints[:, J["KneeLeft"], 1], joints[:, J["KneeRight"], 1]
    lifted_left, lifted_right = left > right + 0.1, right > left + 0.1
    assert lifted_left.any() and lifted_right.any() and not (lifted_left & lifted_right).any()
    rises = np.flatnonzero(np.diff(lifted_left.astype(int)) == 1)
    assert len(rises) >= 3  # about one step per leg per 1.1 s


def test_wave_raises_the_right_hand_above_the_head_and_moves_it_sideways() -> None:
    _, joints = SyntheticPerformer([("wave_right_hand", 4.0)], seed=0).render()
    hand = joints[15:, J["HandRight"]]  # after the first half second
    assert (hand[:, 1] > joints[15:, J["Head"], 1] - 0.1).mean() > 0.9
    assert np.ptp(hand[:, 0]) > 0.15
    assert (joints[:, J["HandLeft"], 1] < joints[:, J["HipCenter"], 1]).all()  # left arm stays down


def test_fall_ends_lying_on_the_ground() -> None:
    _, joints = SyntheticPerformer([("idle", 2.0), ("fall", 4.0)], seed=0).render()
    head = joints[:, J["Head"], 1] - FLOOR_Y
    assert head[:60].min() > 1.4  # standing
    assert head[-30:].max() < 0.5  # lying down
    spine = joints[-1, J["ShoulderCenter"]] - joints[-1, J["HipCenter"]]
    assert abs(spine[1]) < 0.5 * np.linalg.norm(spine)  # the trunk is closer to horizontal than vertical


def test_same_seed_same_performance_other_seed_other_performance() -> None:
    script = [("walk_in_place", 2.0), ("kick", 2.0)]
    a = SyntheticPerformer(script, seed=5).render()[1]
    b = SyntheticPerformer(script, seed=5).render()[1]
    c = SyntheticPerformer(script, seed=6).render()[1]
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 0.005


@pytest.mark.parametrize(
    ("script", "kwargs"),
    [([], {}), ([("moonwalk", 1.0)], {}), ([("idle", 0.0)], {}), ([("idle", 1.0)], {"fps": 0})],
)
def test_bad_scripts_are_refused(script: list[tuple[str, float]], kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        SyntheticPerformer(script, **kwargs)


def test_a_live_performance_opened_before_it_starts_sends_no_frame_stamped_in_the_future() -> None:
    # It played at once, stamped from starts_at on: frames ahead of the wall clock by the wait, which
    # a restarted daemon's worker then took for older than what the killed one had seen.
    starts_at = time.time() + 0.5
    with SyntheticSource([("walk_in_place", 1.0)], realtime=True, starts_at=starts_at) as source:
        for t, _ in itertools.islice(source, 3):
            assert t <= time.time() + 1e-3
    assert t >= starts_at
