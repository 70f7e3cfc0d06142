"""Vigour: speed about the hips in torso lengths per second, a profile's most vigorous second, and
the hinge that makes a second far faster than it abnormal (edge/vigour.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from edge.profiles import FEEDBACK, Profile
from edge.vigour import MIN_REFERENCE, hinge, last_second, most_vigorous, ratios, reference, speeds
from models.preprocess import WindowSpec
from models.skeleton import ROOT, TORSO, J

FPS = 20.0


def _still(frames: int, torso: float = 0.5) -> np.ndarray:
    """A standing pose held for ``frames`` frames, torso ``torso`` long."""
    rng = np.random.default_rng(0)
    pose = rng.normal(0, 0.3, (20, 3)).astype(np.float32)
    pose[ROOT] = 0
    pose[TORSO[1]] = (0, torso, 0)
    return np.repeat(pose[None], frames, axis=0)


def _swing(frames: np.ndarray, joint: int, speed: float, start: int = 0) -> np.ndarray:
    """``frames`` with ``joint`` moving along x at ``speed`` m/s from frame ``start`` on, back and forth."""
    out = frames.copy()
    t = np.arange(len(frames) - start) / FPS
    period = 0.5  # s: a there-and-back
    phase = (t % period) / period
    out[start:, joint, 0] += speed * period / 2 * (1 - np.abs(2 * phase - 1))
    return out


def test_speed_is_about_the_hips_and_in_torso_lengths_so_size_and_travel_do_not_count() -> None:
    still = _still(40)
    walking = still + np.linspace(0, 2, 40)[:, None, None] * np.array([1, 0, 0], np.float32)  # travel
    np.testing.assert_allclose(speeds(walking, 1 / FPS), 0, atol=1e-5)
    one = _swing(still, J["HandRight"], 1.0)
    s = speeds(one, 1 / FPS)
    np.testing.assert_allclose(s, 1.0 / 20 / 0.5, rtol=1e-3)  # one joint of 20 at 2 torso lengths / s
    child = _swing(_still(40, torso=0.25), J["HandRight"], 0.5)  # half the size, half the speed
    np.testing.assert_allclose(speeds(child * 1.0, 1 / FPS), s, rtol=1e-3)


def test_the_most_vigorous_second_ignores_a_few_glitched_frames() -> None:
    calm = _swing(_still(80), J["HandRight"], 0.2)
    glitch = calm.copy()
    glitch[30, J["FootLeft"]] += 2.0  # one frame of a joint thrown 2 m
    assert most_vigorous(glitch, FPS) == pytest.approx(most_vigorous(calm, FPS), rel=0.05)
    strike = _swing(calm, J["HandLeft"], 3.0, start=60)
    assert most_vigorous(strike, FPS) > 10 * most_vigorous(calm, FPS)
    assert most_vigorous(calm[:8], FPS) == pytest.approx(float(np.median(speeds(calm[:8], 1 / FPS))))


def test_a_windows_last_second_is_measured_at_its_real_frame_rate() -> None:
    early = _swing(_still(60, torso=1.0), J["HandRight"], 3.0)  # normalised: torso length 1
    early[40:] = early[40]  # moves for its first 2 s, then holds
    late = _swing(_still(60, torso=1.0), J["HandRight"], 3.0, start=40)
    v = last_second(np.stack([early, late]), np.full(2, 1 / FPS))
    assert v[0] == pytest.approx(0, abs=1e-6) and v[1] == pytest.approx(3.0 / 20, rel=0.01)
    # a short segment re-timed to 60 frames: 1.5 s of it, so its frames are 1.5 / 59 s apart
    moving = _swing(_still(60, torso=1.0), J["HandRight"], 3.0)
    both = last_second(np.stack([moving, moving]), np.array([1 / FPS, 1.5 / 59]))
    assert both[1] == pytest.approx(both[0] * (1 / FPS) / (1.5 / 59), rel=0.01)


def _profile(meta: dict, kinds: list[str], windows: np.ndarray, behaviours: np.ndarray) -> Profile:
    table = [{"id": i, "name": f"b{i}", "kind": k} for i, k in enumerate(kinds)]
    n = len(windows)
    return Profile("p", 1, np.zeros((n, 4), np.float32), np.arange(n), windows, 1.0,
                   {**meta, "behaviours": table}, behaviours=behaviours)  # fmt: skip


def test_a_profiles_reference_is_its_enrolled_clips_or_marked_windows_whichever_moved_more() -> None:
    spec = WindowSpec()
    calm = np.stack([_swing(_still(60), J["HandRight"], 0.2)] * 2)
    punch = _swing(_still(60), J["HandRight"], 3.0)[None]
    enrolled = _profile({"vigour": 0.3}, ["enrolled"], calm, np.zeros(2, int))
    assert reference(enrolled, spec) == pytest.approx(0.3)
    assert reference(replace(enrolled, meta={**enrolled.meta, "vigour": 0.0}), spec) == MIN_REFERENCE
    marked = _profile(
        {"vigour": 0.12}, ["enrolled", FEEDBACK], np.concatenate([calm, punch]), np.array([0, 0, 1])
    )
    assert (
        reference(marked, spec) == pytest.approx(most_vigorous(punch, spec.fps))
        and reference(marked, spec) > 0.2
    )
    old = _profile({}, ["enrolled"], calm, np.zeros(2, int))  # enrolled before vigour was recorded
    assert np.isnan(reference(old, spec))
    overlay = _profile({}, [FEEDBACK], punch, np.zeros(1, int))
    assert reference(overlay, spec, overlay=True) == pytest.approx(reference(marked, spec))
    empty = _profile({}, [], np.zeros((0, 60, 20, 3), np.float32), np.zeros(0, int))
    assert reference(empty, spec, overlay=True) == 0


def test_only_a_second_over_its_vigour_threshold_raises_a_score() -> None:
    r = ratios(np.array([0.3, 3.0, 3.0], np.float32), np.array([[0.5], [0.5], [np.nan]]), 3.0)
    np.testing.assert_allclose(r[:, 0], [0.2, 2.0, 0.0])
    assert not ratios(np.array([9.0]), np.array([[0.5]]), 0.0).any()  # off
    np.testing.assert_allclose(
        hinge(np.array([[0.5], [0.5], [3.0]]), np.array([[0.9], [2.0], [2.0]]))[:, 0], [0.5, 2.0, 3.0]
    )
