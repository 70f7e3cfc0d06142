"""``haad train calibration-prior``: measure an encoder's calibration prior on its training people.

For every dataset the encoder was trained on (its checkpoint's ``data_split``): the clips of its
training subjects in the categories held out of training (``unseen_labels_excluded``: behaviours the
encoder never learned, as a deployment's are), every such category and ``seeds`` draws: a profile of
``shots`` clips of ``shots`` different people, and the scores of every window of that category by the
other people against it, by the runtime's rule. The prior for a false-alarm rate is the ``1 - far``
quantile of those scores, each dataset weighing the same (models/calibration_prior.py). Categories
the encoder was trained on are not used: it pulls their windows together, their distances are a
third shorter than new people's in new categories. Nothing of the test people is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edge.backends.base import checkpoint_sha256, model_version
from edge.short_scale import CROP_STRIDE, crop_frames
from models.calibration_prior import CalibrationPrior, draw_scores, save_prior, scale_key
from models.embedding import embed_all
from models.encoder import DEFAULT_ENCODER_PATH, encoder_embed_fn, load_encoder
from models.preprocess import ClipError, clip_to_windows, crop_windows
from training.datasets import load_dataset

FARS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3)
SCALES = (1.0,)  # short scales measured (seconds): the worker's short_window_s choices


def weighted_quantile(values: list[np.ndarray], q: float) -> float:
    """The ``q`` quantile of the pooled values, each array weighing the same in total."""
    x = np.concatenate(values)
    w = np.concatenate([np.full(len(v), 1.0 / len(v)) for v in values])
    order = np.argsort(x)
    cumulative = np.cumsum(w[order]) / w.sum()
    return float(x[order][min(np.searchsorted(cumulative, q), len(x) - 1)])


def measure_prior(
    encoder_path: Path | None = None,
    *,
    shots: int = 3,
    seeds: int = 10,
    data_root: str | None = None,
    scales: Sequence[float] = SCALES,
) -> CalibrationPrior:
    """The prior of full windows, and of each short scale in ``scales`` (seconds): every window's
    crops of that length, as the worker's short scale cuts support and live windows
    (edge/short_scale.py), scored the same way."""
    path = Path(encoder_path or DEFAULT_ENCODER_PATH)
    encoder, spec, meta = load_encoder(path)
    embed = encoder_embed_fn(encoder)
    keys = [None, *scales]
    per_dataset: dict[float | None, dict[str, np.ndarray]] = {k: {} for k in keys}
    measured: dict[str, Any] = {"shots": shots, "seeds": seeds, "datasets": {}, "crop_stride": CROP_STRIDE}
    for name, split in meta.get("data_split", {}).items():
        train = set(split["train_subjects"])
        held_out = set(split.get("unseen_labels_excluded", []))  # the categories measured
        embeddings: dict[float | None, list[np.ndarray]] = {k: [] for k in keys}
        labels, subjects = [], []
        for c in load_dataset(name, data_root).clips:
            if c.subject not in train or c.label not in held_out:
                continue
            try:
                windows = clip_to_windows(c.joints, c.times, spec)
            except ClipError:
                continue
            embeddings[None].append(embed_all(embed, windows))
            for s in scales:
                crops = crop_windows(windows, crop_frames(s, spec), spec, CROP_STRIDE)
                embeddings[s].append(embed_all(embed, crops))
            labels.append(c.label)
            subjects.append(c.subject)
        for k in keys:
            scores = draw_scores(embeddings[k], labels, subjects, shots=shots, seeds=seeds)
            if len(scores):
                per_dataset[k][name] = scores
        if len(per_dataset[None].get(name, ())):
            measured["datasets"][name] = {"clips": len(labels), "scores": int(len(per_dataset[None][name]))}
    short = {scale_key(s): quantiles(list(per_dataset[s].values())) for s in scales if per_dataset[s]}
    per_dataset_full = per_dataset[None]
    if not per_dataset_full:
        raise ValueError(
            f"{path}: no data to measure a prior on (its data_split names no training people's clips of "
            "categories held out of training)"
        )
    kappas = quantiles(list(per_dataset_full.values()))
    return CalibrationPrior(model_version(checkpoint_sha256(path)), FARS, kappas, measured, scales=short)


def quantiles(scores: list[np.ndarray]) -> tuple[float, ...]:
    return tuple(weighted_quantile(scores, 1.0 - far) for far in FARS)


def write_prior(
    encoder_path: Path | None = None, *, shots: int = 3, seeds: int = 10, data_root: str | None = None
) -> tuple[CalibrationPrior, Path]:
    path = Path(encoder_path or DEFAULT_ENCODER_PATH)
    prior = measure_prior(path, shots=shots, seeds=seeds, data_root=data_root)
    return prior, save_prior(prior, path)
