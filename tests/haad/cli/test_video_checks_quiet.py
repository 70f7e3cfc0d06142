"""Commands that open a video to check it, before any log is set up, keep OpenCV's known-harmless
line about a capture that did not open off the terminal (as `haad enroll` does): the command's own
line says what is wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

HARMLESS = "can't be used to capture by name"  # bus.logs._HARMLESS_NATIVE: OpenCV after a failed open


def _haad(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "haad", *args], capture_output=True, text=True, timeout=60, check=False
    )


def _not_a_video(tmp_path: Path) -> Path:
    notes = tmp_path / "notes.mp4"
    notes.write_text("meeting notes, not a video\n")
    return notes


def test_config_validate_of_a_source_that_is_not_a_video_says_only_what_matters(tmp_path: Path) -> None:
    notes = _not_a_video(tmp_path)
    config = tmp_path / "edge.yaml"
    config.write_text(
        yaml.safe_dump({"streams": [{"id": "cam", "source": {"kind": "video", "path": str(notes)}}]})
    )
    done = _haad("config", "validate", str(config))
    assert done.returncode == 2
    assert f"stream cam: cannot open video {notes}" in done.stderr
    assert HARMLESS not in done.stderr, done.stderr


def test_demo_on_a_file_that_is_not_a_video_says_only_what_matters(tmp_path: Path) -> None:
    notes = _not_a_video(tmp_path)
    done = _haad("demo", "--video", str(notes))
    assert done.returncode == 2
    assert f"error: cannot open video {notes}" in done.stderr
    assert HARMLESS not in done.stderr, done.stderr
