"""Real MediaPipe on MediaPipe's own test media: landmarks within MediaPipe's tolerances, and the
canonical skeleton's axes, handedness and bone lengths on a real squat video."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from config.frontend import EstimatorConfig
from models.skeleton import J, bone_lengths, from_mediapipe33
from pose_frontend.estimator import (
    EstimatorError,
    LegacyPoseEstimator,
    TasksPoseEstimator,
    open_estimator,
    to_canonical_pose,
)
from pose_frontend.sources import ImageFolderSource, VideoFileSource

# MediaPipe's pose test uses 0.1 m / 15 px; this build meets them at the 99th percentile (SOURCE.md
# of the test data: world p99 0.093 m, image p99 9.7 px; a few frames exceed them at the maximum).
WORLD_TOL_M = 0.1
IMAGE_TOL_PX = 15.0
MP_LEFT_SHOULDER, MP_RIGHT_SHOULDER = 11, 12


def _canonical(squat_run) -> np.ndarray:  # (65, 20, 3)
    return np.stack([to_canonical_pose(r)[0] for r in squat_run.results])


def test_squat_video_world_landmarks_match_mediapipe_reference(squat_run) -> None:
    assert len(squat_run.results) == 65 and all(r is not None for r in squat_run.results)
    world = np.stack([r.world for r in squat_run.results])
    error = np.abs(world - squat_run.expected_world)
    assert np.percentile(error, 99) <= WORLD_TOL_M
    assert np.median(error) < 0.02


def test_squat_video_image_landmarks_match_mediapipe_reference(squat_run) -> None:
    image = np.stack([r.image[:, :2] for r in squat_run.results])
    error = np.abs(image - squat_run.expected_image)
    assert np.percentile(error, 99) <= IMAGE_TOL_PX
    visibility = np.stack([r.visibility for r in squat_run.results])
    assert visibility.min() >= 0 and visibility.max() <= 1 and np.median(visibility) > 0.5


def test_pose_jpg_through_the_images_source_matches_mediapipe_reference(mp_testdata: Path) -> None:
    expected = json.loads((mp_testdata / "pose_jpg_expected_landmarks.json").read_text())
    source = ImageFolderSource(mp_testdata / "pose.jpg", fps=1)
    with LegacyPoseEstimator(EstimatorConfig()) as estimator:
        [(t, rgb)] = list(source)
        result = estimator.estimate(rgb, t)
    assert result is not None
    px = np.abs(result.image[:, :2] - np.array(expected["pose_landmarks_xy_pixels"]))
    world = np.abs(result.world - np.array(expected["pose_world_landmarks_xyz_m"]))
    assert px.max() <= expected["tolerance_xy_pixels_mediapipe"]
    assert world.max() <= expected["tolerance_world_m_mediapipe"]


def test_canonical_hip_height_goes_down_and_up_with_the_squats(squat_run) -> None:
    joints = _canonical(squat_run)
    feet = joints[:, [J["FootLeft"], J["FootRight"]], 1].mean(axis=1)
    hip_height = joints[:, J["HipCenter"], 1] - feet
    assert np.ptp(hip_height) > 0.2
    mid = 0.5 * (hip_height.max() + hip_height.min())
    downs = np.flatnonzero((hip_height[:-1] >= mid) & (hip_height[1:] < mid))
    ups = np.flatnonzero((hip_height[:-1] < mid) & (hip_height[1:] >= mid))
    assert len(downs) >= 3 and len(ups) >= 3  # several squats, each down then up again
    # Same curve as the one from MediaPipe's reference landmarks.
    reference = from_mediapipe33(squat_run.expected_world)
    ref_height = reference[:, J["HipCenter"], 1] - reference[:, [J["FootLeft"], J["FootRight"]], 1].mean(
        axis=1
    )
    assert np.corrcoef(hip_height, ref_height)[0, 1] > 0.95


def test_canonical_axes_on_real_video_y_up_and_left_stays_left(squat_run) -> None:
    joints = _canonical(squat_run)
    assert (joints[:, J["Head"], 1] > joints[:, J["HipCenter"], 1] + 0.3).all()  # y up
    assert (joints[:, J["KneeLeft"], 1] > joints[:, J["FootLeft"], 1]).all()
    # She faces the camera where, in MediaPipe's reference image landmarks, her left shoulder is
    # clearly right of her right shoulder in the image.
    image = squat_run.expected_image
    facing = image[:, MP_LEFT_SHOULDER, 0] - image[:, MP_RIGHT_SHOULDER, 0] > 40
    assert facing.sum() >= 30
    sr, sl = joints[facing, J["ShoulderRight"]], joints[facing, J["ShoulderLeft"]]
    assert (sr[:, 0] > sl[:, 0]).all()
    assert (joints[facing, J["HipRight"], 0] > joints[facing, J["HipLeft"], 0]).all()
    # Facing the camera means looking toward -z: the toes are nearer the camera than the ankles.
    assert np.median(joints[facing, J["FootLeft"], 2] - joints[facing, J["AnkleLeft"], 2]) < 0


def test_canonical_bone_lengths_stay_roughly_constant(squat_run) -> None:
    joints = _canonical(squat_run)
    lengths = bone_lengths(joints)  # (65, 19)
    mean = lengths.mean(axis=0)
    cv = lengths.std(axis=0) / mean
    # The wrist->hand bones are ~6 cm between landmarks a few cm noisy (0.16 even in MediaPipe's
    # reference output); every bone longer than 10 cm holds within 15 %.
    assert cv[mean > 0.1].max() < 0.15, np.round(cv, 3)
    assert cv.max() < 0.4, np.round(cv, 3)
    torso = np.linalg.norm(joints[:, J["ShoulderCenter"]] - joints[:, J["HipCenter"]], axis=-1)
    assert 0.3 < np.median(torso) < 0.6  # an adult torso, metres


def test_visibility_threshold_turns_unsure_joints_into_nan(squat_run) -> None:
    result = squat_run.results[0]
    joints, visibility = to_canonical_pose(result)
    assert np.isfinite(joints).all() and visibility.shape == (20,)
    threshold = float(np.median(visibility))
    masked, same_visibility = to_canonical_pose(result, visibility_threshold=threshold)
    missing = np.isnan(masked).any(axis=-1)
    np.testing.assert_array_equal(missing, visibility < threshold)
    np.testing.assert_array_equal(same_visibility, visibility)
    assert 0 < missing.sum() < 20


def test_three_people_yield_one_person_or_none_without_crashing(mp_testdata: Path) -> None:
    [(t, rgb)] = list(ImageFolderSource(mp_testdata / "three_people.jpg"))
    with LegacyPoseEstimator(EstimatorConfig()) as estimator:
        result = estimator.estimate(rgb, t)
        blank = estimator.estimate(np.full((480, 640, 3), 128, dtype=np.uint8), t + 1)
    if result is not None:
        joints, visibility = to_canonical_pose(result)
        assert joints.shape == (20, 3) and visibility.shape == (20,)
    assert blank is None  # nobody in an empty grey frame


def test_a_frame_that_is_not_an_rgb_image_is_an_estimator_error() -> None:
    with (
        LegacyPoseEstimator(EstimatorConfig()) as estimator,
        pytest.raises(EstimatorError, match="RGB uint8"),
    ):
        estimator.estimate(np.zeros((20, 3), dtype=np.float32), 0.0)


def test_tasks_estimator_refuses_missing_or_unusable_models(tmp_path: Path) -> None:
    with pytest.raises(EstimatorError, match="not found"):
        open_estimator(EstimatorConfig(kind="tasks", task_model_path=str(tmp_path / "pose_landmarker.task")))
    bogus = tmp_path / "bogus.task"
    bogus.write_bytes(b"PK\x03\x04 not really a model bundle")
    with pytest.raises(EstimatorError, match="bogus.task"):
        open_estimator(EstimatorConfig(kind="tasks", task_model_path=str(bogus)))


def test_a_task_model_path_without_kind_tasks_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kind: tasks"):
        EstimatorConfig(task_model_path=str(tmp_path / "pose_landmarker.task"))


def test_tasks_estimator_on_the_squat_video(squat_video: Path, squat_run, task_cache: Path) -> None:
    # HAAD_POSE_TASK_MODEL names another .task (e.g. Google's published pose_landmarker_full.task);
    # by default the bundle built from the wheel's own models.
    config = EstimatorConfig(
        kind="tasks", task_model_path=os.environ.get("HAAD_POSE_TASK_MODEL"), task_cache_dir=str(task_cache)
    )
    with TasksPoseEstimator(config) as estimator:
        results = [estimator.estimate(rgb, t) for t, rgb in VideoFileSource(squat_video)]
    detected = [i for i, r in enumerate(results) if r is not None]
    assert len(detected) >= 60
    world = np.stack([results[i].world for i in detected])
    # Farther from the reference than the legacy graph (docs/frontend.md): the tfjs tolerance (0.19 m).
    assert np.percentile(np.abs(world - squat_run.expected_world[detected]), 99) <= 0.19
