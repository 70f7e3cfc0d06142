"""Few-shot anomaly scores (Eq. 6), one implementation for evaluation and the live worker (numpy)."""

from __future__ import annotations

import numpy as np


def pairwise_distances(queries: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Euclidean distances ``(B, D) x (A, D) -> (B, A)`` (float32, never negative)."""
    q = queries.astype(np.float32, copy=False)
    s = support.astype(np.float32, copy=False)
    sq = (q * q).sum(1)[:, None] + (s * s).sum(1)[None, :] - 2.0 * (q @ s.T)
    return np.sqrt(np.maximum(sq, 0.0))


def mean_distance(queries: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Anomaly score of each query: mean Euclidean distance to all support embeddings (Eq. 6)."""
    if support.shape[0] == 0:
        raise ValueError("the support set is empty")
    return pairwise_distances(queries, support).mean(axis=1)
