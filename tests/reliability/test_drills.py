"""Fault drills against real processes: ``haad run`` with its frontend and worker processes, a real
ZeroMQ bus, real SQLite files and the local PostgreSQL server. Each drill is what an operator would
do to the daemon; docs/reliability.md lists what each proves and its figures.

Every drill's stream is the synthetic performer walking in place, doing one abnormal action (a
flailing jump) and walking again, scored against the bundled demo-walk profile: one alert expected,
and after every fault exactly one closed row for it. The uninterrupted reference (:func:`reference`)
replays the same performance through the worker's pipeline in this process. Faults at several
moments (a kill 0.3 s, 2 s and 3 s into an episode, twice in a row, of the daemon itself); the
kill drills were also run 20 times each (docs/reliability.md). PostgreSQL faults go through a proxy
(tests.faults.TcpProxy) that refuses or freezes, so the shared server itself is never stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
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
from tests.daemon_harness import Daemon, alive, demo_profiles, free_port, haad, start_daemon, wait, walk_with
from tests.faults import TcpProxy, fill

pytestmark = pytest.mark.slow  # each drill runs the daemon for 20-70 s

SEED = 7


def stream(script: list[dict], stream_id: str = "cam", **source: object) -> dict:
    return {"id": stream_id, "source": {"kind": "synthetic", "script": script, "seed": SEED, **source},
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


def closed_alert(daemon: Daemon) -> AlertRecord:
    """The one row the drill's one abnormal action must leave: closed, with windows."""
    found = alerts(daemon.config["store"]["url"])
    assert len(found) == 1, [(a.id, a.n_windows, a.ended_at) for a in found]
    (alert,) = found
    assert alert.ended_at is not None and alert.windows is not None and alert.n_kept == len(alert.windows)
    return alert


def kill_worker(daemon: Daemon) -> None:
    os.kill(daemon.pids("worker")[-1], signal.SIGKILL)


# --- crashes --------------------------------------------------------------------------------------


def test_kill_9_of_the_worker_mid_episode_leaves_exactly_one_closed_alert_with_its_windows(
    tmp_path: Path,
) -> None:
    # A short walk after the action: this performer's later walk is slower than the one before and
    # a few of its windows score just over the threshold, which keeps an uninterrupted episode open
    # but lets the resumed one close; that is scoring, not crash recovery, so it is kept short.
    script = walk_with("jump_flail", 8.0, before=4.0, after=4.0)
    expected, _, _ = reference(script)
    daemon = start_daemon(tmp_path, [stream(script)], demo_profiles(tmp_path / "profiles"))
    try:
        wait(lambda: "ALERT stream=cam" in daemon.log(), 60, "the alert to open")
        time.sleep(2.0)  # mid-episode, after an update of its row
        kill_worker(daemon)
        log = finish(daemon)
    finally:
        daemon.stop()
    alert = closed_alert(daemon)
    assert len(daemon.pids("worker")) == 2 and log.count("left open by a previous worker") == 1
    # Windows the dead worker had scored since the row's last update, and those of the first 1-3 s
    # the new worker needs before its first window, are missing: never more than a few seconds' worth.
    assert expected - 20 <= alert.n_windows <= expected + 2, (alert.n_windows, expected)
    print(f"kill -9 drill: 1 alert, {alert.n_windows} windows (uninterrupted: {expected})")


def test_two_kill_9s_in_a_row_leave_exactly_one_closed_alert(tmp_path: Path) -> None:
    script = walk_with("jump_flail", 16.0, before=4.0, after=4.0)
    expected, _, _ = reference(script)
    daemon = start_daemon(tmp_path, [stream(script)], demo_profiles(tmp_path / "profiles"))
    try:
        wait(lambda: "ALERT stream=cam" in daemon.log(), 60, "the alert to open")
        time.sleep(0.3)  # early: the episode's first row, before any update
        kill_worker(daemon)
        wait(lambda: daemon.log().count("worker up") == 2, 60, "the second worker")
        time.sleep(3.0)  # late: the resumed episode has grown
        kill_worker(daemon)
        log = finish(daemon)
    finally:
        daemon.stop()
    alert = closed_alert(daemon)
    assert len(daemon.pids("worker")) == 3 and log.count("left open by a previous worker") == 2
    assert expected - 40 <= alert.n_windows <= expected + 2, (alert.n_windows, expected)
    print(f"two kill -9s drill: 1 alert, {alert.n_windows} windows (uninterrupted: {expected})")


