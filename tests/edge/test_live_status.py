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
from edge.profiles import ProfileStore
from edge.review.queries import stream_statuses
from edge.store import AlertStore
from pose_frontend.synthetic import SyntheticPerformer


def test_status_rows_carry_each_streams_latest_score_threshold_and_fps(tmp_path: Path) -> None:
    backend = make_backend(OnnxRuntimeConfig())
    profile = ProfileStore(PROFILES_DIR).load("demo-walk")
    clock = [0.0]
    pipeline = Pipeline(WorkerConfig(), backend, [profile], stream_profiles={"cam": ["demo-walk"]},
                        clock=lambda: clock[0])  # fmt: skip
    times, joints = SyntheticPerformer([("walk_in_place", 6.0)], seed=3).render()
    with AlertStore(f"sqlite:///{tmp_path / 'alerts.db'}") as store:
        recorder = StatusRecorder(
            store.write_stream_status, every_s=5.0, host="cam-host-1", clock=lambda: clock[0]
        )
        for i, (t, j) in enumerate(zip(times, joints, strict=True)):
            pipeline.push(SkeletonFrame("cam", i, float(t), j, np.ones(20, np.float32)))
            recorder.observe(pipeline.run_due(flush=True), pipeline)
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
