"""Dataset names -> loaders; a path to a ``.npz`` clip-set file works wherever a name does."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from clips import ClipSet, load_clipset_file
from training.datasets.base import resolve_data_root
from training.datasets.kinder_gator import load_kinder_gator
from training.datasets.msr_action3d import load_msr_action3d
from training.datasets.nw_ucla import load_nw_ucla
from training.datasets.utkinect import load_utkinect

_LOADERS: dict[str, Callable[[Path], ClipSet]] = {
    "kinder-gator": load_kinder_gator,
    "msr": load_msr_action3d,
    "utkinect": load_utkinect,
    "nw-ucla": load_nw_ucla,
}
DATASET_NAMES = tuple(_LOADERS)


def load_dataset(name: str, data_root: str | os.PathLike[str] | None = None) -> ClipSet:
    """Load a named dataset from the data root, or a clip-set file given by path."""
    if name in _LOADERS:
        return _LOADERS[name](resolve_data_root(data_root))
    if name.lower().endswith(".npz") or Path(name).expanduser().exists():
        return load_clipset_file(Path(name))  # a folder or another kind of file: it says what it is
    raise ValueError(
        f"unknown dataset {name!r}: use one of {', '.join(DATASET_NAMES)} or a path to a clip-set .npz"
    )
