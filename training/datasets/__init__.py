"""Skeleton datasets as one type, :class:`ClipSet`, whatever the source."""

from training.datasets.base import Clip, ClipSet, DataNotFoundError, resolve_data_root
from training.datasets.registry import DATASET_NAMES, load_dataset

__all__ = ["Clip", "ClipSet", "DataNotFoundError", "resolve_data_root", "DATASET_NAMES", "load_dataset"]
