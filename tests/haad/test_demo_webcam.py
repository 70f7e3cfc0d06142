"""``haad demo --webcam N`` refuses a camera that does not open before anything starts.

It used to start the daemon, whose frontend retried the camera with backoff until Ctrl-C (no
camera at that index: OpenCV's V4L2 lines and "still cannot open" warnings, forever)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2

NO_CAMERA = 99  # OpenCV reads 200 and over as a capture API plus an index


def test_demo_refuses_a_camera_that_does_not_open_before_starting_anything(tmp_path: Path) -> None:
    capture = cv2.VideoCapture(NO_CAMERA)
    assert not capture.isOpened(), "a camera at this index: the test needs one that is absent"
    capture.release()
    result = subprocess.run(
        [sys.executable, "-m", "haad", "demo", "--workdir", str(tmp_path / "run"), "--webcam", str(NO_CAMERA)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    last = result.stderr.splitlines()[-1]  # after OpenCV's own lines, if any
    assert last.startswith(f"error: camera {NO_CAMERA} does not open"), result.stderr
    assert last.endswith("try another --webcam index, or --video FILE"), result.stderr
    assert not (tmp_path / "run").exists() and result.stdout == ""
