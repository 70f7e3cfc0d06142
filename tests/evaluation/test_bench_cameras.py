"""``haad bench frontend --cameras``: a real ``haad run`` with looped video cameras packed into one
frontend process, measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_frontend_measures_each_camera_of_a_running_daemon(data_root: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "haad", "bench", "frontend", "--cameras", "2", "--per-process", "2", "--seconds", "3",
         "--data-root", str(data_root)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    (run,) = json.loads(out.stdout[out.stdout.index("[") :])
    assert run["cameras"] == 2 and run["pose_fps_setting"] == 20.0 and run["video_fps"] == 30.0
    assert [c["stream"] for c in run["per_camera"]] == ["cam0", "cam1"]
    for cam in run["per_camera"]:
        assert 0 < cam["pose_fps"] <= 21  # never above the pose rate: frames between are skipped
    # Both cameras in one process, each with its own counters on /metrics.
    assert run["frontend_processes"] == 1 and run["cpu_s_per_frame"] > 0 and run["rss_mb_per_camera"] > 50
    assert 0 < run["decode_share"] < 1 and run["worker_rss_mb"] > 50
    assert run["cameras_sustained"] == sum(c["sustained"] for c in run["per_camera"])
