"""A replayed MediaPipe clip file sends no visibility on (a joint is there or not), so the frontend
leaves out the frames the worker would count missing, by the worker's own ``worker.min_visibility``:
it used the setting's default whatever the config said, so a replay disagreed with the worker, with
``haad enroll`` and with ``haad eval`` reading the same file."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from config.edge import EdgeConfig
from config.frontend import SkeletonSourceConfig, StreamConfig
from edge.daemon import Daemon
from pose_frontend.process import run_stream
from tests.pose_frontend.frontend_helpers import Collect


@pytest.fixture
def legs_unseen(squat_clipset: Callable[..., Path]) -> StreamConfig:
    """A real MediaPipe squat (65 frames, x y z visibility) whose legs are unseen in frames 20 to 22:
    a mean visibility of 0.7 over the body there."""
    visibility = np.ones((65, 33), np.float32)
    visibility[20:23, 25:33] = 0.0
    path = squat_clipset("legs.npz", visibility)
    return StreamConfig(
        id="cam", source=SkeletonSourceConfig(path=str(path), layout="mediapipe33", realtime=False)
    )


def _unseen(stream: StreamConfig, min_visibility: float | None) -> list[int]:
    out = Collect()
    run_stream(stream, out, threading.Event(), min_visibility=min_visibility)
    return [i for i, f in enumerate(out.frames) if f.joints is None]


def test_a_replay_leaves_out_the_frames_the_workers_min_visibility_does(legs_unseen: StreamConfig) -> None:
    assert _unseen(legs_unseen, 0.8) == [20, 21, 22]
    assert _unseen(legs_unseen, 0.6) == []
    assert _unseen(legs_unseen, None) == []  # the setting's default, 0.5


@pytest.mark.parametrize("per_process", [1, 2])
def test_the_daemon_gives_its_frontends_the_configs_min_visibility(
    legs_unseen: StreamConfig, per_process: int
) -> None:
    cfg = EdgeConfig(streams=[legs_unseen], worker={"min_visibility": 0.8}, cameras_per_frontend=per_process)
    (frontend,) = Daemon(cfg).frontends
    assert frontend.make().min_visibility == 0.8  # type: ignore[attr-defined]
