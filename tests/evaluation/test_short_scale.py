"""The short-scale experiment of issue 24 (evaluation/short_scale.py): its score and frame rules."""

from __future__ import annotations

import numpy as np
import pytest

from clips.clip import Clip
from config.worker import CalibrationConfig
from edge.backends.raw_dct import RawDctBackend
from edge.enroll import build_profile
from evaluation.short_scale import ShortSupport, frame_rule, fused_scale, short_windows
from evaluation.stream_sets import LabelledStream
from models.preprocess import WindowSpec
from models.skeleton import NUM_JOINTS, J

SPEC = WindowSpec()
HAND = J["HandRight"]


def _body(t: np.ndarray, hand_hz: float, amplitude: float, phase: float = 0.0) -> np.ndarray:
    pose = np.random.default_rng(0).normal(0.0, 0.2, (NUM_JOINTS, 3)).astype(np.float32)
    for name, xyz in {
        "HipCenter": (0, 0, 0), "ShoulderCenter": (0, 0.5, 0), "ShoulderLeft": (-0.2, 0.5, 0),
        "ShoulderRight": (0.2, 0.5, 0), "HipLeft": (-0.1, 0, 0), "HipRight": (0.1, 0, 0),
    }.items():  # fmt: skip
        pose[J[name]] = xyz
    joints = np.repeat(pose[None], len(t), axis=0)
    joints[:, HAND, 1] += amplitude * np.sin(2 * np.pi * hand_hz * t + phase)
    return joints


def test_a_fast_second_scores_over_its_threshold_and_the_calm_around_it_under() -> None:
    t = np.arange(0, 4, 1 / 30)
    support = tuple(
        Clip(_body(t, 0.5, 0.05, p), t, "calm", name=f"c{i}") for i, p in enumerate((0.0, 2.0, 4.0))
    )
    rec_t = 10.0 + np.arange(0, 6, 1 / 30)
    joints = _body(rec_t, 0.5, 0.05)
    fast = (rec_t >= 13.0) & (rec_t < 14.0)
    joints[fast] = _body(rec_t[fast], 3.0, 0.3)
    stream = LabelledStream(
        "s", Clip(joints, rec_t), "calm", ((13.0, 14.0),), ((10.0, 13.0), (14.0, 16.0)), support
    )

    short = ShortSupport(stream, SPEC, n=20, m=10, target_far=0.05)
    w = short_windows(stream, short, SPEC, n=20, m=10)

    assert short.threshold > 0
    assert w[0, 0] == 10.0 and np.allclose(w[:, 1] - w[:, 0], 1.0)
    inside = (w[:, 0] >= 13.0) & (w[:, 1] <= 14.0 + 1e-9)
    calm = (w[:, 1] <= 13.0) | (w[:, 0] >= 14.0)
    assert inside.any() and np.all(w[inside, 2] > 1.0)
    assert np.mean(w[calm, 2] > 1.0) <= 0.1


def test_a_frame_takes_the_window_centred_on_it_or_the_mean_or_max_of_those_covering_it() -> None:
    windows = np.array([(0.0, 3.0, 1.0), (0.25, 3.25, 5.0)])
    grid = np.array([1.5, 1.7, 3.2, 4.0])
    centre = frame_rule("centre")(grid, windows)
    assert centre[:3].tolist() == [1.0, 5.0, 5.0] and np.isnan(centre[3])
    assert frame_rule("mean")(grid, windows)[:3].tolist() == [3.0, 3.0, 5.0]
    assert frame_rule("max")(grid, windows)[:3].tolist() == [5.0, 5.0, 5.0]


def test_support_too_short_for_the_short_window_is_a_clear_error() -> None:
    t = np.arange(0, 0.8, 1 / 30)
    support = tuple(Clip(_body(t, 0.5, 0.05), t, "calm", name=f"c{i}") for i in range(3))
    stream = LabelledStream("s", support[0], "calm", (), ((0.0, 0.8),), support)
    with pytest.raises(ValueError, match="fewer than two support clips hold 20 frames"):
        ShortSupport(stream, SPEC, n=20, m=10, target_far=0.05)


def test_the_fused_threshold_of_max_is_never_below_the_encoders_own() -> None:
    t = np.arange(0, 4, 1 / 30)
    support = tuple(
        Clip(_body(t, 0.5, 0.05, p), t, "calm", name=f"c{i}") for i, p in enumerate((0.0, 2.0, 4.0))
    )
    stream = LabelledStream("s", support[0], "calm", (), ((0.0, 4.0),), support)
    backend = RawDctBackend(SPEC)
    profile = build_profile("p", support, backend, calibration=CalibrationConfig())
    short = ShortSupport(stream, SPEC, n=20, m=10, target_far=0.05)
    assert fused_scale(profile, backend, short, 20, 10, "mid", "max", 0.05) >= 1.0
    assert np.isfinite(fused_scale(profile, backend, short, 20, 10, "mid", "mean", 0.05))