# Per stream: the walk before its action, and when its frontend is killed (seconds after the alert
# opens; after the restart, for the second kill). The actions are staggered so that no two frontends
# restart at once: a restart much slower than one alone would split the episode.
FRONTEND_KILLS = {"early": (4.0, [0.3]), "late": (7.0, [2.0]), "twice": (12.0, [0.3, 1.5])}


def test_kill_9_of_a_recordings_frontend_mid_episode_plays_no_frame_twice_and_forges_no_alert(
    tmp_path: Path,
) -> None:
    # A recording (no starts_at): a restarted frontend goes on after its last published frame. Played
    # from its start again, the jump would be scored, and alerted, a second time. One stream per
    # timing in one daemon: each stream has a frontend process of its own (cameras_per_frontend 1).
    scripts = {
        name: walk_with("jump_flail", 6.0, before=before, after=4.0)
        for name, (before, _) in FRONTEND_KILLS.items()
    }
    frames = {name: reference(script)[1] for name, script in scripts.items()}
    streams = [stream(script, stream_id=name) for name, script in scripts.items()]
    daemon = start_daemon(tmp_path, streams, demo_profiles(tmp_path / "profiles"))

    def kill_frontend(name: str) -> None:
        wait(lambda: f"ALERT stream={name} " in daemon.log(), 60, f"the alert of {name} to open")
        for i, delay in enumerate(FRONTEND_KILLS[name][1]):
            wait(lambda: len(daemon.pids(f"frontend-{name}")) == i + 1, 60, f"{name}'s restarted frontend")  # noqa: B023
            time.sleep(delay)
            os.kill(daemon.pids(f"frontend-{name}")[-1], signal.SIGKILL)

    try:
        with ThreadPoolExecutor(len(FRONTEND_KILLS)) as pool:
            for done in [pool.submit(kill_frontend, name) for name in FRONTEND_KILLS]:
                done.result()
        finish(daemon)
    finally:
        daemon.stop()
    received = daemon.record("worker stopped")["frames_received"]
    found = alerts(daemon.config["store"]["url"])
    for name, (_, kills) in FRONTEND_KILLS.items():
        assert len(daemon.pids(f"frontend-{name}")) == len(kills) + 1, name
        # Frames in flight when a frontend died are lost, never more than a second's worth.
        assert frames[name] - 30 * len(kills) <= received[name] <= frames[name], (name, received, frames)
        mine = [a for a in found if a.stream_id == name]
        assert len(mine) == 1 and mine[0].ended_at is not None, (name, [(a.id, a.started_at) for a in mine])
    assert len(found) == len(FRONTEND_KILLS), [(a.stream_id, a.started_at) for a in found]
    print(f"frontend kill -9 drill ({FRONTEND_KILLS}): {received} of {frames} frames, 1 alert each")


def test_kill_9_of_a_live_cameras_frontend_mid_episode_leaves_one_alert(tmp_path: Path) -> None:
    # A live camera (starts_at): a restarted frontend picks the performance up where it is by then, so
    # each restart is a hole in the stream (the 2-8 s it took, frames lost) in the middle of the jump.
    # The alert waits across each hole and goes on with the jump's windows after it: one alert, its
    # windows those of the jump less the holes'. Killed 0.3 s after the alert opens, then 1 s after the
    # restarted frontend is up.
    script = walk_with("jump_flail", 16.0, before=6.0, after=5.0)
    expected, _, _ = reference(script)
    daemon = start_daemon(
        tmp_path, [stream(script, starts_at=time.time() + 4.0)], demo_profiles(tmp_path / "profiles")
    )
    try:
        wait(lambda: "ALERT stream=cam" in daemon.log(), 60, "the alert to open")
        for i, delay in enumerate([0.3, 1.0]):
            wait(lambda: len(daemon.pids("frontend-cam")) == i + 1, 60, "the restarted frontend")  # noqa: B023
            time.sleep(delay)
            os.kill(daemon.pids("frontend-cam")[-1], signal.SIGKILL)
        finish(daemon)
    finally:
        daemon.stop()
    alert = closed_alert(daemon)
    assert len(daemon.pids("frontend-cam")) == 3
    assert alert.n_windows < expected  # (the holes' windows)
    print(f"live frontend kill -9 drill: 1 alert, {alert.n_windows} windows (uninterrupted: {expected})")


