"""The encoder's calibration prior file: used only for its own model and the basis thresholds use."""

from __future__ import annotations

import json
from pathlib import Path

from models.calibration_prior import BASIS, CalibrationPrior, load_prior, prior_path, save_prior


def test_a_saved_prior_loads_for_its_model_only(tmp_path: Path) -> None:
    checkpoint = tmp_path / "encoder.safetensors"
    save_prior(CalibrationPrior("abc", (0.01, 0.1), (1.7, 1.1)), checkpoint)
    prior = load_prior(checkpoint, "abc")
    assert prior is not None and prior.basis == BASIS and prior.kappa(0.01) == 1.7
    assert load_prior(checkpoint, "other") is None


def test_a_prior_measured_on_another_basis_is_not_used(tmp_path: Path) -> None:
    checkpoint = tmp_path / "encoder.safetensors"
    # A file written before the basis was recorded: its ratios divide by the mean score, not the max.
    prior_path(checkpoint).write_text(json.dumps({"model_version": "abc", "fars": [0.05], "kappas": [1.5]}))
    assert load_prior(checkpoint, "abc") is None


def test_each_short_scale_has_its_own_prior_and_an_unmeasured_one_has_none(tmp_path: Path) -> None:
    checkpoint = tmp_path / "encoder.safetensors"
    save_prior(CalibrationPrior("abc", (0.01, 0.1), (1.7, 1.1), scales={"1.00": (1.9, 1.3)}), checkpoint)
    prior = load_prior(checkpoint, "abc")
    assert prior is not None
    short = prior.at_scale(1.0)
    assert short is not None and short.kappa(0.01) == 1.9 and prior.kappa(0.01) == 1.7
    assert prior.at_scale(0.5) is None
