"""Events to MQTT against real Mosquitto brokers: the machine's on 127.0.0.1:1883, and a private one
on a free port for the outage test (stopped and restarted by the test, so the shared broker other
tests and sessions use is never taken down)."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import NewBroker, RunNotifier
from mqtt_helpers import (
    BROKER,
    PrivateBroker,
    SilentBroker,
    Subscriber,
    broker_up,
    closed,
    new_alert,
    poll_until,
)

from config.events import EventsConfig, MqttConfig
from edge.events.mqtt import MqttSink, node_id
from edge.events.notifier import Notifier
from edge.store import AlertStore
from edge.store.outbox import CursorState


def _prefix() -> str:
    return f"haadtest{uuid.uuid4().hex[:8]}"  # topics of one test only


@pytest.fixture
def broker() -> tuple[str, int]:
    if not broker_up(*BROKER):
        pytest.fail(
            f"no MQTT broker on {BROKER[0]}:{BROKER[1]} (start it: mosquitto -d -c /etc/mosquitto/mosquitto.conf)"
        )
    return BROKER


def _cfg(port: int, prefix: str, publish_timeout_s: float = 5, **kw: object) -> EventsConfig:
    mqtt = MqttConfig(url=f"mqtt://127.0.0.1:{port}", topic_prefix=prefix, discovery_prefix=f"{prefix}-ha",
                      client_id=f"{prefix}-notifier", publish_timeout_s=publish_timeout_s)  # fmt: skip
    return EventsConfig(mqtt=mqtt, poll_s=0.2, initial_backoff_s=0.2, max_backoff_s=1.0, **kw)  # type: ignore[arg-type]


def _clear_retained(host: str, port: int, topics: list[str]) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    c = mqtt.Client(CallbackAPIVersion.VERSION2)
    c.connect(host, port)
    c.loop_start()
    for t in topics:
        c.publish(t, b"", qos=1, retain=True).wait_for_publish(5)
    c.disconnect()
    c.loop_stop()


def test_open_and_close_events_retained_state_and_home_assistant_discovery(
    store: AlertStore, broker: tuple[str, int]
) -> None:
    host, port = broker
    p = _prefix()
    cfg = _cfg(port, p)
    sub = Subscriber(host, port, [f"{p}/#", f"{p}-ha/#"])
    sink = MqttSink(cfg.mqtt, streams=["cam1", "cam.2", "cam_2"])  # type: ignore[arg-type]
    notifier = Notifier(cfg, store, [sink])
    try:
        assert sink.wait_connected(30)
        first_state = new_alert("cam1")
        [alert_id] = store.write_alerts([first_state])
        assert notifier.step() == 1
        _, disc, _ = sub.wait_for(f"{p}-ha/binary_sensor/haad_cam1/abnormal/config")
        config = json.loads(disc)
        assert (config["state_topic"], config["device_class"]) == (f"{p}/cam1/abnormal", "problem")
        assert (
            config["availability_topic"] == f"{p}/available" and config["unique_id"] == "haad_cam1_abnormal"
        )
        # object_id stops working in Home Assistant 2026.4: default_entity_id names the domain too.
        assert config["default_entity_id"] == "binary_sensor.haad_cam1_abnormal" and "object_id" not in config
        dotted, underscored = (  # configured, no alert yet; distinct entities
            json.loads(sub.wait_for(f"{p}-ha/binary_sensor/{node_id(s)}/abnormal/config")[1])
            for s in ("cam.2", "cam_2")
        )
        assert (
            dotted["state_topic"] == f"{p}/cam.2/abnormal"
            and underscored["unique_id"] == "haad_cam_2_abnormal"
        )
        assert dotted["unique_id"] != underscored["unique_id"]
        assert dotted["default_entity_id"] != underscored["default_entity_id"]
        assert dotted["device"]["identifiers"] != underscored["device"]["identifiers"]
        _, opened, _ = sub.wait_for(f"{p}/events", type="open")
        assert json.loads(opened)["alert"]["id"] == alert_id
        assert sub.wait_for(f"{p}/cam1/abnormal")[1] == "ON"  # announced from the store at connect
        assert sub.wait_for(f"{p}/cam1/abnormal")[1] == "ON"  # the open event
        assert json.loads(sub.wait_for(f"{p}/cam1/walk/state")[1])["state"] == "ON"

        store.write_alerts([closed(first_state)])
        assert notifier.step() == 1
        sub.wait_for(f"{p}/events", type="close")
        assert sub.wait_for(f"{p}/cam1/abnormal")[1] == "OFF"
        store.set_status(alert_id, "confirmed", "real", reviewer="bob")
        assert notifier.step() == 1
        _, update, _ = sub.wait_for(f"{p}/events", type="update")
        assert json.loads(update)["alert"]["reviewed_by"] == "bob"

        # A client subscribing later gets the retained state and the discovery config at once.
        late = Subscriber(
            host, port, [f"{p}/cam1/abnormal", f"{p}-ha/binary_sensor/haad_cam1/abnormal/config"]
        )
        try:
            assert late.wait_for(f"{p}/cam1/abnormal", timeout_s=5) == (f"{p}/cam1/abnormal", "OFF", True)
            assert late.wait_for(f"{p}-ha/binary_sensor/haad_cam1/abnormal/config", timeout_s=5)[2] is True
        finally:
            late.close()
        [cursor] = notifier.states()
        assert (cursor.pending, cursor.delivered, cursor.failures) == (0, 3, 0)
    finally:
        notifier.close()
        sub.close()
        _clear_retained(host, port, [f"{p}/available", f"{p}/cam1/abnormal", f"{p}/cam1/alert", f"{p}/cam1/walk/state",
                                     f"{p}/cam.2/abnormal", f"{p}/cam_2/abnormal", f"{p}-ha/binary_sensor/haad_cam1/abnormal/config",
                                     f"{p}-ha/binary_sensor/{node_id('cam.2')}/abnormal/config",
                                     f"{p}-ha/binary_sensor/{node_id('cam_2')}/abnormal/config"])  # fmt: skip


def _step_until(
    notifier: Notifier,
    done: Callable[[CursorState], bool],
    timeout_s: float = 30.0,
    *,
    then: Callable[[], object] = lambda: None,
) -> None:
    """Step ``notifier`` until its (one) sink's state is ``done``, past any back-off (``then``
    after each step: a test's own notifier clock moved past it)."""
    deadline = time.monotonic() + timeout_s
    while not done(notifier.states()[0]):
        assert time.monotonic() < deadline, notifier.states()[0].last_error
        notifier.step()
        then()
        time.sleep(0.02)


