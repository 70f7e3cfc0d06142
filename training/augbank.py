"""Augmentation banks: HumanMAC variants of training windows, generated once and cached on disk.

``AugmentationBank(cache_dir).load_or_build(windows, generator, settings)`` returns
``(N, N_g, F, J, 3)`` variants index-aligned with ``windows`` (``variants[i]`` completes
``windows[i]``). The cache key hashes the generator (weights + configs), the window array and every
setting, so a bank is rebuilt exactly when one of them changes and never between training runs.
Files: ``<cache_dir>/<key>.npy`` + ``<key>.json``, each written to a temporary name and renamed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from tqdm import tqdm

from config.completions import CompletionSettings
from models.files import atomic_write
from models.humanmac import HumanMAC

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BankSettings:
    """completions: what is generated (N_g, O, gap, steps, sampler). seed: noise seed.
    chunk: windows per sampling call (the noise stream depends on it, so it is part of the key).
    dtype: storage precision of the variants."""

    completions: CompletionSettings = CompletionSettings()
    seed: int = 0
    chunk: int = 64
    dtype: Literal["float16", "float32"] = "float16"

    def describe(self) -> dict[str, Any]:
        """Every setting as a flat JSON-ready dict (the completions' and the sampler's fields at the
        top level; the cache key hashes it)."""
        c = self.completions.model_dump()
        return {**c.pop("sampler"), **c, "seed": self.seed, "chunk": self.chunk, "dtype": self.dtype}


def generate_in_chunks(
    generator: HumanMAC,
    windows: np.ndarray,
    settings: CompletionSettings,
    *,
    seed: int,
    chunk: int = 64,
    dtype: str = "float32",
    progress: bool = True,
) -> np.ndarray:
    """``(N, F, J, 3)`` -> ``(N, n_g, F, J, 3)``: ``chunk`` windows per call, one seeded noise stream."""
    rng = torch.Generator().manual_seed(seed)
    out = np.empty((len(windows), settings.n_g, *windows.shape[1:]), dtype=dtype)
    for i in tqdm(range(0, len(windows), chunk), desc="generate", disable=not progress, mininterval=2.0):
        out[i : i + chunk] = generator.generate(windows[i : i + chunk], settings, rng=rng)
    return out


def windows_digest(windows: np.ndarray) -> str:
    w = np.ascontiguousarray(windows, dtype=np.float32)
    return hashlib.sha256(repr(w.shape).encode() + w.tobytes()).hexdigest()


def bank_key(windows: np.ndarray, generator: HumanMAC, settings: BankSettings) -> str:
    ident = {
        "model": generator.fingerprint,
        "windows": windows_digest(windows),
        "settings": settings.describe(),
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:32]


class AugmentationBank:
    """The cache folder of generated variants (created on first build)."""

    def __init__(self, cache_dir: str | os.PathLike[str]) -> None:
        self.cache_dir = Path(cache_dir)

    def paths(self, key: str) -> tuple[Path, Path]:
        return self.cache_dir / f"{key}.npy", self.cache_dir / f"{key}.json"

    def load_or_build(
        self, windows: np.ndarray, generator: HumanMAC, settings: BankSettings, *, progress: bool = True
    ) -> np.ndarray:
        """Variants ``(N, N_g, F, J, 3)`` of normalised windows ``(N, F, J, 3)``, from the cache when
        it holds this (generator, windows, settings), else generated and cached."""
        if windows.ndim != 4 or len(windows) == 0:
            raise ValueError(f"windows must be a non-empty (N, F, J, 3) array; got {windows.shape}")
        key = bank_key(windows, generator, settings)
        expected = (len(windows), settings.completions.n_g, *windows.shape[1:])
        cached = self._load(key, expected)
        if cached is not None:
            return cached

        started = time.monotonic()
        variants = generate_in_chunks(
            generator,
            windows,
            settings.completions,
            seed=settings.seed,
            chunk=settings.chunk,
            dtype=settings.dtype,
            progress=progress,
        )
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        npy, side = self.paths(key)
        atomic_write(npy, lambda f: np.save(f, variants))
        meta = {
            "key": key,
            "shape": list(variants.shape),
            "settings": settings.describe(),
            "model_fingerprint": generator.fingerprint,
            "model_revision": generator.meta.get("git_revision"),
            "windows_sha256": windows_digest(windows),
            "seconds": round(time.monotonic() - started, 1),
        }
        atomic_write(side, lambda f: f.write((json.dumps(meta, indent=2) + "\n").encode()))
        return variants

    def _load(self, key: str, expected: tuple[int, ...]) -> np.ndarray | None:
        npy, side = self.paths(key)
        if not (npy.is_file() and side.is_file()):
            return None
        try:
            variants = np.load(npy)
        except (OSError, ValueError) as e:
            log.warning("augmentation bank %s is unreadable (%s); rebuilding", npy, e)
            return None
        if variants.shape != expected:
            log.warning(
                "augmentation bank %s has shape %s, expected %s; rebuilding", npy, variants.shape, expected
            )
            return None
        return variants
