"""Enrolment clips from files: videos (through pose estimation) or recorded skeletons."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from clips import CLIP_FILE_SUFFIXES, Clip, load_clips
from config.frontend import EstimatorConfig, StreamConfig, VideoSourceConfig
from models.skeleton import Layout

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"})


def load_enrol_clips(
    paths: Sequence[Path],
    *,
    label: str | None = None,
    layout: Layout = "kinect_v1",
    fps: float = 30.0,
    estimator: EstimatorConfig | None = None,
) -> list[Clip]:
    """Every clip in ``paths``.

    * a video file: MediaPipe Pose over every frame (frames without a person become gaps);
    * a clip-set ``.npz`` (clips/files.py): its clips, only those labelled ``label`` when given;
    * a ``.npy`` array ``(T, N, 3)`` in ``layout`` at ``fps``.

    Raises FileNotFoundError / ValueError naming the file that cannot be used.
    """
    clips: list[Clip] = []
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"enrolment clip not found: {path}")
        suffix = path.suffix.lower()
        if suffix in VIDEO_SUFFIXES:
            clips.append(_video_clip(path, estimator or EstimatorConfig()))
        elif suffix in CLIP_FILE_SUFFIXES:
            clips += load_clips(path, layout=layout, fps=fps, label=label)
        else:
            raise ValueError(
                f"{path}: not a video ({', '.join(sorted(VIDEO_SUFFIXES))}), clip-set .npz or .npy"
            )
    return clips


def _video_clip(path: Path, estimator: EstimatorConfig) -> Clip:
    from pose_frontend.record import record_clip

    stream = StreamConfig(
        id="enrol", source=VideoSourceConfig(path=str(path), realtime=False), estimator=estimator
    )
    times, joints, _visibility, _counters = record_clip(stream)
    if not np.isfinite(joints).all(axis=(1, 2)).any():
        raise ValueError(f"{path}: no person was detected in any frame")
    return Clip(joints, times, name=path.name)
