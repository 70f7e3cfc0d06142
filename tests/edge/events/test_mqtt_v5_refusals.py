"""A publish the broker refuses is counted and logged, never counted delivered: against private
Mosquittos with an ACL, a ``message_size_limit`` and a ``max_packet_size``, which an MQTT 3.1.1
client could not tell from a broker that took the message; and a broker that speaks only MQTT 3.1.1
still gets the events."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import NewBroker, RunNotifier
from mqtt_helpers import FakeBroker, PrivateBroker, Subscriber, closed, new_alert
from test_mqtt import _cfg, _prefix, _wait_delivered

from edge import metrics
from edge.events.mqtt import MqttSink
from edge.events.notifier import Notifier
from edge.events.sinks import Current, DeliveryError
from edge.store import AlertStore
from edge.store.outbox import pending_events


def _refused() -> float:
    return float(metrics.DROPS.labels("mqtt_refused")._value.get())


def _with(broker: PrivateBroker, *lines: str) -> PrivateBroker:
    broker.conf.write_text(broker.conf.read_text() + "".join(f"{line}\n" for line in lines))
    broker.start()
    return broker


def _gave_up(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "giving up" in r.getMessage()]


@pytest.mark.parametrize("running", [False, True])  # the event waiting at the notifier's start, or new
def test_a_publish_the_brokers_acl_denies_is_refused_and_the_events_other_messages_go_out(
    store: AlertStore,
    new_broker: NewBroker,
    run_notifier: RunNotifier,
    caplog: pytest.LogCaptureFixture,
    running: bool,
) -> None:
    """Mosquitto took a publish to a topic its ACL denies from an MQTT 3.1.1 client and dropped it:
    the notifier counted the event delivered, and nobody learnt that <prefix>/events never had it."""
    p = _prefix()
    broker = new_broker()
    acl = broker.conf.parent / "acl"
    # What the ACL does not name is denied: <p>/events may be read, not written.
    acl.write_text(f"topic readwrite {p}/available\ntopic readwrite {p}/cam1/#\ntopic readwrite {p}-ha/#\n"
                   f"topic read {p}/events\n")  # fmt: skip
    _with(broker, f"acl_file {acl}")
    cfg = _cfg(broker.port, p, give_up_after_s=3600)
    sink = MqttSink(cfg.mqtt)  # type: ignore[arg-type]
    notifier = Notifier(cfg, store, [sink])
    sub = Subscriber("127.0.0.1", broker.port, [f"{p}/events", f"{p}/cam1/#"])
    before = _refused()
    try:
        with caplog.at_level(logging.ERROR, "haad.events"):
            if running:
                run_notifier(notifier)
                deadline = time.monotonic() + 30
                while sink.needs_announce:  # connected and announced, waiting for events
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
            alert = new_alert("cam1")
            [alert_id] = store.write_alerts([alert])
            if not running:
                run_notifier(notifier)
            _wait_delivered(notifier)
            assert json.loads(sub.wait_for(f"{p}/cam1/alert")[1])["id"] == alert_id
            sub.wait_for(f"{p}/cam1/abnormal", payload="ON")
            store.write_alerts([closed(alert)])  # the next event: refused likewise, its others out
            sub.wait_for(f"{p}/cam1/abnormal", payload="OFF")
            _wait_delivered(notifier)
        [state] = notifier.states()
        assert (state.pending, state.delivered, state.skipped) == (0, 0, 2)
        assert _refused() == before + 2
        gave_up = _gave_up(caplog)
        assert len(gave_up) == 2 and all(f"{p}/events (Not authorized)" in g for g in gave_up)
        assert not [t for t, _, _ in sub.received if t == f"{p}/events"]
    finally:
        sub.close()


def test_a_publish_over_the_brokers_message_size_limit_is_refused_and_the_events_other_messages_go_out(
    store: AlertStore, new_broker: NewBroker, run_notifier: RunNotifier, caplog: pytest.LogCaptureFixture
) -> None:
    """A review note that made the event's <prefix>/events message larger than Mosquitto's
    message_size_limit: from an MQTT 3.1.1 client it dropped the message without a word, and the
    event counted delivered."""
    p = _prefix()
    broker = new_broker()
    cfg = _cfg(broker.port, p, give_up_after_s=3600)
    sink = MqttSink(cfg.mqtt)  # type: ignore[arg-type]
    notifier = Notifier(cfg, store, [sink])
    [alert_id] = store.write_alerts([new_alert("cam1")])
    store.set_status(alert_id, "confirmed", "x" * 1500, reviewer="bob")
    [later] = store.write_alerts([new_alert("cam2")])
    with store.reading() as s:
        review = pending_events(s, 0, 10)[1]
    sizes = {t: len(body.encode()) for t, body, _ in sink.messages(review)}
    events = sizes.pop(f"{p}/events")
    assert events > max(sizes.values()) + 20
    _with(broker, f"message_size_limit {events - 10}")
    sub = Subscriber("127.0.0.1", broker.port, [f"{p}/#"])
    before = _refused()
    try:
        with caplog.at_level(logging.ERROR, "haad.events"):
            run_notifier(notifier)
            _wait_delivered(notifier, timeout_s=30)
        [state] = notifier.states()
        assert (state.pending, state.delivered, state.skipped) == (0, 2, 1)
        assert json.loads(sub.wait_for(f"{p}/cam1/alert", reviewed_by="bob")[1])["id"] == alert_id
        assert _refused() == before + 1
        [gave_up] = _gave_up(caplog)
        assert f"{p}/events" in gave_up
        got = [json.loads(b) for t, b, _ in sub.received if t == f"{p}/events"]
        assert [(e["type"], e["alert"]["id"]) for e in got] == [("open", alert_id), ("open", later)]
    finally:
        sub.close()


def test_a_publish_over_the_maximum_packet_size_the_broker_announced_is_refused_without_sending_it(
    store: AlertStore, new_broker: NewBroker, run_notifier: RunNotifier, caplog: pytest.LogCaptureFixture
) -> None:
    """A broker with max_packet_size says so at connect (MQTT 5): a message over it closed the
    connection three times over (with every back-off in between) before it was given up on."""
    p = _prefix()
    broker = _with(new_broker(), "max_packet_size 4000")
    cfg = _cfg(broker.port, p, give_up_after_s=3600)
    sink = MqttSink(cfg.mqtt)  # type: ignore[arg-type]
    notifier = Notifier(cfg, store, [sink])
    sub = Subscriber("127.0.0.1", broker.port, [f"{p}/cam1/alert"])
    try:
        [alert_id] = store.write_alerts([new_alert("cam1")])
        store.set_status(alert_id, "confirmed", "x" * 5000, reviewer="bob")  # every message is too large
        with caplog.at_level(logging.ERROR, "haad.events"):
            run_notifier(notifier)
            _wait_delivered(notifier)
        [state] = notifier.states()
        assert (state.pending, state.delivered, state.skipped) == (0, 1, 1)
        [gave_up] = _gave_up(caplog)
        assert "over the max_packet_size of 4000 bytes the broker announced" in gave_up
        assert sink._connections == 1  # no connection was lost over it
        sub.wait_for(f"{p}/cam1/alert")  # the open event's, the review's never
        assert [json.loads(body)["reviewed_by"] for _, body, _ in sub.received] == [""]
    finally:
        sub.close()


class Mqtt311Broker(FakeBroker):
    """A broker that speaks only MQTT 3.1.1 (as an older Mosquitto, or a cloud service): a CONNECT
    of MQTT 5 gets "unacceptable protocol version" and the connection closed, or (``lenient``) the
    3.1.1 CONNACK it gives any CONNECT, which an MQTT 5 client cannot read; 3.1.1 is served."""

    def __init__(self, *, lenient: bool) -> None:
        self.lenient = lenient
        self.levels: list[int] = []  # the protocol level of each CONNECT
        self.topics: list[str] = []  # of each PUBLISH taken
        super().__init__()

    def answer(self, conn: socket.socket, head: int, body: bytes) -> bool:
        kind = head >> 4
        if kind == 1:  # CONNECT: protocol name "MQTT", then the level
            self.levels.append(body[6])
            if body[6] != 4 and not self.lenient:
                conn.sendall(b"\x20\x02\x00\x01")  # unacceptable protocol version
                return False
            conn.sendall(b"\x20\x02\x00\x00")
        elif kind == 3:  # PUBLISH (QoS 1): topic, packet id, payload
            topic_end = 2 + int.from_bytes(body[:2])
            self.topics.append(body[2:topic_end].decode())
            conn.sendall(b"\x40\x02" + body[topic_end : topic_end + 2])
        return True


@pytest.mark.parametrize("lenient", [False, True])
def test_a_broker_that_speaks_only_mqtt_3_1_1_gets_the_events_and_the_operator_is_told_what_it_cannot_say(
    store: AlertStore, run_notifier: RunNotifier, caplog: pytest.LogCaptureFixture, lenient: bool
) -> None:
    """MQTT 5 is asked for first (its acknowledgements say when a publish is refused); a broker that
    answers "unacceptable protocol version" is served MQTT 3.1.1, with a warning that its refusals
    cannot be seen, instead of no event ever going out."""
    broker = Mqtt311Broker(lenient=lenient)
    p = _prefix()
    cfg = _cfg(broker.port, p)
    notifier = Notifier(cfg, store, [MqttSink(cfg.mqtt)])  # type: ignore[arg-type]
    try:
        store.write_alerts([new_alert("cam1")])
        with caplog.at_level(logging.WARNING, "haad.events"):
            run_notifier(notifier)
            _wait_delivered(notifier)
        [state] = notifier.states()
        assert (state.pending, state.delivered, state.skipped) == (0, 1, 0)
        assert broker.levels[0] == 5 and broker.levels[-1] == 4
        assert f"{p}/events" in broker.topics
        [warning] = [r.getMessage() for r in caplog.records if "3.1.1" in r.getMessage()]
        assert "cannot tell" in warning
    finally:
        broker.close()


def test_qos_2_warns_that_a_refused_publish_cannot_be_seen(
    store: AlertStore, new_broker: NewBroker, run_notifier: RunNotifier, caplog: pytest.LogCaptureFixture
) -> None:
    """At QoS 2 a refusal is in the broker's PUBREC, which paho ignores, and the broker completes the
    exchange: a publish its ACL denies reads as delivered. The operator is told so, once."""
    p = _prefix()
    broker = new_broker()
    broker.start()
    cfg = _cfg(broker.port, p)
    cfg = cfg.model_copy(update={"mqtt": cfg.mqtt.model_copy(update={"qos": 2})})  # type: ignore[union-attr]
    notifier = Notifier(cfg, store, [MqttSink(cfg.mqtt)])  # type: ignore[arg-type]
    store.write_alerts([new_alert("cam1")])
    with caplog.at_level(logging.WARNING, "haad.events"):
        run_notifier(notifier)
        _wait_delivered(notifier)
    [warning] = [r.getMessage() for r in caplog.records if "qos 2" in r.getMessage()]
    assert "cannot tell a publish the broker refuses" in warning and "qos 1" in warning


def test_a_service_that_is_not_mqtt_is_named_as_such_after_the_fall_back_to_3_1_1(store: AlertStore) -> None:
    """An answer MQTT 5 cannot read is tried again with MQTT 3.1.1; when that fails too (the port is
    not MQTT's), last_error said "connecting with MQTT 3.1.1" for as long as it lasted."""
    server = socket.create_server(("127.0.0.1", 0))

    def answer_garbage() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(100)
                conn.sendall(b"\x20\x05HTTP/")  # a CONNACK's first byte, then nothing of one

    threading.Thread(target=answer_garbage, daemon=True).start()
    # each answer comes at once: a step need not wait 5 s for a connection
    cfg = _cfg(int(server.getsockname()[1]), _prefix(), publish_timeout_s=0.5)
    notifier = Notifier(cfg, store, [MqttSink(cfg.mqtt)])  # type: ignore[arg-type]
    try:
        store.write_alerts([new_alert("cam1")])
        deadline = time.monotonic() + 30
        while "3.1.1" in notifier.states()[0].last_error or not notifier.states()[0].last_error:
            assert time.monotonic() < deadline, notifier.states()[0].last_error
            notifier.step()
            time.sleep(0.2)
        assert "connection closed before the broker accepted it" in notifier.states()[0].last_error
        assert notifier.states()[0].pending == 1
    finally:
        notifier.close()
        server.close()


@pytest.mark.parametrize("url", ["mqtt://{tls}", "mqtts://{plain}"])
def test_a_tls_url_to_a_plain_port_or_a_plain_one_to_a_tls_port_is_named_in_last_error(
    store: AlertStore, new_broker: NewBroker, tmp_path: Path, url: str
) -> None:
    """mqtt:// to the broker's TLS listener said only "connection closed before the broker accepted
    it: Unspecified error", mqtts:// to its plain one "Connection reset by peer": nothing pointed at
    the URL's scheme."""
    from config.events import EventsConfig, MqttConfig

    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True)  # fmt: skip
    broker = new_broker()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        tls = int(s.getsockname()[1])
    _with(broker, f"listener {tls} 127.0.0.1", f"certfile {tmp_path / 'cert.pem'}",
          f"keyfile {tmp_path / 'key.pem'}")  # fmt: skip
    address = url.format(tls=f"127.0.0.1:{tls}", plain=f"127.0.0.1:{broker.port}")
    mqtt = MqttConfig(url=address, client_id=f"{_prefix()}-n", publish_timeout_s=0.2,
                      ca_file=str(tmp_path / "cert.pem") if address.startswith("mqtts") else None)  # fmt: skip
    cfg = EventsConfig(mqtt=mqtt, poll_s=0.2, initial_backoff_s=0.1, max_backoff_s=0.1)
    notifier = Notifier(cfg, store, [MqttSink(mqtt)])
    hint = "a TLS port? its URL is mqtts://" if address.startswith("mqtt:") else "is that port TLS?"
    try:
        store.write_alerts([new_alert("cam1")])
        # stepped until the broker's answer is known (a short publish_timeout_s leaves a step before
        # it as a bare "not connected"), not one step waiting 2 s for it
        deadline = time.monotonic() + 20
        while "not connected (" not in notifier.states()[0].last_error and time.monotonic() < deadline:
            notifier.step()
            time.sleep(0.05)
        error = notifier.states()[0].last_error
        assert hint in error, error
        assert notifier.states()[0].pending == 1
    finally:
        notifier.close()


