"""Scoring rules ``haad eval fewshot --rule`` compares with the runtime's (docs/experiments/2026-12-04-several-behaviours.md).

Every rule maps ``(queries (B, D), support (A, D), behaviours (A,), groups (A,))`` to ``(B,)`` scores
(higher = more anomalous); ``groups`` is the support clip each support window comes from. The
runtime's rule, ``prototype``, is :func:`models.scoring.behaviour_score`; the others are the
candidates it was chosen against, kept so that the comparison can be rerun.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from models.scoring import behaviour_score, pairwise_distances

Rule = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def eq6(queries: np.ndarray, support: np.ndarray, behaviours: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Eq. (6) of the paper: mean distance to every support window, behaviours ignored."""
    return pairwise_distances(queries, support).mean(axis=1)


def nearest_k(k: int | None) -> Rule:
    """Mean distance to the ``k`` nearest support windows (None: as many as a support clip has windows)."""

    def rule(
        queries: np.ndarray, support: np.ndarray, behaviours: np.ndarray, groups: np.ndarray
    ) -> np.ndarray:
        n = k if k is not None else max(1, round(len(support) / len(np.unique(groups))))
        d = pairwise_distances(queries, support)
        return np.sort(d, axis=1)[:, : min(n, d.shape[1])].mean(axis=1)

    return rule


def behaviour_eq6(scaled: bool) -> Rule:
    """Min over behaviours of Eq. (6) against that behaviour's windows; ``scaled``: each behaviour's
    distances divided by its own leave-one-clip-out mean (its windows against its other clips)."""

    def rule(
        queries: np.ndarray, support: np.ndarray, behaviours: np.ndarray, groups: np.ndarray
    ) -> np.ndarray:
        per = []
        for b in np.unique(behaviours):
            mine, g = support[behaviours == b], groups[behaviours == b]
            score = pairwise_distances(queries, mine).mean(axis=1)
            if scaled and len(np.unique(g)) > 1:
                loo = [pairwise_distances(mine[g == c], mine[g != c]).mean(axis=1) for c in np.unique(g)]
                score = score / float(np.concatenate(loo).mean())
            per.append(score)
        return np.min(per, axis=0)

    return rule


def prototype(
    queries: np.ndarray, support: np.ndarray, behaviours: np.ndarray, groups: np.ndarray
) -> np.ndarray:
    """The runtime's rule: distance to the nearest behaviour's mean embedding."""
    return behaviour_score(queries, support, behaviours)


def one_prototype(
    queries: np.ndarray, support: np.ndarray, behaviours: np.ndarray, groups: np.ndarray
) -> np.ndarray:
    """Distance to the mean of the whole support set, behaviours ignored."""
    return behaviour_score(queries, support, np.zeros(len(support), np.int64))


RULES: dict[str, Rule] = {
    "prototype": prototype,
    "eq6": eq6,
    "knn3": nearest_k(3),
    "knn-clip": nearest_k(None),
    "behaviour-eq6": behaviour_eq6(scaled=False),
    "behaviour-eq6-scaled": behaviour_eq6(scaled=True),
    "one-prototype": one_prototype,
}
DEFAULT_RULE = "prototype"