def test_kill_9_of_the_daemon_takes_its_children_along_and_the_next_daemon_continues_the_episode(
    tmp_path: Path,
) -> None:
    # A camera that carries on while the daemon is down: wall-clock timestamps, and the restarted
    # frontend joins the performance where it is by then (starts_at), which begins once the daemon
    # is about up.
    script = walk_with("jump_flail", 16.0, before=6.0, after=5.0)
    expected, _, _ = reference(script)
    cam = stream(script, starts_at=time.time() + 4.0)
    first = start_daemon(tmp_path, [cam], demo_profiles(tmp_path / "profiles"))
    second = None
    try:
        wait(lambda: "ALERT stream=cam" in first.log(), 60, "the alert to open")
        time.sleep(1.5)
        children = [p for c in ("worker", "frontend-cam", "housekeeping") for p in first.pids(c)]
        first.proc.kill()
        first.proc.wait(timeout=10)
        # Services get SIGTERM (die_with_parent), once per exiting thread of the daemon, and stop as on
        # any SIGTERM; a burst once hung one for good (tests/edge/test_service_signals.py).
        wait(lambda: not any(alive(p) for p in children), 30, "the daemon's children to die with it")
        second = first.again("daemon2.log")
        wait(lambda: "haad running" in second.log(), 60, "the next daemon to start")
        rival = first.again("rival.log")  # and a third one on the same state_dir is refused
        assert rival.proc.wait(timeout=60) == 2 and "already uses" in rival.log(), rival.log()[-2000:]
        finish(second)
    finally:
        first.stop()
        if second is not None:
            second.stop()
    alert = closed_alert(first)
    assert "left open by a previous worker" in second.log()
    # The seconds the daemon was down are missing from the episode, never the episode.
    assert expected - 60 <= alert.n_windows <= expected + 2, (alert.n_windows, expected)
    print(
        f"daemon kill -9 drill: children gone, 1 alert, {alert.n_windows} windows (uninterrupted: {expected})"
    )


# --- the alert log slow, hung or gone, and a full disk ----------------------------------------------


def test_a_store_locked_for_20_s_and_a_kill_9_meanwhile_cost_no_alert(tmp_path: Path) -> None:
    script = walk_with("jump_flail", 6.0, after=4.0)  # the daemon stops while the log is still locked
    expected, _, _ = reference(script)
    daemon = start_daemon(tmp_path, [stream(script)], demo_profiles(tmp_path / "profiles"))
    db = tmp_path / "alerts.db"
    try:
        wait(lambda: daemon.metric("haad_frames_received_total", stream="cam") > 60, 60, "frames")
        lock = sqlite3.connect(db, isolation_level=None, timeout=30)
        lock.execute("BEGIN EXCLUSIVE")  # before the alert: not even its opening reaches the log
        locked_at, scored_before = time.monotonic(), daemon.metric("haad_windows_scored_total")
        wait(lambda: "ALERT stream=cam" in daemon.log(), 60, "the alert to open")
        time.sleep(2.0)
        scored_while_locked = daemon.metric("haad_windows_scored_total") - scored_before
        kill_worker(daemon)
        time.sleep(max(0.0, 20.0 - (time.monotonic() - locked_at)))
        lock.execute("COMMIT")
        lock.close()
        log = finish(daemon)
    finally:
        daemon.stop()
    alert = closed_alert(daemon)
    assert scored_while_locked > 20  # scoring went on
    assert "left open by a previous worker" in log
    assert expected - 20 <= alert.n_windows <= expected + 2, (alert.n_windows, expected)
    assert sum("unavailable" in line for line in log.splitlines()) <= 2  # one line per outage and worker
    print(f"locked-store drill: 1 alert, {alert.n_windows} windows (uninterrupted: {expected})")


def test_postgresql_refusing_20_s_mid_episode_or_hung_at_shutdown_loses_no_alert(
    tmp_path: Path, pg_proxy: tuple[TcpProxy, str]
) -> None:
    proxy, url = pg_proxy
    AlertStore(url).close()  # the schema exists before the outage
    store = {"busy_timeout_s": 3.0, "timeout_s": 5.0}
    # The two faults at once, each on a daemon, stream and proxy of its own (one alert log): the
    # streams' ids keep each worker from taking the other's open episode for its own.
    with TcpProxy(proxy.target) as hung_proxy, ThreadPoolExecutor(1) as pool:
        hung = pool.submit(
            _postgresql_hung_at_shutdown, tmp_path / "hung", hung_proxy, hung_proxy.url(url), store
        )
        alert, expected = _postgresql_refusing_20_s(tmp_path / "refusing", proxy, url, store)
        hung.result()
    found = alerts(url)
    assert len(found) == 2 and all(a.ended_at is not None and a.windows is not None for a in found)
    print(f"PostgreSQL drill: 2/2 alerts stored, the first with {alert.n_windows}/{expected} windows")


