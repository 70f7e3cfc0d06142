"""Anomaly scores against behaviour profiles, and the threshold each profile is calibrated with.

The score of a window for a profile is Eq. (6), :func:`models.scoring.mean_distance`: the mean
Euclidean distance of its embedding to the profile's support embeddings. A window is *hot* for the
profile when its score exceeds the profile's threshold.

Threshold calibration (at enrolment, from the support set alone; docs/worker.md):

1. leave-one-clip-out: every support embedding is scored against the support embeddings of the
   *other* clips (embeddings with another group id). Augmented variants carry their source clip's
   group, so a clip and its variants are left out together and never vouch for each other;
2. the ``1 - target_far`` quantile of those scores is estimated twice, empirically (numpy's linear
   interpolation) and from a normal fit (mean + z·std), and the larger is kept: with a handful of clips
   the empirical quantile cannot see past the largest score, the normal tail can;
3. threshold = ``margin`` × that quantile.

Leave-one-clip-out scores are pessimistic for "normal" (each is measured against fewer clips than the
live score uses), so the rule errs towards fewer false alarms. With a single clip there is nothing to
leave out: enrolment (edge/enroll.py) cuts the clip's first and second half into windows of its own
and passes them as two groups (``method="split_halves"``); given one group, this module splits the
embeddings in the order given (pass them in time order, a window's variants next to it).

The :class:`Calibration` carries ``warnings`` for the user: calibrated from one clip, or from fewer
than ``FEW_DISTANCES`` distances between real windows of different groups (two one-window clips
give one: the threshold is then that distance times ``margin``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any, Literal, Protocol

import numpy as np

from models.scoring import mean_distance

CalibrationMethod = Literal["leave_one_clip_out", "split_halves"]
# Fewer distances than this between real windows of different groups: the threshold is warned about.
FEW_DISTANCES = 10


@dataclass(frozen=True)
class Calibration:
    """A calibrated threshold and the leave-out scores behind it (stored in the profile's metadata)."""

    threshold: float
    target_far: float
    margin: float
    method: CalibrationMethod
    n_clips: int
    n_scores: int
    n_distances: int  # distinct distances between real windows of different groups behind the scores
    score_mean: float
    score_std: float
    score_max: float
    empirical_quantile: float
    normal_quantile: float
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "warnings": list(self.warnings)}


def leave_one_clip_out_scores(
    embeddings: np.ndarray, groups: np.ndarray, queries: np.ndarray | None = None
) -> np.ndarray:
    """Score of each query embedding against the embeddings of every other group -> ``(Q,)``.

    ``queries``: boolean mask of the embeddings scored (default: all). Enrolment passes the real
    windows only: generated variants enlarge the support set but live queries are always real.
    Needs at least two distinct groups.
    """
    groups = np.asarray(groups)
    queries = np.ones(len(embeddings), bool) if queries is None else np.asarray(queries, bool)
    scores = np.full(len(embeddings), np.nan, np.float32)
    for g in np.unique(groups):
        own = groups == g
        rows = own & queries
        if rows.any():
            scores[rows] = mean_distance(embeddings[rows], embeddings[~own])
    return scores[queries]


