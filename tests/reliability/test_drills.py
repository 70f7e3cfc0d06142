"""Fault drills against real processes: ``haad run`` with its frontend and worker processes, a real
ZeroMQ bus, real SQLite files and the local PostgreSQL server. Each drill is what an operator would
do to the daemon; docs/reliability.md lists what each proves and its figures.

Every drill's stream is the synthetic performer walking in place, doing one abnormal action (a
flailing jump) and walking again, scored against the bundled demo-walk profile: one alert expected.
The uninterrupted reference (:func:`reference`) replays the same performance through the worker's
pipeline in this process.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import zmq

from bus.messages import SkeletonFrame, encode
from config.frontend import MotionStep, SyntheticSourceConfig
from config.store import StoreConfig
from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.demo import PROFILES_DIR
from edge.pipeline import Pipeline
from edge.profiles import ProfileStore
from edge.store import AlertRecord, AlertStore
from pose_frontend.sources import open_source
from tests.daemon_harness import Daemon, demo_profiles, start_daemon, wait, walk_with

pytestmark = pytest.mark.slow  # each drill runs the daemon for 20-70 s

SEED = 7


def stream(script: list[dict], **source: object) -> dict:
    return {"id": "cam", "source": {"kind": "synthetic", "script": script, "seed": SEED, **source},
            "profiles": ["demo-walk"]}  # fmt: skip


def reference(script: list[dict]) -> tuple[int | None, int, int]:
    """(windows of the one alert, frames, windows scored) when nothing goes wrong: the same
    performance through the worker's own pipeline, here."""
    config = SyntheticSourceConfig(script=[MotionStep(**s) for s in script], seed=SEED, realtime=False)
    backend = make_backend(WorkerConfig().backend)
    pipeline = Pipeline(WorkerConfig(), backend, [ProfileStore(PROFILES_DIR).load("demo-walk")])
    vis = np.ones(20, np.float32)
    closed, frames = [], 0
    with open_source(config) as source:
        for seq, (t, joints) in enumerate(source, 1):
            pipeline.push(SkeletonFrame("cam", seq, t, joints, vis))
            frames += 1
            closed += [e for b in pipeline.run_due(flush=True) for e in b.events if e.kind == "closed"]
    closed += [e for e in pipeline.close_all() if e.kind == "closed"]
    assert len(closed) <= 1
    return (closed[0].episode.n_windows if closed else None), frames, pipeline.stats.windows_scored


def alerts(url: str) -> list[AlertRecord]:
    with AlertStore(StoreConfig(url=url)) as store:
        return [store.get_alert(a.id) for a in store.list_alerts()]


def finish(daemon: Daemon, timeout_s: float = 120) -> str:
    """Wait for the finite source to end and the daemon to exit by itself; its log."""
    try:
        code = daemon.proc.wait(timeout=timeout_s)
    finally:
        daemon.stop()
    assert code == 0, daemon.log()[-5000:]
    return daemon.log()


def test_kill_9_of_the_worker_mid_episode_leaves_exactly_one_closed_alert_with_its_windows(
    tmp_path: Path,
) -> None:
    # A short walk after the action: this performer's later walk is slower than the one before and
    # a few of its windows score just over the threshold, which keeps an uninterrupted episode open
    # but lets the resumed one close; that is scoring, not crash recovery, so it is kept short.
    script = walk_with("jump_flail", 8.0, after=4.0)
    expected, _, _ = reference(script)
    daemon = start_daemon(tmp_path, [stream(script)], demo_profiles(tmp_path / "profiles"))
    try:
        wait(lambda: "ALERT stream=cam" in daemon.log(), 60, "the alert to open")
        time.sleep(2.0)  # mid-episode, after an update of its row
        os.kill(daemon.pids("worker")[-1], signal.SIGKILL)
        log = finish(daemon)
    finally:
        daemon.stop()
    (alert,) = alerts(daemon.config["store"]["url"])
    assert alert.ended_at is not None and len(daemon.pids("worker")) == 2
    assert "left open by a previous worker" in log
    # Windows the dead worker had scored since the row's last update, and those of the first 1-3 s
    # the new worker needs before its first window, are missing: never more than a few seconds' worth.
    assert expected - 20 <= alert.n_windows <= expected + 2, (alert.n_windows, expected)
    assert alert.windows is not None and alert.n_kept == len(alert.windows) >= 2
    print(f"kill -9 drill: 1 alert, {alert.n_windows} windows (uninterrupted: {expected})")


