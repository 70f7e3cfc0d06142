"""A person on the floor is published (and so scored): real MediaPipe on real people turned so that
their body lies across the image (MediaPipe's pose.jpg and pose_squats.mp4 rotated in memory; the
shared data holds nobody lying). The multi-person frontend published nobody first seen lying still
(entered lying, or the camera restarted after a fall), and could lose a confirmed person who fell:
a new track started on them took their pose, and lying still it was never published."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from config.frontend import EstimatorConfig, PeopleConfig
from pose_frontend.estimator import LegacyPoseEstimator
from pose_frontend.multi import MultiPoseEstimator

FPS = 10.0


def rotated(rgb: np.ndarray, degrees: int) -> np.ndarray:
    """``rgb`` turned clockwise by ``degrees``, the canvas grown to hold all of it."""
    if degrees == 90:
        return cv2.rotate(rgb, cv2.ROTATE_90_CLOCKWISE)
    if degrees == 270:
        return cv2.rotate(rgb, cv2.ROTATE_90_COUNTERCLOCKWISE)
    height, width = rgb.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), -degrees, 1.0)
    cos, sin = abs(turn[0, 0]), abs(turn[0, 1])
    size = (int(height * sin + width * cos), int(height * cos + width * sin))
    turn[:, 2] += (size[0] - width) / 2, (size[1] - height) / 2
    return cv2.warpAffine(rgb, turn, size)


def still(rgb: np.ndarray, seconds: float) -> Iterator[tuple[float, np.ndarray]]:
    """A camera watching a scene that keeps still: its sensor noise differs frame to frame."""
    rng = np.random.default_rng(0)
    for i in range(round(seconds * FPS) + 1):
        noise = rng.normal(0, 2, rgb.shape)
        yield i / FPS, np.clip(rgb + noise, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def person(mp_testdata: Path) -> np.ndarray:
    """pose.jpg (someone standing, arms spread) at half size: 500 x 333, the person 290 px tall."""
    bgr = cv2.imread(str(mp_testdata / "pose.jpg"))
    return cv2.cvtColor(cv2.resize(bgr, (500, 333), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("degrees", [90, 270, 60])
def test_someone_first_seen_lying_still_is_published_at_two_seconds(person: np.ndarray, degrees: int) -> None:
    # Turned 90 or 270 degrees: lying on the floor; 60: slumped against something. Never read
    # standing, never walking, never moving a limb: before, never published (never scored).
    published = []
    with MultiPoseEstimator(PeopleConfig()) as estimator:
        for t, rgb in still(rotated(person, degrees), 2.0):
            published.append((t, [p.track_id for p in estimator.estimate(rgb, t)]))
    assert published[-1] == (2.0, [1]), published


def test_the_single_person_frontend_reads_someone_lying(person: np.ndarray) -> None:
    # The one-person estimator (the default) publishes whoever it reads: no confirmation to pass.
    with LegacyPoseEstimator(EstimatorConfig()) as estimator:
        found = [estimator.estimate(rgb, t) is not None for t, rgb in still(rotated(person, 90), 0.5)]
    assert all(found)


@pytest.fixture(scope="module")
def standing(mp_testdata: Path) -> np.ndarray:
    """pose_squats.mp4's first frame (the woman standing) at half size, in the middle of a black
    square canvas large enough to turn her in."""
    capture = cv2.VideoCapture(str(mp_testdata / "pose_squats.mp4"))
    ok, bgr = capture.read()
    capture.release()
    assert ok
    rgb = cv2.cvtColor(cv2.resize(bgr, (360, 640), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    side = int(np.hypot(*rgb.shape[:2])) + 1
    canvas = np.zeros((side, side, 3), np.uint8)
    top, left = (side - 640) // 2, (side - 360) // 2
    canvas[top : top + 640, left : left + 360] = rgb
    return canvas


def falling(canvas: np.ndarray, degrees: float, fall_s: float) -> Iterator[tuple[float, np.ndarray]]:
    """0.5 s standing, turned by ``degrees`` (clockwise) over ``fall_s``, then 2.5 s lying still."""
    side = canvas.shape[0]
    for i in range(round((3.0 + fall_s) * FPS) + 1):
        t = i / FPS
        turn = degrees * min(1.0, max(0.0, (t - 0.5) / fall_s))
        yield (
            t,
            cv2.warpAffine(canvas, cv2.getRotationMatrix2D((side / 2, side / 2), -turn, 1.0), (side, side)),
        )


# A quick fall one way (before: a new track started on her 0.1 s after she landed took her pose; id
# 1 was published in one frame of the next 2.4 s) and a slower one the other way.
@pytest.mark.parametrize(("degrees", "fall_s"), [(-90, 0.2), (90, 0.5)])
def test_someone_who_falls_and_lies_still_stays_published_under_their_id(
    standing: np.ndarray, degrees: float, fall_s: float
) -> None:
    with MultiPoseEstimator(PeopleConfig()) as estimator:
        ids = [
            [p.track_id for p in estimator.estimate(rgb, t)] for t, rgb in falling(standing, degrees, fall_s)
        ]
    assert ids == [[1]] * len(ids), ids