def _wait_delivered(notifier: Notifier, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while notifier.states()[0].pending and time.monotonic() < deadline:
        time.sleep(0.05)


def test_broker_outage_loses_no_event(
    store: AlertStore,
    private_broker: PrivateBroker,
    run_notifier: RunNotifier,
) -> None:
    """Stop the broker, raise and close an alert, start the broker: every event arrives, in order."""
    port = private_broker.port
    p = _prefix()
    cfg = _cfg(port, p)
    # A persistent subscriber session: the broker queues QoS 1 messages for it while it is away.
    sub = Subscriber("127.0.0.1", port, [f"{p}/events"], client_id=f"{p}-sub", clean_start=False)
    sink = MqttSink(cfg.mqtt)  # type: ignore[arg-type]
    notifier = Notifier(cfg, store, [sink])
    run_notifier(notifier)
    try:
        assert sink.wait_connected(30)
        first_closed = new_alert("cam1", closed=True)
        [first] = store.write_alerts([first_closed])  # open + close, delivered
        assert [json.loads(sub.wait_for(f"{p}/events")[1])["type"] for _ in range(2)] == ["open", "close"]
        _wait_delivered(notifier)  # the broker's acknowledgement may lag its delivery to the subscriber

        private_broker.stop()
        assert not broker_up("127.0.0.1", port)
        during_state = new_alert("cam2")
        [during] = store.write_alerts([during_state])
        store.write_alerts([closed(during_state)])
        deadline = time.monotonic() + 30
        while not notifier.states()[0].failures and time.monotonic() < deadline:
            time.sleep(0.1)  # the notifier tries, fails and backs off
        [state] = notifier.states()
        assert state.pending == 2 and state.failures >= 1 and state.last_error

        private_broker.start()
        got = [json.loads(sub.wait_for(f"{p}/events", timeout_s=30)[1]) for _ in range(2)]
        assert [(e["type"], e["alert"]["id"]) for e in got] == [("open", during), ("close", during)]
        _wait_delivered(notifier)
        [state] = notifier.states()
        assert (state.pending, state.delivered, state.skipped) == (0, 4, 0)
        assert first < during
    finally:
        sub.close()


def test_a_review_of_an_older_alert_leaves_the_retained_latest_alert_and_state_alone(
    store: AlertStore, broker: tuple[str, int]
) -> None:
    """Dismissing yesterday's alert replaced the stream's retained latest alert with it, and its
    profile's state with OFF while today's episode was open."""
    from dataclasses import replace
    from datetime import timedelta

    host, port = broker
    p = _prefix()
    sink = MqttSink(_cfg(port, p).mqtt)  # type: ignore[arg-type]
    notifier = Notifier(_cfg(port, p), store, [sink])
    sub = Subscriber(host, port, [f"{p}/events"])
    topics = [f"{p}/cam1/alert", f"{p}/cam1/walk/state", f"{p}/cam1/abnormal", f"{p}/available"]
    try:
        assert sink.wait_connected(30)
        latest = new_alert("cam1")  # open
        older = closed(replace(new_alert("cam1"), started_at=latest.started_at - timedelta(hours=1)))
        old_id, new_id = store.write_alerts([older, latest])
        store.set_status(old_id, "dismissed", "yesterday's", reviewer="bob")
        while notifier.step():
            pass
        review = json.loads(sub.wait_for(f"{p}/events", type="update")[1])
        late = Subscriber(host, port, topics[:2])
        try:
            for topic in topics[:2]:
                retained = json.loads(late.wait_for(topic, timeout_s=5)[1])
                assert retained["id"] == new_id, topic
            assert (
                json.loads(late.received[[t for t, _, _ in late.received].index(topics[1])][1])["state"]
                == "ON"
            )
        finally:
            late.close()
        assert review["alert"]["id"] == old_id and review["newest"] == {"stream": False, "profile": False}
    finally:
        notifier.close()
        sub.close()
        _clear_retained(host, port, topics)


def test_haad_events_run_without_streams_in_its_config_announces_no_placeholder_camera(
    tmp_path: Path, store: AlertStore, broker: tuple[str, int]
) -> None:
    """A notifier-only host's edge.yaml (store, events) made Home Assistant a sensor for cam0, the
    defaults' placeholder camera, which no host runs."""
    import signal
    import sys

    host, port = broker
    p = _prefix()
    config = tmp_path / "edge.yaml"
    config.write_text(
        f"store: {{url: '{store.url}'}}\n"
        f"events: {{mqtt: {{url: 'mqtt://{host}:{port}', topic_prefix: {p}, discovery_prefix: {p}-ha}}}}\n"
    )
    sub = Subscriber(host, port, [f"{p}-ha/#", f"{p}/available"])
    proc = subprocess.Popen([sys.executable, "-m", "haad", "events", "run", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        sub.wait_for(f"{p}/available", payload="online")  # connected: it announces at once
        store.write_alerts([new_alert("dock")])
        sub.wait_for(f"{p}-ha/binary_sensor/haad_dock/abnormal/config")
        assert not [t for t, _, _ in sub.received if "haad_cam0" in t]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
        sub.close()
        _clear_retained(host, port, [f"{p}/available", f"{p}/dock/abnormal", f"{p}/dock/alert", f"{p}/dock/walk/state",
                                     f"{p}-ha/binary_sensor/haad_dock/abnormal/config",
                                     f"{p}-ha/binary_sensor/haad_cam0/abnormal/config"])  # fmt: skip


def test_a_notifier_standing_by_stays_off_the_broker(store: AlertStore, broker: tuple[str, int]) -> None:
    """Two daemons on one alert log, each with its notifier and the same MQTT client id: the one
    standing by connected anyway, the broker handed the client id back and forth every second, and
    each drop published the last will: Home Assistant's sensors flapped unavailable."""
    host, port = broker
    p = _prefix()
    cfg = _cfg(port, p)
    sub = Subscriber(host, port, [f"{p}/available", f"{p}/events"])
    sinks = [MqttSink(cfg.mqtt), MqttSink(cfg.mqtt)]  # type: ignore[arg-type]
    delivering, standby = (Notifier(cfg, store, [sink]) for sink in sinks)
    stop_delivering, stop_standby = threading.Event(), threading.Event()
    threads = [threading.Thread(target=delivering.run, args=(stop_delivering,), daemon=True)]
    threads[0].start()
    try:
        sub.wait_for(f"{p}/available", payload="online")
        threads.append(threading.Thread(target=standby.run, args=(stop_standby,), daemon=True))
        threads[1].start()
        time.sleep(3.0)  # paho reconnects after 1 s: two takeovers at least
        [alert_id] = store.write_alerts([new_alert("cam1")])
        assert json.loads(sub.wait_for(f"{p}/events")[1])["alert"]["id"] == alert_id
        stop_standby.set()
        threads[1].join(15)
        standby.close()
        time.sleep(0.5)
        assert [body for topic, body, _ in sub.received if topic == f"{p}/available"] == ["online"]
        assert sinks[0].client.is_connected()
    finally:
        stop_delivering.set()
        stop_standby.set()
        for t in threads:
            t.join(15)
        delivering.close()
        standby.close()
        sub.close()
        _clear_retained(host, port, [f"{p}/available", f"{p}/cam1/abnormal", f"{p}/cam1/alert", f"{p}/cam1/walk/state",
                                     f"{p}-ha/binary_sensor/haad_cam1/abnormal/config"])  # fmt: skip


def _answered(state: CursorState) -> bool:
    return state.delivered > 0 or "not connected (" in state.last_error


@contextmanager
def _one_alert_through_each(
    broker: PrivateBroker, tmp_path: Path, first: tuple[MqttConfig, AlertStore], second: MqttConfig
) -> Iterator[tuple[CursorState, CursorState]]:
    """One alert through each of two MQTT sinks, ``first`` on its store and ``second`` on a store of
    its own (each sink's cursor is "mqtt"), once ``broker`` is up: the two sinks' states."""
    other = AlertStore(f"sqlite:///{tmp_path / 'other.db'}")
    cfgs = [
        (EventsConfig(mqtt=c, initial_backoff_s=0.1, max_backoff_s=0.1), c, s)
        for c, s in [first, (second, other)]
    ]
    notifiers = [Notifier(cfg, s, [MqttSink(c)]) for cfg, c, s in cfgs]
    try:
        broker.start()
        for notifier in notifiers:
            notifier.store.write_alerts([new_alert("cam1")])
            # stepped until delivered or the broker's answer is known (a short publish_timeout_s
            # leaves a step before it as a bare "not connected")
            deadline = time.monotonic() + 20
            while not _answered(notifier.states()[0]) and time.monotonic() < deadline:
                notifier.step()
                time.sleep(0.05)
        yield notifiers[0].states()[0], notifiers[1].states()[0]
    finally:
        for notifier in notifiers:
            notifier.close()
        other.close()


def test_a_broker_refusing_the_password_says_so_in_last_error(
    tmp_path: Path,
    store: AlertStore,
    monkeypatch: pytest.MonkeyPatch,
    new_broker: NewBroker,
) -> None:
    """A wrong password (or a TLS certificate paho cannot verify) left only "not connected" in
    haad events status: paho swallows why, and the operator had nothing to go on."""
    broker = new_broker()
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(tmp_path / "passwd"), "haad", "right"], check=True)
    broker.conf.write_text(
        broker.conf.read_text().replace("allow_anonymous true", "allow_anonymous false")
        + f"password_file {tmp_path / 'passwd'}\n"
    )
    monkeypatch.setenv("HAAD_TEST_MQTT_PASSWORD", "wrong")
    p = _prefix()
    mqtt = MqttConfig(url=f"mqtt://haad@127.0.0.1:{broker.port}", topic_prefix=p, client_id=f"{p}-n",
                      password={"env": "HAAD_TEST_MQTT_PASSWORD"}, publish_timeout_s=0.2)  # type: ignore[arg-type]  # fmt: skip
    tls = MqttConfig(
        url=f"mqtts://127.0.0.1:{broker.port}", topic_prefix=p, client_id=f"{p}-t", publish_timeout_s=0.2
    )
    with _one_alert_through_each(broker, tmp_path, (mqtt, store), tls) as (wrong, plain):
        assert "not connected (refused: Not authorized; check the user in mqtt.url and mqtt.password" in (
            wrong.last_error
        )
        assert "not connected (" in plain.last_error  # TLS spoken to a plain listener: the socket's error


def test_a_tls_broker_with_its_own_ca_is_reached_with_ca_file(
    tmp_path: Path,
    store: AlertStore,
    new_broker: NewBroker,
) -> None:
    """mqtts:// trusted only the system's CAs, with no setting for the private CA or self-signed
    certificate most home brokers have."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem")], check=True, capture_output=True)  # fmt: skip
    broker = new_broker()
    broker.conf.write_text(
        broker.conf.read_text() + f"certfile {tmp_path / 'cert.pem'}\nkeyfile {tmp_path / 'key.pem'}\n"
    )
    p = _prefix()
    url = f"mqtts://127.0.0.1:{broker.port}"
    system_cas = MqttConfig(url=url, topic_prefix=p, client_id=f"{p}-s", publish_timeout_s=0.2)
    own_ca = MqttConfig(url=url, topic_prefix=p, client_id=f"{p}-o", ca_file=str(tmp_path / "cert.pem"))
    with _one_alert_through_each(broker, tmp_path, (system_cas, store), own_ca) as (refused, reached):
        assert "CERTIFICATE_VERIFY_FAILED" in refused.last_error and refused.pending == 1
        assert (reached.pending, reached.delivered, reached.last_error) == (0, 1, "")


def test_an_upper_case_mqtts_url_is_a_tls_url() -> None:
    """URL schemes are case-free: MQTTS:// got port 8883 without TLS, and its ca_file was refused."""
    cfg = MqttConfig(url="MQTTS://haad@broker.local", ca_file="/etc/haad/ca.pem")
    assert cfg.url == "mqtts://haad@broker.local"


def test_a_password_gone_at_connection_is_a_retry_not_a_crash(store: AlertStore) -> None:
    """The password was read when the sink was built: an unreadable one crashed the notifier's
    process, restarted with a traceback each time, instead of a delivery error in last_error."""
    mqtt = MqttConfig(url="mqtt://haad@127.0.0.1:1883", password={"env": "HAAD_TEST_UNSET_PASSWORD"})  # type: ignore[arg-type]
    notifier = Notifier(EventsConfig(mqtt=mqtt), store, [MqttSink(mqtt)])
    try:
        store.write_alerts([new_alert("cam1")])
        assert notifier.step() == 0
        assert (
            "MQTT password: environment variable HAAD_TEST_UNSET_PASSWORD is not set"
            in notifier.states()[0].last_error
        )
    finally:
        notifier.close()


def test_a_broker_back_with_no_event_waiting_clears_the_failure(
    store: AlertStore, private_broker: PrivateBroker
) -> None:
    """A broker down while no alert happened stayed "failing" in haad events status once back, and
    its first_failure_at stayed: after a long enough outage the next event was skipped (given up)
    at its first refusal."""
    # the step during the outage waits publish_timeout_s for a connection: short, it is refused at once
    cfg = _cfg(private_broker.port, _prefix(), publish_timeout_s=0.5)
    sink = MqttSink(cfg.mqtt)  # type: ignore[arg-type]
    notifier = Notifier(cfg, store, [sink])
    try:
        private_broker.stop()
        notifier.step()
        [state] = notifier.states()
        assert state.failures == 1 and state.first_failure_at is None  # an outage refuses nothing
        private_broker.start()
        assert sink.wait_connected(30)
        notifier.step()  # reconnected: no waiting out the back-off
        [state] = notifier.states()
        assert (state.failures, state.first_failure_at, state.last_error) == (0, None, "")
    finally:
        notifier.close()


@pytest.mark.parametrize("noticed", [False, True])  # the alert before or after the sink saw the broker go
def test_events_go_out_once_the_broker_is_back_not_after_the_rest_of_the_back_off(
    store: AlertStore,
    private_broker: PrivateBroker,
    noticed: bool,
    run_notifier: RunNotifier,
) -> None:
    """The notifier waited out its back-off (up to max_backoff_s, 5 minutes by default) after the
    broker came back: alerts raised during an outage, and Home Assistant's availability, came that
    much late though the sink had reconnected."""
    port = private_broker.port
    p = _prefix()
    mqtt = MqttConfig(url=f"mqtt://127.0.0.1:{port}", topic_prefix=p, client_id=f"{p}-n", publish_timeout_s=2)
    cfg = EventsConfig(mqtt=mqtt, poll_s=0.2, initial_backoff_s=300, max_backoff_s=300)
    sub = Subscriber("127.0.0.1", port, [f"{p}/events"])
    sink = MqttSink(mqtt)
    notifier = Notifier(cfg, store, [sink])
    try:
        assert sink.wait_connected(30)
        run_notifier(notifier)
        private_broker.stop()
        deadline = time.monotonic() + 30
        while noticed and sink.client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.05)
        [alert_id] = store.write_alerts([new_alert("cam1")])
        deadline = time.monotonic() + 30
        while not notifier.states()[0].failures and time.monotonic() < deadline:
            time.sleep(0.05)
        assert notifier.states()[0].failures >= 1  # in its 300 s back-off now
        private_broker.start()
        _, opened, _ = sub.wait_for(f"{p}/events", timeout_s=45)  # far below the 300 s
        assert json.loads(opened)["alert"]["id"] == alert_id
    finally:
        sub.close()


