"""The daemon's supervision of its frontends as an operator reads it: counters in /metrics and in the
stop line add up over a frontend's restarts, one ERROR per failure (the restart notice a WARNING),
and /health names a stream whose frontend runs but never delivers."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, CollectorRegistry

from bus.pubsub import Subscriber
from config.bus import BusConfig
from config.edge import EdgeConfig, MetricsConfig
from config.frontend import (
    ReconnectConfig,
    StreamConfig,
    SyntheticSourceConfig,
    UrlSourceConfig,
    VideoSourceConfig,
)
from config.supervisor import SupervisorConfig
from edge.daemon import Child, Daemon
from edge.metrics import health
from edge.services import ServiceProcess
from pose_frontend.process import FrontendProcess
from tests.pose_frontend.test_frontend_live import _FlakyVideoServer

SCRIPT = [{"motion": "walk_in_place", "seconds": 1.0}]


def published(stream: str) -> float:
    labels = {"stream": stream, "result": "published"}
    return REGISTRY.get_sample_value("haad_frontend_frames_total", labels) or 0.0


def run_to_its_end(daemon: Daemon, child: Child, sub: Subscriber, export_after_frames: int | None) -> int:
    """Start the child's next process (a restart after the first), read its frames until its source
    ended, stop it; returns what it published. The daemon exports its counters once when
    ``export_after_frames`` frames have come (None: never while it runs)."""
    daemon._start(child)
    process = child.process
    assert isinstance(process, FrontendProcess)
    received = 0
    while not process.finished_event.is_set() and process.is_alive():
        received += sub.recv(timeout_ms=200) is not None
        if received == export_after_frames:
            daemon._export_frontend_counters(child)
    assert process.stop(10.0) == 0
    return process.counters["published"]


@pytest.mark.parametrize("export_after_frames", [None, 1, 10])
def test_a_restarted_frontends_counts_add_up_over_its_processes(
    tmp_path: Path, export_after_frames: int | None, caplog: pytest.LogCaptureFixture
) -> None:
    bus = BusConfig(endpoint=f"ipc://{tmp_path}/bus.sock")
    stream = StreamConfig(id="walker", source=SyntheticSourceConfig(script=SCRIPT, realtime=False))  # type: ignore[arg-type]
    daemon = Daemon(EdgeConfig(streams=[stream], bus=bus, state_dir=str(tmp_path)))
    [child] = daemon.frontends
    before = published("walker")
    with Subscriber(bus.endpoint) as sub:
        # the second process starts before any export saw the first's last frames
        counts = [run_to_its_end(daemon, child, sub, export_after_frames) for _ in range(2)]
    assert counts[0] > 0
    with caplog.at_level(logging.INFO, logger="haad.daemon"):
        daemon.stop()
    [line] = [r for r in caplog.records if r.getMessage().startswith("frontend-walker: ")]
    assert line.counters["published"] == sum(counts)  # type: ignore[attr-defined]
    assert published("walker") - before == sum(counts)


def test_a_failed_frontend_is_one_error_and_its_restart_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = StreamConfig(id="gone", source=VideoSourceConfig(path=str(tmp_path / "missing.mp4")))
    supervisor = SupervisorConfig(initial_backoff_s=0.05, max_backoff_s=0.1, give_up_after=3)
    daemon = Daemon(EdgeConfig(streams=[missing], bus=BusConfig(endpoint=f"ipc://{tmp_path}/bus.sock"),
                               supervisor=supervisor, state_dir=str(tmp_path)))  # fmt: skip
    [child] = daemon.frontends
    levels = []
    for kill in (False, True, False):  # it fails (exit 1, its own ERROR), is killed (-9), fails: given up
        daemon._start(child)
        assert child.process is not None
        if kill:
            child.process.kill()
        child.process.join(60)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="haad.daemon"):
            daemon._exited(child, time.monotonic())
        [record] = caplog.records
        levels.append((child.process.exitcode, record.levelname, record.getMessage().split(";")[1].strip()))
    assert levels[0][:2] == (1, "WARNING") and levels[0][2].startswith("restarting in")
    # killed, it could say nothing: the daemon's line is the one ERROR
    assert levels[1][:2] == (-9, "ERROR") and levels[1][2].startswith("restarting in")
    assert levels[2][:2] == (1, "ERROR") and levels[2][2].startswith("giving it up")


def test_health_names_a_stream_whose_camera_never_opened(
    tmp_path: Path,
) -> None:
    # stream_out_after_s 30 s in a deployment; the wait below goes on till the door's frontend has failed to open (a
    # frontend may take seconds to start on a busy test host)
    # nothing listens on port 9 of this host: every open fails at once, and the frontend retries
    nowhere = UrlSourceConfig(url="rtsp://127.0.0.1:9/stream", reconnect=ReconnectConfig(initial_backoff_s=0.1,
                                                                                         max_backoff_s=0.2))  # fmt: skip
    streams = [
        StreamConfig(id="door", source=nowhere),
        StreamConfig(id="hall", source=SyntheticSourceConfig(script=SCRIPT, loop=True)),  # type: ignore[arg-type]
    ]
    bus = BusConfig(endpoint=f"ipc://{tmp_path}/bus.sock")
    daemon = Daemon(EdgeConfig(streams=streams, bus=bus, state_dir=str(tmp_path),
                               metrics=MetricsConfig(stream_out_after_s=3.0)))  # fmt: skip
    with Subscriber(bus.endpoint) as sub:
        for child in daemon.frontends:
            daemon._start(child)
        try:
            deadline = time.monotonic() + 60
            # until the door is named with its failed opens and the hall delivered (its start may take
            # seconds on a busy host)
            while time.monotonic() < deadline and (
                "(0 failed opens" in daemon._streams_out().get("door", "(0 failed opens")
                or not daemon.frames_at.get("hall", (0, 0.0))[0]
            ):
                sub.recv(timeout_ms=100)
                for child in daemon.frontends:
                    daemon._export_frontend_counters(child)
            out = daemon._streams_out()
            assert all(c.process is not None and c.process.is_alive() for c in daemon.frontends)
        finally:
            daemon.stop()
    assert list(out) == ["door"], out  # the synthetic camera delivers all along
    assert out["door"].startswith("no frame since it started") and "(0 failed opens" not in out["door"]
    body = health(CollectorRegistry(), daemon._given_up(), daemon._down(), [], out)
    assert body["status"] == "degraded" and body["streams_out"] == out
    assert health(CollectorRegistry(), [], [], [], {})["status"] == "ok"


def test_health_names_a_live_camera_in_an_outage(tmp_path: Path, data_root: Path) -> None:
    # stream_out_after_s 30 s in a deployment; the wait below goes on till the outage is named with its failed opens
    # (a pause of a busy host's frontend while the video plays may be named first)
    # a real network stream: the squat video once, then every attempt to reopen it answered 503
    squats = data_root / "mediapipe_pose_testdata" / "pose_squats.mp4"
    server = _FlakyVideoServer(squats.read_bytes(), down_for=1_000_000)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/cam.mp4"
    yard = UrlSourceConfig(url=url, reconnect=ReconnectConfig(initial_backoff_s=0.1, max_backoff_s=0.5))
    bus = BusConfig(endpoint=f"ipc://{tmp_path}/bus.sock")
    daemon = Daemon(
        EdgeConfig(
            streams=[StreamConfig(id="yard", source=yard)],
            bus=bus,
            state_dir=str(tmp_path),
            metrics=MetricsConfig(stream_out_after_s=1.0),
        )  # fmt: skip
    )
    [child] = daemon.frontends
    try:
        with Subscriber(bus.endpoint) as sub:
            daemon._start(child)
            try:
                deadline = time.monotonic() + 90
                while not (
                    daemon._streams_out().get("yard", "").startswith("no frame for")
                    and server.refused > 0
                    and "(0 failed opens" not in daemon._streams_out()["yard"]
                ):
                    assert time.monotonic() < deadline, daemon._streams_out()
                    sub.recv(timeout_ms=100)
                    daemon._export_frontend_counters(child)
                out = daemon._streams_out()
            finally:
                daemon.stop()
    finally:
        server.shutdown()
        server.server_close()
    assert daemon.frames_at["yard"][0] > 0 and server.refused > 0  # it delivered, then the outage
    assert "(0 failed opens" not in out["yard"], out


def fails(cfg: EdgeConfig, stop: threading.Event) -> None:
    raise RuntimeError("the disk went away")


def test_a_service_that_fails_says_why_as_an_error_line_and_exits_1(
    capfd: pytest.CaptureFixture[str],
) -> None:
    # exit code 1 tells the daemon its child logged why (the restart notice is then a WARNING)
    service = ServiceProcess("haad-broken", EdgeConfig(), fails)
    service.start()
    service.join(60)
    err = capfd.readouterr().err
    assert service.exitcode == 1
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    [failed] = [line for line in lines if line["msg"] == "haad-broken failed"]
    assert failed["level"] == "ERROR" and failed["exc"].endswith("RuntimeError: the disk went away"), err
    assert "Process haad-broken:" not in err  # not multiprocessing's bare traceback, outside the log
