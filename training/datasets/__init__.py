"""The benchmark datasets, each loaded as a :class:`clips.ClipSet` from the shared data folder."""

from training.datasets.base import DataNotFoundError, resolve_data_root
from training.datasets.registry import DATASET_NAMES, load_dataset

__all__ = ["DATASET_NAMES", "DataNotFoundError", "load_dataset", "resolve_data_root"]
