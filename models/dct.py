"""Orthonormal DCT-II bases over time, shared by the encoder, HumanMAC and the baselines (numpy)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=16)
def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    t = np.arange(n)[None, :]
    m = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * t + 1) * k / (2 * n))
    m[0] /= np.sqrt(2.0)
    m.setflags(write=False)
    return m


def dct_matrix(n: int) -> np.ndarray:
    """``(n, n)`` orthonormal DCT-II matrix ``T``: ``C = T @ X`` over time; row k is frequency k.

    Orthonormal, so the inverse (iDCT) is ``T.T``. Returned read-only float64; cast as needed.
    """
    if n < 1:
        raise ValueError(f"DCT size must be positive; got {n}")
    return _dct_matrix(n)


def dct(x: np.ndarray, m: int | None = None) -> np.ndarray:
    """Low-frequency DCT of ``(..., T, D)`` along time: ``(..., m, D)`` (all T when m is None)."""
    t = x.shape[-2]
    basis = dct_matrix(t)[: (m or t)].astype(x.dtype if x.dtype.kind == "f" else np.float64)
    # matmul, not einsum: BLAS, ~13x faster on a worker's batch of crops (the kinematic term).
    return np.matmul(basis, x)


def idct(c: np.ndarray, t: int) -> np.ndarray:
    """Inverse of :func:`dct`: ``(..., m, D)`` coefficients -> ``(..., t, D)`` frames (m <= t)."""
    m = c.shape[-2]
    basis = dct_matrix(t)[:m].astype(c.dtype if c.dtype.kind == "f" else np.float64)
    return np.einsum("kt,...kd->...td", basis, c)
