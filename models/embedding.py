"""Embedding many windows with any embedding function, a chunk at a time (numpy only)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EmbedFn = Callable[[np.ndarray], np.ndarray]  # (B, F, J, 3) normalised windows -> (B, D)


def embed_all(embed: EmbedFn, windows: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """``(N, F, J, 3)`` -> ``(N, D)``, calling ``embed`` on at most ``chunk`` windows at a time."""
    return np.concatenate([embed(windows[i : i + chunk]) for i in range(0, len(windows), chunk)])


def embed_variants(embed: EmbedFn, variants: np.ndarray) -> np.ndarray:
    """Generated variants ``(N, G, F, J, 3)`` -> their embeddings ``(N, G, D)``."""
    n, g = variants.shape[:2]
    return embed_all(embed, variants.reshape(n * g, *variants.shape[2:])).reshape(n, g, -1)
