"""Built-in stream sets of ``haad eval stream`` and the boundary errors of its alerts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clips import Clip
from config.worker import WorkerConfig
from edge.episodes import Episode, KeptWindow
from edge.window import StreamWindow, WindowReset
from evaluation.stream import boundary_errors, frames_of
from evaluation.stream_sets import (
    CALM_S,
    CALM_SPEED,
    DENSE_BLEND_S,
    DENSE_LEAD_S,
    DENSE_PARTS,
    STREAM_SETS,
    STRIKES,
    UTK_BEHAVIOURS,
    LabelledStream,
)
from models.preprocess import WindowSpec
from models.skeleton import ROOT
from training.protocol import SPLITS

DENSE = {"kinder-gator-dense": "kinder-gator", "msr-dense": "msr", "nw-ucla-dense": "nw-ucla"}


@pytest.mark.parametrize("name", sorted(DENSE))
def test_dense_sets_alternate_short_abnormal_and_normal_parts_of_test_people(
    name: str, data_root: Path
) -> None:
    streams = STREAM_SETS[name](str(data_root))
    assert len(streams) >= 20
    test = SPLITS[DENSE[name]].test_subjects
    lengths = []
    for s in streams:
        subject = s.name.split(":")[1]
        assert subject in test
        assert len(s.abnormal) == DENSE_PARTS == len(s.abnormal_labels) and len(s.normal) == DENSE_PARTS + 1
        assert s.normal_label not in s.abnormal_labels
        # normal, abnormal, normal, ... in time order, a blend between each
        spans = sorted(s.normal + s.abnormal)
        assert spans[0] == s.normal[0] and spans[1::2] == sorted(s.abnormal)
        gaps = np.array([b[0] - a[1] for a, b in zip(spans[:-1], spans[1:], strict=True)])
        assert np.all((gaps > 0) & (gaps < DENSE_BLEND_S + 0.15))
        lengths += [b - a for a, b in s.abnormal + s.normal[1:-1]]
        assert s.normal[0][1] - s.normal[0][0] <= DENSE_LEAD_S
        # enrolled from other test people's clips of the normal behaviour
        assert len(s.support) == 3
        assert all(
            c.subject in test and c.subject != subject and c.label == s.normal_label for c in s.support
        )
    assert max(lengths) <= 2.0 + 1e-6 and np.median(lengths) > 0.9
    # 0.5 s at 15 fps spans 0.4 s first to last frame; shorter only where a whole clip is shorter
    assert np.mean(np.array(lengths) >= 0.39) > 0.95
    again = STREAM_SETS[name](str(data_root))[0]
    assert np.array_equal(again.recording.joints, streams[0].recording.joints)  # the same set every run


def test_utkinect_behaviours_enrols_three_actions_of_other_people_and_leaves_the_rest_abnormal(
    data_root: Path,
) -> None:
    streams = STREAM_SETS["utkinect-behaviours"](str(data_root))
    assert len(streams) >= 150  # 20 recordings x 8 sets of three, less those missing an action
    assert {tuple(s.normal_label.split(" + ")) for s in streams} == set(UTK_BEHAVIOURS)
    for s in streams:
        normal = s.normal_label.split(" + ")
        subject = str(int(s.name.split(":")[1].split("_")[0][1:]))  # utk:s01_e02:... -> "1"
        assert sorted(c.label for c in s.support) == sorted(normal * 3)  # 3 segments of each behaviour
        assert all(c.subject != subject for c in s.support)
        assert not set(s.abnormal_labels) & set(normal) and len(s.abnormal) == len(s.abnormal_labels)
        assert len(s.normal) == 3 and len(s.abnormal) + len(s.normal) >= 9


def test_kinder_gator_calm_puts_a_second_of_strike_between_calm_stretches_and_enrols_other_peoples_calm(
    data_root: Path,
) -> None:
    streams = STREAM_SETS["kinder-gator-calm"](str(data_root))
    assert len(streams) >= 15
    for s in streams:
        subject = s.name.split(":")[1]
        assert len(s.abnormal) == 3 and set(s.abnormal_labels) <= set(STRIKES) and len(s.normal) == 4
        assert all(0.9 <= b - a <= 1.05 for a, b in s.abnormal)  # a second at 30 fps, first to last frame
        assert all(CALM_S[0] - 0.05 <= b - a <= CALM_S[1] for a, b in s.normal)
        t, j = s.recording.times, s.recording.joints
        for a, b in s.normal:  # calm: the body barely moves about the root
            inside = (t >= a) & (t <= b)
            about_root = j[inside] - j[inside][:, ROOT : ROOT + 1]
            speed = np.linalg.norm(np.diff(about_root, axis=0), axis=-1).mean(-1) / np.diff(t[inside])
            assert np.median(speed) < CALM_SPEED
        assert len(s.support) == 3 and all(c.subject != subject and c.label == "calm" for c in s.support)
        assert all(CALM_S[0] <= c.duration_s <= CALM_S[1] for c in s.support)


def test_short_gaps_send_frames_without_a_person_while_nobody_is_in_view_not_a_hole(data_root: Path) -> None:
    """As a live camera: the frames go on at the stream's rate while nobody is in view, so the
    person's segment ends as they leave (person_left), never at a hole in the stream (an outage,
    across which an alert would wait: edge/episodes.py)."""
    cfg = WorkerConfig()
    for stream in STREAM_SETS["kinder-gator-short-gaps"](str(data_root))[:3]:
        frames = list(frames_of(stream))
        t = np.array([f.timestamp for f in frames])
        assert np.diff(t).max() < 0.1 < cfg.max_gap_s
        parts = sorted([*stream.normal, *stream.abnormal])
        for (_, end), (start, _) in zip(parts[:-1], parts[1:], strict=True):
            inside = [f for f in frames if end < f.timestamp < start]
            assert len(inside) >= 25 and not any(f.person for f in inside)  # 1 s at about 30 fps
        resets: list[WindowReset] = []
        window = StreamWindow(
            WindowSpec(), stride=cfg.stride, max_gap_s=cfg.max_gap_s, min_visibility=cfg.min_visibility,
            on_reset=resets.append,
        )  # fmt: skip
        for f in frames:
            window.push(f)
        assert [(r.reason, r.hole_s) for r in resets] == [("person_left", 0.0)] * 2


def test_a_recordings_frame_without_any_measured_joint_is_sent_without_a_person() -> None:
    joints = np.zeros((4, 20, 3), np.float32)
    joints[1] = np.nan  # nobody detected, or under min_visibility (made NaN as the file is read)
    joints[2, 3] = np.nan  # one joint missing: the person is there
    stream = LabelledStream("r", Clip(joints, np.arange(4) / 30), "walk", (), (), ())
    frames = list(frames_of(stream))
    assert [f.person for f in frames] == [True, False, True, True]
    assert [f.timestamp for f in frames] == pytest.approx(np.arange(4) / 30)


def _alert(start: float, end: float) -> Episode:
    """An episode of full 3 s windows from ``start`` to ``end``: it reports 1.5 s in from each side."""
    frames = np.zeros((60, 20, 3), np.float32)
    kept = (KeptWindow(start, start + 3, 2.0, frames), KeptWindow(end - 3, end, 2.0, frames))
    return Episode("e", "s", "p", 1.0, start, end, 2.0, start, start + 3, 2.0, 5, 5, kept)


def test_boundary_errors_compare_the_span_an_alert_reports_with_the_parts_its_windows_overlap() -> None:
    abnormal = [(10.0, 11.0), (12.0, 13.0), (30.0, 31.0), (40.0, 41.0)]
    # a burst of two parts, one part, a false alert, windows reaching into a part from before it
    alerts = [_alert(8.0, 15.5), _alert(27.5, 32.0), _alert(20.0, 24.0), _alert(35.0, 40.5)]
    assert boundary_errors(alerts, abnormal) == [(-0.5, 1.0), (-1.0, -0.5), (-3.5, -2.0)]
    assert boundary_errors([], abnormal) == []
