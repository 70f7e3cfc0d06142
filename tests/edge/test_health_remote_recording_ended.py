"""``/health`` of a worker host (``run_frontends: false``) whose streams come from frontends elsewhere:
a recording (a file) that ran out is named ended, not out, and leaves the status ok, while a camera
that stopped sending is still named out. Both went silent, and both were named out: this host could
not tell them apart until the frontend said its file ran out (bus: ``SkeletonFrame.ended``)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from config.bus import BusConfig
from config.frontend import SkeletonSourceConfig, StreamConfig
from pose_frontend.process import FrontendProcess
from tests.daemon_harness import Daemon, demo_profiles, free_port, start_daemon, wait
from tests.edge.test_health_remote_streams import WALK, named_out, remote_frontend
from tests.reliability.test_drills import health

OUT_AFTER_S = 2.0


def recording(daemon: Daemon, stream: str, seconds: float, folder: Path) -> FrontendProcess:
    """``haad frontend run`` of a recording of ``seconds`` (a replay at 10 fps, in real time) on another
    host, sending ``stream`` to the daemon's bus."""
    joints = np.random.default_rng(0).normal(size=(max(1, round(10 * seconds)), 20, 3)).astype(np.float32)
    np.save(folder / f"{stream}.npy", joints)
    source = SkeletonSourceConfig(path=str(folder / f"{stream}.npy"), fps=10, realtime=True)
    frontend = FrontendProcess(
        StreamConfig(id=stream, source=source), BusConfig(endpoint=daemon.config["bus"]["endpoint"])
    )
    frontend.start()
    return frontend


def named_ended(daemon: Daemon, stream: str) -> bool:
    body = health(daemon)
    return (
        body.get("streams_ended", {}).get(stream, "").startswith("its recording ended after its last frame")
    )


@pytest.mark.slow  # the whole daemon in its own process, with its worker's model
def test_a_remote_recording_that_ran_out_is_named_ended_not_out_and_a_stopped_camera_out(
    tmp_path: Path,
) -> None:
    daemon = start_daemon(tmp_path, [{"id": s, "source": WALK} for s in ("rec", "cam")],
                          demo_profiles(tmp_path / "profiles"), run_frontends=False,
                          metrics={"port": free_port(), "stream_out_after_s": OUT_AFTER_S})  # fmt: skip
    running: list[FrontendProcess] = []
    try:
        wait(lambda: "worker up" in daemon.log(), 60, "the worker up")
        cam = remote_frontend(daemon, "cam")  # a camera: sends until it is stopped
        running.append(cam)
        # a recording that ends at once (one frame), one that runs past the bound, and one more
        for seconds in (0.0, 2 * OUT_AFTER_S, 0.5):
            rec = recording(daemon, "rec", seconds, tmp_path)
            running.append(rec)
            wait(rec.finished_event.is_set, 60, f"the recording of {seconds} s sent")
            wait(lambda: named_ended(daemon, "rec"), 10 * OUT_AFTER_S, f"rec ended ({seconds} s)")
            time.sleep(2 * OUT_AFTER_S)  # past the bound: ended still, never out
            body = health(daemon)
            assert body["status"] == "ok" and body["streams_out"] == {}, (seconds, body)
            assert list(body["streams_ended"]) == ["rec"], (seconds, body)
            assert rec.stop(10.0) == 0
        assert cam.stop(10.0) == 0  # a camera that stopped sending: out, as before
        wait(lambda: named_out(daemon, "cam", "no frame received for"), 10 * OUT_AFTER_S, "cam out")
        body = health(daemon)
        assert body["status"] == "degraded" and list(body["streams_out"]) == ["cam"], body
        assert list(body["streams_ended"]) == ["rec"], body
        # the recording played again: sending, it is neither ended nor out
        rec = recording(daemon, "rec", 60.0, tmp_path)
        running.append(rec)
        wait(lambda: "rec" not in health(daemon)["streams_ended"], 60, "rec sending again")
        time.sleep(2 * OUT_AFTER_S)
        assert "rec" not in health(daemon)["streams_out"] and "rec" not in health(daemon)["streams_ended"]
    finally:
        for frontend in running:
            if frontend.is_alive():
                frontend.stop(10.0)
        daemon.stop()


def test_streams_ended_are_said_and_leave_the_status_as_it_is() -> None:
    from prometheus_client import CollectorRegistry

    from edge.metrics import health as health_of

    ended = {"rec": "its recording ended; its frontend finished at 2026-12-07T20:00:00+00:00"}
    body = health_of(CollectorRegistry(), [], streams_ended=ended)
    assert body["status"] == "ok" and body["streams_ended"] == ended
    out = health_of(CollectorRegistry(), [], streams_out={"cam": "no frame"}, streams_ended=ended)
    assert out["status"] == "degraded"
