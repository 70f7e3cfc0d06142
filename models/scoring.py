"""Few-shot anomaly scores, one implementation for evaluation, enrolment, feedback and the live worker.

A profile's support windows are labelled with the *behaviour* each shows (walking, sitting down, ...).
The score of a window is its distance to the nearest behaviour prototype:

    a(z) = min_b ‖z − μ_b‖₂,   μ_b = mean of behaviour b's support embeddings.

With one behaviour this is the distance to the support set's centroid, which ranks windows as Eq. (6)
of the paper does (mean distance to every support embedding) within ±0.001 AUC on every benchmark;
with several it does not average a walking window's distance to the sitting windows into its score.
The measurements behind the choice: docs/experiments/2026-12-04-several-behaviours.md.

Everything is numpy and vectorised: scoring is one ``(B, D) x (D, P)`` product against a few
prototypes, however many support windows a profile holds.
"""

from __future__ import annotations

import numpy as np


def pairwise_distances(queries: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Euclidean distances ``(B, D) x (A, D) -> (B, A)`` (float32, never negative)."""
    q = queries.astype(np.float32, copy=False)
    s = support.astype(np.float32, copy=False)
    sq = (q * q).sum(1)[:, None] + (s * s).sum(1)[None, :] - 2.0 * (q @ s.T)
    return np.sqrt(np.maximum(sq, 0.0))


def behaviour_prototypes(
    support: np.ndarray, behaviours: np.ndarray, singles: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(A, D)`` support embeddings and their ``(A,)`` behaviour ids -> ``(P, D)`` float32
    prototypes (each behaviour's mean embedding) and the ``(P,)`` behaviour id of each. ``singles``:
    ``(A,)`` bool, rows that are prototypes by themselves (windows of a marked alert: an action seen
    at a few moments, whose mean would lie between them, near many other actions)."""
    support = np.asarray(support, np.float32)
    behaviours = np.asarray(behaviours)
    singles = np.zeros(len(support), bool) if singles is None else np.asarray(singles, bool)
    if (
        support.ndim != 2
        or len(support) == 0
        or behaviours.shape != (len(support),)
        or singles.shape != behaviours.shape
    ):
        raise ValueError(f"need a non-empty (A, D) support set and (A,) behaviours; got {support.shape}, "
                         f"{behaviours.shape}")  # fmt: skip
    pooled = ~singles
    ids, inverse = np.unique(behaviours[pooled], return_inverse=True)
    sums = np.zeros((len(ids), support.shape[1]), np.float64)
    np.add.at(sums, inverse, support[pooled])
    means = (sums / np.bincount(inverse, minlength=len(ids))[:, None]).astype(np.float32)
    return np.concatenate([means, support[singles]]), np.concatenate([ids, behaviours[singles]])


def nearest(distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(B, P)`` distances to prototypes -> ``(B,)`` the smallest of each row (the score) and ``(B,)``
    the column it is in (which prototype was nearest). A NaN row gives NaN and column 0."""
    column = distances.argmin(axis=1)
    return np.take_along_axis(distances, column[:, None], axis=1)[:, 0], column


def nearest_prototype_distance(queries: np.ndarray, prototypes: np.ndarray) -> np.ndarray:
    """The score of each query: ``(B, D)`` x ``(P, D)`` prototypes -> ``(B,)`` distance to the nearest
    (NaN queries give NaN)."""
    return nearest(pairwise_distances(queries, prototypes))[0]


def behaviour_score(
    queries: np.ndarray, support: np.ndarray, behaviours: np.ndarray, singles: np.ndarray | None = None
) -> np.ndarray:
    """The module's rule in one call: ``(B, D)`` queries against ``(A, D)`` support windows labelled
    with ``(A,)`` behaviour ids (``singles`` as :func:`behaviour_prototypes` takes it) -> ``(B,)``."""
    return nearest_prototype_distance(queries, behaviour_prototypes(support, behaviours, singles)[0])