def _postgresql_refusing_20_s(
    folder: Path, proxy: TcpProxy, url: str, store: dict
) -> tuple[AlertRecord, int | None]:
    """Down for 20 s while an episode is open: the alert is complete once the server is back."""
    script = walk_with("jump_flail", 6.0, before=4.0, after=24.0)
    expected, _, _ = reference(script)
    folder.mkdir()
    daemon = start_daemon(folder, [stream(script, stream_id="refused")], demo_profiles(folder / "profiles"),
                          store={"url": url, **store})  # fmt: skip
    try:
        wait(lambda: "ALERT stream=refused" in daemon.log(), 60, "the alert to open")
        proxy.set("refuse")
        time.sleep(20.0)
        proxy.set("forward")
        finish(daemon)
    finally:
        daemon.stop()
    (alert,) = [a for a in alerts(url) if a.stream_id == "refused"]
    assert alert.ended_at is not None and alert.n_windows == expected, (alert.n_windows, expected)
    return alert, expected


def _postgresql_hung_at_shutdown(folder: Path, proxy: TcpProxy, url: str, store: dict) -> None:
    """Hung (a frozen proxy: connections open, no answer) before the action and still hung when the
    daemon is stopped: it stops within its bound, the alert waits in the outbox and says so, and
    `haad alerts deliver` writes it once the server answers again."""
    folder.mkdir()
    daemon = start_daemon(folder, [stream(walk_with("jump_flail", 30.0), stream_id="hung")],
                          demo_profiles(folder / "profiles"), store={"url": url, **store})  # fmt: skip
    try:
        wait(lambda: daemon.metric("haad_frames_received_total", stream="hung") > 60, 60, "frames")
        proxy.set("freeze")
        wait(lambda: daemon.log().count("ALERT stream=hung") == 1, 60, "the alert to open")
        time.sleep(1.5)
        stopping = time.monotonic()
        assert daemon.stop() == 0
        assert time.monotonic() - stopping < 60
    finally:
        daemon.stop()
        proxy.set("forward")
    assert "wait in" in daemon.log(), daemon.log()[-3000:]
    out = haad("alerts", "deliver", "--config", str(daemon.config_path))
    assert out.returncode == 0 and "delivered 1 alert" in out.stdout, out.stdout + out.stderr


def test_a_full_disk_under_the_state_dir_loses_no_alert_and_is_reported(
    tmp_path: Path, full_disk: Path
) -> None:
    script = walk_with("jump_flail", 6.0, before=4.0, after=6.0)  # the episode closes 3 s into the walk
    expected, _, _ = reference(script)
    fill(full_disk)
    daemon = start_daemon(tmp_path, [stream(script)], demo_profiles(tmp_path / "profiles"),
                          state_dir=str(full_disk))  # fmt: skip
    try:
        wait(lambda: "ALERT stream=cam" in daemon.log(), 60, "the alert to open")
        time.sleep(3.0)  # the worker's gauges are published every reload_every_s
        reported = health(daemon)
        log = finish(daemon)
    finally:
        daemon.stop()
    alert = closed_alert(daemon)
    assert alert.n_windows == expected
    assert "wait in" not in log  # never called safe
    assert "cannot write the alert outbox" in log and reported.get("status") == "failing", reported
    assert reported["outbox_failing"] is True
    print(f"full-disk drill: 1 alert, {alert.n_windows}/{expected} windows; health {reported}")


def health(daemon: Daemon) -> dict:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{daemon.port}/health", timeout=2) as r:
            return dict(json.loads(r.read()))
    except urllib.error.HTTPError as e:  # 503 while failing, with the same body
        return dict(json.loads(e.read()))
    except (OSError, ValueError):
        return {}