@pytest.mark.parametrize("stop_with", ["SIGTERM", "SIGINT", "SIGKILL"])
def test_home_assistant_sees_haad_events_run_go_offline_however_it_stops(
    tmp_path: Path, store: AlertStore, broker: tuple[str, int], stop_with: str
) -> None:
    """A clean stop says offline itself; a killed one leaves it to the broker (the last will)."""
    import signal
    import sys

    host, port = broker
    p = _prefix()
    config = tmp_path / "edge.yaml"
    config.write_text(
        f"store: {{url: '{store.url}'}}\n"
        f"events: {{mqtt: {{url: 'mqtt://{host}:{port}', topic_prefix: {p}, discovery: false}}}}\n"
    )
    sub = Subscriber(host, port, [f"{p}/available"])
    proc = subprocess.Popen([sys.executable, "-m", "haad", "events", "run", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        sub.wait_for(f"{p}/available", payload="online")
        proc.send_signal(getattr(signal, stop_with))
        proc.wait(10)
        sub.wait_for(f"{p}/available", payload="offline")
        late = Subscriber(host, port, [f"{p}/available"])  # Home Assistant started later: retained
        try:
            assert late.wait_for(f"{p}/available", timeout_s=5) == (f"{p}/available", "offline", True)
        finally:
            late.close()
    finally:
        if proc.poll() is None:
            proc.kill()
        sub.close()
        _clear_retained(host, port, [f"{p}/available"])


@pytest.mark.parametrize("configured", [[], ["cam1"]])
def test_a_broker_that_lost_its_retained_messages_gets_open_episodes_sensors_again(
    store: AlertStore,
    configured: list[str],
    new_broker: NewBroker,
    run_notifier: RunNotifier,
) -> None:
    """A broker restarted without its retained messages (killed, no persistence) got back the
    sensors of the configured streams only: on a notifier-only host (no streams in its config) or
    for another host's camera, an open episode's sensor and its ON were gone until its next event."""
    broker = new_broker()
    broker.conf.write_text(f"listener {broker.port} 127.0.0.1\nallow_anonymous true\n")  # no persistence
    broker.start()
    p = _prefix()
    cfg = _cfg(broker.port, p)
    sink = MqttSink(cfg.mqtt, streams=configured)  # type: ignore[arg-type]
    notifier = Notifier(cfg, store, [sink])
    run_notifier(notifier)
    assert sink.wait_connected(30)
    store.write_alerts([new_alert("dock")])  # open
    _wait_delivered(notifier)
    broker.proc.kill()  # type: ignore[union-attr]
    broker.proc.wait()  # type: ignore[union-attr]
    broker.start()
    late = Subscriber("127.0.0.1", broker.port, [f"{p}/+/abnormal", f"{p}-ha/#"])  # Home Assistant
    try:
        late.wait_for(f"{p}/dock/abnormal", timeout_s=30, payload="ON")
        late.wait_for(f"{p}-ha/binary_sensor/haad_dock/abnormal/config", timeout_s=30)
    finally:
        late.close()


def test_a_broker_down_past_give_up_after_s_loses_no_event(
    store: AlertStore, private_broker: PrivateBroker
) -> None:
    """give_up_after_s skipped an event at each retry once a broker had been down that long: alerts
    lost that the broker, once back, would have taken (the event was never refused)."""
    from datetime import UTC, datetime, timedelta

    now = [datetime.now(UTC)]
    p = _prefix()
    cfg = _cfg(private_broker.port, p, give_up_after_s=60)
    sink = MqttSink(cfg.mqtt)  # type: ignore[arg-type]
    notifier = Notifier(cfg, store, [sink], clock=lambda: now[0])
    sub = Subscriber(
        "127.0.0.1", private_broker.port, [f"{p}/events"], client_id=f"{p}-sub", clean_start=False
    )
    try:
        assert sink.wait_connected(30)
        notifier.step()  # announced: what is left to try in the outage is the event
        private_broker.stop()
        [alert_id] = store.write_alerts([new_alert("cam1")])
        for _ in range(3):  # retries over a day of outage, at several points past the limit
            notifier.step()
            now[0] += timedelta(hours=8)
        [state] = notifier.states()
        assert (state.pending, state.skipped) == (1, 0) and state.failures >= 1
        private_broker.start()
        assert sink.wait_connected(30)
        deadline = time.monotonic() + 30
        while notifier.states()[0].pending and time.monotonic() < deadline:
            notifier.step()
            now[0] += timedelta(seconds=1)
            time.sleep(0.2)
        assert json.loads(sub.wait_for(f"{p}/events", timeout_s=30)[1])["alert"]["id"] == alert_id
        [state] = notifier.states()
        assert (state.pending, state.skipped, state.delivered) == (0, 0, 1)
    finally:
        notifier.close()
        sub.close()


@pytest.mark.parametrize(
    "backlog", [False, True]
)  # the later event written after the refused one, or with it
def test_an_event_the_broker_closes_the_connection_at_is_given_up_and_later_ones_delivered(
    store: AlertStore,
    caplog: pytest.LogCaptureFixture,
    backlog: bool,
    new_broker: NewBroker,
    run_notifier: RunNotifier,
) -> None:
    """A review note longer than the broker's max_packet_size: the broker closed the connection at
    its publish, paho sent it again first thing on every reconnect, and no event went out again."""
    import logging

    broker = new_broker()
    broker.conf.write_text(broker.conf.read_text() + "max_packet_size 4000\n")
    broker.start()
    p = _prefix()
    cfg = _cfg(broker.port, p, give_up_after_s=3600)
    sub = Subscriber("127.0.0.1", broker.port, [f"{p}/events"])
    sink = MqttSink(cfg.mqtt)  # type: ignore[arg-type]
    notifier = Notifier(cfg, store, [sink])
    try:
        [first] = store.write_alerts([new_alert("cam1")])
        if not backlog:
            run_notifier(notifier)
            assert json.loads(sub.wait_for(f"{p}/events")[1])["alert"]["id"] == first
        with caplog.at_level(logging.ERROR, "haad.events"):
            store.set_status(first, "confirmed", "x" * 5000, reviewer="bob")  # the update event: too large
            [later] = store.write_alerts([new_alert("cam2")])
            if backlog:
                run_notifier(notifier)
                assert json.loads(sub.wait_for(f"{p}/events")[1])["alert"]["id"] == first
            _, body, _ = sub.wait_for(f"{p}/events", timeout_s=30)
            assert json.loads(body)["alert"]["id"] == later
            _wait_delivered(notifier)
        [state] = notifier.states()
        assert (state.pending, state.delivered, state.skipped) == (0, 2, 1)
        [gave_up] = [r.getMessage() for r in caplog.records if "giving up" in r.getMessage()]
        assert "max_packet_size" in gave_up and f"{p}/events" in gave_up
        assert [json.loads(b)["type"] for t, b, _ in sub.received if t == f"{p}/events"] == ["open", "open"]
    finally:
        sub.close()


def test_a_broker_that_stops_acknowledging_past_give_up_after_s_loses_no_event(store: AlertStore) -> None:
    """A broker that kept the connection but acknowledged nothing (hung) had each publish time out
    as a refusal: after give_up_after_s of it every event was skipped at its next retry, lost
    though the broker never refused it."""
    from datetime import UTC, datetime, timedelta

    broker = SilentBroker()
    now = [datetime.now(UTC)]
    mqtt = MqttConfig(
        url=f"mqtt://127.0.0.1:{broker.port}", client_id=f"{_prefix()}-n", publish_timeout_s=0.3
    )
    cfg = EventsConfig(mqtt=mqtt, give_up_after_s=60)
    sink = MqttSink(mqtt)
    notifier = Notifier(cfg, store, [sink], clock=lambda: now[0])

    def a_second_later() -> None:
        now[0] += timedelta(seconds=1)

    try:
        assert sink.wait_connected(30)
        # Announced: on a loaded host its acknowledgement may come after publish_timeout_s.
        _step_until(notifier, lambda _: not sink.needs_announce, then=a_second_later)
        broker.acking.clear()
        store.write_alerts([new_alert("cam1")])
        for _ in range(3):  # retries over a day of it, at several points past the limit
            notifier.step()
            now[0] += timedelta(hours=8)
        [state] = notifier.states()
        assert (state.pending, state.skipped) == (1, 0) and "not acknowledged" in state.last_error
        broker.resume()
        # Skipped at its first retry, had it been counted refused; acknowledged by the first one
        # whose publish_timeout_s the acknowledgement makes.
        _step_until(notifier, lambda state: not state.pending, then=a_second_later)
        [state] = notifier.states()
        assert (state.pending, state.skipped, state.delivered) == (0, 0, 1)
    finally:
        notifier.close()
        broker.close()


def test_a_publish_paho_cannot_send_past_give_up_after_s_loses_no_event(
    store: AlertStore, broker: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """paho answers "not connected" to a publish in the moment between the socket's close and
    on_disconnect (a broker restarting at a delivery): that was counted a refusal of the event, and
    such a moment a day apart skipped it, though the broker never saw it."""
    from datetime import UTC, datetime, timedelta

    import paho.mqtt.client as mqtt

    now = [datetime.now(UTC)]
    cfg = _cfg(broker[1], _prefix(), give_up_after_s=60)
    sink = MqttSink(cfg.mqtt)  # type: ignore[arg-type]
    notifier = Notifier(cfg, store, [sink], clock=lambda: now[0])
    try:
        assert sink.wait_connected(30)
        notifier.step()  # announced
        store.write_alerts([new_alert("cam1")])
        publish = sink.client.publish
        with monkeypatch.context() as m:

            def not_connected(topic: str, *args: Any, **kwargs: Any) -> mqtt.MQTTMessageInfo:
                if not topic.endswith("/events"):
                    return publish(topic, *args, **kwargs)
                info = mqtt.MQTTMessageInfo(0)  # the socket closed just before this one
                info.rc = mqtt.MQTT_ERR_NO_CONN
                return info

            m.setattr(sink.client, "publish", not_connected)
            for _ in range(3):
                notifier.step()
                now[0] += timedelta(hours=8)
        [state] = notifier.states()
        assert (state.pending, state.skipped) == (1, 0) and "not currently connected" in state.last_error
        notifier.step()
        [state] = notifier.states()
        assert (state.pending, state.skipped, state.delivered) == (0, 0, 1)
    finally:
        notifier.close()


def test_a_publish_the_broker_never_acknowledges_on_a_live_connection_is_sent_again_after_keepalive_s(
    store: AlertStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retry waits for paho's copy of a publish rather than sending a second one (a hung broker
    takes both on resume); one the broker lost while it kept the connection and answered pings is
    sent again once keepalive_s has passed, not waited for forever."""
    import edge.events.mqtt

    # The sink's clock is moved past keepalive_s, not waited out: with 5 s of real time, a retry
    # late on a loaded host was sent again early, and one publish read by the broker only after
    # it was "lost" was acknowledged at once.
    moved = [0.0]
    clock = SimpleNamespace(monotonic=lambda: time.monotonic() + moved[0])
    monkeypatch.setattr(edge.events.mqtt, "time", clock)
    broker = SilentBroker()
    mqtt = MqttConfig(url=f"mqtt://127.0.0.1:{broker.port}", client_id=f"{_prefix()}-n", publish_timeout_s=0.3,
                      keepalive_s=3600, discovery=False)  # fmt: skip
    sink = MqttSink(mqtt)
    notifier = Notifier(EventsConfig(mqtt=mqtt, initial_backoff_s=0.1, max_backoff_s=0.1), store, [sink])
    events = f"{mqtt.topic_prefix}/events"
    try:
        assert sink.wait_connected(30)
        _step_until(notifier, lambda _: not sink.needs_announce)  # announced
        broker.acking.clear()
        store.write_alerts([new_alert("cam1")])
        notifier.step()
        poll_until(lambda: f"{mqtt.topic_prefix}/cam1/abnormal" in broker.published)  # its last message
        broker.held.clear()  # lost
        broker.resume()
        tried = notifier.states()[0].failures
        # Retries within keepalive_s: each waits for paho's copy, none is sent again.
        _step_until(notifier, lambda state: state.failures >= tried + 3 or not state.pending)
        assert notifier.states()[0].pending == 1 and broker.published.count(events) == 1, broker.published
        moved[0] = mqtt.keepalive_s
        _step_until(notifier, lambda state: not state.pending)
        assert broker.published.count(events) == 2
    finally:
        notifier.close()
        broker.close()


def test_a_port_that_takes_the_connection_but_never_accepts_it_says_so_in_last_error(
    store: AlertStore,
) -> None:
    """A broker past its max_connections, or something else on the port, that took the TCP
    connection and closed it (or never answered CONNECT: the same path, after keepalive_s) left
    only "not connected" in last_error."""
    server = socket.create_server(("127.0.0.1", 0))

    def take() -> None:
        while True:
            try:
                server.accept()[0].close()
            except OSError:
                return

    threading.Thread(target=take, daemon=True).start()
    # each connection is closed at once: a step need not wait the default 10 s for one
    mqtt = MqttConfig(url=f"mqtt://127.0.0.1:{server.getsockname()[1]}", client_id=f"{_prefix()}-n", publish_timeout_s=0.5)  # fmt: skip
    notifier = Notifier(EventsConfig(mqtt=mqtt), store, [MqttSink(mqtt)])
    try:
        store.write_alerts([new_alert("cam1")])
        deadline = time.monotonic() + 30
        while "before the broker accepted" not in notifier.states()[0].last_error:
            assert time.monotonic() < deadline, notifier.states()[0].last_error
            notifier.step()
            time.sleep(0.2)
        assert notifier.states()[0].pending == 1
    finally:
        notifier.close()
        server.close()


def test_home_assistant_sees_an_episode_end_whose_close_event_the_broker_refused(
    store: AlertStore,
    new_broker: NewBroker,
    run_notifier: RunNotifier,
) -> None:
    """A long review note goes into every later event of its alert: its close event, too large for
    the broker's max_packet_size, was given up on, and on a notifier-only host (no streams in its
    config) the stream's abnormal sensor stayed ON with no episode open."""
    broker = new_broker()
    broker.conf.write_text(broker.conf.read_text() + "max_packet_size 4000\n")
    broker.start()
    p = _prefix()
    cfg = _cfg(broker.port, p)
    sub = Subscriber("127.0.0.1", broker.port, [f"{p}/cam1/abnormal"])
    sink = MqttSink(cfg.mqtt)  # type: ignore[arg-type]  # no streams configured (a configured one is announced)
    notifier = Notifier(cfg, store, [sink])
    try:
        alert = new_alert("cam1")
        [alert_id] = store.write_alerts([alert])
        run_notifier(notifier)
        sub.wait_for(f"{p}/cam1/abnormal", payload="ON")
        store.set_status(alert_id, "confirmed", "x" * 5000, reviewer="bob")
        store.write_alerts([closed(alert)])
        _wait_delivered(notifier, timeout_s=30)
        assert notifier.states()[0].skipped == 2
        sub.wait_for(f"{p}/cam1/abnormal", payload="OFF", timeout_s=30)
    finally:
        sub.close()


def test_last_error_names_an_ipv6_broker_as_configured(store: AlertStore) -> None:
    """The MQTT sink had a URL redaction of its own: an IPv6 broker read mqtt://::1:1883 (no
    brackets, no telling host from port)."""
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::1", 0))
        port = s.getsockname()[1]  # nothing listens on it
    mqtt = MqttConfig(url=f"mqtt://haad@[::1]:{port}", publish_timeout_s=0.2)
    notifier = Notifier(EventsConfig(mqtt=mqtt), store, [MqttSink(mqtt)])
    try:
        store.write_alerts([new_alert("cam1")])
        notifier.step()
        assert f"MQTT broker mqtt://***@[::1]:{port} not connected" in notifier.states()[0].last_error
    finally:
        notifier.close()


@pytest.mark.parametrize(
    ("hang_after", "hangs"),
    [(0, 1), (1, 1), (3, 1), (4, 1), (0, 2)],  # publishes of the event before the hang (4: all of them)
)
def test_a_broker_hung_for_a_while_gets_each_message_of_an_event_once(
    store: AlertStore, private_broker: PrivateBroker, hang_after: int, hangs: int
) -> None:
    """A broker hung (SIGSTOP) past publish_timeout_s, then back: each retry published the event's
    messages again while paho still held the first copies, and the broker took every copy on
    resume (the same event twice or more on <prefix>/events)."""
    import os
    import signal

    pid = private_broker.proc.pid  # type: ignore[union-attr]
    p = _prefix()
    mqtt = MqttConfig(url=f"mqtt://127.0.0.1:{private_broker.port}", topic_prefix=p, client_id=f"{p}-n",
                      publish_timeout_s=0.3, discovery=False)  # fmt: skip
    cfg = EventsConfig(mqtt=mqtt, initial_backoff_s=0.01, max_backoff_s=0.01)
    sub = Subscriber("127.0.0.1", private_broker.port, [f"{p}/#"])
    sink = MqttSink(mqtt)
    notifier = Notifier(cfg, store, [sink])
    publish, published = sink.client.publish, [0]

    def publish_then_hang(*args: Any, **kwargs: Any) -> Any:
        info = publish(*args, **kwargs)
        published[0] += 1
        if published[0] == hang_after:
            os.kill(pid, signal.SIGSTOP)
        return info

    try:
        assert sink.wait_connected(30)
        notifier.step()  # announced
        sub.wait_for(f"{p}/available", payload="online")
        sink.client.publish = publish_then_hang  # type: ignore[method-assign]
        if hang_after == 0:
            os.kill(pid, signal.SIGSTOP)
        [alert_id] = store.write_alerts([new_alert("cam1")])
        for hang in range(hangs):
            if hang:
                os.kill(pid, signal.SIGSTOP)
            for _ in range(2):  # retries while it hangs
                notifier.step()
                time.sleep(0.02)  # past the back-off
            os.kill(pid, signal.SIGCONT)
        deadline = time.monotonic() + 30
        while notifier.states()[0].pending:
            assert time.monotonic() < deadline, notifier.states()[0].last_error
            notifier.step()
            time.sleep(0.02)
        # Behind every copy of the event on the sink's connection: once it is here, all of them are.
        publish(f"{p}/marker", "m", qos=1).wait_for_publish(5)
        sub.wait_for(f"{p}/marker")
        got = [(t, body) for t, body, _ in sub.received if t not in (f"{p}/marker", f"{p}/available")]
        events = [json.loads(body) for t, body in got if t == f"{p}/events"]
        assert [(e["alert"]["id"], e["event_id"]) for e in events] == [(alert_id, events[0]["event_id"])]
        topics = [t for t, _ in got if t != f"{p}/cam1/abnormal"] + [f"{p}/cam1/abnormal"]
        assert sorted(t for t, _ in got) == sorted(topics) and len(set(topics)) == len(topics), got
    finally:
        os.kill(pid, signal.SIGCONT)
        notifier.close()
        sub.close()


def _packet_size(topic: str, payload: str) -> int:
    """An MQTT 3.1.1 QoS 1 PUBLISH's size: header byte, remaining length (7 bits a byte), topic,
    packet id, payload."""
    rest = 2 + len(topic.encode()) + 2 + len(payload.encode())
    return 1 + (1 if rest < 128 else 2 if rest < 16384 else 3) + rest


def test_a_message_the_broker_refuses_leaves_the_events_other_messages_to_go_out(
    store: AlertStore,
    new_broker: NewBroker,
    run_notifier: RunNotifier,
) -> None:
    """A review whose <prefix>/events message was over the broker's max_packet_size while its
    retained state and latest alert fitted: the whole event was given up, and Home Assistant never
    saw the review (the state and alert topics kept the alert as it was before it)."""
    from edge import metrics
    from edge.store.outbox import pending_events

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
    sizes = {t: _packet_size(t, body) for t, body, _ in sink.messages(review)}
    events_size = sizes.pop(f"{p}/events")
    assert events_size > max(sizes.values()) + 20
    broker.conf.write_text(broker.conf.read_text() + f"max_packet_size {events_size - 10}\n")
    broker.start()
    sub = Subscriber("127.0.0.1", broker.port, [f"{p}/#"])
    refused_before = metrics.DROPS.labels("mqtt_refused")._value.get()
    try:
        run_notifier(notifier)
        _wait_delivered(notifier, timeout_s=20)
        [state] = notifier.states()
        assert (state.pending, state.delivered, state.skipped) == (0, 2, 1)
        assert json.loads(sub.wait_for(f"{p}/cam1/walk/state", reviewed_by="bob")[1])["state"] == "ON"
        assert json.loads(sub.wait_for(f"{p}/cam1/alert", reviewed_by="bob")[1])["id"] == alert_id
        assert metrics.DROPS.labels("mqtt_refused")._value.get() == refused_before + 1
        events = [json.loads(b) for t, b, _ in sub.received if t == f"{p}/events"]
        assert [(e["type"], e["alert"]["id"]) for e in events] == [("open", alert_id), ("open", later)]
    finally:
        sub.close()


@pytest.mark.parametrize("configured", [[], ["cam1"]])
def test_a_broker_that_lost_its_retained_messages_gets_the_latest_alert_and_states_again(
    store: AlertStore,
    configured: list[str],
    new_broker: NewBroker,
    run_notifier: RunNotifier,
) -> None:
    """A broker restarted without its retained messages got back availability, discovery and
    abnormal only: <p>/<stream>/alert (the sensor's attributes) and <p>/<stream>/<profile>/state
    stayed empty in Home Assistant until the stream's next alert."""
    broker = new_broker()
    broker.conf.write_text(f"listener {broker.port} 127.0.0.1\nallow_anonymous true\n")  # no persistence
    broker.start()
    p = _prefix()
    cfg = EventsConfig(
        mqtt=MqttConfig(url=f"mqtt://127.0.0.1:{broker.port}", topic_prefix=p, discovery_prefix=f"{p}-ha",
                        client_id=f"{p}-notifier", publish_timeout_s=5),
        poll_s=0.2, initial_backoff_s=0.2, max_backoff_s=1.0, public_url="https://haad.lan",
    )  # fmt: skip
    sink = MqttSink(cfg.mqtt, streams=configured)  # type: ignore[arg-type]
    notifier = Notifier(cfg, store, [sink])
    run_notifier(notifier)
    assert sink.wait_connected(30)
    [run_id] = store.write_alerts([new_alert("cam1", profile="run", closed=True)])
    [walk_id] = store.write_alerts([new_alert("cam1", profile="walk")])  # open, the stream's newest
    store.set_status(run_id, "confirmed", "seen", reviewer="bob")  # the log's now, not the event's
    _wait_delivered(notifier)
    broker.proc.kill()  # type: ignore[union-attr]
    broker.proc.wait()  # type: ignore[union-attr]
    broker.start()
    first = Subscriber("127.0.0.1", broker.port, [f"{p}/cam1/abnormal"])
    try:
        first.wait_for(f"{p}/cam1/abnormal", timeout_s=30, payload="ON")  # announced (abnormal last)
    finally:
        first.close()
    late = Subscriber("127.0.0.1", broker.port, [f"{p}/cam1/#"])  # Home Assistant, (re)started now
    try:
        _, alert, retained = late.wait_for(f"{p}/cam1/alert", timeout_s=30)
        assert retained and json.loads(alert)["id"] == walk_id
        assert json.loads(alert)["url"] == f"https://haad.lan/alerts/{walk_id}"
        walk = json.loads(late.wait_for(f"{p}/cam1/walk/state", timeout_s=30)[1])
        assert (walk["id"], walk["state"]) == (walk_id, "ON")
        run = json.loads(late.wait_for(f"{p}/cam1/run/state", timeout_s=30)[1])
        assert (run["id"], run["state"], run["reviewed_by"]) == (run_id, "OFF", "bob")
    finally:
        late.close()
