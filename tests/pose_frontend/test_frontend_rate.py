"""Pose at the rate the windows need: the rate gate, and a video whose frames between two pose
estimates are grabbed but never decoded into an image, with the kept frames' exact timestamps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from config.frontend import SyntheticSourceConfig, VideoSourceConfig
from pose_frontend.rate import RateGate
from pose_frontend.sources import open_source


def kept(times: np.ndarray, fps: float | None) -> np.ndarray:
    gate = RateGate(fps)
    return np.array([t for t in times if gate.take(float(t))])


def test_a_30_fps_stream_at_20_fps_keeps_two_frames_of_three_with_their_own_times() -> None:
    times = np.round(np.arange(300) / 30.0, 3)  # 10 s, container times rounded to ms
    out = kept(times, 20.0)
    assert len(out) == 200 and set(out) <= set(times)
    assert np.allclose(np.diff(out)[:4], [1 / 15, 1 / 30, 1 / 15, 1 / 30], atol=1e-3)
    assert len(kept(times, 10.0)) == 100 and len(kept(times, 30.0)) == 300 and len(kept(times, None)) == 300
    # Slower than the rate: every frame.
    assert len(kept(np.arange(50) / 15.0, 20.0)) == 50


def test_a_gap_restarts_the_schedule_instead_of_bursting() -> None:
    times = np.concatenate([np.arange(30) / 30.0, 5.0 + np.arange(30) / 30.0])
    out = kept(times, 10.0)
    assert out[out >= 5.0][0] == 5.0 and np.all(np.diff(out) >= 0.1 - 1e-3)
    with pytest.raises(ValueError, match="positive"):
        RateGate(0.0)


def test_a_video_at_a_pose_rate_decodes_only_the_frames_it_delivers(data_root: Path) -> None:
    video = VideoSourceConfig(path=str(data_root / "mediapipe_pose_testdata" / "pose_1.mp4"), realtime=False)
    full = open_source(video)
    every = list(full)
    thin = open_source(video, pose_fps=20.0)
    some = list(thin)
    assert (len(every), len(some)) == (120, 80)  # 4 s at 30 fps
    assert (thin.stats["frames"], thin.stats["below_rate"], full.stats["below_rate"]) == (80, 40, 0)
    by_time = dict(every)
    for t, image in some:  # the same frames, at the same times: grabbed, then retrieved
        np.testing.assert_array_equal(image, by_time[t])


def test_skeleton_sources_are_not_thinned() -> None:
    source = open_source(SyntheticSourceConfig(realtime=False), pose_fps=5.0)
    times = [t for t, _ in source]
    assert len(times) > 100 and source.stats["below_rate"] == 0
