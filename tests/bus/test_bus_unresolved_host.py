"""A frontend whose bus.endpoint names a host that does not resolve (a typo) is told so: it said only
"no worker has answered", and the operator looked for a worker that was down."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest

import bus.link
from bus.messages import SkeletonFrame
from bus.pubsub import Publisher
from tests.daemon_harness import free_port


def _publish_for(pub: Publisher, seconds: float) -> None:
    end, seq = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        seq += 1
        pub.publish(SkeletonFrame("cam1", seq, seq / 20, np.zeros((20, 3)), np.ones(20)))
        time.sleep(0.05)


def _check_often(monkeypatch: pytest.MonkeyPatch) -> None:
    """The link said down after 0.2 s, checked every 0.1 s: some checks after it is said (once)."""
    monkeypatch.setattr(bus.link, "NO_WORKER_S", 0.2)
    monkeypatch.setattr(bus.link, "CHECK_EVERY_S", 0.1)


def _said(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The link's lines while it runs (not the one on closing, which counts the frames lost)."""
    return [r for r in caplog.records if r.name == "bus.link" and "closing" not in r.getMessage()]


@pytest.mark.parametrize("host", ["worker-typo.invalid", "[worker-typo.invalid]", "lo;worker-typo.invalid"])
def test_a_worker_host_that_does_not_resolve_is_named(
    host: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    _check_often(monkeypatch)
    with caplog.at_level("INFO", logger="bus.link"), Publisher(f"tcp://{host}:5555") as pub:
        _publish_for(pub, 0.6)
    said = [r for r in _said(caplog) if r.levelname in ("WARNING", "ERROR")]
    assert len(said) == 1, [r.getMessage() for r in said]  # once, not per check
    message = said[0].getMessage()
    assert "worker-typo.invalid" in message and "does not resolve" in message
    assert "no worker has answered" not in message


def test_a_worker_host_that_resolves_but_does_not_answer_is_said_absent(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    _check_often(monkeypatch)
    with caplog.at_level("INFO", logger="bus.link"), Publisher(f"tcp://localhost:{free_port()}") as pub:
        _publish_for(pub, 0.6)
    said = [r.getMessage() for r in _said(caplog) if r.levelname == "WARNING"]
    assert len(said) == 1 and "no worker has answered" in said[0] and "resolve" not in said[0]
