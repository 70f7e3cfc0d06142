"""A frontend that closes before it sent a frame (its file missing, its camera never opened) said
"bus: connected to the worker" as its last word: the link's monitor is read when frames are sent, so
the connection was first read while closing, and said as news on the way out."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from bus.pubsub import Publisher, Subscriber


@pytest.mark.parametrize("open_s", [0.2, 0.8])
def test_a_frontend_closing_unused_does_not_say_it_connected(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, open_s: float
) -> None:
    endpoint = f"ipc://{tmp_path}/bus.sock"
    with Subscriber(endpoint), caplog.at_level(logging.INFO, logger="bus.link"):
        pub = Publisher(endpoint)
        time.sleep(open_s)  # connected meanwhile, never read
        pub.close()
    assert [r.getMessage() for r in caplog.records if r.name == "bus.link"] == []
