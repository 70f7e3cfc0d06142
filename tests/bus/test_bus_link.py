"""A bus link's faults are said on both ends, and a refused frontend comes back by itself (real
ZeroMQ sockets, real CURVE keys). Before bus/link.py every case below was silent: the frontend
counted its frames as published while none arrived, and a frontend refused once never retried."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import zmq

import bus.link
from bus.curve import CurveKeyError, load_key, make_client_keys, make_server_keys
from bus.messages import SkeletonFrame
from bus.pubsub import Publisher, Subscriber
from config.bus import BusConfig, CurveConfig


def _frame(seq: int) -> SkeletonFrame:
    return SkeletonFrame("cam1", seq, seq / 20, np.zeros((20, 3)), np.ones(20))


def _pump(
    pub: Publisher,
    sub: Subscriber,
    seconds: float,
    until: Callable[[list[SkeletonFrame]], bool] | None = None,
) -> list[SkeletonFrame]:
    """Publish a frame every 0.1 s for ``seconds`` (or, given ``until``, till what arrived satisfies
    it, ``seconds`` at most), as a live camera would; what arrived."""
    got: list[SkeletonFrame] = []
    end = time.monotonic() + seconds
    seq = 0
    while time.monotonic() < end and not (until is not None and until(got)):
        seq += 1
        pub.publish(_frame(seq))
        if (frame := sub.recv(100)) is not None:
            got.append(frame)
    return got


def _said(caplog: pytest.LogCaptureFixture, what: str) -> bool:
    return any(what in r.getMessage() for r in caplog.records)


def test_a_frontend_holding_another_servers_key_is_told_and_the_worker_says_it_refused(
    tcp_endpoint: str, bus_config, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other_public, _ = make_server_keys(tmp_path / "other")
    good = bus_config(tcp_endpoint)
    wrong = good.model_copy(
        update={"curve": good.curve.model_copy(update={"server_public_key": str(other_public)})}
    )
    with caplog.at_level("INFO", logger="bus.link"):
        with Subscriber.from_config(good) as sub, Publisher.from_config(wrong) as pub:
            assert _pump(pub, sub, 1.5) == []
    said = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(said) == 1 and "server_public_key" in said[0].getMessage()  # once, not per retry
    assert any("refused" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


def test_the_worker_names_the_host_and_key_it_refuses(
    tcp_endpoint: str, bus_config, curve_keys: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    # It said only "refused 1 connection(s) from a frontend whose key is not in ...": which of the
    # hosts, with which key, was left to guess.
    stranger, _ = load_key(str(curve_keys["stranger"]), secret=True)
    with caplog.at_level("INFO", logger="bus.link"):
        with Subscriber.from_config(bus_config(tcp_endpoint)) as sub:
            with Publisher.from_config(bus_config(tcp_endpoint, client="stranger")) as pub:
                deadline = time.monotonic() + 30  # 3 s was tight for a loaded host's handshake
                while sub.link is not None and sub.link.refused == 0 and time.monotonic() < deadline:
                    _pump(pub, sub, 0.2)
    said = [r.getMessage() for r in caplog.records if r.name == "bus.link" and r.levelname == "WARNING"]
    assert any(
        f"refused 1 connection(s) whose key is not in bus.curve.authorized_clients: from 127.0.0.1 with key "
        f"{stranger.decode()} (1 since start)" in m
        for m in said
    ), said


def test_a_refused_frontend_retries_by_itself_and_gets_through_once_its_key_is_authorized(
    tcp_endpoint: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bus.link, "RETRY_REFUSED_S", 0.5)
    keys = tmp_path / "keys"
    server_public, server_secret = make_server_keys(keys)
    make_client_keys(keys, "door")
    _, late = make_client_keys(tmp_path / "late", "yard")  # not authorized yet
    curve = CurveConfig(server_secret_key=str(server_secret), authorized_clients=str(keys / "authorized"),
                        server_public_key=str(server_public), client_secret_key=str(late))  # fmt: skip
    config = BusConfig(endpoint=tcp_endpoint, curve=curve)
    with caplog.at_level("INFO", logger="bus.link"), Publisher.from_config(config) as pub:
        with Subscriber.from_config(config) as sub:
            assert _pump(pub, sub, 1.5) == []
        assert any("refused this frontend's key" in r.getMessage() for r in caplog.records)
        # the operator authorizes the key and restarts the worker; the frontend is left running
        shutil.copy(tmp_path / "late" / "authorized" / "yard.key", keys / "authorized" / "yard.key")
        with Subscriber.from_config(config.model_copy(update={"curve": curve.model_copy(update={"senders": {
            "door": [], "yard": ["cam1"]}})})) as sub:  # fmt: skip
            got = _pump(
                pub, sub, 15.0, until=lambda got: bool(got) and _said(caplog, "connected to the worker")
            )
    assert got, "the frontend never reconnected after its key was authorized"
    assert any("connected to the worker" in r.getMessage() for r in caplog.records)


def test_no_worker_is_said_once_after_a_while_and_its_arrival_too(
    ipc_endpoint: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bus.link, "NO_WORKER_S", 0.5)
    with caplog.at_level("INFO", logger="bus.link"):
        pub = Publisher(ipc_endpoint)
        # 1.5 s of frames (three times NO_WORKER_S) at least, and till it was said: a loaded host's
        # link thread may say it later.
        deadline, seq = time.monotonic() + 30, 0
        while seq < 15 or not _said(caplog, "no worker has answered"):
            assert time.monotonic() < deadline
            pub.publish(_frame(seq))
            seq += 1
            time.sleep(0.1)
        absent = [r for r in caplog.records if "no worker has answered" in r.getMessage()]
        with Subscriber(ipc_endpoint) as sub:  # the worker comes up only now
            got = _pump(
                pub, sub, 15.0, until=lambda got: bool(got) and _said(caplog, "connected to the worker")
            )
            pub.close()
    assert len(absent) == 1 and got
    assert "connected to the worker" in caplog.records[-1].getMessage()  # and closed without a word
    with caplog.at_level("INFO", logger="bus.link"), Publisher(f"{ipc_endpoint}.nobody") as pub:
        pub.publish(_frame(0))
        pub.publish(_frame(1))
    assert "closing with no worker connected" in caplog.records[-1].getMessage()
    assert "2 frame(s) queued" in caplog.records[-1].getMessage()


def test_a_worker_that_read_everything_and_stopped_first_leaves_nothing_to_warn_of(
    ipc_endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    # the daemon's own order at the end of a recording: the worker drains the bus and stops, then
    # the frontends close (haad demo once ended with a false "frames ... are lost")
    with caplog.at_level("INFO", logger="bus.link"), Publisher(ipc_endpoint) as pub:
        with Subscriber(ipc_endpoint) as sub:
            assert len(_pump(pub, sub, 15.0, until=lambda got: len(got) >= 5)) >= 5
        time.sleep(0.6)
    assert not any("closing with no worker" in r.getMessage() for r in caplog.records)


def test_a_publisher_whose_key_cannot_be_read_leaves_its_context_free_to_terminate(
    tcp_endpoint: str, bus_config, tmp_path: Path
) -> None:
    # It once left its socket open: the frontend process hung in context.term(), forever "running".
    good = bus_config(tcp_endpoint)
    missing = good.model_copy(
        update={"curve": good.curve.model_copy(update={"client_secret_key": str(tmp_path / "x")})}
    )
    ctx = zmq.Context()
    term = threading.Thread(target=ctx.term, daemon=True)
    try:
        Publisher.from_config(missing, context=ctx)
    except CurveKeyError as e:
        assert "not found" in str(e)
        term.start()  # while the error is raised, as the frontend's `finally: context.term()` runs
        term.join(timeout=10)
    assert term.ident is not None and not term.is_alive(), (
        "context.term() hung on the failed publisher's socket"
    )


def test_each_kind_of_refusal_counts_its_own_since_start(
    tcp_endpoint: str,
    bus_config,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A frontend holding another worker's key fails its handshake several times a second; the line
    # about a refused key said "(157 since start)" when 10 keys had been refused, the rest failed
    # handshakes, so the operator could not tell how often the unauthorized host had knocked.
    monkeypatch.setattr(bus.link, "RETRY_REFUSED_S", 0.3)
    monkeypatch.setattr(bus.link, "REFUSALS_SAID_EVERY_S", 0.5)
    other_public, _ = make_server_keys(tmp_path / "other")
    good = bus_config(tcp_endpoint)
    wrong = good.model_copy(
        update={"curve": good.curve.model_copy(update={"server_public_key": str(other_public)})}
    )
    with caplog.at_level("INFO", logger="bus.link"), Subscriber.from_config(good) as sub:
        with (
            Publisher.from_config(wrong) as lost,
            Publisher.from_config(bus_config(tcp_endpoint, client="stranger")) as stranger,
        ):
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not (
                sub.drops["refused_key"] >= 3 and sub.drops["failed_handshake"] >= 3
            ):
                _pump(lost, sub, 0.1)
                _pump(stranger, sub, 0.1)
            time.sleep(0.6)
            _pump(lost, sub, 0.1)  # past REFUSALS_SAID_EVERY_S: what is unsaid gets said
    said = {"key is not in": 0, "handshake failed": 0}
    for message in (r.getMessage() for r in caplog.records if r.name == "bus.link"):
        for kind in said:
            if kind in message and (
                found := re.search(r"refused (\d+) conn.*\((\d+) since start\)", message)
            ):
                said[kind] += int(found[1])
                assert int(found[2]) == said[kind], (kind, message)
    assert said["key is not in"] >= 3 and said["handshake failed"] >= 3, said
