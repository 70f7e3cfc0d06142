"""The bus over real ZeroMQ sockets (ipc:// in tmp_path, tcp://127.0.0.1 with CURVE keys).

PUSH/PULL: a frontend's frames queue until the worker is there, so tests need no probing; every
tcp:// test runs with real CURVE keys, as a tcp bus must.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import zmq

from bus.curve import make_client_keys, make_server_keys
from bus.messages import SkeletonFrame, encode
from bus.pubsub import HARD_MESSAGE_LIMIT_BYTES, Publisher, Subscriber
from config.bus import BusConfig, CurveConfig


def _empty(stream_id: str, seq: int) -> SkeletonFrame:
    return SkeletonFrame(stream_id, seq, seq / 20, None, None)


def _person(stream_id: str, seq: int, t: float | None = None) -> SkeletonFrame:
    joints = np.full((20, 3), seq / 100)
    joints[5] = np.nan
    return SkeletonFrame(stream_id, seq, seq / 20 if t is None else t, joints, np.linspace(0, 1, 20))


def _drain(sub: Subscriber, quiet_ms: int = 300, *, expect: int = 1) -> list[SkeletonFrame]:
    """What ``sub`` receives until ``quiet_ms`` pass without a frame, once ``expect`` frames came
    (waited for up to 30 s each: on a loaded host a connection, a CURVE handshake or the frames'
    way through ZeroMQ took longer than one quiet gap, and the drain ended before them)."""
    frames: list[SkeletonFrame] = []
    while (frame := sub.recv(30_000 if len(frames) < expect else quiet_ms)) is not None:
        frames.append(frame)
    return frames


@pytest.fixture
def raw_push(ipc_endpoint: str) -> Iterator[zmq.Socket]:
    """A bare PUSH socket for sending messages no Publisher would produce."""
    sock = zmq.Context.instance().socket(zmq.PUSH)
    sock.linger = 0
    sock.connect(ipc_endpoint)
    yield sock
    sock.close(linger=0)


def test_frames_with_and_without_person_round_trip(endpoint: str, bus_config) -> None:
    config: BusConfig = bus_config(endpoint)
    with Subscriber.from_config(config) as sub, Publisher.from_config(config) as pub:
        sent = [_person("cam1", 1), _empty("cam1", 2)]
        for frame in sent:
            assert pub.publish(frame)
        got = [sub.recv(30_000), sub.recv(30_000)]
    assert all(g is not None for g in got)
    person, empty = got
    assert person.person and not empty.person
    assert empty.joints is None and empty.visibility is None
    for a, b in zip(sent, got, strict=True):
        assert (a.stream_id, a.seq, a.timestamp, a.sent_at) == (b.stream_id, b.seq, b.timestamp, b.sent_at)
    np.testing.assert_array_equal(person.joints, sent[0].joints)  # the NaN joint survives
    assert np.isnan(person.joints[5]).all()
    np.testing.assert_array_equal(person.visibility, sent[0].visibility)
    assert sub.drops == Counter() and sub.received["cam1"] == 2


def test_invalid_message_is_counted_and_next_frame_still_arrives(
    ipc_endpoint: str, raw_push: zmq.Socket, bad_message: tuple[list[bytes], str]
) -> None:
    parts, reason = bad_message
    with Subscriber(ipc_endpoint) as sub:
        raw_push.send_multipart(parts)
        raw_push.send_multipart(encode(_person("cam1", 1)))
        frame = sub.recv(30_000)
        assert frame is not None and (frame.stream_id, frame.seq) == ("cam1", 1)
        assert sub.drops == Counter({reason: 1})


def test_message_over_hard_limit_disconnects_sender_but_the_worker_carries_on(
    ipc_endpoint: str, raw_push: zmq.Socket
) -> None:
    with Subscriber(ipc_endpoint) as sub, Publisher(ipc_endpoint) as pub:
        raw_push.send_multipart([b"skel/cam1", bytes(HARD_MESSAGE_LIMIT_BYTES + 1)])
        pub.publish(_person("after", 1))
        assert _drain(sub)[-1].stream_id == "after"
        assert sub.drops == Counter()


def test_seq_gaps_count_the_missing_frames_and_a_huge_jump_is_refused(ipc_endpoint: str) -> None:
    with Subscriber(ipc_endpoint) as sub, Publisher(ipc_endpoint) as pub:
        for s in (1, 4, 5, 11, 10**18, 12):  # 2, then 5 frames lost upstream; a jump no sender makes
            pub.publish(_person("cam1", s, t=s / 20 if s < 100 else 1.0))
        got = _drain(sub, expect=5)
    assert [f.seq for f in got] == [1, 4, 5, 11, 12]
    assert sub.drops == Counter({"seq_gap": 7, "seq_jump": 1})


def test_a_restarted_frontend_is_followed_once_its_stream_was_silent(ipc_endpoint: str, bus_config) -> None:
    config = bus_config(ipc_endpoint).model_copy(
        update={"guard": BusConfig().guard.model_copy(update={"reanchor_after_s": 0.3})}
    )
    with Subscriber.from_config(config) as sub, Publisher.from_config(config) as pub:
        for s in (5, 6, 7):
            pub.publish(_person("cam1", s))
        assert [f.seq for f in _drain(sub, expect=3)] == [5, 6, 7]
        time.sleep(0.4)  # the frontend died and came back: seq and its clock start again
        for s in (1, 2):
            pub.publish(_person("cam1", s))
        assert [f.seq for f in _drain(sub, expect=2)] == [1, 2]
    assert sub.drops == Counter()


def test_frames_that_do_not_follow_a_healthy_stream_are_refused_and_counted(ipc_endpoint: str) -> None:
    """A stray sender interleaving with a live camera cannot move its stream's clock."""
    with Subscriber(ipc_endpoint, streams=["cam1"]) as sub, Publisher(ipc_endpoint) as pub:
        t = 100.0
        for s in range(1, 31):
            pub.publish(_person("cam1", s, t=t + s / 30))  # the camera, 1 s of frames
            if s % 5 == 0:  # and the intruder, between its frames
                pub.publish(_person("cam1", 10**6 + s, t=t + 1e6))  # far ahead
                pub.publish(_person("cam1", s, t=t + s / 30))  # a repeated seq
                pub.publish(SkeletonFrame("cam1", s + 1, t - 50, None, None))  # back in time
                pub.publish(SkeletonFrame("cam1", s + 1, t + 1, None, None, sent_at=-1e308))
        got = _drain(sub, expect=30)
    assert [f.seq for f in got] == list(range(1, 31))
    assert sub.drops == Counter({"time_jump": 6, "out_of_order": 6, "time_backwards": 6, "bad_sent_at": 6})


