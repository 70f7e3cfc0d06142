"""Training-time variants: the consistency filter and how variants are drawn from the bank."""

from __future__ import annotations

import numpy as np

from training.generative import consistent_variants, draw_variants


def _mean_embed(w: np.ndarray) -> np.ndarray:
    return np.asarray(w, dtype=np.float32).reshape(len(w), -1).mean(axis=1, keepdims=True)


def test_a_variant_is_kept_only_when_nearest_to_its_own_category() -> None:
    labels = np.array([0, 0, 1, 1])
    windows = np.zeros((4, 60, 20, 3), np.float32) + labels[:, None, None, None].astype(np.float32)
    variants = np.stack([windows + 0.1, 1.0 - windows], axis=1)  # near its own category / the other's
    keep, real_share = consistent_variants(windows, variants.astype(np.float16), labels, _mean_embed)
    assert keep.tolist() == [[True, False]] * 4
    assert real_share == 1.0


def test_only_kept_variants_are_drawn_and_the_real_window_stands_in_for_missing_ones() -> None:
    rng = np.random.default_rng(0)
    windows = rng.normal(size=(3, 60, 20, 3)).astype(np.float32)
    bank = rng.normal(size=(3, 4, 60, 20, 3)).astype(np.float16)
    keep = np.array([[False, False, True, False], [False] * 4, [True] * 4])
    rows = np.array([0, 1, 2, 0])

    def source(window: np.ndarray, row: int) -> int | None:
        """Which bank variant of ``row`` this is (None: the real window)."""
        if np.array_equal(window, windows[row]):
            return None
        return next(k for k in range(4) if np.array_equal(window, bank[row, k].astype(np.float32)))

    for _ in range(5):
        gen = draw_variants(bank, keep, windows, rows, 2, rng)
        assert gen.shape == (4, 2, 60, 20, 3) and gen.dtype == np.float32
        for b, r in enumerate(rows):
            drawn = [source(g, r) for g in gen[b]]
            variants = [k for k in drawn if k is not None]
            assert all(keep[r, k] for k in variants) and len(set(variants)) == len(variants)
            assert len(variants) == min(2, keep[r].sum())  # the real window only where too few are kept
