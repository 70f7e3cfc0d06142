"""A profile's .npz a bit off (disk rot, a copy cut short and rewritten, a hand-restored backup) is
a ProfileError, which the worker's profile refresh catches and keeps serving the last good version;
any other exception out of ProfileStore.load stops the worker at every restart."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from edge.profiles import Profile, ProfileError, ProfileStore


def test_a_profile_file_with_bits_flipped_is_a_profile_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    store = ProfileStore(tmp_path)
    store.save(
        Profile(
            "walk", 0, rng.normal(size=(6, 8)).astype(np.float32), np.repeat(np.arange(3), 2),
            rng.normal(size=(6, 60, 20, 3)).astype(np.float32), 0.8, {"model_version": "abc"},
        )
    )  # fmt: skip
    npz = tmp_path / "walk" / "v0001.npz"
    good, flips = npz.read_bytes(), random.Random(1)
    escaped = set()
    for _ in range(300):
        damaged = bytearray(good)
        for _ in range(flips.randint(1, 3)):
            damaged[flips.randrange(len(damaged))] ^= 1 << flips.randrange(8)
        npz.write_bytes(bytes(damaged))
        try:
            store.load("walk", 1)
        except ProfileError:
            pass
        except Exception as e:  # noqa: BLE001 - what the sweep is looking for
            escaped.add(f"{type(e).__module__}.{type(e).__name__}: {e}")
    assert escaped == set()
