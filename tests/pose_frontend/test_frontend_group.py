"""Several cameras in one frontend process: one bus socket, cameras as threads, and a camera that
fails (restarted, then given up) never stops the others."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

import numpy as np
import pytest
import zmq

from bus.pubsub import Subscriber
from config.bus import BusConfig
from config.edge import EdgeConfig
from config.frontend import (
    ImagesSourceConfig,
    ReconnectConfig,
    StreamConfig,
    SyntheticSourceConfig,
    UrlSourceConfig,
    VideoSourceConfig,
)
from config.supervisor import SupervisorConfig
from edge.daemon import Daemon
from pose_frontend.base import Counters, SourceUnavailableError
from pose_frontend.group import FrontendGroupProcess, QueuePublisher, run_camera
from pose_frontend.sources import open_source


def _synthetic(stream_id: str, seconds: float) -> StreamConfig:
    script = [{"motion": "walk_in_place", "seconds": seconds}]
    return StreamConfig(id=stream_id, source=SyntheticSourceConfig(script=script, realtime=False))  # type: ignore[arg-type]


def test_a_failing_camera_is_given_up_while_the_others_in_its_process_publish_every_frame(
    tmp_path: Path,
) -> None:
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).bytes(20_000))
    streams = [
        _synthetic("a", 3.0),
        StreamConfig(id="broken", source=VideoSourceConfig(path=str(corrupt))),
        _synthetic("c", 2.0),
    ]
    bus = BusConfig(endpoint=f"ipc://{tmp_path}/bus.sock")
    supervisor = SupervisorConfig(initial_backoff_s=0.1, max_backoff_s=0.2, give_up_after=3)
    config = EdgeConfig(
        streams=streams, bus=bus, supervisor=supervisor, cameras_per_frontend=3, pose_threads=1
    )
    daemon = Daemon(config)
    [child] = daemon.frontends
    group = child.make()
    assert isinstance(group, FrontendGroupProcess)
    child.process = group
    received: dict[str, list[int]] = {"a": [], "c": []}
    with Subscriber(bus.endpoint) as sub:
        group.start()
        try:
            while not (group.finished_event.is_set() and sub.recv(timeout_ms=300) is None):
                frame = sub.recv(timeout_ms=200)
                if frame is not None:
                    received[frame.stream_id].append(frame.seq)
        finally:
            assert group.stop(10.0) == 0
    counters = {k: c.snapshot() for k, c in group.counters.items()}
    for stream_id, seconds in (("a", 3.0), ("c", 2.0)):
        assert received[stream_id] == list(range(1, int(seconds * 30) + 1))  # every frame, in order
        assert counters[stream_id]["published"] == seconds * 30 and counters[stream_id]["errors"] == 0
    assert counters["broken"]["published"] == 0
    # given up inside the process, which ended well: /health and the exit code once said nothing
    assert group.exitcode == 0 and daemon._given_up() == ["frontend-broken"]


def test_the_daemon_packs_streams_into_processes_by_the_setting() -> None:
    streams = [_synthetic(i, 1.0) for i in ("a", "b", "c")]
    packed = Daemon(EdgeConfig(streams=streams, cameras_per_frontend=2))
    assert [c.name for c in packed.frontends] == ["frontend-a+b", "frontend-c"]
    assert [c.name for c in Daemon(EdgeConfig(streams=streams)).frontends] == [
        "frontend-a",
        "frontend-b",
        "frontend-c",
    ]


def test_a_packed_camera_that_never_opens_is_in_the_metrics_under_its_own_id() -> None:
    # A camera that never answered showed in no metric: its failed opens were not exported (and a
    # packed process's series were made at 0 under "a+door", a stream nobody configured).
    from prometheus_client import REGISTRY

    dead = UrlSourceConfig(
        url="rtsp://127.0.0.1:1/stream", reconnect=ReconnectConfig(max_attempts=2, initial_backoff_s=0.1)
    )
    streams = [_synthetic("a", 1.0), StreamConfig(id="door", source=dead)]
    daemon = Daemon(EdgeConfig(streams=streams, cameras_per_frontend=2))
    [child] = daemon.frontends
    group = child.make()  # its shared counters, not started
    assert isinstance(group, FrontendGroupProcess)
    child.process = group
    with pytest.raises(SourceUnavailableError), open_source(dead, counters=group.counters["door"]) as source:
        list(source)

    def failed_opens() -> float:
        return REGISTRY.get_sample_value("haad_frontend_failed_opens_total", {"stream": "door"}) or 0.0

    before = failed_opens()
    daemon._export_frontend_counters(child)
    assert failed_opens() == before + 2


def test_a_camera_of_a_group_rings_its_frames_for_the_alert_pictures(
    mp_testdata: Path, tmp_path: Path
) -> None:
    import queue
    import threading

    source = ImagesSourceConfig(path=str(mp_testdata / "three_people.jpg"), realtime=False)
    config = StreamConfig(id="cam", source=source)
    frames: queue.Queue = queue.Queue()
    done = run_camera(config, QueuePublisher(frames), threading.Event(), Counters(), threading.Semaphore(1),
                      SupervisorConfig(), tmp_path)  # fmt: skip
    assert done and frames.qsize() == 1
    assert [p.name for p in (tmp_path / "cam").iterdir()] == ["000000000000.jpg"]


def test_the_cameras_of_a_group_share_its_pose_models(mp_testdata: Path) -> None:
    import queue
    import threading

    from pose_frontend.shared_pose import PoseModelPool

    source = ImagesSourceConfig(path=str(mp_testdata / "pose.jpg"), realtime=False)
    frames: queue.Queue = queue.Queue()
    models = PoseModelPool(1)
    try:
        for cam in ("a", "b", "c"):
            assert run_camera(StreamConfig(id=cam, source=source), QueuePublisher(frames), threading.Event(),
                              Counters(), threading.Semaphore(1), SupervisorConfig(), None, models)  # fmt: skip
        assert [len(lender._built) for lender in (models.regions, models.landmarks)] == [1, 1]
    finally:
        models.close()
    assert [frames.get_nowait().person for _ in range(3)] == [True] * 3


def test_a_group_that_fails_itself_is_one_error_naming_its_cameras_with_its_traceback(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Uncaught, it was multiprocessing's bare traceback on stderr, naming no camera.
    class Unusable:
        @staticmethod
        def from_config(*args: object, **kwargs: object) -> None:
            raise zmq.ZMQError(errno.ENAMETOOLONG)

    monkeypatch.setattr("pose_frontend.group.Publisher", Unusable)
    streams = [_synthetic("door", 1.0), _synthetic("yard", 1.0)]
    group = FrontendGroupProcess(streams, BusConfig(), SupervisorConfig())
    assert group.publish() == 1
    [error] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.getMessage().startswith("frontend of streams door, yard failed: ZMQError: ")
    assert error.exc_info is not None and error.exc_info[0] is zmq.ZMQError
