"""A real worker process on a real ZeroMQ bus and SQLite alert log, fed a good camera and, on the
same bus at the same time, every kind of hostile traffic: the good camera's frames are all scored,
its alert is raised (and no other), and the worker stops cleanly."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import zmq

from bus.messages import MAX_PEOPLE, PersonSkeleton, SkeletonFrame, encode
from bus.pubsub import HARD_MESSAGE_LIMIT_BYTES, Publisher
from config.edge import EdgeConfig
from edge.daemon import WorkerProcess
from edge.pipeline import MAX_PEOPLE_PER_STREAM
from edge.store import AlertStore
from tests.daemon_harness import wait, worker_config
from tests.edge.test_worker import _performance

pytestmark = pytest.mark.slow  # a worker starts (about 10 s on a 2-core host)


def _alerted(cfg: EdgeConfig) -> set[tuple[str, int]]:
    with AlertStore(cfg.store) as store:
        return {(a.stream_id, a.person) for a in store.list_alerts()}


def _hostile(now: float) -> list[list[bytes]]:
    """Messages no frontend sends, each refused or contained by the worker."""
    rng = random.Random(7)
    pose, vis = np.ones((20, 3), np.float32), np.ones(20, np.float32)
    good = encode(SkeletonFrame("junk", 0, 0.0, pose, vis, now))
    messages: list[list[bytes]] = [
        [],  # nothing
        [b""],
        [good[0]],  # a part missing
        [*good, b"extra"],
        [good[0], good[1][:-3]],  # truncated
        [good[0], good[1] + bytes(20_000)],  # oversized
        [good[0], good[1][:4] + b"\x09\x00" + good[1][6:]],  # unknown schema
        [rng.randbytes(rng.randint(0, 200)) for _ in range(2)],
    ]
    # A served stream whose clock stands still while its people change every frame.
    for k in range(300):
        people = tuple(PersonSkeleton(k * MAX_PEOPLE + i + 1, pose * (i + 1), vis) for i in range(MAX_PEOPLE))
        messages.append(encode(SkeletonFrame.of_people("crowd", k, 5.0, people, now)))
    # Streams this worker does not serve, by the thousand (its state must not grow with them).
    messages += [encode(SkeletonFrame(f"s{i}", 1, 1.0, None, None, now)) for i in range(3000)]
    # A served stream at the extremes: values and clocks nobody sends, then seq at its top.
    odd = [
        SkeletonFrame("junk", 0, 1e15, np.full((20, 3), 3e38), vis, now),
        SkeletonFrame("junk", 1, 1e15 + 0.05, pose * 1e30, vis * 0, now),
        SkeletonFrame("junk", 2, 1e15 + 0.1, np.full((20, 3), np.nan), vis, now),
        SkeletonFrame("junk", 3, 1e300, pose, vis, now + 3600),  # sent_at an hour ahead
        SkeletonFrame("junk", 2**64 - 1, -1e300, pose, vis, now),
    ]
    messages += [encode(f) for f in odd]
    return messages


def test_hostile_traffic_on_the_bus_neither_stops_nor_changes_a_good_cameras_alerts(tmp_path: Path) -> None:
    endpoint = f"ipc://{tmp_path / 'bus.sock'}"
    cfg = worker_config(tmp_path, ("cam", "junk", "crowd"))
    walker = _performance([("walk_in_place", 14.0)], seed=1)
    jumper = _performance([("walk_in_place", 4.0), ("jump_flail", 10.0)], seed=7)
    vis, never = np.ones(20, np.float32), threading.Event()
    start = time.time() - 20.0
    frames = [
        SkeletonFrame.of_people("cam", i + 1, start + t, (PersonSkeleton(1, a, vis), PersonSkeleton(2, b, vis)),
                                sent_at=start + t)
        for i, ((t, a), (_, b)) in enumerate(zip(walker, jumper, strict=False))
    ]  # fmt: skip
    hostile = _hostile(time.time())
    worker = WorkerProcess(cfg)
    worker.start()
    raw: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.PUSH)
    huge: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.PUSH)
    try:
        assert worker.ready_event.wait(120), "the worker never listened"
        raw.connect(endpoint)
        huge.connect(endpoint)
        huge.send(bytes(HARD_MESSAGE_LIMIT_BYTES + 1))  # libzmq disconnects this peer
        with Publisher.from_config(cfg.bus) as publisher:
            every = len(hostile) // len(frames) + 1
            for i, frame in enumerate(frames):  # the good camera's frames among the hostile ones
                for message in hostile[i * every : (i + 1) * every]:
                    raw.send_multipart(message) if message else raw.send(b"")
                publisher.publish(frame, wait=never)
            # Scored as fast as the camera's own: a stream of hostile people must not hold the others.
            wait(lambda: ("cam", 2) in _alerted(cfg), 20, "the good camera's alert")
    finally:
        raw.close(linger=0)
        huge.close(linger=0)
        assert worker.stop(60) == 0
    report = worker.report
    assert report is not None
    assert report["streams"]["cam#1"]["frames"] == len(frames)  # every good frame was read
    assert report["streams"]["cam#2"]["windows"] == report["streams"]["cam#1"]["windows"] > 40
    assert ("cam", 1) not in _alerted(cfg)
    assert sum(who.startswith("crowd#") for who in report["streams"]) == MAX_PEOPLE_PER_STREAM