def test_postgresql_down_at_start_the_review_server_and_housekeeping_come_back_with_it(
    tmp_path: Path, pg_proxy: tuple[TcpProxy, str]
) -> None:
    proxy, url = pg_proxy
    proxy.set("refuse")
    port = free_port()
    # The action while the log is down: once it is back, the worker must not take its own open
    # episode for one a previous worker left (and split it).
    daemon = start_daemon(
        tmp_path, [stream(walk_with("jump_flail", 16.0, before=4.0, after=4.0))],
        demo_profiles(tmp_path / "profiles"),
        store={"url": url, "busy_timeout_s": 2.0, "timeout_s": 5.0},
        serve={"port": port, "auth": False, "encoder": False},
        supervisor={"initial_backoff_s": 0.5, "max_backoff_s": 2.0, "give_up_after": 2},
    )  # fmt: skip
    try:
        wait(lambda: "ALERT stream=cam" in daemon.log(), 60, "the alert to open")
        time.sleep(2.0)  # long enough for the services to have failed twice
        proxy.set("forward")
        wait(lambda: page_status(port) == 200, 45, "the review server to answer")
        wait(lambda: "retention:" in daemon.log(), 45, "housekeeping to run")
        log = finish(daemon)
    finally:
        daemon.stop()
    assert "giving it up" not in log and "left open by a previous worker" not in log
    closed_alert(daemon)


def page_status(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/me", timeout=2) as r:
            return int(r.status)
    except OSError:
        return 0


# --- bad input ----------------------------------------------------------------------------------


def test_bad_profile_versions_and_hostile_senders_are_refused_and_counted_and_the_alert_stands(
    tmp_path: Path,
) -> None:
    # Two kinds of bad input to one daemon, neither of which may restart the worker or change the
    # one alert: a corrupt and a mismatched new profile version (the previous one keeps serving), and
    # frames of every bad kind on the bus (each counted, none moves the stream or forges an alert).
    profiles = demo_profiles(tmp_path / "profiles")
    daemon = start_daemon(tmp_path, [stream(walk_with("jump_flail", 6.0, after=8.0))], profiles)
    folder = profiles / "demo-walk"
    rng = np.random.default_rng(0)
    ctx = zmq.Context()
    intruder = ctx.socket(zmq.PUSH)
    intruder.linger = 0
    intruder.connect(daemon.config["bus"]["endpoint"])
    flail = np.cumsum(rng.normal(0, 0.3, size=(64, 20, 3)), axis=0).astype(np.float32)
    vis = np.ones(20, np.float32)
    try:
        wait(lambda: daemon.metric("haad_frames_received_total", stream="cam") > 30, 60, "frames")
        good = (folder / "v0001.npz").read_bytes()
        (folder / "v0002.npz").write_bytes(good[: len(good) // 2])  # truncated
        shutil.copy(folder / "v0001.json", folder / "v0002.json")
        wait(lambda: daemon.metric("haad_profile_errors_total", profile="demo-walk") >= 1, 20, "the refusal")
        with np.load(folder / "v0001.npz") as z:  # embeddings of another size than the model's
            arrays = {k: z[k] for k in z.files}
        np.savez(folder / "v0003.npz", **{**arrays, "embeddings": arrays["embeddings"][:, :128]})
        shutil.copy(folder / "v0001.json", folder / "v0003.json")
        wait(lambda: daemon.metric("haad_profile_errors_total", profile="demo-walk") >= 2, 20, "the refusal")
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
        log = finish(daemon)
    finally:
        intruder.close(linger=0)
        ctx.term()
        daemon.stop()
    alert = closed_alert(daemon)
    assert alert.stream_id == "cam" and len(daemon.pids("worker")) == 1  # no restart loop
    assert alert.profile_version == 1
    assert "profile demo-walk refused" in log and "v1 keeps serving" in log
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
    print(f"bad-input drill: profile v1 kept, 1 real alert, none forged; drops {drops}")


def test_a_file_replayed_at_full_speed_is_scored_frame_by_frame_into_one_alert(tmp_path: Path) -> None:
    # 18,000 frames; the action early, while the worker's alert writer is just starting: the worker
    # never takes its own new episode for one a previous worker left.
    script = walk_with("jump_flail", 6.0, before=50.0, after=544.0)
    expected, frames, windows = reference(script)
    daemon = start_daemon(tmp_path, [stream(script, realtime=False)], demo_profiles(tmp_path / "profiles"))
    try:
        log = finish(daemon, timeout_s=240)
    finally:
        daemon.stop()
    worker = daemon.record("worker stopped")
    published = daemon.record("frontend-cam")["counters"]["published"]
    assert published == frames == worker["frames_received"]["cam"] and worker["windows_scored"] == windows
    assert worker["drops"] == {}
    assert "left open by a previous worker" not in log and closed_alert(daemon).n_windows == expected
    print(
        f"full-speed replay drill: {published} frames published, {frames} received, {windows} windows scored,"
        f" 1 alert of {expected} windows"
    )