def test_frames_of_streams_the_worker_does_not_serve_are_refused_without_state(ipc_endpoint: str) -> None:
    with Subscriber(ipc_endpoint, streams=["cam1"]) as sub, Publisher(ipc_endpoint) as pub:
        for i in range(500):
            pub.publish(_person(f"fake{i}", 1))
        pub.publish(_person("cam1", 1))
        got = _drain(sub)
    assert [f.stream_id for f in got] == ["cam1"]
    assert sub.drops == Counter({"unknown_stream": 500}) and set(sub.received) == {"cam1"}


def test_several_frontends_feed_one_worker_over_curve(tcp_endpoint: str, bus_config) -> None:
    config = bus_config(tcp_endpoint)
    streams = ["cam1", "cam2", "cam3"]
    with Subscriber.from_config(config) as sub:
        pubs = [Publisher.from_config(config) for _ in streams]
        try:
            for i in range(1, 21):
                for s, p in zip(streams, pubs, strict=True):
                    p.publish(_person(s, i))
            got = _drain(sub, expect=60)
        finally:
            for p in pubs:
                p.close()
    for s in streams:
        assert [f.seq for f in got if f.stream_id == s] == list(range(1, 21))
    assert sub.drops == Counter()


def test_a_tcp_worker_admits_only_authorized_frontends(tcp_endpoint: str, bus_config) -> None:
    with Subscriber.from_config(bus_config(tcp_endpoint)) as sub:
        with Publisher.from_config(bus_config(tcp_endpoint, client="stranger")) as stranger:
            stranger.publish(_person("cam1", 1))
            assert sub.recv(1000) is None  # its key is not authorized: the handshake fails
        plain = zmq.Context.instance().socket(zmq.PUSH)  # no CURVE at all
        plain.linger = 0
        plain.connect(tcp_endpoint)
        try:
            plain.send_multipart(encode(_person("cam1", 2)), zmq.NOBLOCK)
        except zmq.Again:  # the worker already refused the handshake and dropped the only pipe
            pass
        assert sub.recv(1000) is None
        plain.close()
        with Publisher.from_config(bus_config(tcp_endpoint)) as good:
            good.publish(_person("cam1", 3))
            frame = sub.recv(30_000)
    assert frame is not None and frame.seq == 3


