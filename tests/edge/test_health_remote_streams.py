"""``/health`` of a worker host (``run_frontends: false``) whose cameras' frontends run elsewhere and
send over the bus: a stream that stops sending, or never sent, is named (degraded) with since when,
and ok again once its frames return. It said ok throughout: only the frontends the daemon started
itself were watched, and this host starts none."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest

from config.bus import BusConfig
from config.frontend import StreamConfig, SyntheticSourceConfig
from pose_frontend.process import FrontendProcess
from tests.daemon_harness import Daemon, demo_profiles, free_port, start_daemon, wait
from tests.reliability.test_drills import health

OUT_AFTER_S = 2.0
WALK = {
    "kind": "synthetic",
    "script": [{"motion": "walk_in_place", "seconds": 600.0}],
    "seed": 1,
    "loop": True,
}


def remote_frontend(daemon: Daemon, stream: str) -> FrontendProcess:
    """A frontend as another host runs it (``haad frontend run``), sending ``stream`` to the daemon's bus."""
    config = StreamConfig.model_validate({"id": stream, "source": WALK})
    assert isinstance(config.source, SyntheticSourceConfig)
    frontend = FrontendProcess(config, BusConfig(endpoint=daemon.config["bus"]["endpoint"]))
    frontend.start()
    return frontend


def named_out(daemon: Daemon, stream: str, prefix: str) -> bool:
    body = health(daemon)
    return body.get("status") == "degraded" and body["streams_out"].get(stream, "").startswith(prefix)


def out_since(reason: str) -> float:
    """The wall time a ``streams_out`` reason gives (``since 2026-…+00:00;``)."""
    return datetime.fromisoformat(reason.split("since ", 1)[1].split(";", 1)[0]).timestamp()


@pytest.mark.slow  # the whole daemon in its own process, with its worker's model
def test_health_names_a_remote_camera_that_never_sent_or_stopped_and_clears_when_it_sends_again(
    tmp_path: Path,
) -> None:
    daemon = start_daemon(tmp_path, [{"id": s, "source": WALK} for s in ("camA", "camB")],
                          demo_profiles(tmp_path / "profiles"), run_frontends=False,
                          metrics={"port": free_port(), "stream_out_after_s": OUT_AFTER_S})  # fmt: skip
    cam_a = cam_b = None
    try:
        wait(lambda: "worker up" in daemon.log(), 60, "the worker up")
        cam_a = remote_frontend(daemon, "camA")  # sends all along: never named
        # never sent since the worker started (camA, slower to start than OUT_AFTER_S, may be named first)
        wait(lambda: named_out(daemon, "camB", "no frame received since the worker started")
             and list(health(daemon)["streams_out"]) == ["camB"], 60, "camB alone named")  # fmt: skip
        # stopped as soon as its frames arrived (early), after running past the bound (late), and once more
        for ran_s in (0.0, 2 * OUT_AFTER_S, 0.5):
            cam_b = remote_frontend(daemon, "camB")
            wait(lambda: health(daemon).get("status") == "ok", 30, f"ok with camB sending ({ran_s} s)")
            time.sleep(ran_s)
            assert health(daemon)["streams_out"] == {}, ran_s
            stopped_at = time.time()
            assert cam_b.stop(10.0) == 0
            wait(
                lambda: named_out(daemon, "camB", "no frame received for"),
                10 * OUT_AFTER_S,
                f"camB out ({ran_s} s)",
            )
            reason = health(daemon)["streams_out"]
            assert list(reason) == ["camB"], reason
            # its last frame (read to within a second) came about when it was stopped
            assert stopped_at - 3.0 <= out_since(reason["camB"]) <= stopped_at + 3.0, (reason, stopped_at)
        cam_b = remote_frontend(daemon, "camB")
        wait(lambda: health(daemon).get("status") == "ok", 30, "ok with camB sending again")
    finally:
        for frontend in (cam_a, cam_b):
            if frontend is not None and frontend.is_alive():
                frontend.stop(10.0)
        daemon.stop()
