"""Kinder-Gator: Kinect v1 skeletons of 10 adults and 10 children, 58 motions (one npz)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clips import Clip, ClipSet
from models.skeleton import from_kinect_v1
from training.datasets.base import require_file

FILE = "kinder_gator/kinder_gator_skeletons.npz"


def load_kinder_gator(data_root: Path) -> ClipSet:
    """Every trial as a clip labelled by its motion name, subject = participant id."""
    d = np.load(require_file(data_root / FILE, "Kinder-Gator skeletons"))
    joints = from_kinect_v1(d["joints"])
    times = d["timestamp_ms"] / 1000.0
    off = d["trial_offsets"]
    clips = tuple(
        Clip(
            joints=joints[off[i] : off[i + 1]],
            times=times[off[i] : off[i + 1]],
            label=str(d["trial_motion"][i]),
            subject=str(int(d["trial_participant"][i])),
            name=str(d["trial_file"][i]),
        )
        for i in range(len(off) - 1)
    )
    return ClipSet("kinder-gator", clips)
