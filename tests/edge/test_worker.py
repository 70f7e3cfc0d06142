"""The worker process on its own: a real ZeroMQ bus, a real SQLite alert log and outbox, SIGKILL."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from bus.messages import PersonSkeleton, SkeletonFrame
from bus.pubsub import Publisher
from config.edge import EdgeConfig
from config.frontend import MotionStep, SyntheticSourceConfig
from edge.daemon import WorkerProcess
from edge.store import AlertRecord, AlertStore
from pose_frontend.sources import open_source
from tests.daemon_harness import wait, worker_config

pytestmark = pytest.mark.slow  # two workers start (about 10 s each on a 2-core host)


def _performance(motions: list[tuple[str, float]], seed: int) -> list[tuple[float, np.ndarray]]:
    script = [MotionStep(motion=m, seconds=s) for m, s in motions]  # type: ignore[arg-type]
    with open_source(SyntheticSourceConfig(script=script, seed=seed, realtime=False)) as source:
        return list(source)


def _person_2_alerts(cfg: EdgeConfig) -> list[AlertRecord]:
    with AlertStore(cfg.store) as store:
        return sorted(
            (store.get_alert(a.id) for a in store.list_alerts() if a.person == 2), key=lambda a: a.id
        )


@pytest.mark.parametrize(
    ("new_daemon", "boxes"),
    [(True, False), (False, False), (True, True)],
    ids=["new-daemon", "worker-restarted", "new-daemon-same-place"],
)
def test_a_tracked_persons_episode_left_open_goes_on_only_where_their_id_still_names_them(
    tmp_path: Path, new_daemon: bool, boxes: bool
) -> None:
    # A new daemon's frontends give person ids from 1 again: the person 2 after the restart is
    # whoever was found second, and continuing the old person 2's open alert with their windows
    # attributed them to someone else; unless the frames say where each is (boxes) and person 2
    # stands plainly where the old one did, alone (edge/successor.py). A worker the same daemon
    # restarts finds the same ids.
    cfg = worker_config(tmp_path)
    walker = _performance([("walk_in_place", 20.0)], seed=1)
    jumper = _performance([("walk_in_place", 3.0), ("jump_flail", 17.0)], seed=7)
    vis, never = np.ones(20, np.float32), threading.Event()
    # A live camera: stamped and sent at wall-clock times, here the last 25 s
    daemon_started = time.time() - 25.0
    left, right = ((0.05, 0.1, 0.45, 0.95), (0.55, 0.1, 0.95, 0.95)) if boxes else (None, None)
    frames = [
        SkeletonFrame.of_people(
            "cam", i + 1, daemon_started + t, (PersonSkeleton(1, a, vis, left), PersonSkeleton(2, b, vis, right)),
            sent_at=daemon_started + t,
        )
        for i, ((t, a), (_, b)) in enumerate(zip(walker, jumper, strict=False))
    ]  # fmt: skip
    restart_t = daemon_started + 10.0

    first = WorkerProcess(cfg, people_since=daemon_started)
    first.start()
    try:
        assert first.ready_event.wait(120), "the first worker never listened"
        with Publisher.from_config(cfg.bus) as publisher:
            for frame in frames:
                if frame.timestamp < restart_t:
                    publisher.publish(frame, wait=never)
            wait(lambda: bool(_person_2_alerts(cfg)), 60, "person 2's alert to open")
    finally:
        assert first.pid is not None
        os.kill(first.pid, signal.SIGKILL)  # the daemon dies with its worker: the episode stays open
        first.join(10)

    second = WorkerProcess(cfg, people_since=time.time() if new_daemon else daemon_started)
    second.start()
    try:
        assert second.ready_event.wait(120), "the second worker never listened"
        with Publisher.from_config(cfg.bus) as publisher:
            for frame in frames:
                if frame.timestamp >= restart_t:
                    publisher.publish(frame, wait=never)
            time.sleep(2.0)
    finally:
        assert second.stop(60) == 0

    before, *after = _person_2_alerts(cfg)
    assert before.ended_at is not None and before.window_times is not None
    if new_daemon and not boxes:
        assert before.window_times[:, 1].max() < restart_t  # none of the new person 2's windows
        assert len(after) == 1  # the new person 2's own alert
    else:  # the same person 2, one alert across the restart
        assert before.window_times[:, 1].max() > restart_t and after == []


def test_a_worker_stops_promptly_while_frontends_on_other_hosts_go_on_sending(tmp_path: Path) -> None:
    # The stop read the bus until it had been quiet for 0.5 s: frontends of other hosts
    # (run_frontends: false) never go quiet, so every stop took its 30 s cap and the daemon, its
    # own stop_timeout_s spent, logged an error and terminated the worker.
    cfg = worker_config(tmp_path)
    walker = _performance([("walk_in_place", 40.0)], seed=1)
    vis, never, done = np.ones(20, np.float32), threading.Event(), threading.Event()

    def camera() -> None:  # a live camera at 20 fps, stamped by the wall clock
        with Publisher.from_config(cfg.bus) as publisher:
            for i, (_, joints) in enumerate(walker):
                if done.is_set():
                    return
                now = time.time()
                frame = SkeletonFrame.of_people(
                    "cam", i + 1, now, (PersonSkeleton(1, joints, vis),), sent_at=now
                )
                publisher.publish(frame, wait=never)
                time.sleep(0.05)

    worker = WorkerProcess(cfg)
    worker.start()
    sender = threading.Thread(target=camera)
    try:
        assert worker.ready_event.wait(120), "the worker never listened"
        sender.start()
        time.sleep(1.0)  # frames flowing: the camera sends through the whole stop (40 s of frames)
        asked = time.monotonic()
        assert worker.stop(60) == 0
        assert time.monotonic() - asked < 20.0  # the drain's 30 s cap before; 10 s was tight on a loaded host
    finally:
        done.set()
        if sender.ident is not None:  # started
            sender.join(10)
