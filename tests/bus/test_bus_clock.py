"""A frontend host whose clock is far off: every frame it sends is refused (bad_sent_at), and the
worker's warning says by how much and what to fix, over a real CURVE bus across "hosts"."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from bus.messages import SkeletonFrame
from bus.pubsub import Publisher, Subscriber


def _send_three(pub: Publisher, off_s: float) -> None:
    """Three frames of stream cam1, stamped by a clock ``off_s`` ahead of this host's."""
    for seq in range(1, 4):
        sent_at = time.time() + off_s
        pub.publish(SkeletonFrame("cam1", seq, seq / 20, np.zeros((20, 3)), np.ones(20), sent_at=sent_at))


@pytest.mark.parametrize(("off_s", "said"), [(3600.0, "3,600 s ahead of"), (-400.0, "400 s behind")])
def test_a_frontend_clock_far_off_is_said_with_its_offset_and_the_fix(
    tcp_endpoint: str, bus_config, caplog: pytest.LogCaptureFixture, off_s: float, said: str
) -> None:
    config = bus_config(tcp_endpoint)
    with caplog.at_level("WARNING", logger="bus.pubsub"):
        with Subscriber.from_config(config) as sub, Publisher.from_config(config) as pub:
            _send_three(pub, off_s)
            # until all three are refused (a 3 s wait for a frame that must not come, before)
            received, deadline = [], time.monotonic() + 30
            while sub.drops["bad_sent_at"] < 3 and time.monotonic() < deadline:
                received.append(sub.recv(100))
    assert [f for f in received if f is not None] == []
    assert sub.drops["bad_sent_at"] == 3
    warned = [r.getMessage() for r in caplog.records if "bad_sent_at" in r.getMessage()]
    assert len(warned) == 1, warned
    assert said in warned[0] and "max_clock_skew_s, 300" in warned[0] and "NTP" in warned[0], warned[0]


@pytest.mark.parametrize("off_s", [3.0, 60.0])
def test_a_frontend_clock_a_little_ahead_is_accepted_and_said_once(
    tcp_endpoint: str, bus_config, caplog: pytest.LogCaptureFixture, off_s: float
) -> None:
    # Within max_clock_skew_s every frame passes: alert times were off by as much, latency read 0,
    # and nothing said why.
    config = bus_config(tcp_endpoint)
    with caplog.at_level("WARNING", logger="bus.pubsub"):
        with Subscriber.from_config(config) as sub, Publisher.from_config(config) as pub:
            _send_three(pub, off_s)
            got = [sub.recv(30_000) for _ in range(3)]
    assert all(f is not None for f in got) and not sub.drops
    warned = [r.getMessage() for r in caplog.records if "ahead of this worker's" in r.getMessage()]
    assert len(warned) == 1, warned
    said = re.search(r"stream cam1: its host's clock is ([0-9.]+) s ahead of this worker's", warned[0])
    assert said is not None and abs(float(said[1]) - off_s) < 1, warned[0]
    assert "NTP" in warned[0]


def test_a_frontend_clock_in_sync_is_not_said(
    tcp_endpoint: str, bus_config, caplog: pytest.LogCaptureFixture
) -> None:
    config = bus_config(tcp_endpoint)
    with caplog.at_level("WARNING", logger="bus.pubsub"):
        with Subscriber.from_config(config) as sub, Publisher.from_config(config) as pub:
            pub.publish(SkeletonFrame("cam1", 1, 0.05, np.zeros((20, 3)), np.ones(20)))
            assert sub.recv(30_000) is not None
    assert not [r for r in caplog.records if "ahead of this worker's" in r.getMessage()]
