"""The encoder's calibration prior file (used only for its own model and the basis thresholds use) and
its measurement."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np

from models.calibration_prior import BASIS, CalibrationPrior, draw_scores, load_prior, prior_path, save_prior


def test_a_saved_prior_loads_for_its_model_only(tmp_path: Path) -> None:
    checkpoint = tmp_path / "encoder.safetensors"
    save_prior(CalibrationPrior("abc", (0.01, 0.1), (1.7, 1.1)), checkpoint)
    prior = load_prior(checkpoint, "abc")
    assert prior is not None and prior.basis == BASIS and prior.kappa(0.01) == 1.7
    assert load_prior(checkpoint, "other") is None
    assert prior.draws is None  # not recorded: enrolments are not measured its way
    save_prior(CalibrationPrior("abc", (0.01,), (1.7,), {"shots": 3, "seeds": 10}), checkpoint)
    assert (p := load_prior(checkpoint, "abc")) is not None and p.draws == (3, 10)


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


def test_draws_score_only_people_left_out_of_each_profile() -> None:
    # Person 0 has two clips; a profile never holds one while the other is scored against it.
    subjects = [0, 1, 2, 3, 0]
    support = [np.full((2, 4), float(10**s)) for s in (0, 1, 2, 3, 4)]
    queries = [s[:1] + 0.5 for s in support]
    scores = draw_scores(support, ["walk"] * 5, subjects, shots=3, seeds=20, queries=queries)
    possible = set()
    for chosen in combinations(range(5), 3):
        if len({subjects[i] for i in chosen}) == 3:
            mean = np.concatenate([support[i] for i in chosen]).mean(0)
            others = [i for i in range(5) if subjects[i] not in {subjects[j] for j in chosen}]
            possible |= {round(float(np.linalg.norm(queries[i][0] - mean)), 2) for i in others}
    assert len(scores) >= 20 and {round(float(s), 2) for s in scores} <= possible
