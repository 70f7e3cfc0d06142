"""The daemon end to end, as users run it: ``haad run`` in its own process, real frontend and worker
processes, a real ZeroMQ bus, a real SQLite alert log and the real /metrics endpoint."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import yaml
import zmq

from bus.messages import SkeletonFrame, encode
from config.store import StoreConfig
from edge.demo import PROFILES_DIR
from edge.profiles import ProfileStore
from edge.store import AlertStore

pytestmark = pytest.mark.slow  # runs the daemon's processes end to end

TIMEOUT_S = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(tmp_path: Path, streams: list[dict], profiles_dir: Path) -> tuple[subprocess.Popen[str], dict]:
    port = _free_port()
    cfg = {
        "streams": streams,
        "bus": {"endpoint": f"ipc://{tmp_path / 'bus.sock'}"},
        "store": {"url": f"sqlite:///{tmp_path / 'alerts.db'}"},
        "profiles_dir": str(profiles_dir),
        "reload_every_s": 0.5,
        "metrics": {"port": port},
        "logging": {"format": "json", "level": "INFO"},
        "supervisor": {"initial_backoff_s": 0.5, "max_backoff_s": 2.0},
    }
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump(cfg))
    log = (tmp_path / "daemon.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "haad", "run", "--config", str(path)],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # our SIGTERM, not the terminal's
    )
    return proc, cfg


def _metrics(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            return r.read().decode()
    except OSError:
        return ""


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _wait(predicate, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _stop(proc: subprocess.Popen[str], tmp_path: Path) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return (tmp_path / "daemon.log").read_text()


def test_squat_video_goes_through_bus_and_worker_into_sqlite(tmp_path: Path, data_root: Path) -> None:
    """Real MediaPipe on the real squat video; normal = walking in place, so squats are abnormal."""
    profiles = tmp_path / "profiles"
    ProfileStore(profiles).save(ProfileStore(PROFILES_DIR).load("demo-walk"))
    video = data_root / "mediapipe_pose_testdata" / "pose_squats.mp4"
    proc, cfg = _start(
        tmp_path,
        [
            {
                "id": "squats",
                "source": {"kind": "video", "path": str(video), "realtime": False},
                "profiles": ["demo-walk"],
            }
        ],
        profiles,
    )
    try:
        code = proc.wait(timeout=TIMEOUT_S)  # the video ends, the daemon drains and exits
    finally:
        log = _stop(proc, tmp_path)
    assert code == 0, log
    assert "frontend-squats finished" in log
    with AlertStore(StoreConfig(url=cfg["store"]["url"])) as store:
        alerts = store.list_alerts()
        assert len(alerts) == 1, log
        alert = store.get_alert(alerts[0].id)
    assert alert.stream_id == "squats" and alert.profile == "demo-walk" and alert.ended_at is not None
    assert alert.peak_score > alert.threshold and np.isfinite(alert.peak_score)
    assert alert.windows is not None and alert.windows.shape[1:] == (60, 20, 3)


def test_daemon_survives_bad_input_reloads_profiles_and_flushes_on_sigterm(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).bytes(50_000))
    walk_jump_walk = [
        {"motion": "walk_in_place", "seconds": 8.0},
        {"motion": "jump_flail", "seconds": 5.0},
        {"motion": "walk_in_place", "seconds": 60.0},
    ]
    proc, cfg = _start(
        tmp_path,
        [
            {
                "id": "cam",
                "source": {"kind": "synthetic", "script": walk_jump_walk, "seed": 7},
                "profiles": ["demo-walk"],
            },
            {"id": "broken", "source": {"kind": "video", "path": str(corrupt)}},
        ],
        profiles,
    )
    port = cfg["metrics"]["port"]
    try:
        _wait(lambda: _metric(_metrics(port), "haad_frames_received_total", stream="cam") > 30, 60, "frames")
        # The profile is enrolled while the daemon runs: it is picked up without a restart.
        ProfileStore(profiles).save(ProfileStore(PROFILES_DIR).load("demo-walk"))
        _wait(lambda: _metric(_metrics(port), "haad_profiles_loaded") == 1, 20, "the new profile")

        # Garbage from a stray publisher, NaN joints and a wrong schema version are counted, not fatal.
        ctx = zmq.Context()
        pub = ctx.socket(zmq.PUB)
        pub.connect(cfg["bus"]["endpoint"])
        nan_joints = np.full((20, 3), np.nan, np.float32)
        try:
            for i in range(40):
                pub.send_multipart([b"skel/intruder", b"\x00garbage"])
                pub.send_multipart([b"skel/intruder", b"x" * 100_000])
                good = encode(SkeletonFrame("nanny", i, float(i) / 30, nan_joints, np.ones(20, np.float32)))
                pub.send_multipart(good)
                pub.send_multipart([good[0], good[1][:4] + b"\x09\x00" + good[1][6:]])
                time.sleep(0.02)
        finally:
            pub.close(linger=0)
            ctx.term()
        text = ""

        def counted() -> bool:
            nonlocal text
            text = _metrics(port)
            return all(
                _metric(text, "haad_drops_total", reason=r) > 0
                for r in ("malformed", "oversized", "wrong_version")
            )

        _wait(counted, 20, "drops by reason")
        # The corrupt video's frontend fails and is restarted with back-off, the others keep going.
        _wait(
            lambda: _metric(_metrics(port), "haad_child_restarts_total", child="frontend-broken") >= 2,
            30,
            "restarts",
        )
        # A crashed frontend (killed) comes back and its stream flows again.
        pids = re.findall(r"started frontend-cam \(pid (\d+)\)", (tmp_path / "daemon.log").read_text())
        before = _metric(_metrics(port), "haad_frames_received_total", stream="cam")
        os.kill(int(pids[-1]), signal.SIGKILL)
        _wait(
            lambda: _metric(_metrics(port), "haad_child_restarts_total", child="frontend-cam") >= 1,
            30,
            "cam restart",
        )
        _wait(
            lambda: _metric(_metrics(port), "haad_frames_received_total", stream="cam") > before + 30,
            30,
            "cam back",
        )
        _wait(lambda: _metric(_metrics(port), "haad_alerts_total", stream="cam") >= 1, 40, "an alert")
        assert proc.poll() is None  # still running through all of it
    finally:
        log = _stop(proc, tmp_path)
    assert proc.returncode == 0, log
    with AlertStore(StoreConfig(url=cfg["store"]["url"])) as store:
        alerts = store.list_alerts()
    assert alerts and all(a.ended_at is not None for a in alerts)  # open episodes were closed and flushed
    assert all(np.isfinite(a.peak_score) for a in alerts)
    assert {a.stream_id for a in alerts} == {"cam"}  # nothing from the NaN stream or the intruder
    assert re.search(r"worker stopped: \d+ windows scored", log)
