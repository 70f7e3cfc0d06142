"""A MediaPipe clip file replayed by `haad frontend run` on a host of its own, where no worker config
is: its frames go out with the file's per-joint visibility, and the worker's own
``worker.min_visibility`` (edge.window) judges them. The frontend judged them itself, by the
setting's default (0.5) there, whatever the worker said: a frame the worker at 0.8 would leave out
went on as fully visible, one it would keep at 0.3 never came."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bus.messages import SkeletonFrame
from config.frontend import SkeletonSourceConfig, StreamConfig
from edge.window import StreamWindow
from models.preprocess import WindowSpec
from pose_frontend.process import run_stream
from tests.pose_frontend.frontend_helpers import Collect


@pytest.fixture
def replayed(squat_clipset: Callable[..., Path]) -> list[SkeletonFrame]:
    """A real MediaPipe squat (65 frames at 5 fps, x y z visibility) as a frontend host sends it:
    its legs unseen in frames 20-22 (a mean visibility of 0.7 over the body), all of it barely
    visible in frames 40-42 (0.4)."""
    visibility = np.ones((65, 33), np.float32)
    visibility[20:23, 25:33] = 0.0  # knees, ankles, heels, feet
    visibility[40:43] = 0.4  # all of it barely visible
    path = squat_clipset("squat.npz", visibility)
    stream = StreamConfig(
        id="cam", source=SkeletonSourceConfig(path=str(path), layout="mediapipe33", realtime=False)
    )
    out = Collect()
    run_stream(stream, out, threading.Event())  # a frontend host has no worker.min_visibility to give
    return out.frames


def _worker_skips(frames: list[SkeletonFrame], min_visibility: float) -> Counter[str]:
    """The frames the worker's window leaves out at its ``min_visibility``, by why."""
    window = StreamWindow(WindowSpec(), stride=1, max_gap_s=2.0, min_visibility=min_visibility)
    for frame in frames:
        window.push(frame)
    return window.skipped


def test_a_replay_sends_every_frame_with_the_files_visibility(replayed: list[SkeletonFrame]) -> None:
    assert len(replayed) == 65 and all(f.person for f in replayed)
    means = [f.pose_quality[1] for f in replayed]
    assert means[20] == means[21] == means[22] == pytest.approx(0.7, abs=0.06)
    assert means[40] == means[41] == means[42] == pytest.approx(0.4)
    assert means[0] == 1.0


@pytest.mark.parametrize(
    ("min_visibility", "skipped"),
    [(0.8, {"low_visibility": 6}), (0.6, {"low_visibility": 3}), (0.3, {})],
)
def test_the_workers_min_visibility_judges_a_replay_from_another_host(
    replayed: list[SkeletonFrame], min_visibility: float, skipped: dict[str, int]
) -> None:
    assert _worker_skips(replayed, min_visibility) == skipped