class StrictBroker(FakeBroker):
    """An MQTT 5 broker that takes at most ``receive_maximum`` unacknowledged publishes, as it says
    in its CONNACK, and closes the connection at one more (0x93, as EMQX or HiveMQ may); it
    acknowledges each publish a moment after it came."""

    def __init__(self, receive_maximum: int) -> None:
        self.receive_maximum = receive_maximum
        self.unacked = 0
        self.exceeded = 0  # connections closed for a publish over receive_maximum
        self.taken = 0
        self.lock = threading.Lock()
        super().__init__()

    def answer(self, conn: socket.socket, head: int, body: bytes) -> bool:
        kind = head >> 4
        if kind == 1:  # CONNECT: CONNACK with its Receive Maximum property (0x21)
            self.unacked = 0
            conn.sendall(b"\x20\x06\x00\x00\x03\x21" + self.receive_maximum.to_bytes(2))
        elif kind == 3:  # PUBLISH (QoS 1): topic, packet id, properties, payload
            with self.lock:
                if self.unacked >= self.receive_maximum:
                    self.exceeded += 1
                    conn.sendall(b"\xe0\x01\x93")  # DISCONNECT: receive maximum exceeded
                    return False
                self.unacked += 1
            topic_end = 2 + int.from_bytes(body[:2])
            threading.Timer(0.05, self._ack, (conn, body[topic_end : topic_end + 2])).start()
        return True

    def _ack(self, conn: socket.socket, packet_id: bytes) -> None:
        with self.lock:
            self.unacked -= 1
            self.taken += 1
        try:
            conn.sendall(b"\x40\x02" + packet_id)
        except OSError:
            pass  # closed meanwhile


