"""MSR Action3D real-world skeletons: 20 actions, 10 subjects, one text file per sequence."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from clips import Clip, ClipSet
from models.skeleton import from_msr_action3d
from training.datasets.base import DataNotFoundError

FOLDER = "msr_action3d/skeleton3d_real_world"
# The frame rate is not stated in the files; 15 fps is the figure the literature quotes.
FPS = 15.0
# A sequence with fewer tracked frames than this (after dropping all-zero frames) is left out.
MIN_FRAMES = 8
_NAME = re.compile(r"a(\d\d)_s(\d\d)_e(\d\d)_skeleton3D\.txt$")

ACTION_NAMES = {
    1: "high arm wave", 2: "horizontal arm wave", 3: "hammer", 4: "hand catch", 5: "forward punch",
    6: "high throw", 7: "draw x", 8: "draw tick", 9: "draw circle", 10: "hand clap",
    11: "two hand wave", 12: "side-boxing", 13: "bend", 14: "forward kick", 15: "side kick",
    16: "jogging", 17: "tennis swing", 18: "tennis serve", 19: "golf swing", 20: "pick up & throw",
}  # fmt: skip


def action_label(action_id: int) -> str:
    """Label used for MSR action ``action_id`` (1-20), e.g. ``a03 hammer``."""
    return f"a{action_id:02d} {ACTION_NAMES[action_id]}"


def load_msr_action3d(data_root: Path) -> ClipSet:
    """All sequences; all-zero (untracked) frames dropped, keeping the others' timestamps.

    Timestamps are frame index / 15 fps, so dropped frames leave a time gap that the shared
    preprocessing bridges when short. Sequences with fewer than MIN_FRAMES tracked frames are left
    out and counted in ``dropped``.
    """
    folder = data_root / FOLDER
    files = sorted(folder.glob("*_skeleton3D.txt")) if folder.is_dir() else []
    if not files:
        raise DataNotFoundError(f"MSR Action3D skeleton files not found under {folder}")
    clips: list[Clip] = []
    dropped: dict[str, int] = {}
    for f in files:
        m = _NAME.search(f.name)
        if m is None:
            continue
        action, subject = int(m.group(1)), int(m.group(2))
        raw = np.loadtxt(f, dtype=np.float32).reshape(-1, 20, 4)[..., :3]
        tracked = np.flatnonzero(np.abs(raw).sum(axis=(1, 2)) > 0)
        if tracked.size < MIN_FRAMES:
            dropped["too few tracked frames"] = dropped.get("too few tracked frames", 0) + 1
            continue
        clips.append(
            Clip(
                joints=from_msr_action3d(raw[tracked]),
                times=tracked / FPS,
                label=action_label(action),
                subject=str(subject),
                name=f.name.removesuffix("_skeleton3D.txt"),
            )
        )
    return ClipSet("msr", tuple(clips), dropped)
