"""Holes read from an alert's timeline: where its stream had no frames (the episode waited across
them), never the spacing its own windows leave."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import numpy as np

from edge.plots import alert_timeline
from edge.store import AlertRecord
from edge.timeline_holes import timeline_holes


def _line(gaps: list[float]) -> np.ndarray:
    t = np.concatenate([[100.0], 100.0 + np.cumsum(gaps)])
    return np.stack([t, np.ones_like(t)], axis=1)


def test_the_spacing_of_real_windows_is_no_hole_and_a_hole_of_max_gap_s_is() -> None:
    # test_stream_hole's real Kinder-Gator alerts: windows 0.25 s apart, a short-scale score 0.75 or
    # 1.225 s from its neighbours; a hole of 0.6, 1.5 or 8 s left 2.637, 3.537 or 10.037 s
    usual = [0.25] * 8 + [0.75, 1.225, 0.25, 1.225] + [0.25] * 6
    assert timeline_holes(_line(usual)) == []
    for hole in (2.637, 3.537, 10.037):
        line = _line(usual[:9] + [hole] + usual[9:])
        assert timeline_holes(line) == [(line[9, 0], line[10, 0])]


def test_a_long_merged_timelines_spacing_is_no_hole() -> None:
    # merged in groups of 16 windows (4 s), each its highest: neighbours up to two groups apart
    rng = np.random.default_rng(0)
    line = _line(list(rng.uniform(0.25, 7.75, 300)))
    assert timeline_holes(line) == []
    with_hole = _line([4.0] * 10 + [20.0] + [4.0] * 10)
    assert timeline_holes(with_hole) == [(with_hole[10, 0], with_hole[11, 0])]


def test_a_short_timeline_compares_with_its_shorter_gap() -> None:
    line = _line([0.25, 5.0])
    assert timeline_holes(line) == [(line[1, 0], line[2, 0])]
    assert timeline_holes(_line([5.0])) == [] and timeline_holes(None) == []


def _record(line: np.ndarray) -> AlertRecord:
    now = datetime.now(UTC)
    return AlertRecord(
        id=1, episode_key="k", stream_id="cam", profile="p", profile_version=1, started_at=now, ended_at=now,
        peak_score=1.0, mean_score=1.0, threshold=0.9, n_windows=3, model_version="m", n_kept=0,
        created_at=now, status="new", note="", reviewed_at=None, timeline=line,
    )  # fmt: skip


def test_the_plotted_timeline_is_broken_and_shaded_at_a_hole() -> None:
    line = _line([0.25] * 9 + [5.0] + [0.25] * 9)
    axes = []
    for kind in ("plain", "hole"):
        out = io.BytesIO()
        alert_timeline(_record(_line([0.25] * 19) if kind == "plain" else line), out, "svg")
        axes.append(out.getvalue().decode())
    plain, hole = axes
    assert "no frames" not in plain and "no frames" in hole  # the shaded band's legend
    # the score line: one stroke each side of the hole (a path moved to, not drawn to, the far side)
    paths = [re.findall(r"<path d=\"([^\"]*)\"[^>]*clip-path", svg) for svg in axes]
    strokes = [max(p.count("M") for p in ps) for ps in paths]
    assert strokes == [1, 2], strokes
