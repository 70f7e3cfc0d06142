"""The worker's live status rows: the real scoring pipeline (bundled encoder and demo profile) fed a
synthetic camera, its scores written to a real SQLite log and read back as the review server does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bus.messages import SkeletonFrame
from config.backend import OnnxRuntimeConfig
from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.demo import PROFILES_DIR
from edge.live_status import StatusRecorder
from edge.pipeline import Pipeline
from edge.profiles import Profile, ProfileStore
from edge.review.queries import stream_statuses
from edge.store import AlertStore
from edge.store.models import StreamStatus
from pose_frontend.synthetic import SyntheticPerformer


def walked(recorder: StatusRecorder, clock: list[float]) -> tuple[Pipeline, Profile]:
    """The real pipeline, scoring 6 s of walking on camera "cam" against demo-walk, seen by ``recorder``."""
    backend = make_backend(OnnxRuntimeConfig())
    profile = ProfileStore(PROFILES_DIR).load("demo-walk")
    pipeline = Pipeline(WorkerConfig(), backend, [profile], stream_profiles={"cam": ["demo-walk"]},
                        clock=lambda: clock[0])  # fmt: skip
    times, joints = SyntheticPerformer([("walk_in_place", 6.0)], seed=3).render()
    for i, (t, j) in enumerate(zip(times, joints, strict=True)):
        pipeline.push(SkeletonFrame("cam", i, float(t), j, np.ones(20, np.float32)))
        recorder.observe(pipeline.run_due(flush=True), pipeline)
    return pipeline, profile


def test_status_rows_carry_each_streams_latest_score_threshold_and_fps(tmp_path: Path) -> None:
    clock = [0.0]
    with AlertStore(f"sqlite:///{tmp_path / 'alerts.db'}") as store:
        recorder = StatusRecorder(
            store.write_stream_status, every_s=5.0, host="cam-host-1", clock=lambda: clock[0]
        )
        pipeline, profile = walked(recorder, clock)
        recorder.maybe_flush({"cam": 29.5}, {"demo-walk": profile.version})
        clock[0] = 1.0
        recorder.maybe_flush({"cam": 0.0}, {})  # within every_s: not written again
        [row] = stream_statuses(store)
    assert (row["stream_id"], row["profile"], row["profile_version"], row["fps"]) == (
        "cam",
        "demo-walk",
        1,
        29.5,
    )
    assert (
        row["threshold"] == pytest.approx(profile.threshold, rel=1e-6)
        and row["windows_scored"] == pipeline.stats.windows_scored > 5
    )
    recent = np.array(row["recent"])
    assert recent.shape == (row["windows_scored"], 2) and row["score"] == pytest.approx(
        recent[-1, 1], abs=1e-4
    )
    assert np.all(recent[:, 1] < profile.threshold * 1.5)  # walking against the walking profile
    assert json.dumps(row["recent"])


@pytest.mark.parametrize("gone", ["camera down", "profile removed"])
def test_a_camera_sending_nothing_or_a_removed_profile_goes_stale_not_live(gone: str) -> None:
    """Their row was written again every interval with the last score: shown live for ever."""
    clock = [0.0]
    written: list[list[StreamStatus]] = []
    recorder = StatusRecorder(written.append, every_s=5.0, host="h", clock=lambda: clock[0])
    _, profile = walked(recorder, clock)
    recorder.maybe_flush({"cam": 29.5}, {"demo-walk": profile.version})
    assert [(r.stream_id, r.profile) for r in written[-1]] == [("cam", "demo-walk")]
    for flush in range(1, 4):  # later and later, with nothing scored meanwhile
        clock[0] = 5.0 * flush
        if gone == "camera down":
            recorder.maybe_flush({"cam": 0.0}, {"demo-walk": profile.version})
        else:
            recorder.maybe_flush({"cam": 29.5}, {})
        assert len(written) == 1, [[(r.stream_id, r.profile, r.fps) for r in rows] for rows in written]
