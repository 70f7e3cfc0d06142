"""``/health`` of ``haad run`` while its worker is down between a crash and its restart: it said ``ok``
(the dead worker's gauges go with it), though no alert can be raised until it is back."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.daemon_harness import demo_profiles, start_daemon, wait
from tests.reliability.test_drills import health

pytestmark = pytest.mark.slow  # the whole daemon in its own process

WALK = {"kind": "synthetic", "script": [{"motion": "walk_in_place", "seconds": 600.0}], "seed": 1}


@pytest.mark.parametrize("kills", [1, 2], ids=["once", "twice"])
def test_health_fails_while_the_worker_is_down_and_recovers_with_it(tmp_path: Path, kills: int) -> None:
    daemon = start_daemon(tmp_path, [{"id": "cam", "source": WALK}], demo_profiles(tmp_path / "profiles"),
                          supervisor={"initial_backoff_s": 3.0, "max_backoff_s": 3.0})  # fmt: skip
    try:
        for kill in range(1, kills + 1):
            wait(lambda: health(daemon).get("status") == "ok", 60, "a healthy daemon")
            assert health(daemon)["down"] == []
            os.kill(daemon.pids("worker")[-1], signal.SIGKILL)
            wait(lambda: health(daemon).get("down") == ["worker"], 5, "the worker reported down")
            assert health(daemon)["status"] == "failing"
            wait(lambda n=kill + 1: len(daemon.pids("worker")) == n, 20, "the worker restarted")
        wait(lambda: health(daemon).get("status") == "ok", 60, "healthy again")
    finally:
        daemon.stop()
