"""NW-UCLA Multiview Action 3D: Kinect v1 skeletons of 10 people, each take filmed by 3 cameras."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clips import Clip, ClipSet
from models.skeleton import from_kinect_v1
from training.datasets.base import require_file

FILE = "nw_ucla/nw_ucla_skeletons.npz"
# The file's 30 fps is nominal (SOURCE.md). At 30 fps people in `walk_around` would move their hips
# 2.0 m/s (median over the clips); at 15 fps 1.0 m/s, an unhurried walk, as the videos show.
FPS = 15.0


def load_nw_ucla(data_root: Path) -> ClipSet:
    """Every clip, labelled by action, with its subject (``s01``-``s10``) and camera (``v1``-``v3``).

    Joints the sensor lost are stored with z = 0 (SOURCE.md); they become NaN, which the shared
    preprocessing interpolates over when the hole is short.
    """
    with np.load(require_file(data_root / FILE, "NW-UCLA skeletons")) as d:
        raw, off = d["joints"], d["offsets"]
        labels, subjects, views, names = d["labels"], d["subjects"], d["views"], d["names"]
    joints = from_kinect_v1(raw)
    joints[raw[..., 2] <= 0] = np.nan
    clips = tuple(
        Clip(
            joints=joints[off[i] : off[i + 1]],
            times=np.arange(off[i + 1] - off[i]) / FPS,
            label=str(labels[i]),
            subject=str(subjects[i]),
            name=str(names[i]),
            view=str(views[i]),
        )
        for i in range(len(off) - 1)
    )
    return ClipSet("nw-ucla", clips)
