"""``/health`` of ``haad run`` while its worker is down between a crash and its restart: it said ``ok``
(the dead worker's gauges go with it), though no alert can be raised until it is back. The Docker
image's HEALTHCHECK command (deploy/Dockerfile; no Docker engine here) is run against it as is."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bus.lifetime import Restarts
from config.edge import EdgeConfig
from config.supervisor import SupervisorConfig
from edge.daemon import Child, Daemon
from tests.daemon_harness import demo_profiles, start_daemon, wait
from tests.reliability.test_drills import health

ROOT = Path(__file__).resolve().parents[2]
WALK = {"kind": "synthetic", "script": [{"motion": "walk_in_place", "seconds": 600.0}], "seed": 1}


def docker_healthcheck_passes(port: int) -> bool:
    """Whether deploy/Dockerfile's HEALTHCHECK command, pointed at ``port``, exits 0."""
    text = (ROOT / "deploy" / "Dockerfile").read_text().replace("\\\n", " ")
    (line,) = [line for line in text.splitlines() if line.startswith("HEALTHCHECK")]
    argv = json.loads(line.split(" CMD ", 1)[1])
    assert argv[0] == "python" and "127.0.0.1:9108/health" in argv[-1], argv
    argv = [sys.executable, *argv[1:-1], argv[-1].replace(":9108/", f":{port}/")]
    return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0


class _Spawning(multiprocessing.get_context("spawn").Process):  # type: ignore[name-defined,misc]
    """A real child that, as it is started, notes what /health would say (``look``: set by the test;
    a class attribute, as the process object itself is pickled into the child)."""

    look: Callable[[], list[str]] | None = None
    seen: list[list[str]] = []

    def start(self) -> None:
        assert _Spawning.look is not None
        _Spawning.seen.append(_Spawning.look())
        super().start()


def test_a_child_being_started_is_never_named_down(tmp_path: Path) -> None:
    # The child's process was set before it was started: /health, read by the metrics thread,
    # named the worker down (failing, 503) for the ~0.1 s each start or restart spends spawning it.
    daemon = Daemon(EdgeConfig.model_validate({"state_dir": str(tmp_path), "run_frontends": False}))
    _Spawning.look, _Spawning.seen = daemon._down, []
    daemon.worker = Child(
        "worker", lambda: _Spawning(target=time.sleep, args=(5.0,)), Restarts(SupervisorConfig())
    )
    daemon._start(daemon.worker)
    try:
        assert _Spawning.seen == [[]] and daemon._down() == []
    finally:
        _Spawning.look = None
        assert daemon.worker.process is not None
        daemon.worker.process.kill()
        daemon.worker.process.join(10)
    assert daemon._down() == ["worker"]  # and once it exited, it is


@pytest.mark.slow  # the whole daemon in its own process
def test_health_fails_while_the_worker_is_down_and_recovers_with_it_after_one_kill_and_after_two(
    tmp_path: Path,
) -> None:
    # One daemon through both cases: its worker killed once (healthy again once it is back), then
    # killed again (and healthy again).
    daemon = start_daemon(tmp_path, [{"id": "cam", "source": WALK}], demo_profiles(tmp_path / "profiles"),
                          supervisor={"initial_backoff_s": 3.0, "max_backoff_s": 3.0})  # fmt: skip
    try:
        wait(lambda: "worker up" in daemon.log(), 60, "the worker up")
        for kill in range(1, 3):
            wait(lambda: health(daemon).get("status") == "ok", 60, f"a healthy daemon before kill {kill}")
            assert health(daemon)["down"] == [], kill
            assert docker_healthcheck_passes(daemon.port), kill
            os.kill(daemon.pids("worker")[-1], signal.SIGKILL)
            wait(
                lambda: health(daemon).get("down") == ["worker"], 5, f"the worker reported down (kill {kill})"
            )
            assert health(daemon)["status"] == "failing", kill
            assert not docker_healthcheck_passes(daemon.port), kill
            wait(
                lambda n=kill + 1: len(daemon.pids("worker")) == n, 20, f"the worker restarted (kill {kill})"
            )
            wait(lambda: health(daemon).get("status") == "ok", 60, f"healthy again after kill {kill}")
    finally:
        daemon.stop()
