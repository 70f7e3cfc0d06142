"""Cameras sharing the legacy graph's models (pose_frontend/shared_pose.py): the legacy graph's own
landmarks frame for frame, however the cameras interleave, and a bounded number of models."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from config.frontend import EstimatorConfig
from pose_frontend.estimator import LegacyPoseEstimator, PoseResult
from pose_frontend.shared_pose import PoseModelPool, SharedModelPoseEstimator, _Lender
from pose_frontend.sources import VideoFileSource

WORLD_TOL_M = 0.1  # MediaPipe's own pose test (test_frontend_estimator.py)


def _same(a: list[PoseResult | None], b: list[PoseResult | None]) -> None:
    assert [r is None for r in a] == [r is None for r in b]
    for x, y in zip(a, b, strict=True):
        if x is not None and y is not None:
            np.testing.assert_array_equal(x.world, y.world)
            np.testing.assert_array_equal(x.image, y.image)
            np.testing.assert_array_equal(x.visibility, y.visibility)


def test_two_cameras_on_one_landmark_model_get_the_legacy_graphs_landmarks_frame_for_frame(
    squat_run, mp_testdata: Path
) -> None:
    with VideoFileSource(mp_testdata / "pose_squats.mp4") as source:
        squats = list(source)
    with VideoFileSource(mp_testdata / "pose_1.mp4") as source:
        walk = list(source)[:30]
    for i in range(10, 13):  # nobody in view: tracking and smoothing restart (the filter sees frame 10)
        walk[i] = (walk[i][0], np.zeros_like(walk[i][1]))
    with LegacyPoseEstimator(EstimatorConfig()) as legacy:
        walk_legacy = [legacy.estimate(rgb, t) for t, rgb in walk]
    assert walk_legacy[10:13] == [None] * 3 and walk_legacy[13] is not None

    pool = PoseModelPool(1)
    cameras = [SharedModelPoseEstimator(EstimatorConfig(), pool) for _ in range(2)]
    got: list[list[PoseResult | None]] = [[], []]
    try:
        for i in range(len(squats)):  # the two cameras' frames alternate through the one model
            got[0].append(cameras[0].estimate(squats[i][1], squats[i][0]))
            if i < len(walk):
                got[1].append(cameras[1].estimate(walk[i][1], walk[i][0]))
    finally:
        for c in cameras:
            c.close()
        pool.close()
    _same(got[0], squat_run.results)
    _same(got[1], walk_legacy)
    world = np.stack([r.world for r in got[0] if r is not None])
    assert np.percentile(np.abs(world - squat_run.expected_world), 99) <= WORLD_TOL_M


def test_a_lender_builds_at_most_its_size_per_threshold_and_makes_the_next_frame_wait() -> None:
    built: list[float] = []

    class Model:
        def __init__(self, threshold: float) -> None:
            built.append(threshold)

        def close(self) -> None:
            pass

    lender: _Lender[Model] = _Lender(Model, 2)
    with lender.lend(0.5) as a, lender.lend(0.5) as b, lender.lend(0.7):
        assert a is not b and built == [0.5, 0.5, 0.7]
        waited = threading.Event()

        def third() -> None:
            with lender.lend(0.5):
                waited.set()

        t = threading.Thread(target=third)
        t.start()
        time.sleep(0.1)
        assert not waited.is_set()  # both 0.5 models are lent
    t.join(30)  # at once; 2 s was tight on a loaded host
    assert waited.is_set() and built == [0.5, 0.5, 0.7]  # the third frame took a returned one


def test_a_pool_has_a_detector_for_every_two_landmark_models() -> None:
    sizes = {n: (PoseModelPool(n).regions.size, PoseModelPool(n).landmarks.size) for n in (1, 2, 3, 4)}
    assert sizes == {1: (1, 1), 2: (1, 2), 3: (2, 3), 4: (2, 4)}


class _Nobody:
    """A pool whose detector finds nobody: only the camera's own filter graph runs."""

    def __init__(self) -> None:
        self.regions = _Lender(lambda threshold: lambda rgb: None, 1)


def test_a_camera_with_nobody_in_view_for_long_logs_no_mediapipe_deadlock(capfd) -> None:
    # The smoothing graph holds a frame without landmarks until one with some: given every frame, it
    # queued them all while nobody was in view and, past MediaPipe's 100, said "Resolved a deadlock
    # by increasing max_queue_size" again and again, for every camera of a packed process.
    camera = SharedModelPoseEstimator(EstimatorConfig(), _Nobody())  # type: ignore[arg-type]
    blank = np.zeros((48, 64, 3), np.uint8)
    try:
        assert all(camera.estimate(blank, i / 20) is None for i in range(150))
    finally:
        camera.close()
    assert "Resolved a deadlock" not in capfd.readouterr().err
