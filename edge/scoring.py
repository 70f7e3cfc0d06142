"""Anomaly scores against behaviour profiles, and the threshold each profile is calibrated with.

The score of a window for a profile is its distance to the nearest behaviour prototype of the
profile (:func:`models.scoring.behaviour_score`: a behaviour's prototype is the mean of its support
embeddings). A window is *hot* for the profile when its score exceeds the profile's threshold.

Threshold calibration (at enrolment, from the enrolled behaviours' support set alone; docs/worker.md):

1. leave-one-clip-out: every real support window is scored against the profile without its clip
   (without the embeddings of its group: its behaviour's prototype comes from that behaviour's other
   clips, every other behaviour's from all of its clips). Augmented variants carry their source
   clip's group, so a clip and its variants are left out together and never vouch for each other;
2. the ``1 - target_far`` quantile of those scores is estimated empirically (numpy's linear
   interpolation), from a normal fit (mean + z·std) and, when the encoder has a calibration prior
   (models/calibration_prior.py), as ``kappa(target_far)``: the quantile of the scores of normal
   windows of people nobody enrolled, in behaviours the encoder never learned, measured on its
   training people. The largest is kept: a few clips of a few people cannot show how far other
   people's normal strays (the two estimates from the clips alone fall well short of the promised
   rate on people not enrolled, and the prior alone keeps it on every stream set;
   docs/experiments/2026-12-04-several-behaviours.md). An enrolment of many clips is also measured
   the way the prior was (:func:`enrolment_kappa`): profiles of a few of its own clips, scored by
   its other clips. The prior is measured on Kinect skeletons; where the enrolment's skeletons are
   noisier (small people far from a camera, docs/experiments/2026-12-05-noisy-enrolment.md) this
   estimate is the larger and is kept;
3. threshold = ``margin`` × that quantile.

Leave-one-clip-out scores are pessimistic for "normal" (each is measured against fewer clips than the
live score uses), so the rule errs towards fewer false alarms. A behaviour of a single clip has no
other clip to leave it out against: enrolment (edge/enroll.py) cuts that clip's first and second
half into windows of their own and passes them as two groups (``split``); given a behaviour of one
group, this module splits its embeddings in the order given (pass them in time order, a window's
variants next to it). Behaviours added by feedback (edge/feedback.py) are support only: they never
move the threshold.

The :class:`Calibration` carries ``warnings`` for the user: a behaviour calibrated from one clip, or
fewer than ``FEW_DISTANCES`` distances between real windows of different groups of one behaviour
(two one-window clips give one: the threshold is then that distance times ``margin``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any, Literal, Protocol

import numpy as np

from models.calibration_prior import draw_scores
from models.scoring import behaviour_prototypes, behaviour_score, nearest, pairwise_distances

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
    prior_kappa: float | None = None  # the encoder's ratio for target_far (None: no prior used)
    prior_quantile: float | None = None  # prior_kappa (a distance; kept for older readers of the field)
    enrolment_kappa: float | None = None  # the prior's measurement on the enrolment's clips (None: too few)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "warnings": list(self.warnings)}


def leave_one_clip_out_scores(
    embeddings: np.ndarray,
    groups: np.ndarray,
    queries: np.ndarray | None = None,
    behaviours: np.ndarray | None = None,
) -> np.ndarray:
    """Score of each query embedding against the embeddings of every other group -> ``(Q,)``.

    ``queries``: boolean mask of the embeddings scored (default: all). Enrolment passes the real
    windows only: generated variants enlarge the support set but live queries are always real.
    ``behaviours``: ``(N,)`` behaviour ids (default: one behaviour). Every behaviour needs at least
    two distinct groups.
    """
    groups = np.asarray(groups)
    behaviours = np.zeros(len(groups), np.int64) if behaviours is None else np.asarray(behaviours)
    queries = np.ones(len(embeddings), bool) if queries is None else np.asarray(queries, bool)
    scores = np.full(len(embeddings), np.nan, np.float32)
    for g in np.unique(groups):
        own = groups == g
        rows = own & queries
        if rows.any():
            scores[rows] = behaviour_score(embeddings[rows], embeddings[~own], behaviours[~own])
    return scores[queries]


def enrolment_kappa(
    embeddings: np.ndarray,
    groups: np.ndarray,
    behaviours: np.ndarray,
    queries: np.ndarray,
    *,
    draws: tuple[int, int],
    target_far: float,
) -> float | None:
    """The calibration prior's measurement (:func:`models.calibration_prior.draw_scores`) repeated on
    an enrolment: for each behaviour of at least ``2 · shots`` clips (as many other clips as the
    profile holds, so the scores rest on several people), ``seeds`` profiles of ``shots`` of its
    clips, each scoring the real windows of its other clips; the ``1 - target_far`` quantile of those
    scores, or None when no behaviour has that many clips. ``draws``: the prior's ``(shots, seeds)``.
    Each behaviour is measured alone (without the others' prototypes, which could only lower a score).
    """
    shots, seeds = draws
    keys = sorted({(int(b), int(g)) for b, g in zip(behaviours, groups, strict=True)})
    counts = Counter(b for b, _ in keys)
    keys = [(b, g) for b, g in keys if counts[b] >= 2 * shots]
    if not keys:
        return None
    rows = [(behaviours == b) & (groups == g) for b, g in keys]
    scores = draw_scores(
        [embeddings[r] for r in rows], [b for b, _ in keys], [g for _, g in keys],
        shots=shots, seeds=seeds, queries=[embeddings[r & queries] for r in rows],
    )  # fmt: skip
    return float(np.quantile(scores, 1.0 - target_far)) if len(scores) else None


def calibrate_threshold(
    embeddings: np.ndarray,
    groups: np.ndarray,
    *,
    behaviours: np.ndarray | None = None,
    target_far: float = 0.01,
    margin: float = 1.1,
    queries: np.ndarray | None = None,
    method: CalibrationMethod = "leave_one_clip_out",
    split: Collection[int] = (),
    names: Mapping[int, str] | None = None,
    kappa: float | None = None,
    draws: tuple[int, int] | None = None,
) -> Calibration:
    """Threshold for a profile from its enrolled support embeddings ``(N, D)``, clip ids ``(N,)`` and
    behaviour ids ``(N,)`` (default: one behaviour) by the module's rule.

    ``queries`` marks the embeddings whose leave-out scores set the threshold (default: all; pass
    the real windows when the support set holds generated variants). ``split``: behaviours whose two
    groups are the halves of one clip (``method="split_halves"`` says it of a one-behaviour profile);
    a behaviour given as one group is split in order. ``names``: behaviour names for the warnings.
    ``kappa``: the encoder's calibration prior for ``target_far``, a score (None: the clips alone).
    ``draws``: the prior's ``(shots, seeds)``, to repeat its measurement on the enrolment
    (:func:`enrolment_kappa`; None: not repeated).

    Raises ValueError for fewer than two embeddings, mismatched shapes, non-finite embeddings or a
    ``target_far`` outside (0, 1).
    """
    emb = np.asarray(embeddings, dtype=np.float32)
    groups = np.asarray(groups).astype(np.int64)
    behaviours = np.zeros(len(groups), np.int64) if behaviours is None else np.asarray(behaviours, np.int64)
    if emb.ndim != 2 or groups.shape != (len(emb),) or behaviours.shape != (len(emb),):
        raise ValueError(
            f"need embeddings (N, D), groups (N,) and behaviours (N,); got {emb.shape}, {groups.shape} "
            f"and {behaviours.shape}"
        )
    if len(emb) < 2:
        raise ValueError("calibration needs at least two support embeddings")
    if not np.isfinite(emb).all():
        raise ValueError("support embeddings must be finite")
    if not 0.0 < target_far < 1.0:
        raise ValueError(f"target_far must lie in (0, 1); got {target_far}")
    real = np.ones(len(emb), bool) if queries is None else np.asarray(queries, bool)
    split = set(split) | (set(np.unique(behaviours).tolist()) if method == "split_halves" else set())
    groups = groups.copy()
    n_clips = 0
    n_distances = 0
    warnings = []
    for b in np.unique(behaviours):
        mine = behaviours == b
        called = "the threshold" if names is None else f"behaviour {names.get(int(b), b)!r}: the threshold"
        if len(np.unique(groups[mine])) == 1:
            rows = np.flatnonzero(mine)
            groups[rows] = groups.max() + 1 + (np.arange(len(rows)) >= len(rows) // 2)
            split.add(int(b))
        n_clips += 1 if int(b) in split else len(np.unique(groups[mine]))
        per_group = np.unique(groups[mine & real], return_counts=True)[1]
        distances = int((per_group.sum() ** 2 - (per_group**2).sum()) // 2)
        n_distances += distances
        if int(b) in split:
            warnings.append(
                f"{called} comes from one clip: windows of its first half scored against windows of "
                "its second half. A second clip, of another time or person, would let calibration score "
                "each clip against the others and so measure how much normal varies between recordings; "
                "enrol at least two"
            )
        if distances < FEW_DISTANCES:
            warnings.append(
                f"{called} rests on {distances} distance(s) between windows of different "
                f"{'halves' if int(b) in split else 'clips'}; more clips, or longer ones (a clip, "
                "or with one clip each half, longer than a window gives several windows), would show how "
                "far normal windows stray"
            )
    all_split = split >= set(np.unique(behaviours).tolist())
    scores = leave_one_clip_out_scores(emb, groups, real, behaviours).astype(np.float64)
    empirical = float(np.quantile(scores, 1.0 - target_far))
    normal = float(scores.mean() + NormalDist().inv_cdf(1.0 - target_far) * scores.std())
    prior = None if kappa is None else float(kappa)
    own = None
    if draws is not None:
        own = enrolment_kappa(emb, groups, behaviours, real, draws=draws, target_far=target_far)
    if own is not None and prior is not None and own > prior:
        warnings.append(
            f"these clips' people differ more from each other than the encoder's training people "
            f"({own:.3f} against {prior:.3f}, measured the same way; noisy skeletons, e.g. small people "
            "far from the camera): the threshold follows them, so an action must stand out by as much "
            "to alert"
        )
    return Calibration(
        threshold=margin * max(empirical, normal, *(k for k in (prior, own) if k is not None)),
        target_far=target_far,
        margin=margin,
        method="split_halves" if all_split else "leave_one_clip_out",
        n_clips=n_clips,
        n_scores=len(scores),
        n_distances=n_distances,
        score_mean=float(scores.mean()),
        score_std=float(scores.std()),
        score_max=float(scores.max()),
        empirical_quantile=empirical,
        normal_quantile=normal,
        warnings=tuple(warnings),
        prior_kappa=kappa,
        prior_quantile=prior,
        enrolment_kappa=own,
    )


class SupportProfile(Protocol):
    """What scoring needs of a profile (``edge.profiles.Profile`` has it)."""

    @property
    def name(self) -> str: ...
    @property
    def embeddings(self) -> np.ndarray: ...
    @property
    def behaviour_ids(self) -> np.ndarray: ...
    @property
    def single_rows(self) -> np.ndarray: ...
    @property
    def threshold(self) -> float: ...
    @property
    def behaviour_table(self) -> list[dict[str, Any]]: ...


def behaviour_names(profile: SupportProfile, ids: np.ndarray) -> list[str]:
    """The names of behaviour ``ids`` of ``profile`` (its behaviour table's)."""
    name_of = {b["id"]: str(b["name"]) for b in profile.behaviour_table}
    return [name_of[int(i)] for i in ids]


class Scorer:
    """Scores batches of embeddings against a fixed set of profiles (build a new one on reload).

    ``extra``: behaviours that apply to one stream only, ``{(stream id, profile name): (E, D) support
    embeddings}`` (a camera's overlay, edge/overlays.py: windows of marked alerts, each a prototype by
    itself): that stream's windows are scored against the profile's prototypes and these together.
    ``feedback_reach``: distances to marked windows are divided by it (> 1: a marked action also covers
    other performances of it, and more of every other action's first and last moments).
    ``extra_names``: the behaviour name of each row of ``extra`` (what :meth:`score_nearest` names
    when one is nearest; "" where not given).
    :attr:`behaviours`: the name of every prototype, the extra rows' after the profiles'.
    """

    def __init__(
        self,
        profiles: Sequence[SupportProfile],
        extra: Mapping[tuple[str, str], np.ndarray] | None = None,
        *,
        feedback_reach: float = 1.0,
        extra_names: Mapping[tuple[str, str], Sequence[str]] | None = None,
    ) -> None:
        names = [p.name for p in profiles]
        if len(set(names)) != len(names):
            raise ValueError(f"profile names must be unique; got {names}")
        dims = {p.embeddings.shape[1] for p in profiles if p.embeddings.ndim == 2}
        if len(dims) > 1 or any(p.embeddings.ndim != 2 or len(p.embeddings) == 0 for p in profiles):
            raise ValueError("every profile needs a non-empty (A, D) support set of one embedding size")
        self.names: tuple[str, ...] = tuple(names)
        self.thresholds = np.array([p.threshold for p in profiles], dtype=np.float32)  # (P,)
        built = [behaviour_prototypes(p.embeddings, p.behaviour_ids, p.single_rows) for p in profiles]
        protos = [b[0] for b in built]
        self._reach = float(feedback_reach)
        # Marked windows come after each profile's behaviour means (behaviour_prototypes' order).
        singles = [
            np.arange(len(b[0])) >= len(np.unique(p.behaviour_ids[~p.single_rows]))
            for b, p in zip(built, profiles, strict=True)
        ]
        self._scale = (
            np.where(np.concatenate(singles), 1.0 / self._reach, 1.0).astype(np.float32)
            if built
            else np.ones(0, np.float32)
        )
        # Every profile's prototypes in one matrix: one product per batch, then a min per profile.
        self._prototypes = (
            np.ascontiguousarray(np.concatenate(protos)) if protos else np.zeros((0, 0), np.float32)
        )
        self._starts = np.cumsum([0, *(len(p) for p in protos[:-1])]).astype(np.int64)
        self._ends = self._starts + [len(p) for p in protos]
        labels = [n for b, p in zip(built, profiles, strict=True) for n in behaviour_names(p, b[1])]
        index = {n: i for i, n in enumerate(names)}
        # stream -> (profile column, its extra rows, the label index of their first)
        self._extra: dict[str, list[tuple[int, np.ndarray, int]]] = {}
        for key, emb in (extra or {}).items():
            stream, name = key
            if name in index and len(emb):
                if emb.shape[1:] != self._prototypes.shape[1:]:
                    raise ValueError(f"extra behaviours of {name} for {stream} have another embedding size")
                self._extra.setdefault(stream, []).append(
                    (index[name], np.ascontiguousarray(emb, np.float32), len(labels))
                )
                given = list((extra_names or {}).get(key, ()))
                labels += given if len(given) == len(emb) else [""] * len(emb)
        self.behaviours: tuple[str, ...] = tuple(labels)

    def score(self, embeddings: np.ndarray, streams: Sequence[str] | None = None) -> np.ndarray:
        """``(B, D)`` embeddings (of the windows of ``streams``) -> ``(B, P)`` scores, the distance to
        each profile's nearest behaviour prototype; NaN embeddings give NaN."""
        return self.score_nearest(embeddings, streams)[0]

    def score_nearest(
        self, embeddings: np.ndarray, streams: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`score` and ``(B, P)`` which prototype gave each score: an index into
        :attr:`behaviours` (the nearest behaviour's name; a NaN score's is meaningless)."""
        shape = (len(embeddings), len(self.names))
        if not len(self.names) or not len(embeddings):
            return np.zeros(shape, np.float32), np.zeros(shape, np.int64)
        distances = pairwise_distances(embeddings, self._prototypes) * self._scale  # (B, total prototypes)
        out = np.empty(shape, np.float32)
        which = np.empty(shape, np.int64)
        for p, (start, end) in enumerate(zip(self._starts, self._ends, strict=True)):
            out[:, p], which[:, p] = nearest(distances[:, start:end])
            which[:, p] += start
        if streams is not None and self._extra:
            stream_of = np.asarray(streams)
            for stream, columns in self._extra.items():
                rows = np.flatnonzero(stream_of == stream)
                for column, protos, first in columns if len(rows) else ():
                    near, row = nearest(pairwise_distances(embeddings[rows], protos) / self._reach)
                    closer = near < out[rows, column]
                    out[rows[closer], column] = near[closer]
                    which[rows[closer], column] = first + row[closer]
        return out, which