def test_a_store_locked_for_30_s_costs_no_frame_and_no_part_of_an_episode(tmp_path: Path) -> None:
    script = walk_with("jump_flail", 6.0, after=36.0)
    expected, frames, windows = reference(script)
    daemon = start_daemon(tmp_path, [stream(script)], demo_profiles(tmp_path / "profiles"))
    db = tmp_path / "alerts.db"
    try:
        wait(lambda: "ALERT stream=cam" in daemon.log(), 60, "the alert to open")
        lock = sqlite3.connect(db, isolation_level=None, timeout=30)
        lock.execute("BEGIN EXCLUSIVE")
        locked_at = time.monotonic()
        time.sleep(30.0)
        scored_while_locked = daemon.metric("haad_windows_scored_total")
        lock.execute("COMMIT")
        lock.close()
        log = finish(daemon)
    finally:
        daemon.stop()
    (alert,) = alerts(daemon.config["store"]["url"])
    worker = daemon.record("worker stopped")
    published = daemon.record("frontend-cam")["counters"]["published"]
    assert time.monotonic() - locked_at > 30 and scored_while_locked > 100  # scoring went on
    assert alert.ended_at is not None and alert.n_windows == expected
    assert worker["frames_received"]["cam"] == published == frames and worker["windows_scored"] == windows
    assert "reset_stale" not in log and "seq_gap" not in worker["drops"]
    assert sum("unavailable" in line for line in log.splitlines()) <= 1  # at most one line per outage
    print(f"locked-store drill: {alert.n_windows}/{expected} windows, {published}/{frames} frames scored")


