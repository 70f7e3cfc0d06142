"""A service child stops on SIGTERM however many arrive at once (bus.lifetime.stop_on_signals).

A killed daemon's children get their parent-death signal once per exiting thread of the daemon: a
burst. Setting the stop event inside the signal handler deadlocked the child on the event's lock,
the handler nested in itself (the kill -9 drill found a housekeeping child still running)."""

from __future__ import annotations

import os
import signal
import threading
import time

from config.edge import EdgeConfig
from edge.services import ServiceProcess


def wait_for_stop(_cfg: EdgeConfig, stop: threading.Event) -> None:
    stop.wait()


def test_a_service_child_stops_on_a_burst_of_sigterms() -> None:
    for _ in range(3):
        child = ServiceProcess("haad-test-service", EdgeConfig(), wait_for_stop)
        child.start()
        try:
            time.sleep(1.0)  # running its body, the handler installed
            assert child.pid is not None and child.is_alive()
            for _ in range(200):
                os.kill(child.pid, signal.SIGTERM)
            child.join(10.0)
            assert not child.is_alive(), "the child hung on a burst of SIGTERMs"
            assert child.exitcode == 0
        finally:
            if child.is_alive():
                child.kill()
                child.join(5.0)
