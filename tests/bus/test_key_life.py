"""An operator's keys over months, on a real CURVE bus over tcp: a frontend's key revoked (refused once
the worker restarts, whether it stays connected or reconnects) and the worker's key pair rotated in the
order docs/bus.md gives (frontends first: every frame arrives); a frontend started before its worker
and one sending while the worker restarts lose nothing but what a dying worker held, over CURVE too
(tests/bus/test_bus_pubsub.py covers these over ipc only)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import zmq

from bus.curve import make_client_keys, make_server_keys
from bus.messages import SkeletonFrame
from bus.pubsub import Publisher, Subscriber
from config.bus import BusConfig, CurveConfig


def _frame(stream: str, seq: int) -> SkeletonFrame:
    return SkeletonFrame(stream, seq, seq / 20, np.zeros((20, 3)), np.ones(20))


class _Camera:
    """A frontend host sending one stream every call of :meth:`send`."""

    def __init__(self, endpoint: str, stream: str, server_public: Path, secret: Path) -> None:
        self.stream, self.seq, self.sent = stream, 0, []
        curve = CurveConfig(server_public_key=str(server_public), client_secret_key=str(secret))
        self.pub = Publisher.from_config(BusConfig(endpoint=endpoint, curve=curve))

    def send(self) -> None:
        self.seq += 1
        if self.pub.publish(
            _frame(self.stream, self.seq)
        ):  # False: refused, no queue (a live camera drops it)
            self.sent.append(self.seq)


def _run(
    cameras: list[_Camera],
    sub: Subscriber | _Idle,
    seconds: float,
    until: Callable[[dict[str, list[int]]], bool] | None = None,
) -> dict[str, list[int]]:
    """Send a frame from each camera every 20 ms for ``seconds`` (or, given ``until``, until what
    arrived satisfies it, ``seconds`` at most); the seqs that arrived, by stream."""
    got: dict[str, list[int]] = {c.stream: [] for c in cameras}
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (until is not None and until(got)):
        for camera in cameras:
            camera.send()
        while (frame := sub.recv(20)) is not None:
            got[frame.stream_id].append(frame.seq)
    return got


def _all_came(got: dict[str, list[int]]) -> bool:
    return all(got.values())


def _came_after(stream: str, seq: int) -> Callable[[dict[str, list[int]]], bool]:
    """Whether a frame of ``stream`` sent after its ``seq`` arrived: what was queued before is through."""
    return lambda got: any(s > seq for s in got[stream])


# A bound for a run that stops at its condition: reached only when the test fails.
_UNTIL_S = 30.0


def _worker(endpoint: str, secret: Path, authorized: Path, senders: dict[str, list[str]]) -> Subscriber:
    curve = CurveConfig(server_secret_key=str(secret), authorized_clients=str(authorized), senders=senders)
    deadline = time.monotonic() + 30
    while True:  # the worker it replaces may hold the port a moment after closing (a new process would not)
        try:
            return Subscriber.from_config(BusConfig(endpoint=endpoint, curve=curve))
        except zmq.ZMQError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.mark.parametrize("revoked", ["while-connected", "then-reconnects"])
def test_a_revoked_frontend_sends_until_the_worker_restarts_and_never_after(
    tcp_endpoint: str, tmp_path: Path, revoked: str
) -> None:
    keys = tmp_path / "keys"
    server_public, server_secret = make_server_keys(keys)
    _, dock_secret = make_client_keys(keys, "dock")
    _, yard_secret = make_client_keys(keys, "yard")
    authorized = keys / "authorized"
    dock = _Camera(tcp_endpoint, "dock", server_public, dock_secret)
    yard = _Camera(tcp_endpoint, "yard", server_public, yard_secret)
    try:
        sub = _worker(tcp_endpoint, server_secret, authorized, {"dock": ["dock"], "yard": ["yard"]})
        assert _all_came(_run([dock, yard], sub, _UNTIL_S, until=_all_came))
        (authorized / "dock.key").unlink()  # the dock host was lost: its key is revoked
        if revoked == "then-reconnects":
            dock.pub.close()
            last, dock = dock.seq, _Camera(tcp_endpoint, "dock", server_public, dock_secret)
            dock.seq = last  # goes on where it stopped, as a restarted frontend does
        # The worker read its keys when it started: the revoked key still gets through, as documented.
        assert _run([dock, yard], sub, _UNTIL_S, until=_came_after("dock", dock.seq))["dock"]
        sub.close()
        sub = _worker(tcp_endpoint, server_secret, authorized, {"yard": ["yard"]})
        after = _run([dock, yard], sub, 2.0)
        sub.close()
        assert after["yard"] and not after["dock"]
    finally:
        dock.pub.close()
        yard.pub.close()


@pytest.mark.parametrize("worker_restart_after_s", [0.0, 0.5, 2.0])
def test_rotating_the_worker_key_frontends_first_loses_no_frame(
    tcp_endpoint: str, tmp_path: Path, worker_restart_after_s: float
) -> None:
    keys = tmp_path / "keys"
    old_public, old_secret = make_server_keys(keys)
    _, dock_secret = make_client_keys(keys, "dock")
    new_public, new_secret = make_server_keys(tmp_path / "new")  # `haad keys server new/`
    authorized = keys / "authorized"
    sub = _worker(tcp_endpoint, old_secret, authorized, {"dock": ["dock"]})
    dock = _Camera(tcp_endpoint, "dock", old_public, dock_secret)
    got = _run([dock], sub, _UNTIL_S, until=_all_came)["dock"]
    try:
        # 1. each frontend host gets new/server.key and restarts; the old worker refuses its handshake
        while (frame := sub.recv(200)) is not None:  # a stopping frontend waits for the worker to read it
            got.append(frame.seq)
        dock.pub.close()
        shutil.copy(new_public, tmp_path / "frontend-server.key")
        dock = _Camera(tcp_endpoint, "dock", tmp_path / "frontend-server.key", dock_secret)
        dock.seq = got[-1]
        got += _run([dock], sub, worker_restart_after_s)["dock"]
        # 2. the worker restarts on new/server.key_secret; the frontends' queues come through
        sub.close()
        sub = _worker(tcp_endpoint, new_secret, authorized, {"dock": ["dock"]})
        got += _run([dock], sub, _UNTIL_S, until=_came_after("dock", dock.seq))["dock"]
        while (frame := sub.recv(500)) is not None:
            got.append(frame.seq)
    finally:
        dock.pub.close()
        sub.close()
    assert got == list(range(1, dock.seq + 1)) and dock.sent[-1] == dock.seq


@pytest.mark.parametrize("worker_after_s", [0.0, 0.3, 1.5])
def test_a_frontend_started_before_the_worker_delivers_all_it_queued_over_curve(
    tcp_endpoint: str, tmp_path: Path, worker_after_s: float
) -> None:
    keys = tmp_path / "keys"
    public, secret = make_server_keys(keys)
    _, dock_secret = make_client_keys(keys, "dock")
    dock = _Camera(tcp_endpoint, "dock", public, dock_secret)
    try:
        end = time.monotonic() + worker_after_s
        while True:  # the handshake waits for a worker: frames queue meanwhile
            dock.send()
            if time.monotonic() >= end:
                break
            time.sleep(0.02)
        sub = _worker(tcp_endpoint, secret, keys / "authorized", {"dock": ["dock"]})
        got = _run([dock], sub, _UNTIL_S, until=_came_after("dock", dock.seq))["dock"]
        while (frame := sub.recv(500)) is not None:
            got.append(frame.seq)
        sub.close()
    finally:
        dock.pub.close()
    assert got == list(range(1, dock.seq + 1)) == dock.sent


@pytest.mark.parametrize("down_s", [0.0, 0.5, 2.0])
def test_frames_sent_while_a_curve_worker_restarts_reach_the_new_one(
    tcp_endpoint: str, tmp_path: Path, down_s: float
) -> None:
    keys = tmp_path / "keys"
    public, secret = make_server_keys(keys)
    _, dock_secret = make_client_keys(keys, "dock")
    dock = _Camera(tcp_endpoint, "dock", public, dock_secret)
    sub = _worker(tcp_endpoint, secret, keys / "authorized", {"dock": ["dock"]})
    try:
        got = _run([dock], sub, _UNTIL_S, until=_all_came)["dock"]
        sub.close()  # read everything it was handed: only frames inside a dying worker are lost
        got += _run([dock], _Idle(), down_s)["dock"]
        sub = _worker(tcp_endpoint, secret, keys / "authorized", {"dock": ["dock"]})
        got += _run([dock], sub, _UNTIL_S, until=_came_after("dock", dock.seq))["dock"]
        while (frame := sub.recv(500)) is not None:
            got.append(frame.seq)
        sub.close()
    finally:
        dock.pub.close()
    lost = sorted(set(dock.sent) - set(got))
    assert got == sorted(got) and len(lost) <= 5, lost  # at most the few libzmq had in flight


class _Idle:
    """No worker at all: what :func:`_run` reads while it is down."""

    def recv(self, timeout_ms: int) -> None:
        time.sleep(timeout_ms / 1000)