def _pg(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[0]
    done = subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0 or "already running" in done.stderr + done.stdout, done.stderr
    if action == "start":
        for _ in range(60):
            if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0:
                return
            time.sleep(0.5)
        raise AssertionError("PostgreSQL did not come back")


@pytest.fixture
def postgres_restored(pg_url: str):  # type: ignore[no-untyped-def]
    if shutil.which("pg_ctlcluster") is None or not Path("/etc/postgresql").is_dir():
        pytest.skip("needs the local PostgreSQL cluster (pg_ctlcluster) to stop and start it")
    try:
        yield pg_url
    finally:
        _pg("start")  # whatever happened, the server is back for the other tests


def test_postgresql_down_30_s_mid_episode_and_at_shutdown_loses_no_alert(
    tmp_path: Path, postgres_restored: str
) -> None:
    url = postgres_restored
    AlertStore(url).close()  # the schema exists before the outage
    # 1. Down for 30 s while an episode is open: the alert is complete once the server is back.
    script = walk_with("jump_flail", 6.0, after=34.0)
    expected, _, _ = reference(script)
    first = tmp_path / "first"
    first.mkdir()
    daemon = start_daemon(first, [stream(script)], demo_profiles(first / "profiles"), store={"url": url})
    try:
        wait(lambda: "ALERT stream=cam" in daemon.log(), 60, "the alert to open")
        _pg("stop")
        time.sleep(30.0)
        _pg("start")
        finish(daemon)
    finally:
        daemon.stop()
    (alert,) = alerts(url)
    assert alert.ended_at is not None and alert.n_windows == expected
    # 2. Down when the daemon is stopped mid-episode: the closed alert waits in the outbox, and
    # `haad alerts deliver` (or the next start) writes it once the server is back.
    second = tmp_path / "second"
    second.mkdir()
    daemon = start_daemon(second, [stream(walk_with("jump_flail", 30.0))], demo_profiles(second / "profiles"),
                          store={"url": url})  # fmt: skip
    try:
        wait(lambda: daemon.log().count("ALERT stream=cam") == 1, 60, "the second alert to open")
        time.sleep(1.5)
        _pg("stop")
        assert daemon.stop() == 0
    finally:
        daemon.stop()
        _pg("start")
    assert "wait in" in daemon.log() and (second / "alert-outbox.db").is_file()
    out = subprocess.run(["haad", "alerts", "deliver", "--config", str(daemon.config_path)],
                         capture_output=True, text=True, env={**os.environ, "PATH": f"{Path(os.sys.executable).parent}:{os.environ['PATH']}"})  # fmt: skip
    assert out.returncode == 0 and "delivered 1 alert" in out.stdout, out.stdout + out.stderr
    found = alerts(url)
    assert len(found) == 2 and all(a.ended_at is not None and a.windows is not None for a in found)
    print(f"PostgreSQL drill: 2/2 alerts stored, the first with {alert.n_windows}/{expected} windows")


def test_a_corrupt_new_profile_version_leaves_the_previous_one_serving(tmp_path: Path) -> None:
    profiles = demo_profiles(tmp_path / "profiles")
    daemon = start_daemon(tmp_path, [stream(walk_with("jump_flail", 6.0, before=10.0))], profiles)
    try:
        wait(lambda: daemon.metric("haad_frames_received_total", stream="cam") > 30, 60, "frames")
        v1 = profiles / "demo-walk" / "v0001"
        good = v1.with_suffix(".npz").read_bytes()
        (profiles / "demo-walk" / "v0002.npz").write_bytes(good[: len(good) // 2])  # truncated
        shutil.copy(v1.with_suffix(".json"), profiles / "demo-walk" / "v0002.json")
        wait(lambda: daemon.metric("haad_profile_errors_total", profile="demo-walk") >= 1, 20, "the refusal")
        log = finish(daemon)
    finally:
        daemon.stop()
    (alert,) = alerts(daemon.config["store"]["url"])
    assert alert.profile_version == 1 and len(daemon.pids("worker")) == 1  # no restart loop
    assert "profile demo-walk refused" in log and "v1 keeps serving" in log


def test_hostile_senders_add_to_counters_and_never_suppress_or_forge_an_alert(tmp_path: Path) -> None:
    daemon = start_daemon(tmp_path, [stream(walk_with("jump_flail", 6.0, after=8.0))],
                          demo_profiles(tmp_path / "profiles"))  # fmt: skip
    rng = np.random.default_rng(0)
    ctx = zmq.Context()
    intruder = ctx.socket(zmq.PUSH)
    intruder.linger = 0
    intruder.connect(daemon.config["bus"]["endpoint"])
    flail = np.cumsum(rng.normal(0, 0.3, size=(64, 20, 3)), axis=0).astype(np.float32)
    vis = np.ones(20, np.float32)
    try:
        wait(lambda: daemon.metric("haad_frames_received_total", stream="cam") > 30, 60, "frames")
        for i in range(64):  # claims to be the camera, from the far future
            intruder.send_multipart(encode(SkeletonFrame("cam", 10**6 + i, 1e9 + i / 30, flail[i], vis)))
        for i in range(5000):  # cameras nobody configured, flailing
            intruder.send_multipart(encode(SkeletonFrame(f"ghost{i}", 1, i / 30, flail[i % 64], vis)))
        for _ in range(100):  # random seq and absurd send times for the real stream
            frame = SkeletonFrame("cam", int(rng.integers(0, 2**63)), 1.0, None, None, sent_at=-1e308)
            intruder.send_multipart(encode(frame))
        for _ in range(10_000):  # garbage of every kind
            intruder.send_multipart(
                [b"skel/cam", bytes(rng.integers(0, 256, size=int(rng.integers(0, 600)), dtype=np.uint8))]
            )
        wait(
            lambda: daemon.metric("haad_drops_total", reason="malformed") >= 9_000, 60, "the garbage counted"
        )
        text = daemon.metrics()
        finish(daemon)
    finally:
        intruder.close(linger=0)
        ctx.term()
        daemon.stop()
    (alert,) = alerts(daemon.config["store"]["url"])
    assert alert.stream_id == "cam" and len(daemon.pids("worker")) == 1
    drops = daemon.record("worker stopped")["drops"]
    assert drops["unknown_stream"] == 5000 and drops["time_jump"] == 64 and drops["bad_sent_at"] == 100
    decode = sum(
        drops.get(r, 0) for r in ("malformed", "oversized", "bad_values", "wrong_version", "wrong_topic")
    )
    assert decode == 10_000
    latency_sum = next(
        line for line in text.splitlines() if line.startswith("haad_window_latency_seconds_sum")
    )
    assert "ghost" not in text and "inf" not in latency_sum.lower()
    print(f"hostile-sender drill: 1 real alert, none forged; drops {drops}")


def test_a_file_replayed_at_full_speed_is_scored_frame_by_frame(tmp_path: Path) -> None:
    script = [{"motion": "walk_in_place", "seconds": 600.0}]  # 18,000 frames
    _, frames, windows = reference(script)
    daemon = start_daemon(tmp_path, [stream(script, realtime=False)], demo_profiles(tmp_path / "profiles"))
    try:
        finish(daemon, timeout_s=240)
    finally:
        daemon.stop()
    worker = daemon.record("worker stopped")
    published = daemon.record("frontend-cam")["counters"]["published"]
    assert published == frames == worker["frames_received"]["cam"] and worker["windows_scored"] == windows
    assert worker["drops"] == {}
    print(
        f"full-speed replay drill: {published} frames published, {frames} received, {windows} windows scored"
    )
