"""The generic clip-set file: users' own recordings in one ``.npz`` that haad accepts anywhere.

Keys (no pickled objects; strings are numpy unicode arrays):

============== ================================ ===============================================
key            shape / type                     meaning
============== ================================ ===============================================
``joints``     (total_frames, N, 3) float       all clips' frames, concatenated
``offsets``    (clips + 1,) int                 frames of clip i are ``[offsets[i], offsets[i+1])``
``labels``     (clips,) str                     behaviour / action label of each clip
``subjects``   (clips,) str                     who performed it (for cross-subject splits)
``layout``     () str                           ``kinect_v1`` (canonical), ``msr_action3d``,
                                                ``mediapipe33`` or ``smpl24``
``fps``        () float                         frame rate, when ``timestamps`` is absent
``timestamps`` (total_frames,) float, optional  seconds; preferred over ``fps`` when present
``names``      (clips,) str, optional           clip identifiers
============== ================================ ===============================================
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.skeleton import LAYOUT_JOINTS, to_canonical
from training.datasets.base import Clip, ClipSet, DataNotFoundError

REQUIRED = ("joints", "offsets", "labels", "subjects", "layout")


def load_clipset_file(path: Path) -> ClipSet:
    if not path.is_file():
        raise DataNotFoundError(f"clip-set file not found: {path}")
    try:
        d = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ValueError(f"{path} is not a readable clip-set .npz: {e}") from e
    missing = [k for k in REQUIRED if k not in d]
    if missing:
        raise ValueError(f"{path}: clip-set file lacks {missing} (see training/datasets/clipset_file.py)")
    layout = str(d["layout"])
    if layout not in LAYOUT_JOINTS:
        raise ValueError(f"{path}: unknown layout {layout!r}; known: {sorted(LAYOUT_JOINTS)}")
    offsets = d["offsets"].astype(np.int64)
    labels, subjects = d["labels"], d["subjects"]
    n = len(offsets) - 1
    if n < 1 or len(labels) != n or len(subjects) != n:
        raise ValueError(f"{path}: offsets, labels and subjects disagree on the number of clips")
    total = d["joints"].shape[0]
    if offsets[0] != 0 or offsets[-1] != total or np.any(np.diff(offsets) < 0):
        raise ValueError(f"{path}: offsets must rise from 0 to the number of frames ({total})")
    joints = to_canonical(d["joints"], layout)  # type: ignore[arg-type]
    if "timestamps" in d:
        times = d["timestamps"].astype(np.float64)
        if times.shape != (total,):
            raise ValueError(f"{path}: timestamps must have one entry per frame")
    elif "fps" in d and float(d["fps"]) > 0:
        fps = float(d["fps"])
        times = np.concatenate([np.arange(offsets[i + 1] - offsets[i]) / fps for i in range(n)])
    else:
        raise ValueError(f"{path}: give either per-frame 'timestamps' or a positive 'fps'")
    names = d["names"] if "names" in d else [f"{path.stem}:{i}" for i in range(n)]
    clips = tuple(
        Clip(
            joints=joints[offsets[i] : offsets[i + 1]],
            times=times[offsets[i] : offsets[i + 1]],
            label=str(labels[i]),
            subject=str(subjects[i]),
            name=str(names[i]),
        )
        for i in range(n)
    )
    return ClipSet(path.stem, clips)


def save_clipset_file(path: Path, clips: Sequence[Clip]) -> None:
    """Write canonical clips as a clip-set file (layout ``kinect_v1``, per-frame timestamps)."""
    if not clips:
        raise ValueError("no clips to save")
    offsets = np.concatenate([[0], np.cumsum([len(c.joints) for c in clips])])
    np.savez_compressed(
        path,
        joints=np.concatenate([c.joints for c in clips]).astype(np.float32),
        offsets=offsets.astype(np.int64),
        labels=np.array([c.label for c in clips]),
        subjects=np.array([c.subject for c in clips]),
        names=np.array([c.name for c in clips]),
        timestamps=np.concatenate([c.times for c in clips]).astype(np.float64),
        layout=np.array("kinect_v1"),
    )
