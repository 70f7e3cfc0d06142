"""A frontend host whose clock is far off: every frame it sends is refused (bad_sent_at), and the
worker's warning says by how much and what to fix, over a real CURVE bus across "hosts"."""

from __future__ import annotations

import time

import numpy as np
import pytest

from bus.messages import SkeletonFrame
from bus.pubsub import Publisher, Subscriber


@pytest.mark.parametrize(("off_s", "said"), [(3600.0, "3,600 s ahead of"), (-400.0, "400 s behind")])
def test_a_frontend_clock_far_off_is_said_with_its_offset_and_the_fix(
    tcp_endpoint: str, bus_config, caplog: pytest.LogCaptureFixture, off_s: float, said: str
) -> None:
    config = bus_config(tcp_endpoint)
    with caplog.at_level("WARNING", logger="bus.pubsub"):
        with Subscriber.from_config(config) as sub, Publisher.from_config(config) as pub:
            for seq in range(1, 4):
                sent_at = time.time() + off_s
                pub.publish(
                    SkeletonFrame("cam1", seq, seq / 20, np.zeros((20, 3)), np.ones(20), sent_at=sent_at)
                )
            assert sub.recv(3000) is None
            deadline = time.monotonic() + 5
            while sub.drops["bad_sent_at"] < 3 and time.monotonic() < deadline:
                sub.recv(100)
    assert sub.drops["bad_sent_at"] == 3
    warned = [r.getMessage() for r in caplog.records if "bad_sent_at" in r.getMessage()]
    assert len(warned) == 1, warned
    assert said in warned[0] and "max_clock_skew_s, 300" in warned[0] and "NTP" in warned[0], warned[0]
