"""The worker's short scale: support cropped from the profile's windows, a threshold of its own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from config.backend import OnnxRuntimeConfig
from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.enroll import build_profile
from edge.short_scale import fuse, moment_scores, short_profile
from evaluation.stream_sets import kinder_gator_streams


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory):
    return make_backend(OnnxRuntimeConfig(cache_dir=str(tmp_path_factory.mktemp("onnx"))))


def test_the_short_scale_has_every_crop_of_the_support_and_its_own_calibrated_threshold(
    backend, data_root: Path
) -> None:
    stream = kinder_gator_streams(str(data_root))[0]
    calibration = WorkerConfig().calibration
    profile = build_profile("normal", stream.support, backend, calibration=calibration)
    short = short_profile(profile, backend, calibration, 1.0)
    crops = len(short.embeddings) // len(profile.embeddings)
    assert crops == 9 and len(short.embeddings) == crops * len(profile.embeddings)  # 20 of 60 frames, every 5
    np.testing.assert_array_equal(short.groups, np.repeat(profile.groups, crops))  # left out with their clip
    kappa = backend.calibration_prior.at_scale(1.0).kappa(calibration.target_far)
    assert short.meta["calibration"]["prior_kappa"] == pytest.approx(kappa)
    assert short.threshold >= kappa != pytest.approx(profile.meta["calibration"]["prior_kappa"])


def test_a_window_is_as_hot_as_its_hotter_scale_in_units_of_the_full_threshold() -> None:
    full, short = np.array([[0.5], [2.0]], np.float32), np.array([[3.0], [1.0]], np.float32)
    fused = fuse(full, short, np.array([1.0], np.float32), np.array([2.0], np.float32))
    np.testing.assert_allclose(fused, [[1.5], [2.0]])


def test_a_moment_scores_high_only_where_both_scales_do_and_on_windows_alone_before_any_crop() -> None:
    windows = np.array([4.0, 4.0, 0.25, 2.0])
    crops = np.array([1.0, 0.25, 4.0, np.nan])
    np.testing.assert_allclose(moment_scores(windows, crops), [2.0, 1.0, 1.0, 2.0])
