"""An encoder's calibration prior: how far normal windows of people nobody enrolled lie from a profile.

A profile enrolled from a few clips sees how normal varies among those few people only (its
leave-one-clip-out scores, edge/scoring.py). The prior is measured once per encoder on its training
data (``haad train calibration-prior``, training/calibration_prior.py): for every training category,
profiles of three clips of three different people are drawn, and every window of that category by
the *other* people is scored against them, divided by the profile's mean leave-one-clip-out score.
``kappa(far)`` is the ``1 - far`` quantile of that ratio (each dataset weighing the same): a
threshold of ``kappa(far)`` times a new profile's mean leave-one-clip-out score is exceeded by about
a ``far`` share of the normal windows of people who were not enrolled.

It is stored beside the checkpoint (``encoder.calibration.json``) with the model version it was
measured for; a prior of another model is never used.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from models.files import atomic_write

SUFFIX = ".calibration.json"


@dataclass(frozen=True)
class CalibrationPrior:
    """``kappas[i]``: the ratio quantile for false-alarm rate ``fars[i]`` (``fars`` ascending)."""

    model_version: str
    fars: tuple[float, ...]
    kappas: tuple[float, ...]
    measured_on: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ok = len(self.fars) == len(self.kappas) >= 1 and all(0 < f < 1 for f in self.fars)
        if not ok or list(self.fars) != sorted(self.fars) or not all(k > 0 for k in self.kappas):
            raise ValueError("a calibration prior needs ascending rates in (0, 1) and positive ratios")

    def kappa(self, far: float) -> float:
        """The ratio for ``far``, interpolated in log(far) (held at the ends of the measured range)."""
        x = math.log(min(max(far, self.fars[0]), self.fars[-1]))
        xs = [math.log(f) for f in self.fars]
        for i in range(len(xs) - 1):
            if x <= xs[i + 1]:
                t = (x - xs[i]) / (xs[i + 1] - xs[i])
                return self.kappas[i] + t * (self.kappas[i + 1] - self.kappas[i])
        return self.kappas[-1]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fars": list(self.fars), "kappas": list(self.kappas)}


def prior_path(checkpoint: Path) -> Path:
    return Path(checkpoint).with_suffix(SUFFIX)


def save_prior(prior: CalibrationPrior, checkpoint: Path) -> Path:
    path = prior_path(checkpoint)
    text = (json.dumps(prior.to_dict(), indent=2) + "\n").encode()
    atomic_write(path, lambda f: f.write(text), mode=0o644)
    return path


def load_prior(checkpoint: Path, model_version: str) -> CalibrationPrior | None:
    """The prior beside ``checkpoint`` when it was measured for ``model_version``; None otherwise (no
    file, another model's, or unreadable)."""
    try:
        d = json.loads(prior_path(checkpoint).read_text())
        prior = CalibrationPrior(
            str(d["model_version"]), tuple(d["fars"]), tuple(d["kappas"]), dict(d.get("measured_on", {}))
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return prior if prior.model_version == model_version else None
