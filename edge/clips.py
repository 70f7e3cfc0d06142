"""Enrolment clips from files: videos (through pose estimation) or recorded skeletons."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from config.frontend import EstimatorConfig, StreamConfig, VideoSourceConfig
from edge.enroll import EnrolClip
from models.skeleton import Layout, to_canonical

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"})


def load_enrol_clips(
    paths: Sequence[Path],
    *,
    label: str | None = None,
    layout: Layout = "kinect_v1",
    fps: float = 30.0,
    estimator: EstimatorConfig | None = None,
) -> list[EnrolClip]:
    """Every clip in ``paths``.

    * a video file: MediaPipe Pose over every frame (frames without a person become gaps);
    * a clip-set ``.npz`` (training/datasets/clipset_file.py): its clips, only those labelled ``label``
      when given;
    * a ``.npy`` array ``(T, N, 3)`` in ``layout`` at ``fps``.

    Raises FileNotFoundError / ValueError naming the file that cannot be used.
    """
    clips: list[EnrolClip] = []
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"enrolment clip not found: {path}")
        suffix = path.suffix.lower()
        if suffix in VIDEO_SUFFIXES:
            clips.append(_video_clip(path, estimator or EstimatorConfig()))
        elif suffix == ".npz":
            from training.datasets.clipset_file import load_clipset_file

            chosen = [c for c in load_clipset_file(path).clips if label is None or c.label == label]
            if not chosen:
                raise ValueError(f"{path}: no clip labelled {label!r}")
            clips += [EnrolClip(c.name, c.joints, c.times) for c in chosen]
        elif suffix == ".npy":
            joints = to_canonical(np.load(path, allow_pickle=False), layout)
            clips.append(EnrolClip(path.stem, joints, np.arange(len(joints)) / fps))
        else:
            raise ValueError(
                f"{path}: not a video ({', '.join(sorted(VIDEO_SUFFIXES))}), clip-set .npz or .npy"
            )
    return clips


def _video_clip(path: Path, estimator: EstimatorConfig) -> EnrolClip:
    from pose_frontend.record import record_clip

    stream = StreamConfig(
        id="enrol", source=VideoSourceConfig(path=str(path), realtime=False), estimator=estimator
    )
    times, joints, _visibility, _counters = record_clip(stream)
    if not np.isfinite(joints).all(axis=(1, 2)).any():
        raise ValueError(f"{path}: no person was detected in any frame")
    return EnrolClip(path.name, joints, times)