def test_a_broker_taking_few_unacknowledged_publishes_at_a_time_gets_no_more_than_it_said(
    store: AlertStore, run_notifier: RunNotifier
) -> None:
    """A broker's CONNACK says how many unacknowledged QoS 1 publishes it takes (Receive Maximum);
    paho sends up to 20 regardless, and a broker that enforces it closed the connection at every
    announcement of a few cameras: no event ever went out."""
    broker = StrictBroker(receive_maximum=2)
    p = _prefix()
    cfg = _cfg(broker.port, p)
    notifier = Notifier(cfg, store, [MqttSink(cfg.mqtt, [f"cam{i}" for i in range(4)])])  # type: ignore[arg-type]
    try:
        store.write_alerts([new_alert("cam1")])
        run_notifier(notifier)
        _wait_delivered(notifier)
        [state] = notifier.states()
        assert (state.pending, state.delivered, broker.exceeded) == (0, 1, 0)
    finally:
        broker.close()


@pytest.mark.parametrize("retries", [1, 3])
def test_a_refused_message_retried_for_ever_is_counted_once(
    store: AlertStore, new_broker: NewBroker, retries: int
) -> None:
    """With give_up_after_s 0 the notifier retries a refused event for ever: each retry counted its
    refused message again in haad_drops_total{reason="mqtt_refused"}, one drop looking like many."""
    p = _prefix()
    broker = new_broker()
    acl = broker.conf.parent / "acl"
    acl.write_text(f"topic readwrite {p}/available\ntopic readwrite {p}/cam1/#\ntopic readwrite {p}-ha/#\n")
    _with(broker, f"acl_file {acl}")
    cfg = _cfg(broker.port, p, give_up_after_s=0)
    sink = MqttSink(cfg.mqtt)  # type: ignore[arg-type]
    now = [datetime.now(UTC)]
    notifier = Notifier(cfg, store, [sink], clock=lambda: now[0])
    store.write_alerts([new_alert("cam1")])
    before = _refused()
    try:
        for _ in range(1 + retries):
            notifier.step()
            now[0] += timedelta(hours=1)  # past the back-off: the next step retries
        [state] = notifier.states()
        assert (state.pending, state.skipped) == (1, 0) and state.failures == 1 + retries
        assert f"{p}/events (Not authorized)" in state.last_error
        assert _refused() == before + 1
    finally:
        notifier.close()


