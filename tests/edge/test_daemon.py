"""The daemon end to end, as users run it: ``haad run`` in its own process, real frontend and worker
processes, a real ZeroMQ bus, a real SQLite alert log and the real /metrics endpoint."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import zmq

from bus.messages import SkeletonFrame, encode
from config.store import StoreConfig
from edge.demo import PROFILES_DIR
from edge.profiles import ProfileStore
from edge.store import AlertStore
from tests.daemon_harness import demo_profiles, free_port, start_daemon, wait
from tests.edge.test_grafana_dashboard import (
    check_counters_went_on,
    check_every_dashboard_series_is_exported,
    dashboard_series,
)

pytestmark = pytest.mark.slow  # runs the daemon's processes end to end

TIMEOUT_S = 120


def exported(text: str) -> set[str]:
    """The series names in a /metrics answer."""
    return {
        line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")
    }


def test_squat_video_goes_through_bus_and_worker_into_sqlite(tmp_path: Path, data_root: Path) -> None:
    """Real MediaPipe on the real squat video; normal = walking in place, so squats are abnormal."""
    profiles = demo_profiles(tmp_path / "profiles")
    video = data_root / "mediapipe_pose_testdata" / "pose_squats.mp4"
    daemon = start_daemon(
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
        code = daemon.proc.wait(timeout=TIMEOUT_S)  # the video ends, the daemon drains and exits
    finally:
        daemon.stop()
    log = daemon.log()
    assert code == 0, log
    assert "frontend-squats finished" in log
    with AlertStore(StoreConfig(url=daemon.config["store"]["url"])) as store:
        alerts = store.list_alerts()
        assert len(alerts) == 1, log
        alert = store.get_alert(alerts[0].id)
    assert alert.stream_id == "squats" and alert.profile == "demo-walk" and alert.ended_at is not None
    assert alert.peak_score > alert.threshold and np.isfinite(alert.peak_score)
    assert alert.windows is not None and alert.windows.shape[1:] == (60, 20, 3)


def test_daemon_survives_bad_input_reloads_profiles_and_flushes_on_sigterm(tmp_path: Path) -> None:
    # Also the Grafana dashboard's series on a running daemon (tests/edge/test_grafana_dashboard.py).
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    # A camera nobody answers for (a corrupt file is refused before the daemon starts: test_cli.py)
    dead = {"max_attempts": 1, "initial_backoff_s": 0.1, "max_backoff_s": 0.1, "open_timeout_s": 1.0}
    walk_jump_walk = [
        {"motion": "walk_in_place", "seconds": 8.0},
        {"motion": "jump_flail", "seconds": 5.0},
        {"motion": "walk_in_place", "seconds": 60.0},
    ]
    daemon = start_daemon(
        tmp_path,
        [
            # No profile named: the stream is scored against every profile enrolled, none yet.
            {"id": "cam", "source": {"kind": "synthetic", "script": walk_jump_walk, "seed": 7}},
            {
                "id": "broken",
                "source": {"kind": "url", "url": f"rtsp://127.0.0.1:{free_port()}/", "reconnect": dead},
            },
        ],
        profiles,
        events={
            "webhooks": [{"name": "down", "url": f"http://127.0.0.1:{free_port()}/hook"}]
        },  # nobody there
    )
    cfg = daemon.config
    try:
        wait(lambda: daemon.metric("haad_frames_received_total", stream="cam") > 30, 60, "frames")
        # The profile is enrolled while the daemon runs: it is picked up without a restart.
        ProfileStore(profiles).save(ProfileStore(PROFILES_DIR).load("demo-walk"))
        wait(lambda: daemon.metric("haad_profiles_loaded") == 1, 20, "the new profile")
        # Every series the Grafana dashboard queries exists before anything went wrong (at 0), and
        # once windows are scored, with its labels for every stream (the dead camera's too).
        wait(lambda: dashboard_series() <= exported(daemon.metrics()), 20, "the dashboard's series")
        dashboard = check_every_dashboard_series_is_exported(daemon, {"cam", "broken"})

        # Garbage from a stray sender, frames of a stream nobody configured and a wrong schema version
        # are counted, not fatal.
        ctx = zmq.Context()
        pub = ctx.socket(zmq.PUSH)
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

        def counted() -> bool:
            return all(
                daemon.metric("haad_drops_total", reason=r) > 0
                for r in ("malformed", "oversized", "wrong_version", "unknown_stream")
            )

        wait(counted, 20, "drops by reason")
        # The dead camera's frontend fails and is restarted with back-off, then given up; the others
        # keep going.
        wait(
            lambda: daemon.metric("haad_child_restarts_total", child="frontend-broken") >= 2,
            30,
            "restarts",
        )
        wait(lambda: "giving it up" in daemon.log(), 30, "the broken source given up")
        # A crashed frontend (killed) comes back and its stream flows again.
        pids = daemon.pids("frontend-cam")
        before = daemon.metric("haad_frames_received_total", stream="cam")
        os.kill(int(pids[-1]), signal.SIGKILL)
        wait(
            lambda: daemon.metric("haad_child_restarts_total", child="frontend-cam") >= 1,
            30,
            "cam restart",
        )
        wait(
            lambda: daemon.metric("haad_frames_received_total", stream="cam") > before + 30,
            30,
            "cam back",
        )
        check_counters_went_on(daemon, dashboard)  # the dashboard's counters did not go back
        wait(lambda: daemon.metric("haad_alerts_total", stream="cam") >= 1, 40, "an alert")
        wait(lambda: daemon.metric("haad_event_delivery_failures_total", sink="webhook:down") >= 1, 20,
             "the webhook's failure counted")  # fmt: skip
        assert daemon.metric("haad_events_pending", sink="webhook:down") >= 1
        assert daemon.proc.poll() is None  # still running through all of it
    finally:
        daemon.stop()
    log = daemon.log()
    assert daemon.proc.returncode == 1, log  # a source was given up
    assert "given up: frontend-broken" in log
    with AlertStore(StoreConfig(url=cfg["store"]["url"])) as store:
        alerts = store.list_alerts()
    assert alerts and all(a.ended_at is not None for a in alerts)  # open episodes were closed and flushed
    assert all(np.isfinite(a.peak_score) for a in alerts)
    assert {a.stream_id for a in alerts} == {"cam"}  # nothing from the NaN stream or the intruder
    assert re.search(r"worker stopped: \d+ windows scored", log)
