"""Per-person alerts on two-person replays of real recordings (evaluation/person_alerts.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from config.backend import OnnxRuntimeConfig
from config.worker import WorkerConfig
from edge.backends import make_backend
from evaluation.person_alerts import evaluate_pair, pairs
from evaluation.person_mix import Replayed, mix_people
from evaluation.stream_sets import kinder_gator_streams


def test_mixed_frames_hold_each_person_while_in_view_at_their_interpolated_pose() -> None:
    a = Replayed(1, np.arange(4 * 60, dtype=np.float32).reshape(4, 20, 3), np.arange(4) / 10)
    b = Replayed(2, np.zeros((2, 20, 3), np.float32), np.array([0.0, 0.1]), start=0.2)
    frames = mix_people([a, b], "cam")
    assert [[p.person_id for p in f.people] for f in frames] == [[1], [1], [1, 2], [1, 2]]
    np.testing.assert_allclose(frames[1].people[0].joints, a.joints[1])
    assert frames[2].people[0].box != frames[2].people[1].box  # side by side
    half = mix_people([a], "cam", grid=np.array([0.05]))
    np.testing.assert_allclose(half[0].people[0].joints, (a.joints[0] + a.joints[1]) / 2)


@pytest.fixture(scope="module")
def streams(data_root: Path):  # type: ignore[no-untyped-def]
    return kinder_gator_streams(str(data_root))


def test_pairs_never_take_the_profiles_subjects_as_the_normal_person(streams) -> None:  # type: ignore[no-untyped-def]
    found = pairs(streams)
    assert len(found) >= 30
    for stream, partner in found:
        subject, other = stream.name.split(":")[1], partner.name.split(":")[1]
        assert other != subject and other not in {c.subject for c in stream.support}
        assert partner.normal_label == stream.normal_label


def test_the_abnormal_person_is_alerted_and_the_normal_one_stays_silent(streams) -> None:  # type: ignore[no-untyped-def]
    backend = make_backend(OnnxRuntimeConfig())
    stream, partner = next(p for p in pairs(streams) if p[0].name == "kg:723:Walk-in-place->Jump")
    result = evaluate_pair(stream, partner, backend, WorkerConfig())
    assert result.passed and result.abnormal_person_true_alerts >= 1
    assert result.same_as_alone and result.normal_person_alone_alerts == result.normal_person_alerts == 0
