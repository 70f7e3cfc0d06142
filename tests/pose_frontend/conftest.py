"""Fixtures of the pose-frontend tests: MediaPipe's own test media, and the squat video run through
the real estimator once per session (MediaPipe is slow on a 2-core machine)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from config.frontend import EstimatorConfig
from pose_frontend.estimator import LegacyPoseEstimator, PoseResult
from pose_frontend.sources import VideoFileSource


@pytest.fixture(scope="session")
def mp_testdata(data_root: Path) -> Path:
    folder = data_root / "mediapipe_pose_testdata"
    if not (folder / "pose_squats.mp4").is_file():
        message = f"MediaPipe pose test media missing: {folder}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return folder


@pytest.fixture(scope="session")
def squat_video(mp_testdata: Path) -> Path:
    return mp_testdata / "pose_squats.mp4"


@dataclass(frozen=True)
class SquatRun:
    """pose_squats.mp4 (65 frames, 5 fps) through the legacy estimator, plus the reference landmarks."""

    times: np.ndarray  # (65,)
    results: list[PoseResult | None]
    expected_world: np.ndarray  # (65, 33, 3) metres
    expected_image: np.ndarray  # (65, 33, 2) pixels


@pytest.fixture(scope="session")
def squat_run(mp_testdata: Path) -> SquatRun:
    times, results = [], []
    with (
        VideoFileSource(mp_testdata / "pose_squats.mp4") as source,
        LegacyPoseEstimator(EstimatorConfig()) as estimator,
    ):
        for t, rgb in source:
            times.append(t)
            results.append(estimator.estimate(rgb, t))
    world = json.loads((mp_testdata / "pose_squats_3d.full.json").read_text())
    image = json.loads((mp_testdata / "pose_squats.full.json").read_text())
    return SquatRun(
        times=np.array(times),
        results=results,
        expected_world=np.array(world, dtype=np.float64),
        expected_image=np.array(image, dtype=np.float64)[..., :2],
    )


@pytest.fixture(scope="session")
def task_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder for the .task bundle built from the wheel's models (once per session)."""
    return tmp_path_factory.mktemp("mediapipe-cache")
