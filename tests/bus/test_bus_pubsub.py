"""The bus over real ZeroMQ sockets (ipc:// in tmp_path, tcp://127.0.0.1 on a free port).

PUB/SUB drops everything published before the subscription reaches the publisher (slow joiner), so
every test first publishes probe frames until one arrives (``_sync``) instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import zmq

from bus.messages import SkeletonFrame, encode
from bus.pubsub import HARD_MESSAGE_LIMIT_BYTES, Publisher, Subscriber
from config.bus import BusConfig

Send = Callable[[SkeletonFrame], None]


def _empty(stream_id: str, seq: int) -> SkeletonFrame:
    return SkeletonFrame(stream_id, seq, seq / 20, None, None)


def _person(stream_id: str, seq: int) -> SkeletonFrame:
    joints = np.full((20, 3), seq / 100)
    joints[5] = np.nan
    return SkeletonFrame(stream_id, seq, seq / 20, joints, np.linspace(0, 1, 20))


def _sync(send: Send, sub: Subscriber, stream_id: str = "cam1", first_seq: int = 0) -> int:
    """Publish probes of ``stream_id`` until one arrives, drain the rest; returns the next free seq.

    Probes lost before the subscription took effect precede the first one received, so they are
    not counted as a gap.
    """
    seq = first_seq
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        send(_empty(stream_id, seq))
        seq += 1
        if sub.recv(20) is not None:
            while sub.recv(20) is not None:
                pass
            return seq
    raise AssertionError(f"subscription for {stream_id} not established within 5 s")


def _drain(sub: Subscriber, quiet_ms: int = 200) -> list[SkeletonFrame]:
    frames = []
    while (frame := sub.recv(quiet_ms)) is not None:
        frames.append(frame)
    return frames


@pytest.fixture
def raw_pub(ipc_endpoint: str) -> Iterator[zmq.Socket]:
    """A bare PUB socket for sending messages no Publisher would produce."""
    sock = zmq.Context.instance().socket(zmq.PUB)
    sock.linger = 0
    sock.connect(ipc_endpoint)
    yield sock
    sock.close(linger=0)


def test_frames_with_and_without_person_round_trip(endpoint: str) -> None:
    with Subscriber(endpoint) as sub, Publisher(endpoint) as pub:
        seq = _sync(pub.publish, sub)
        sent = [_person("cam1", seq), _empty("cam1", seq + 1)]
        for frame in sent:
            pub.publish(frame)
        got = [sub.recv(2000), sub.recv(2000)]
    assert all(g is not None for g in got)
    person, empty = got
    assert person.person and not empty.person
    assert empty.joints is None and empty.visibility is None
    for a, b in zip(sent, got, strict=True):
        assert (a.stream_id, a.seq, a.timestamp, a.sent_at) == (b.stream_id, b.seq, b.timestamp, b.sent_at)
    np.testing.assert_array_equal(person.joints, sent[0].joints)  # the NaN joint survives
    assert np.isnan(person.joints[5]).all()
    np.testing.assert_array_equal(person.visibility, sent[0].visibility)
    assert sub.drops == Counter()
    assert sub.received["cam1"] >= 3  # at least one probe and both frames


def test_invalid_message_is_counted_and_next_frame_still_arrives(
    ipc_endpoint: str, raw_pub: zmq.Socket, bad_message: tuple[list[bytes], str]
) -> None:
    parts, reason = bad_message
    with Subscriber(ipc_endpoint) as sub:
        seq = _sync(lambda f: raw_pub.send_multipart(encode(f)), sub)
        raw_pub.send_multipart(parts)
        raw_pub.send_multipart(encode(_person("cam1", seq)))
        frame = sub.recv(2000)
        assert frame is not None and (frame.stream_id, frame.seq) == ("cam1", seq)
        assert sub.drops == Counter({reason: 1})


def test_message_over_hard_limit_disconnects_sender_but_subscriber_carries_on(
    ipc_endpoint: str, raw_pub: zmq.Socket
) -> None:
    with Subscriber(ipc_endpoint) as sub:
        _sync(lambda f: raw_pub.send_multipart(encode(f)), sub)
        raw_pub.send_multipart([b"skel/cam1", bytes(HARD_MESSAGE_LIMIT_BYTES + 1)])
        # The PUB reconnects by itself; a fresh stream avoids counting probes lost meanwhile as a gap.
        _sync(lambda f: raw_pub.send_multipart(encode(f)), sub, stream_id="after")
        assert sub.received["after"] >= 1
        assert sub.drops == Counter()


def test_seq_gaps_count_the_missing_frames(ipc_endpoint: str) -> None:
    with Subscriber(ipc_endpoint) as sub, Publisher(ipc_endpoint) as pub:
        seq = _sync(pub.publish, sub)
        for s in (seq, seq + 3, seq + 4, seq + 10):  # 2 and then 5 frames lost upstream
            pub.publish(_person("cam1", s))
        got = [sub.recv(2000) for _ in range(4)]
    assert [f.seq for f in got if f is not None] == [seq, seq + 3, seq + 4, seq + 10]
    assert sub.drops == Counter({"seq_gap": 7})


def test_backwards_seq_is_dropped_and_stream_follows_restarted_publisher(ipc_endpoint: str) -> None:
    with Subscriber(ipc_endpoint) as sub, Publisher(ipc_endpoint) as pub:
        seq = _sync(pub.publish, sub)
        assert seq > 1
        for s in (0, 1, 2):  # the frontend restarted and counts from 0 again
            pub.publish(_person("cam1", s))
        got = [sub.recv(2000), sub.recv(2000)]
        assert sub.recv(100) is None
    assert [f.seq for f in got if f is not None] == [1, 2]
    assert sub.drops == Counter({"out_of_order": 1})


def test_subscriber_receives_only_its_streams(endpoint: str) -> None:
    with Subscriber(endpoint, streams=["cam1"]) as sub, Publisher(endpoint) as pub:
        seq = _sync(pub.publish, sub, "cam1")
        pub.publish(_person("cam2", 0))
        pub.publish(_person("cam10", 0))  # topic skel/cam10 starts with skel/cam1
        pub.publish(_person("cam1", seq))
        frame = sub.recv(2000)
        assert frame is not None and (frame.stream_id, frame.seq) == ("cam1", seq)
        assert sub.recv(100) is None
    assert set(sub.received) == {"cam1"}
    assert sub.drops == Counter()


def test_several_publishers_feed_one_subscriber(tcp_endpoint: str) -> None:
    streams = ["cam1", "cam2", "cam3"]
    with Subscriber(tcp_endpoint) as sub:
        pubs = [Publisher(tcp_endpoint) for _ in streams]
        try:
            first = {s: _sync(p.publish, sub, s) for s, p in zip(streams, pubs, strict=True)}
            for i in range(20):
                for s, p in zip(streams, pubs, strict=True):
                    p.publish(_person(s, first[s] + i))
            got = _drain(sub)
        finally:
            for p in pubs:
                p.close()
    for s in streams:
        assert [f.seq for f in got if f.stream_id == s] == [first[s] + i for i in range(20)]
    assert len(got) == 60
    assert sub.drops == Counter()


def test_recv_returns_none_after_timeout(ipc_endpoint: str) -> None:
    with Subscriber(ipc_endpoint) as sub:
        start = time.monotonic()
        assert sub.recv(100) is None
        assert 0.09 <= time.monotonic() - start < 1.0
        assert sub.recv_batch(10, 0) == []


def test_recv_batch_returns_queued_frames_up_to_max(ipc_endpoint: str) -> None:
    with Subscriber(ipc_endpoint) as sub, Publisher(ipc_endpoint) as pub:
        seq = _sync(pub.publish, sub)
        for s in range(seq, seq + 10):
            pub.publish(_person("cam1", s))
        time.sleep(0.2)  # let the burst reach the subscriber's queue (the connection is already up)
        batches = [sub.recv_batch(4, 1000) for _ in range(3)]
        assert sub.recv_batch(4, 50) == []
    assert [len(b) for b in batches] == [4, 4, 2]
    assert [f.seq for b in batches for f in b] == list(range(seq, seq + 10))
    with pytest.raises(ValueError):
        sub.recv_batch(0, 10)


def test_slow_subscriber_loses_frames_without_blocking_publisher(ipc_endpoint: str) -> None:
    n = 10000
    with Subscriber(ipc_endpoint, hwm=10) as sub, Publisher(ipc_endpoint, hwm=10) as pub:
        seq = _sync(pub.publish, sub)
        frames = [_person("cam1", s) for s in range(seq, seq + n)]
        start = time.monotonic()
        for frame in frames:  # nobody reads meanwhile
            pub.publish(frame)
        publish_s = time.monotonic() - start
        burst = _drain(sub)
        pub.publish(_person("cam1", seq + n))
        last = sub.recv(2000)
    assert publish_s < 5.0
    assert 0 < len(burst) < n
    # A full queue drops the frame being published, so the survivors keep their order with holes,
    # and every lost frame (the tail's too, once the next frame arrives) is counted as a gap.
    seqs = [f.seq for f in burst]
    assert seqs == sorted(set(seqs)) and seqs[0] >= seq and seqs[-1] < seq + n
    assert last is not None and last.seq == seq + n
    assert sub.drops == Counter({"seq_gap": n - len(burst)})


def test_reversed_topology_from_config(ipc_endpoint: str) -> None:
    config = BusConfig(endpoint=ipc_endpoint, subscriber_binds=False, publisher_hwm=50, subscriber_hwm=50)
    with Publisher.from_config(config) as pub, Subscriber.from_config(config, streams=["cam1"]) as sub:
        seq = _sync(pub.publish, sub)
        pub.publish(_person("cam1", seq))
        frame = sub.recv(2000)
    assert frame is not None and frame.seq == seq


def test_closing_sockets_lets_own_context_terminate(ipc_endpoint: str) -> None:
    ctx = zmq.Context()
    sub = Subscriber(ipc_endpoint, context=ctx)
    pub = Publisher(f"{ipc_endpoint}.nobody-here", context=ctx)
    for s in range(100):  # queued for a peer that never comes; linger 0 discards them on close
        pub.publish(_person("cam1", s))
    pub.close()
    sub.close()
    term = threading.Thread(target=ctx.term, daemon=True)
    term.start()
    term.join(timeout=2)
    assert not term.is_alive(), "context.term() hung: a socket lingered"


def test_bind_failure_names_the_endpoint(tmp_path) -> None:
    with pytest.raises(zmq.ZMQError, match="cannot bind"):
        Subscriber(f"ipc://{tmp_path}/no/such/dir/bus.sock")


def test_empty_stream_list_is_refused(ipc_endpoint: str) -> None:
    with pytest.raises(ValueError, match="at least one stream"):
        Subscriber(ipc_endpoint, streams=[])
