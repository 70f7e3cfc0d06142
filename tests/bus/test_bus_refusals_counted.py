"""Connections the worker refuses (a key not authorized, a handshake with a wrong server key) are
counted where its metrics read the bus's drops (``Subscriber.drops`` -> ``haad_drops_total{reason}``):
they were only logged, so no dashboard or alert rule saw a frontend locked out."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from bus.curve import make_server_keys
from bus.messages import DROP_REASONS, SkeletonFrame
from bus.pubsub import Publisher, Subscriber
from config.bus import BusConfig


def _until_counted(pub: Publisher, sub: Subscriber, reason: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    seq = 0
    while sub.drops[reason] == 0 and time.monotonic() < deadline:
        seq += 1
        pub.publish(SkeletonFrame("cam1", seq, seq / 20, np.zeros((20, 3)), np.ones(20)))
        assert sub.recv(100) is None


@pytest.mark.parametrize("worker_first", [True, False])
def test_a_frontend_whose_key_is_not_authorized_is_counted_as_refused(
    tcp_endpoint: str, bus_config, worker_first: bool
) -> None:
    stranger = (
        Publisher.from_config(bus_config(tcp_endpoint, client="stranger")) if not worker_first else None
    )
    with Subscriber.from_config(bus_config(tcp_endpoint)) as sub:
        with stranger or Publisher.from_config(bus_config(tcp_endpoint, client="stranger")) as pub:
            _until_counted(pub, sub, "refused_key")
    assert sub.drops["refused_key"] >= 1 and sub.drops["failed_handshake"] == 0
    assert sub.link is None or sub.link.refused == sub.drops["refused_key"]


def test_a_frontend_with_another_servers_key_is_counted_as_a_failed_handshake(
    tcp_endpoint: str, bus_config, tmp_path: Path
) -> None:
    other_public, _ = make_server_keys(tmp_path / "other")
    good: BusConfig = bus_config(tcp_endpoint)
    assert good.curve is not None
    wrong = good.model_copy(
        update={"curve": good.curve.model_copy(update={"server_public_key": str(other_public)})}
    )
    with Subscriber.from_config(good) as sub, Publisher.from_config(wrong) as pub:
        _until_counted(pub, sub, "failed_handshake")
    assert sub.drops["failed_handshake"] >= 1 and sub.drops["refused_key"] == 0


def test_refusals_are_drop_reasons_so_their_series_exist_from_the_start() -> None:
    # the daemon makes a haad_drops_total series at 0 for each of DROP_REASONS
    assert {"refused_key", "failed_handshake"} <= set(DROP_REASONS)
