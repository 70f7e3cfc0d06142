"""An encoder's calibration prior: how far normal windows of people nobody enrolled lie from a profile.

A profile enrolled from a few clips sees how normal varies among those few people only (its
leave-one-clip-out scores, edge/scoring.py). The prior is measured once per encoder
(``haad train calibration-prior``, evaluation/calibration_prior.py) on the clips of its training
people in the categories it was *not* trained on: for every such category, profiles of three clips of
three different people are drawn, and every window of that category by the *other* people is scored
against them. ``kappa(far)`` is the ``1 - far`` quantile of those scores (each dataset weighing the
same), a distance: a threshold of ``kappa(far)`` is exceeded by about a ``far`` share of the normal
windows of people who were not enrolled, doing something the encoder never learned, as a deployment
sees. The scores themselves (``BASIS``), not their ratio to the profile's own spread: the encoder's
distances are comparable across profiles, and one distance ranks windows of different profiles far
better than any per-profile normalisation (docs/experiments/2026-12-04-several-behaviours.md).

The same measurement, :func:`draw_scores`, is repeated at enrolment on the enrolment's own clips when
they are many (edge/scoring.py): skeletons noisier than the training people's (small people far from a
camera) then show it, and the threshold follows.

It is stored beside the checkpoint (``encoder.calibration.json``) with the model version and the basis
it was measured for; a prior of another model or another basis is never used.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.files import atomic_write
from models.scoring import behaviour_score

SUFFIX = ".calibration.json"
# What a prior's quantiles are of: distances to the profile (earlier files: ratios to its mean score).
BASIS = "distance"


@dataclass(frozen=True)
class CalibrationPrior:
    """``kappas[i]``: the score quantile for false-alarm rate ``fars[i]`` (``fars`` ascending).

    ``scales``: the same quantiles for windows of a shorter stretch re-timed to the encoder's length
    (the worker's short scale, edge/short_scale.py), keyed by that stretch in seconds (``"1.0"``):
    such windows lie further from a profile's, so they need a prior of their own.
    """

    model_version: str
    fars: tuple[float, ...]
    kappas: tuple[float, ...]
    measured_on: dict[str, Any] = field(default_factory=dict)
    basis: str = BASIS
    scales: dict[str, tuple[float, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ok = len(self.fars) == len(self.kappas) >= 1 and all(0 < f < 1 for f in self.fars)
        ok = ok and all(len(k) == len(self.fars) and all(x > 0 for x in k) for k in self.scales.values())
        if not ok or list(self.fars) != sorted(self.fars) or not all(k > 0 for k in self.kappas):
            raise ValueError("a calibration prior needs ascending rates in (0, 1) and positive quantiles")

    def at_scale(self, seconds: float) -> CalibrationPrior | None:
        """The prior of windows of ``seconds`` re-timed to the encoder's length (None: not measured)."""
        kappas = self.scales.get(scale_key(seconds))
        return (
            None
            if kappas is None
            # measured_on too: an enrolment repeats the prior's draws at this scale (edge/scoring.py)
            else CalibrationPrior(self.model_version, self.fars, kappas, self.measured_on, basis=self.basis)
        )

    def kappa(self, far: float) -> float:
        """The quantile for ``far``, interpolated in log(far) (held at the ends of the measured range)."""
        x = math.log(min(max(far, self.fars[0]), self.fars[-1]))
        xs = [math.log(f) for f in self.fars]
        for i in range(len(xs) - 1):
            if x <= xs[i + 1]:
                t = (x - xs[i]) / (xs[i + 1] - xs[i])
                return self.kappas[i] + t * (self.kappas[i + 1] - self.kappas[i])
        return self.kappas[-1]

    @property
    def draws(self) -> tuple[int, int] | None:
        """``(shots, seeds)`` of the measurement (:func:`draw_scores`); None when not recorded."""
        shots, seeds = self.measured_on.get("shots"), self.measured_on.get("seeds")
        return (int(shots), int(seeds)) if shots and seeds else None

    def to_dict(self) -> dict[str, Any]:
        scales = {k: list(v) for k, v in self.scales.items()}
        return {**asdict(self), "fars": list(self.fars), "kappas": list(self.kappas), "scales": scales}


def scale_key(seconds: float) -> str:
    return f"{seconds:.2f}"


def draw_scores(
    embeddings: Sequence[np.ndarray],
    labels: Sequence[object],
    subjects: Sequence[object],
    *,
    shots: int,
    seeds: int,
    queries: Sequence[np.ndarray] | None = None,
) -> np.ndarray:
    """The prior's measurement: for every category and ``seeds`` draws, a profile of ``shots`` clips
    of ``shots`` different people, and the scores of the windows of the *other* people's clips of
    that category against it. ``embeddings[i]``: the ``(W, D)`` windows of clip i (its support
    windows); ``queries[i]``: the windows of clip i that are scored (default: the same)."""
    label_of, subject_of = np.array(labels), np.array(subjects)
    queries = embeddings if queries is None else queries
    out: list[np.ndarray] = []
    for ci, cat in enumerate(sorted(set(label_of.tolist()))):
        members = np.flatnonzero(label_of == cat)
        for seed in range(seeds):
            rng = np.random.default_rng([seed, ci])
            order = rng.permutation(members)
            chosen: list[int] = []
            for i in order:  # the first clip of each of `shots` different people
                if subject_of[i] not in {subject_of[j] for j in chosen}:
                    chosen.append(int(i))
                if len(chosen) == shots:
                    break
            others = [i for i in members if subject_of[i] not in {subject_of[j] for j in chosen}]
            if len(chosen) < shots or not others:
                continue
            support = np.concatenate([embeddings[i] for i in chosen])
            fresh = np.concatenate([queries[i] for i in others])
            out.append(behaviour_score(fresh, support, np.zeros(len(support), np.int64)))
    return np.concatenate(out) if out else np.zeros(0)


def prior_path(checkpoint: Path) -> Path:
    return Path(checkpoint).with_suffix(SUFFIX)


def save_prior(prior: CalibrationPrior, checkpoint: Path) -> Path:
    path = prior_path(checkpoint)
    text = (json.dumps(prior.to_dict(), indent=2) + "\n").encode()
    atomic_write(path, lambda f: f.write(text), mode=0o644)
    return path


def load_prior(checkpoint: Path, model_version: str) -> CalibrationPrior | None:
    """The prior beside ``checkpoint`` when it was measured for ``model_version`` on today's ``BASIS``;
    None otherwise (no file, another model's, one of an older basis, or unreadable)."""
    try:
        d = json.loads(prior_path(checkpoint).read_text())
        prior = CalibrationPrior(
            str(d["model_version"]), tuple(d["fars"]), tuple(d["kappas"]), dict(d.get("measured_on", {})),
            str(d.get("basis", "loo_mean")),  # files before the basis was recorded divided by the mean
            {str(k): tuple(v) for k, v in d.get("scales", {}).items()},
        )  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return prior if prior.model_version == model_version and prior.basis == BASIS else None
