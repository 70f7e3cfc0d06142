"""A looped file's seam (its last frame, then its first again) is a hole in its stream: no worker window
spans it, and a clip enrolled as the profile and looped gives no alert there (pose_frontend/sources.py).

Before, each pass started one frame step after the last: the worker's windows ran across the jump
from the last pose to the first, and a third of pose_squats.mp4 looped against a profile of its three
thirds alerted 5 times in 60 s, every alert's windows spanning a seam."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bus.messages import SkeletonFrame
from clips import Clip
from clips.files import save_clipset_file
from config.backend import OnnxRuntimeConfig
from config.frontend import SkeletonSourceConfig, StreamConfig, VideoSourceConfig
from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.enroll import build_profile
from edge.episodes import EpisodeEvent
from edge.pipeline import Pipeline
from edge.window import ReadyWindow, StreamWindow
from models.preprocess import WindowSpec
from pose_frontend.process import run_stream
from pose_frontend.record import record_clip
from tests.pose_frontend.frontend_helpers import Collect

SQUAT_FRAMES = 65  # pose_squats.mp4: 13 s at 5 fps
# The longest hole a worker may be configured to bridge (read from the config's bound, not a copy of it)
LONGEST_BRIDGED_S = next(m.le for m in WorkerConfig.model_fields["max_gap_s"].metadata if hasattr(m, "le"))


class StopAfter(Collect):
    """Collects ``n`` frames, then stops the loop (a looped source never ends by itself)."""

    def __init__(self, n: int, stop: threading.Event) -> None:
        super().__init__()
        self.n, self.stop = n, stop

    def publish(self, frame: SkeletonFrame, *, wait: object = None) -> bool:
        super().publish(frame)
        if len(self.frames) >= self.n:
            self.stop.set()
        return True


def _looped(source: VideoSourceConfig | SkeletonSourceConfig, n: int) -> list[SkeletonFrame]:
    """The first ``n`` frames the real frontend loop publishes for ``source``."""
    stop = threading.Event()
    out = StopAfter(n, stop)
    run_stream(StreamConfig(id="gym", source=source), out, stop)
    assert len(out.frames) == n
    return out.frames


def _spanning(windows: list[ReadyWindow], seams: list[float]) -> list[tuple[float, float]]:
    return [(w.t_start, w.t_end) for w in windows if any(w.t_start < s <= w.t_end for s in seams)]


def test_no_worker_window_spans_the_seam_of_a_looped_video(squat_video: Path) -> None:
    # the first pass and the next pass's first 4 s (MediaPipe on 85 frames: about 3 s)
    frames = _looped(VideoSourceConfig(path=str(squat_video), loop=True, realtime=False), SQUAT_FRAMES + 20)
    times = [f.timestamp for f in frames]
    seam = times[SQUAT_FRAMES]
    assert seam - times[SQUAT_FRAMES - 1] > LONGEST_BRIDGED_S
    cfg = WorkerConfig()
    window = StreamWindow(
        WindowSpec(), stride=cfg.stride, max_gap_s=cfg.max_gap_s, min_visibility=cfg.min_visibility
    )
    windows = [w for f in frames for w in window.push(f)]
    assert windows and windows[-1].t_start >= seam  # the next pass is windowed: it is not left out
    assert _spanning(windows, [seam]) == []


@pytest.fixture(scope="module")
def squat_thirds(mp_testdata: Path) -> list[Clip]:
    """pose_squats.mp4 through the one-person estimator, cut in three clips (as a user cuts a video)."""
    config = StreamConfig(id="cut", source=VideoSourceConfig(path=str(mp_testdata / "pose_squats.mp4")))
    times, joints, visibility, _ = record_clip(config)
    cuts = [(0, 22), (22, 44), (44, 65)]
    return [
        Clip(joints[a:b], times[a:b] - times[a], name=f"squat{i + 1}", visibility=visibility[a:b])
        for i, (a, b) in enumerate(cuts)
    ]


def test_an_enrolled_clip_looped_alerts_at_none_of_its_seams(
    tmp_path: Path, squat_thirds: list[Clip]
) -> None:
    backend = make_backend(OnnxRuntimeConfig(cache_dir=str(tmp_path / "onnx")))
    cfg = WorkerConfig()
    profile = build_profile("gym", squat_thirds, backend, calibration=cfg.calibration)
    looped = squat_thirds[1]
    save_clipset_file(tmp_path / "squat2.npz", [looped])
    replay = SkeletonSourceConfig(path=str(tmp_path / "squat2.npz"), loop=True, realtime=False)
    frames = _looped(replay, 13 * len(looped.times))  # 13 passes: 57 s of squats
    times = [f.timestamp for f in frames]
    seams = times[len(looped.times) :: len(looped.times)]  # each pass's first frame

    pipeline = Pipeline(cfg, backend, [profile], clock=lambda: 0.0)
    events: list[EpisodeEvent] = []
    windows: list[ReadyWindow] = []
    for frame in frames:
        pipeline.push(frame)
    pipeline.finish_streams()
    for batch in pipeline.run_due(flush=True):
        events += batch.events
        windows += batch.windows
    events += pipeline.close_all()
    opened = [(e.episode.start, e.episode.end) for e in events if e.kind == "opened"]
    assert opened == []
    assert len(seams) == 12 and len(windows) > 13 * 5  # every pass scored
    assert _spanning(windows, seams) == []