def test_a_broker_that_keeps_no_retained_messages_still_gets_the_events(
    store: AlertStore, new_broker: NewBroker, run_notifier: RunNotifier, caplog: pytest.LogCaptureFixture
) -> None:
    """Mosquitto with retain_available false refuses a connection whose last will is retained
    ("Retain not supported"): haad reconnected with the same will for ever, no event went out, and
    haad events status blamed a TLS port or max_connections."""
    p = _prefix()
    broker = _with(new_broker(), "retain_available false")
    cfg = _cfg(broker.port, p)
    sink = MqttSink(cfg.mqtt, ["cam1"])  # type: ignore[arg-type]
    notifier = Notifier(cfg, store, [sink])
    sub = Subscriber("127.0.0.1", broker.port, [f"{p}/#"])
    try:
        with caplog.at_level(logging.WARNING, "haad.events"):
            run_notifier(notifier)
            [alert_id] = store.write_alerts([new_alert("cam1")])
            assert json.loads(sub.wait_for(f"{p}/events")[1])["alert"]["id"] == alert_id
            assert sub.wait_for(f"{p}/cam1/abnormal", payload="ON")[2] is False
            _wait_delivered(notifier)
        [state] = notifier.states()
        assert (state.pending, state.delivered, state.skipped) == (0, 1, 0)
        assert any("retain" in r.getMessage() and "Home Assistant" in r.getMessage() for r in caplog.records)
    finally:
        sub.close()


