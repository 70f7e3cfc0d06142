"""``haad run`` stopped while it starts: a SIGTERM before the worker listens stops the daemon without
starting a camera (it would run on, or be stopped at once, with no worker to read it)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.daemon_harness import demo_profiles, free_port, start_daemon, wait

pytestmark = pytest.mark.slow  # the whole daemon in its own process

WALK = {"kind": "synthetic", "script": [{"motion": "walk_in_place", "seconds": 60.0}], "seed": 1}


@pytest.mark.parametrize(
    ("after", "delay_s", "signals"),
    [
        ("metrics on", 0.0, 1),
        ("started worker", 0.0, 1),
        ("started worker", 0.5, 1),
        ("started worker", 0.0, 2),
    ],
    ids=["while-checking", "worker-just-started", "worker-loading", "twice"],
)
def test_sigterm_during_startup_starts_no_camera(
    tmp_path: Path, after: str, delay_s: float, signals: int
) -> None:
    daemon = start_daemon(
        tmp_path, [{"id": "cam", "source": WALK}], demo_profiles(tmp_path / "profiles"),
        metrics={"host": "::", "port": free_port()},
    )  # fmt: skip
    try:
        wait(lambda: after in daemon.log(), 60, after)
        time.sleep(delay_s)
        for _ in range(signals):
            daemon.proc.send_signal(signal.SIGTERM)
            time.sleep(0.2)
        code = daemon.proc.wait(timeout=90)
    finally:
        daemon.stop()
    log = daemon.log()
    received = log.index("received SIGTERM")
    assert "worker up" not in log[:received], "the worker was ready before the signal: nothing tested"
    assert code == 0, log
    assert "started frontend-" not in log, log
    assert "stopped during startup" in log
    assert "Traceback" not in log, log
    # The address users can open: an IPv6 host in brackets.
    assert f"metrics on http://[::]:{daemon.port}/metrics" in log