def calibrate_threshold(
    embeddings: np.ndarray,
    groups: np.ndarray,
    *,
    target_far: float = 0.01,
    margin: float = 1.1,
    queries: np.ndarray | None = None,
    method: CalibrationMethod = "leave_one_clip_out",
) -> Calibration:
    """Threshold for a profile from its support embeddings ``(N, D)`` and clip ids ``(N,)`` (module rule).

    ``queries`` marks the embeddings whose leave-out scores set the threshold (default: all; pass
    the real windows when the support set holds generated variants). ``method`` names what the
    groups are (``split_halves``: the two halves of one clip); with one group the embeddings are
    split in order and the method is ``split_halves``.

    Raises ValueError for fewer than two embeddings, mismatched shapes, non-finite embeddings or a
    ``target_far`` outside (0, 1).
    """
    emb = np.asarray(embeddings, dtype=np.float32)
    groups = np.asarray(groups)
    if emb.ndim != 2 or groups.shape != (len(emb),):
        raise ValueError(f"need embeddings (N, D) and groups (N,); got {emb.shape} and {groups.shape}")
    if len(emb) < 2:
        raise ValueError("calibration needs at least two support embeddings")
    if not np.isfinite(emb).all():
        raise ValueError("support embeddings must be finite")
    if not 0.0 < target_far < 1.0:
        raise ValueError(f"target_far must lie in (0, 1); got {target_far}")
    n_clips = 1 if method == "split_halves" else len(np.unique(groups))
    if len(np.unique(groups)) == 1:
        method = "split_halves"
        groups = (np.arange(len(emb)) >= len(emb) // 2).astype(np.int64)
    real = np.ones(len(emb), bool) if queries is None else np.asarray(queries, bool)
    per_group = np.unique(groups[real], return_counts=True)[1]
    n_distances = int((per_group.sum() ** 2 - (per_group**2).sum()) // 2)
    warnings = []
    if method == "split_halves":
        warnings.append(
            "the threshold comes from one clip: windows of its first half scored against windows of "
            "its second half. A second clip, of another time or person, would let calibration score "
            "each clip against the others and so measure how much normal varies between recordings; "
            "enrol at least two"
        )
    if n_distances < FEW_DISTANCES:
        warnings.append(
            f"the threshold rests on {n_distances} distance(s) between windows of different "
            f"{'halves' if method == 'split_halves' else 'clips'}; more clips, or longer ones (a clip, "
            "or with one clip each half, longer than a window gives several windows), would show how "
            "far normal windows stray"
        )
    scores = leave_one_clip_out_scores(emb, groups, queries).astype(np.float64)
    empirical = float(np.quantile(scores, 1.0 - target_far))
    normal = float(scores.mean() + NormalDist().inv_cdf(1.0 - target_far) * scores.std())
    return Calibration(
        threshold=margin * max(empirical, normal),
        target_far=target_far,
        margin=margin,
        method=method,
        n_clips=n_clips,
        n_scores=len(scores),
        n_distances=n_distances,
        score_mean=float(scores.mean()),
        score_std=float(scores.std()),
        score_max=float(scores.max()),
        empirical_quantile=empirical,
        normal_quantile=normal,
        warnings=tuple(warnings),
    )


class SupportProfile(Protocol):
    """What scoring needs of a profile (``edge.profiles.Profile`` has it)."""

    @property
    def name(self) -> str: ...
    @property
    def embeddings(self) -> np.ndarray: ...
    @property
    def threshold(self) -> float: ...


class Scorer:
    """Scores batches of embeddings against a fixed set of profiles (build a new one on reload)."""

    def __init__(self, profiles: Sequence[SupportProfile]) -> None:
        names = [p.name for p in profiles]
        if len(set(names)) != len(names):
            raise ValueError(f"profile names must be unique; got {names}")
        dims = {p.embeddings.shape[1] for p in profiles if p.embeddings.ndim == 2}
        if len(dims) > 1 or any(p.embeddings.ndim != 2 or len(p.embeddings) == 0 for p in profiles):
            raise ValueError("every profile needs a non-empty (A, D) support set of one embedding size")
        self.names: tuple[str, ...] = tuple(names)
        self.thresholds = np.array([p.threshold for p in profiles], dtype=np.float32)  # (P,)
        self._support = [np.ascontiguousarray(p.embeddings, dtype=np.float32) for p in profiles]

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        """``(B, D)`` embeddings -> ``(B, P)`` scores (Eq. 6 per profile); NaN embeddings give NaN."""
        out = np.empty((len(embeddings), len(self._support)), np.float32)
        for i, support in enumerate(self._support):
            out[:, i] = mean_distance(embeddings, support)
        return out