def test_an_announced_message_the_broker_refuses_is_counted_once_not_at_every_reconnect(
    new_broker: NewBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """Availability, discovery and states are announced at every (re)connect: a discovery topic the
    ACL denies was counted in haad_drops_total{reason="mqtt_refused"} (and logged) at each, one
    refusal looking like one per connection."""
    p = _prefix()
    broker = new_broker()
    acl = broker.conf.parent / "acl"
    acl.write_text(f"topic readwrite {p}/#\n")  # not {p}-ha/#: discovery refused
    _with(broker, f"acl_file {acl}")
    sink = MqttSink(_cfg(broker.port, p).mqtt, ["cam1"])  # type: ignore[arg-type]
    before = _refused()
    try:
        assert sink.wait_connected(5)
        with caplog.at_level(logging.ERROR, "haad.events"):
            for _ in range(3):  # at the first connection and two reconnects
                sink.announce(Current())
        assert _refused() == before + 1
        [said] = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
        assert f"{p}-ha/binary_sensor/haad_cam1/abnormal/config (Not authorized)" in said
    finally:
        sink.close()


class RefusingBroker(FakeBroker):
    """A broker that speaks only MQTT 5 and refuses every connection with ``code`` (its CONNACK's
    reason); an MQTT 3.1.1 or 3.1 CONNECT gets "unacceptable protocol version"."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.levels: list[int] = []  # the protocol level of each CONNECT
        super().__init__()

    def answer(self, conn: socket.socket, head: int, body: bytes) -> bool:
        if head >> 4 == 1:  # CONNECT: protocol name ("MQTT", or "MQIsdp" for 3.1), then the level
            self.levels.append(body[2 + body[1]])
            conn.sendall(bytes([0x20, 3, 0, self.code, 0]) if self.levels[-1] == 5 else b"\x20\x02\x00\x01")
            return False
        return True


def test_a_connection_the_broker_refuses_names_its_reason_and_what_to_check() -> None:
    """paho reads its own CONNACK refusal as a protocol error, which the sink took for a broker that
    speaks no MQTT 5: it fell back to 3.1.1, and last_error (haad events status, /health) said
    "not MQTT 5" or the answer to 3.1.1, never the broker's reason (bad credentials, a client id it
    refuses, ...), nor which setting to check."""
    said = {
        0x86: "refused: Bad user name or password; check the user in mqtt.url and mqtt.password",
        0x87: "refused: Not authorized; check the user in mqtt.url and mqtt.password, and that the broker",
        0x85: "refused: Client identifier not valid; check mqtt.client_id",
        0x88: "refused: Server unavailable; the broker takes no clients now: retrying",
        0x9B: "refused: QoS not supported; check mqtt.qos",
    }
    brokers = {code: RefusingBroker(code) for code in said}
    sinks = {code: MqttSink(_cfg(b.port, _prefix()).mqtt) for code, b in brokers.items()}  # type: ignore[arg-type]
    try:
        for sink in sinks.values():
            sink.wait_connected(0)  # connecting, all at once
        deadline = time.monotonic() + 5
        while not all(sink._why for sink in sinks.values()):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        for code, sink in sinks.items():
            with pytest.raises(DeliveryError) as refused:
                sink.announce(Current())
            assert said[code] in str(refused.value) and brokers[code].levels == [5], str(refused.value)
    finally:
        # At once: each waits up to a second for paho's thread, asleep before its next reconnect.
        closing = [threading.Thread(target=sink.close) for sink in sinks.values()]
        for thread in closing:
            thread.start()
        for thread in closing:
            thread.join()
        for broker in brokers.values():
            broker.close()
