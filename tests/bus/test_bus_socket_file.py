"""The ipc socket file of a bus end that binds is removed when it closes (a clean stop left
bus.sock behind), but never one that another process has bound at that path since."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zmq

from bus.messages import SkeletonFrame
from bus.pubsub import Publisher, Subscriber


@pytest.mark.parametrize("frames", [0, 3])
def test_a_bound_subscriber_removes_its_socket_file_when_it_closes(tmp_path: Path, frames: int) -> None:
    path = tmp_path / "bus.sock"
    with Subscriber(f"ipc://{path}", streams=["cam"]) as sub, Publisher(f"ipc://{path}") as pub:
        assert path.exists()
        for seq in range(1, frames + 1):  # closed idle, and after it received
            pub.publish(
                SkeletonFrame("cam", seq, float(seq), np.zeros((20, 3), np.float32), np.ones(20, np.float32))
            )
            assert sub.recv(timeout_ms=30_000) is not None
    assert not path.exists()


def test_a_bound_publisher_removes_its_socket_file_when_it_closes(tmp_path: Path) -> None:
    path = tmp_path / "bus.sock"
    Publisher(f"ipc://{path}", bind=True).close()
    assert not path.exists()


def test_a_socket_file_bound_again_by_another_end_is_left_to_it(tmp_path: Path) -> None:
    path = tmp_path / "bus.sock"
    first = Subscriber(f"ipc://{path}")
    context = zmq.Context()
    try:
        with Subscriber(f"ipc://{path}", context=context):  # ZeroMQ replaces the file with its own
            first.close()
            assert path.exists()  # the second one's: removing it would cut its senders off
        assert not path.exists()
    finally:
        context.term()
