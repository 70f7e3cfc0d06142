"""``haad frontend record`` of a live source that never delivers: bounded by ``--max-seconds`` in wall
time, and the capture's native lines (FFmpeg's, OpenCV's) rate-limited as the daemon's log does."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# Python's start and the imports of a recording, on a loaded 2-core host: more than the limit itself.
_START_S = 20.0


def _record(
    tmp_path: Path, source: str, max_seconds: float
) -> tuple[subprocess.CompletedProcess[str], float]:
    config = tmp_path / "f.yaml"
    config.write_text(f"streams:\n  - id: door\n    source: {source}\n")
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "haad", "frontend", "record", str(config), "--out", str(tmp_path / "a.npz"),
         "--max-seconds", str(max_seconds)],
        capture_output=True, text=True, timeout=max_seconds + 40,
    )  # fmt: skip
    return done, time.monotonic() - began


@pytest.mark.parametrize(
    ("source", "named"),
    [
        ('{kind: url, url: "rtsp://127.0.0.1:1/x"}', "rtsp://127.0.0.1:1/x"),
        # a camera index no device answers to (the host has no cameras)
        ("{kind: webcam, index: 9}", "webcam 9"),
    ],
)
@pytest.mark.parametrize("max_seconds", [1.0, 3.0])
def test_record_of_a_camera_that_never_opens_ends_after_max_seconds(
    tmp_path: Path, source: str, named: str, max_seconds: float
) -> None:
    # --max-seconds counted source time only: a camera that never opened was retried for ever.
    done, took = _record(tmp_path, source, max_seconds)
    assert done.returncode == 1, done.stderr
    assert took < max_seconds + _START_S
    assert f"no frame from {named} within {max_seconds:g} s;" in done.stderr, done.stderr
    assert "failed attempt" in done.stderr
    assert not (tmp_path / "a.npz").exists()


def test_record_rate_limits_ffmpegs_connection_refused_lines(tmp_path: Path) -> None:
    # Every retry's "[tcp @ 0x...] Connection to tcp://... failed: Connection refused" reached the
    # terminal; the daemon's log keeps the 1st, 2nd, 4th, 8th, ... of them, and so does record now.
    source = (
        '{kind: url, url: "rtsp://127.0.0.1:1/x", reconnect: {initial_backoff_s: 0.05, max_backoff_s: 0.05}}'
    )
    done, _ = _record(tmp_path, source, 6.0)
    refused = [line for line in done.stderr.splitlines() if line.startswith("[tcp @")]
    attempts = re.search(r"; (\d+) failed attempts to open it", done.stderr)
    assert attempts and int(attempts[1]) >= 16, done.stderr  # retried often enough for the limit to show
    # the 1st, 2nd, 4th, 8th, ...: one line per doubling of the attempts
    assert 1 <= len(refused) <= int(attempts[1]).bit_length(), done.stderr
    assert done.stderr.rstrip().endswith("failed attempts to open it"), done.stderr  # said last, not lost
    assert "(16 times since" in done.stderr, done.stderr


@pytest.mark.parametrize("after_s", [0.5, 1.5])  # reopened after 0.5 s, then 1 s
def test_ctrl_c_while_the_camera_does_not_open_says_so_and_writes_nothing(
    tmp_path: Path, after_s: float
) -> None:
    # Ctrl-C on a camera that never opened printed a bare "no frame was recorded": of which stream,
    # and why, unsaid. Stopped once the first attempt failed, and after a few.
    config = tmp_path / "f.yaml"
    config.write_text('streams:\n  - id: door\n    source: {kind: url, url: "rtsp://127.0.0.1:1/x"}\n')
    cli = subprocess.Popen(
        [sys.executable, "-m", "haad", "frontend", "record", str(config), "--out", str(tmp_path / "a.npz")],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert cli.stderr is not None
    assert any("cannot open" in line for line in iter(cli.stderr.readline, ""))  # recording, retrying
    time.sleep(after_s)
    cli.send_signal(signal.SIGINT)
    _, rest = cli.communicate(timeout=30)
    assert cli.returncode == 1, rest
    assert re.search(r"error: no frame was recorded from stream door \(\d+ failed attempts? to open its source\): "
                     r"nothing written", rest), rest  # fmt: skip
    assert not (tmp_path / "a.npz").exists()
