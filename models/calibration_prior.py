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

It is stored beside the checkpoint (``encoder.calibration.json``) with the model version and the basis
it was measured for; a prior of another model or another basis is never used.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from models.files import atomic_write

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
            else CalibrationPrior(self.model_version, self.fars, kappas, basis=self.basis)
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

    def to_dict(self) -> dict[str, Any]:
        scales = {k: list(v) for k, v in self.scales.items()}
        return {**asdict(self), "fars": list(self.fars), "kappas": list(self.kappas), "scales": scales}


def scale_key(seconds: float) -> str:
    return f"{seconds:.2f}"


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
