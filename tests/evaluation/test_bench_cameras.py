"""``haad bench frontend --cameras``: a real ``haad run`` with looped video cameras packed into one
frontend process, measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from haad.cli import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_frontend_measures_each_camera_of_a_running_daemon(data_root: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "haad", "bench", "frontend", "--cameras", "2", "--per-process", "2", "--seconds", "3",
         "--size", "640x480", "--data-root", str(data_root)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    (run,) = json.loads(out.stdout[out.stdout.index("[") :])
    assert run["cameras"] == 2 and run["pose_fps_setting"] == 20.0 and run["video_fps"] == 30.0
    assert run["frame_size"] == "640x480"
    assert [c["stream"] for c in run["per_camera"]] == ["cam0", "cam1"]
    for cam in run["per_camera"]:
        # Frames between are skipped: the video's 30 fps never reaches pose. Not <= 20: a 3 s count
        # between two scrapes of a loaded host jitters by a frame or two (21.98 seen).
        assert 0 < cam["pose_fps"] <= 25
    # Both cameras in one process, each with its own counters on /metrics.
    assert run["frontend_processes"] == 1 and run["cpu_s_per_frame"] > 0 and run["rss_mb_per_camera"] > 50
    assert 0 < run["decode_share"] < 1 and run["worker_rss_mb"] > 50
    assert run["cameras_sustained"] == sum(c["sustained"] for c in run["per_camera"])


def test_sized_video_keeps_every_frame_and_the_rate_scaled_to_fit_on_black(
    data_root: Path, tmp_path: Path
) -> None:
    import cv2

    from evaluation.bench_cameras import sized_video

    video = data_root / "mediapipe_pose_testdata" / "pose_1.mp4"  # 576 x 576, 30 fps, 120 frames
    capture = cv2.VideoCapture(str(sized_video(video, (640, 480), tmp_path)))
    props = [capture.get(p) for p in (cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT, cv2.CAP_PROP_FPS)]
    frames = []
    while (frame := capture.read()[1]) is not None:
        frames.append(frame)
    capture.release()
    assert props == [640, 480, 30] and len(frames) == 120
    side = np.stack(frames)[:, :, :70].astype(int)  # 480 x 480 picture centred: 80 px of padding each side
    assert side.max() < 30 and np.stack(frames)[:, :, 80:560].mean() > 30


def test_runs_after_the_first_report_rss_per_camera_added_since_the_first() -> None:
    from evaluation.bench_cameras import with_rss_per_added_camera

    runs = [{"cameras": 1, "frontend_rss_mb": 320.0}, {"cameras": 3, "frontend_rss_mb": 410.0},
            {"cameras": 1, "frontend_rss_mb": 330.0}]  # fmt: skip
    out = with_rss_per_added_camera(runs)
    assert "rss_mb_per_added_camera" not in out[0] and "rss_mb_per_added_camera" not in out[2]
    assert out[1]["rss_mb_per_added_camera"] == 45.0


def test_bench_cameras_refuses_a_bad_count_or_video_before_starting_a_daemon(tmp_path: Path) -> None:
    not_video = tmp_path / "clips.npz"
    not_video.write_bytes(b"PK\x03\x04 not a video")
    for args, said in (
        (["--cameras", "0"], "--cameras takes counts of at least 1"),
        (["--cameras", "1", "--video", str(tmp_path / "absent.mp4")], "video file not found"),
        (["--cameras", "1", "--video", str(not_video)], "cannot open video"),
        (["--cameras", "1", "--video", str(not_video), "--size", "64x64"], "cannot open video"),
    ):
        result = CliRunner().invoke(app, ["bench", "frontend", *args, "--seconds", "1"])
        assert result.exit_code == 2 and f"error: {said}" in result.output, result.output
