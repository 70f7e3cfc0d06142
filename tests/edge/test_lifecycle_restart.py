"""``haad run`` killed with SIGKILL and started again, as systemd does after an OOM kill: the metrics
folder the killed daemon left in the temp folder is removed by the next (one more per kill before)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.daemon_harness import Daemon, demo_profiles, start_daemon, wait

pytestmark = pytest.mark.slow  # the whole daemon in its own process

WALK = {"kind": "synthetic", "script": [{"motion": "walk_in_place", "seconds": 600.0}], "seed": 1}


def metrics_dir(daemon: Daemon) -> Path:
    """The daemon's metrics folder, as its worker was given it."""
    wait(lambda: "haad running" in daemon.log(), 60, "the daemon up")
    environ = Path(f"/proc/{daemon.pids('worker')[-1]}/environ").read_bytes().split(b"\0")
    [folder] = [
        Path(v.split(b"=", 1)[1].decode()) for v in environ if v.startswith(b"PROMETHEUS_MULTIPROC_DIR=")
    ]
    assert folder.is_dir() and any(folder.iterdir())
    return folder


def test_a_killed_daemons_metrics_folder_is_removed_by_the_next_after_one_kill_and_after_two(
    tmp_path: Path,
) -> None:
    # One daemon run through both cases: killed once (the next removes its folder), then killed again
    # (the one after removes the folders of both kills).
    daemon = start_daemon(tmp_path, [{"id": "cam", "source": WALK}], demo_profiles(tmp_path / "profiles"))
    left: list[Path] = []
    try:
        for kill in range(2):
            left.append(metrics_dir(daemon))
            os.kill(daemon.proc.pid, signal.SIGKILL)
            daemon.proc.wait(10)
            assert left[-1].is_dir()  # nobody removed it
            daemon = daemon.again(f"daemon-{kill}.log")
            current = metrics_dir(daemon)
            assert [p for p in left if p.exists()] == [] and current not in left, f"after {kill + 1} kill(s)"
    finally:
        daemon.stop()
    assert not current.exists() and not (tmp_path / "metrics-dir").exists()
