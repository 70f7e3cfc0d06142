"""``/health`` of ``haad run`` while its worker is down between a crash and its restart: it said ``ok``
(the dead worker's gauges go with it), though no alert can be raised until it is back. The Docker
image's HEALTHCHECK command (deploy/Dockerfile; no Docker engine here) is run against it as is."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.daemon_harness import demo_profiles, start_daemon, wait
from tests.reliability.test_drills import health

pytestmark = pytest.mark.slow  # the whole daemon in its own process

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


@pytest.mark.parametrize("kills", [1, 2], ids=["once", "twice"])
def test_health_fails_while_the_worker_is_down_and_recovers_with_it(tmp_path: Path, kills: int) -> None:
    daemon = start_daemon(tmp_path, [{"id": "cam", "source": WALK}], demo_profiles(tmp_path / "profiles"),
                          supervisor={"initial_backoff_s": 3.0, "max_backoff_s": 3.0})  # fmt: skip
    try:
        for kill in range(1, kills + 1):
            wait(lambda: health(daemon).get("status") == "ok", 60, "a healthy daemon")
            assert health(daemon)["down"] == []
            assert docker_healthcheck_passes(daemon.port)
            os.kill(daemon.pids("worker")[-1], signal.SIGKILL)
            wait(lambda: health(daemon).get("down") == ["worker"], 5, "the worker reported down")
            assert health(daemon)["status"] == "failing"
            assert not docker_healthcheck_passes(daemon.port)
            wait(lambda n=kill + 1: len(daemon.pids("worker")) == n, 20, "the worker restarted")
        wait(lambda: health(daemon).get("status") == "ok", 60, "healthy again")
    finally:
        daemon.stop()
