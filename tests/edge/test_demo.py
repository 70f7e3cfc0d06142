"""The README's first command: the whole pipeline on built-in data raises exactly one alert."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from config.store import StoreConfig
from edge.store import AlertStore

slow = pytest.mark.slow  # runs the whole demo: daemon, frontend and worker processes for ~30 s


def _blip(tmp_path: Path, data_root: Path) -> Path:
    """0.8 s of the pose video: shorter than a scorable segment."""
    import cv2

    source = cv2.VideoCapture(str(data_root / "mediapipe_pose_testdata" / "pose_1.mp4"))
    clip = tmp_path / "blip.mp4"
    writer = None
    for _ in range(24):  # 0.8 s at 30 fps
        ok, frame = source.read()
        assert ok
        if writer is None:
            writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, frame.shape[1::-1])
        writer.write(frame)
    assert writer is not None
    writer.release()
    source.release()
    return clip


@slow
def test_demo_raises_one_alert_for_the_one_abnormal_action_and_says_why_a_short_video_scored_nothing(
    tmp_path: Path, data_root: Path
) -> None:
    # Two demos at once: the synthetic one spends its 29 s waiting on the performance's clock, the
    # short video's meanwhile.
    demo = subprocess.Popen(
        [sys.executable, "-m", "haad", "demo", "--workdir", str(tmp_path / "synthetic")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        short = subprocess.run(
            [sys.executable, "-m", "haad", "demo", "--workdir", str(tmp_path / "run"),
             "--video", str(_blip(tmp_path, data_root))],
            capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        stdout, stderr = demo.communicate(timeout=180)
    finally:
        demo.kill()
    # The short video: nothing scored, and why.
    assert short.returncode == 0, short.stdout + short.stderr
    assert "0 window(s) scored" in short.stdout, short.stdout + short.stderr
    assert re.search(
        r"no window was scored: the video blip.mp4 gave 0\.\d s of skeleton; windows need at least 1 s",
        short.stdout,
    ), short.stdout

    # The synthetic performance: one alert, for the jump.
    assert demo.returncode == 0, stdout + stderr
    assert "1 alert(s)" in stdout, stdout + stderr
    assert re.search(r"^\d+ window\(s\) scored$", stdout, re.M), stdout
    with AlertStore(StoreConfig(url=f"sqlite:///{tmp_path / 'synthetic' / 'alerts.db'}")) as store:
        (listed,) = store.list_alerts()
        alert = store.get_alert(listed.id)
    # The performer flails in a jump from 12 s to 17 s of a 29 s performance: the alert opens on a
    # window reaching into the jump and peaks on one inside it. It may stay open to the end: the walk
    # after the jump moves ~11 % less than the one before it (another style draw), and the encoder
    # bundled since 2026-11-30 puts a window of each gait cycle there just over the threshold.
    assert alert.profile == "demo-walk" and alert.ended_at is not None
    assert (alert.ended_at - alert.started_at).total_seconds() > 3.0
    times = np.asarray(alert.window_times)
    first, peak = times[0], times[int(np.argmax(alert.window_scores))]
    assert 12.0 < first[1] and first[0] < 17.0, times
    assert peak[0] < 17.0 and 12.0 < peak[1], times


def test_scoring_summary_says_why_nothing_was_scored() -> None:
    from edge.demo import scoring_summary

    def report(frames: int, segments: dict[str, int], longest: float, windows: int = 0) -> dict:
        stream = {"frames": frames, "windows": windows, "segments": segments, "longest_segment_s": longest}
        return {
            "windows_scored": windows,
            "short_windows": 0,
            "min_segment_s": 1.0,
            "streams": {"cam": stream},
        }

    assert scoring_summary(report(300, {"full": 1}, 10.0, windows=29)) == ["29 window(s) scored"]
    assert scoring_summary(report(24, {"too_short": 1}, 0.8), "the video v.mp4")[1] == (
        "no window was scored: the video v.mp4 gave 0.8 s of skeleton; windows need at least 1 s "
        "(worker.min_segment_s)"
    )
    assert (
        "2 stretches of skeleton, the longest 0.6 s" in scoring_summary(report(40, {"too_short": 2}, 0.6))[1]
    )
    assert "nobody was detected in the 24 frame(s)" in scoring_summary(report(24, {}, 0.0))[1]
    assert "no skeleton frame" in scoring_summary(report(0, {}, 0.0))[1]
    assert "no report" in scoring_summary(None)[0]


@slow
def test_rebuilt_demo_profile_is_the_only_version_and_matches_the_bundled_encoder(tmp_path: Path) -> None:
    from edge.demo import PROFILES_DIR, build_demo_profiles
    from edge.profiles import ProfileStore

    build_demo_profiles(tmp_path)
    build_demo_profiles(tmp_path)
    store = ProfileStore(tmp_path)
    assert store.versions("demo-walk") == [1]
    rebuilt, bundled = store.load("demo-walk"), ProfileStore(PROFILES_DIR).load("demo-walk")
    # The committed profile must be re-enrolled whenever the bundled encoder changes.
    assert rebuilt.meta["model_version"] == bundled.meta["model_version"]
    assert abs(rebuilt.threshold - bundled.threshold) < 1e-5


@pytest.mark.parametrize("case", ["not a video", "missing", "both sources"])
def test_demo_refuses_a_video_it_cannot_open_before_starting_anything(tmp_path: Path, case: str) -> None:
    # It used to start the daemon, restart the frontend for half a minute, then report 0 alerts.
    from haad.cli import app

    video = tmp_path / "clip.mp4"
    if case != "missing":
        video.write_text("not a video")
    args = ["demo", "--workdir", str(tmp_path / "run"), "--video", str(video)]
    if case == "both sources":
        args += ["--webcam", "0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    expected = {
        "not a video": "cannot open video",
        "missing": "video file not found",
        "both sources": "not both",
    }
    assert expected[case] in result.stderr and "alert(s)" not in result.stdout, result.output
    assert not (tmp_path / "run").exists()