def test_a_valid_key_for_one_camera_cannot_send_as_another(tcp_endpoint: str, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    server_public, server_secret = make_server_keys(keys)
    _, door = make_client_keys(keys, "door")
    _, yard = make_client_keys(keys, "yard")

    def config(client: Path) -> BusConfig:
        curve = CurveConfig(
            server_secret_key=str(server_secret), authorized_clients=str(keys / "authorized"),
            server_public_key=str(server_public), client_secret_key=str(client),
            senders={"door": ["door"], "yard": ["yard"]},
        )  # fmt: skip
        return BusConfig(endpoint=tcp_endpoint, curve=curve)

    with (
        Subscriber.from_config(config(door), streams=["door", "yard"]) as sub,
        Publisher.from_config(config(door)) as door_host,
        Publisher.from_config(config(yard)) as yard_host,
    ):
        for s in range(1, 21):
            yard_host.publish(_person("door", 10**6 + s))  # the yard's valid key posing as the door
            door_host.publish(_person("door", s))
            yard_host.publish(_person("yard", s))
        got = _drain(sub, expect=40)
    assert [f.seq for f in got if f.stream_id == "door"] == list(range(1, 21))
    assert [f.seq for f in got if f.stream_id == "yard"] == list(range(1, 21))
    assert sub.drops == Counter({"wrong_sender": 20})


def test_an_ipc_socket_admits_only_its_owner_whatever_the_umask() -> None:
    folder = Path(tempfile.mkdtemp(prefix="haad-ipc-"))  # a folder everyone may enter, as /tmp
    folder.chmod(0o755)
    path = folder / "bus.sock"
    umask = os.umask(0)  # a permissive umask (0002 is common) must not open the socket to others
    try:
        sub = Subscriber(f"ipc://{path}")
    finally:
        os.umask(umask)
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        if os.geteuid() == 0 and shutil.which("setpriv") and Path("/usr/bin/python3").is_file():
            connect = f"import socket; socket.socket(socket.AF_UNIX).connect({str(path)!r})"
            other = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                    "/usr/bin/python3", "-c", connect], capture_output=True, text=True)  # fmt: skip
            assert other.returncode != 0 and "Permission denied" in other.stderr, other.stderr
    finally:
        sub.close()
        shutil.rmtree(folder)


def test_a_tcp_bus_without_keys_is_refused() -> None:
    with pytest.raises(ValueError, match="CURVE"):
        BusConfig(endpoint="tcp://127.0.0.1:5555")


def test_recv_returns_none_after_timeout(ipc_endpoint: str) -> None:
    with Subscriber(ipc_endpoint) as sub:
        start = time.monotonic()
        assert sub.recv(100) is None
        assert 0.09 <= time.monotonic() - start < 10  # its timeout, not for ever (1 s was tight)
        assert sub.recv_batch(10, 0) == []


def test_recv_batch_returns_queued_frames_up_to_max(ipc_endpoint: str) -> None:
    with Subscriber(ipc_endpoint) as sub, Publisher(ipc_endpoint) as pub:
        for s in range(1, 11):
            pub.publish(_person("cam1", s))
        time.sleep(0.3)  # let the burst reach the worker's queue
        batches: list[list[SkeletonFrame]] = []
        while sum(map(len, batches)) < 10 and (batch := sub.recv_batch(4, 30_000)):
            batches.append(batch)
        assert sub.recv_batch(4, 50) == []
    # [4, 4, 2] once the whole burst is queued; a loaded host's ZeroMQ may take it in later than
    # the 0.3 s (then a batch took less, never more): what was queued, up to the maximum.
    assert 4 in map(len, batches) and all(len(b) <= 4 for b in batches), [len(b) for b in batches]
    assert [f.seq for b in batches for f in b] == list(range(1, 11))
    with pytest.raises(ValueError):
        sub.recv_batch(0, 10)


