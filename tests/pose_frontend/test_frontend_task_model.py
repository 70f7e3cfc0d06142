"""The Tasks .task bundle built from the models the mediapipe wheel ships: cached per MediaPipe
version, checksummed, rebuilt when damaged (its use: test_frontend_estimator.py)."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import mediapipe

from pose_frontend.task_model import pose_task_model


def test_the_bundle_is_built_once_per_mediapipe_version_and_rebuilt_when_damaged(tmp_path: Path) -> None:
    path = pose_task_model(tmp_path)
    assert path.parent == tmp_path and f"-{mediapipe.__version__}-" in path.name
    with zipfile.ZipFile(path) as bundle:
        infos = {i.filename: i for i in bundle.infolist()}
    assert set(infos) == {"pose_detector.tflite", "pose_landmarks_detector.tflite"}
    assert all(i.compress_type == zipfile.ZIP_STORED for i in infos.values())  # MediaPipe maps them
    built = path.stat().st_mtime_ns
    assert pose_task_model(tmp_path) == path and path.stat().st_mtime_ns == built  # cached

    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # a torn copy
    time.sleep(1.1)  # zip entries are stamped to the second: rebuild in another one
    assert pose_task_model(tmp_path) == path
    assert path.read_bytes() == good  # rebuilt, byte for byte (fixed dates in the zip)
