"""vtest.avi's walking profile (evaluation/vtest_walk.py): the skeleton cache, the track clips, and no alert
on the real video's walkers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from bus.messages import PersonSkeleton, SkeletonFrame
from evaluation.vtest_walk import load_frames, save_frames, track_clips


def _frames() -> list[SkeletonFrame]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(12):
        ids = [1, 2] if i < 4 else [1] if i < 8 else [1, 3]  # 2 leaves, 3 arrives
        people = tuple(
            PersonSkeleton(
                pid, rng.normal(size=(20, 3)), rng.uniform(size=20), (0.1 * pid, 0.2, 0.1 * pid + 0.05, 0.6)
            )
            for pid in ids
        )
        out.append(SkeletonFrame.of_people("video", i, i / 10, people, sent_at=0.0))
    return out


def test_saved_frames_load_back_the_same(tmp_path: Path) -> None:
    frames = _frames()
    save_frames(tmp_path / "s.npz", frames)
    back = load_frames(tmp_path / "s.npz")
    assert [f.timestamp for f in back] == [f.timestamp for f in frames]
    for a, b in zip(frames, back, strict=True):
        assert [p.person_id for p in a.people] == [p.person_id for p in b.people]
        for p, q in zip(a.people, b.people, strict=True):
            np.testing.assert_array_equal(p.joints, q.joints)
            assert q.box == p.box


def test_track_clips_split_each_person_where_they_were_away() -> None:
    frames = _frames()
    frames[9] = SkeletonFrame.of_people("video", 9, 0.9, frames[9].people[1:], sent_at=0.0)  # 1 unseen
    clips = track_clips(frames, max_gap_s=0.15)
    assert sorted((c.subject, len(c.times)) for c in clips) == [
        ("track1", 2), ("track1", 9), ("track2", 4), ("track3", 4)
    ]  # fmt: skip


def test_walking_profile_from_the_first_seconds_alerts_only_on_who_does_something_else() -> None:
    from config.backend import OnnxRuntimeConfig
    from config.worker import WorkerConfig
    from edge.backends import make_backend
    from evaluation.person_mix import Replayed, mix_people
    from evaluation.vtest_walk import walking_profile_run
    from pose_frontend.synthetic import SyntheticPerformer

    def person(pid: int, script: list[tuple[str, float]], seed: int) -> Replayed:
        times, joints = SyntheticPerformer(script, fps=20.0, seed=seed).render()
        return Replayed(pid, joints, times - times[0])

    people = [
        person(1, [("walk_in_place", 30.0)], 1),
        person(2, [("walk_in_place", 30.0)], 2),
        person(3, [("walk_in_place", 20.0), ("jump_flail", 5.0), ("walk_in_place", 5.0)], 3),
    ]
    report = walking_profile_run(
        mix_people(people), make_backend(OnnxRuntimeConfig()), WorkerConfig(), enrol_s=15.0
    )
    assert (report.enrol_people, report.scored_people) == (3, 3)
    assert report.alerted_people == [3]


# The frontend's skeletons of ../shared/data/opencv_vtest/vtest.avi, saved by
# `haad eval multiperson --skeletons-out` (MediaPipe on all 795 frames takes minutes; scoring them, 1 s).
VTEST_SKELETONS = Path(__file__).parents[2] / "evaluation" / "data" / "vtest_skeletons.npz"
VTEST_SHA256 = "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf"


def test_vtest_walking_profile_raises_no_alert_on_the_rest_of_the_video(data_root: Path) -> None:
    from config.backend import OnnxRuntimeConfig
    from config.worker import WorkerConfig
    from edge.backends import make_backend
    from evaluation.vtest_walk import walking_profile_run

    video = data_root / "opencv_vtest" / "vtest.avi"
    if not video.is_file():
        pytest.fail(f"vtest.avi missing from the shared data: {video}")
    assert hashlib.sha256(video.read_bytes()).hexdigest() == VTEST_SHA256, (
        "the skeletons are of another video"
    )
    backend = make_backend(OnnxRuntimeConfig())
    report = walking_profile_run(load_frames(VTEST_SKELETONS), backend, WorkerConfig())
    assert report.enrol_people >= 20 and report.windows_scored > 700
    assert (report.alerts, report.alerted_people) == (0, [])
    # Small people's skeletons are noisier than the prior's Kinect people: the enrolment says so.
    assert backend.calibration_prior is not None
    assert report.threshold > backend.calibration_prior.kappa(WorkerConfig().calibration.target_far)