def test_a_live_source_never_waits_and_counts_what_the_bus_had_no_room_for(ipc_endpoint: str) -> None:
    n = 5000
    with Subscriber(ipc_endpoint, hwm=10) as sub, Publisher(ipc_endpoint, hwm=10) as pub:
        start = time.monotonic()
        sent = sum(pub.publish(_person("cam1", s)) for s in range(1, n + 1))  # nobody reads meanwhile
        publish_s = time.monotonic() - start
        got = _drain(sub, expect=sent)
    assert publish_s < 30 and 0 < sent < n  # a publish waiting for room would wait for ever
    assert len(got) == sent  # every frame not sent was reported to the sender, none vanished
    seqs = [f.seq for f in got]
    assert seqs == sorted(set(seqs))


def test_a_file_source_waits_for_room_and_loses_nothing(ipc_endpoint: str) -> None:
    n = 3000
    stop = threading.Event()
    with Subscriber(ipc_endpoint, hwm=10) as sub:
        received: list[int] = []

        def slow_worker() -> None:
            while len(received) < n and (f := sub.recv(30_000)) is not None:
                received.append(f.seq)

        reader = threading.Thread(target=slow_worker)
        reader.start()
        with Publisher(ipc_endpoint, hwm=10) as pub:
            assert all(pub.publish(_person("cam1", s), wait=stop) for s in range(1, n + 1))
            reader.join(30)  # the sender stays open until the worker has read its queue
    assert received == list(range(1, n + 1))


def test_frames_sent_while_the_worker_restarts_reach_the_new_worker(ipc_endpoint: str) -> None:
    with Publisher(ipc_endpoint, hwm=100) as pub:
        with Subscriber(ipc_endpoint) as first:
            pub.publish(_person("cam1", 1))
            assert first.recv(30_000) is not None
        time.sleep(0.2)  # the worker is gone; the frontend keeps sending
        sent = [s for s in range(2, 40) if pub.publish(_person("cam1", s))]
        with Subscriber(ipc_endpoint) as second:
            got = [f.seq for f in _drain(second, 1000)]
    assert sent and got[-len(sent) :] == sent[-len(got) :] and len(got) >= len(sent) - 5


def test_reversed_topology_from_config(ipc_endpoint: str) -> None:
    config = BusConfig(endpoint=ipc_endpoint, subscriber_binds=False, publisher_hwm=50, subscriber_hwm=50)
    with Publisher.from_config(config) as pub, Subscriber.from_config(config, streams=["cam1"]) as sub:
        # The worker connects asynchronously; a live frame sent before that would be dropped (and
        # counted), so send as a file source does: waiting for the worker.
        assert pub.publish(_person("cam1", 1), wait=threading.Event())
        frame = sub.recv(30_000)
    assert frame is not None and frame.seq == 1


def test_closing_sockets_lets_own_context_terminate(ipc_endpoint: str) -> None:
    ctx = zmq.Context()
    sub = Subscriber(ipc_endpoint, context=ctx)
    pub = Publisher(f"{ipc_endpoint}.nobody-here", context=ctx)
    for s in range(100):  # queued for a worker that never comes; closing without flush discards them
        pub.publish(_person("cam1", s))
    pub.close()
    sub.close()
    term = threading.Thread(target=ctx.term, daemon=True)
    term.start()
    term.join(timeout=10)
    assert not term.is_alive(), "context.term() hung: a socket lingered"


def test_bind_failure_names_the_endpoint(tmp_path) -> None:
    with pytest.raises(zmq.ZMQError, match="cannot bind"):
        Subscriber(f"ipc://{tmp_path}/no/such/dir/bus.sock")


def test_empty_stream_list_is_refused(ipc_endpoint: str) -> None:
    with pytest.raises(ValueError, match="at least one stream"):
        Subscriber(ipc_endpoint, streams=[])


def test_a_refused_frame_at_an_absurd_time_is_logged_in_one_short_line(
    ipc_endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The drop line wrote the timestamp with 3 decimals: 1e300 came out as a 305-digit number.
    with Subscriber(ipc_endpoint, streams=["cam1"]) as sub, Publisher(ipc_endpoint) as pub:
        pub.publish(_empty("cam1", 1))
        pub.publish(SkeletonFrame("cam1", 2, 1e300, None, None))  # a time jump
        assert len(_drain(sub)) == 1
    (line,) = [r.getMessage() for r in caplog.records if "time_jump" in r.getMessage()]
    assert "1e+300" in line and len(line) < 100
