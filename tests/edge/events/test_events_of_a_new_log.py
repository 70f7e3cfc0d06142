"""A receiver dropping duplicates as the docs say (``X-Haad-Delivery`` for a webhook, ``event_uid``
in MQTT's ``<p>/events``) gets every event of the alert log put at the path after the old one: a
log deleted and made afresh, or a backup put back. Each gave out event ids again from where it
stood, and a receiver dropping duplicates by event id dropped the new log's events as copies of
the old one's: alerts lost downstream."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mqtt_helpers import PrivateBroker, SilentBroker, Subscriber
from paho.mqtt import publish
from test_alert_log_moved_readers import move, write
from test_webhook import Receiver

from config.events import EventsConfig, MqttConfig, WebhookConfig
from edge.events.mqtt import MqttSink
from edge.events.notifier import Notifier
from edge.events.sinks import DeliveryError
from edge.events.webhook import WebhookSink
from edge.store import AlertStore
from edge.store.engine import LogMoved
from edge.store.outbox import pending_events


def first_of_each(items: Iterable[Any], key: Callable[[Any], str]) -> list[Any]:
    """``items`` as a receiver dropping duplicates keeps them: the first of each key."""
    seen: set[str] = set()
    kept = []
    for item in items:
        if key(item) not in seen:
            seen.add(key(item))
            kept.append(item)
    return kept


class Receivers:
    """What each receiver kept: (camera, event type) of each event, in order."""

    def __init__(self, webhook: Receiver, subscriber: Subscriber, topic: str) -> None:
        self.webhook, self.subscriber, self.topic = webhook, subscriber, topic

    def webhook_kept(self) -> list[tuple[str, str]]:
        requests = first_of_each(list(self.webhook.requests), lambda r: r[1]["X-Haad-Delivery"])
        return [(e["alert"]["stream_id"], e["type"]) for e in (json.loads(body) for _, _, body in requests)]

    def mqtt_kept(self) -> list[tuple[str, str]]:
        with self.subscriber.cond:
            events = [json.loads(p) for t, p, _ in self.subscriber.received if t == self.topic]
        return [(e["alert"]["stream_id"], e["type"]) for e in first_of_each(events, lambda e: e["event_uid"])]

    def got(self, stream: str) -> bool:
        """Whether both sinks sent the open event of ``stream``'s alert (kept or not)."""
        with self.subscriber.cond:
            sent = [json.loads(p) for t, p, _ in self.subscriber.received if t == self.topic]
        hooked = [json.loads(body) for _, _, body in list(self.webhook.requests)]
        return all(any(e["alert"]["stream_id"] == stream for e in got) for got in (sent, hooked))


@pytest.fixture
def receivers(private_broker: PrivateBroker) -> Iterator[Receivers]:
    webhook = Receiver([])
    # Subscribed to both in one request: once a message on ready comes, events are received too.
    subscriber = Subscriber("127.0.0.1", private_broker.port, ["haad-new-log/events", "haad-new-log/ready"])
    try:
        deadline = time.monotonic() + 15
        while not any(t == "haad-new-log/ready" for t, _, _ in list(subscriber.received)):
            assert time.monotonic() < deadline, "the subscriber did not subscribe within 15 s"
            publish.single("haad-new-log/ready", "1", hostname="127.0.0.1", port=private_broker.port)
            time.sleep(0.1)
        yield Receivers(webhook, subscriber, "haad-new-log/events")
    finally:
        subscriber.close()
        webhook.close()


def deliver_until(notifier: Notifier, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 15
    while not done():
        assert time.monotonic() < deadline, "the events did not come within 15 s"
        try:
            notifier.step()
        except LogMoved:  # the file at the path meanwhile: the next round reads it
            pass
        time.sleep(0.05)


@pytest.mark.parametrize(
    "act,times",
    [
        ("deleted", 1),  # rm alerts.db*: the worker makes it afresh at its next alert
        ("deleted", 2),  # ... and again
        ("replaced", 1),  # a backup put back: ids go on from the backup's, given out since
    ],
)
def test_a_receiver_dropping_duplicates_gets_the_events_of_the_log_put_in_the_old_ones_place(
    tmp_path: Path, private_broker: PrivateBroker, receivers: Receivers, act: str, times: int
) -> None:
    db, backup = tmp_path / "alerts.db", tmp_path / "backup.db"
    mqtt = MqttConfig(url=f"mqtt://127.0.0.1:{private_broker.port}", topic_prefix="haad-new-log",
                      discovery=False, client_id="haad-new-log", publish_timeout_s=5)  # fmt: skip
    cfg = EventsConfig(
        mqtt=mqtt, webhooks=[WebhookConfig(name="hook", url=receivers.webhook.url)], poll_s=0.1
    )
    with AlertStore(f"sqlite:///{db}") as store:
        notifier = Notifier(cfg, store, [MqttSink(mqtt), WebhookSink(cfg.webhooks[0])], new_sinks_from=None)
        try:
            write(db, "before")
            deliver_until(notifier, lambda: receivers.got("before"))
            source, copy = sqlite3.connect(db), sqlite3.connect(backup)
            source.backup(copy)  # its events and cursors as they stand: "before" delivered
            source.close()
            copy.close()
            write(db, "after backup")  # an id the backup gives out again
            deliver_until(notifier, lambda: receivers.got("after backup"))
            sent = ["before", "after backup"]
            for n in range(times):
                move(act, db, backup)
                write(db, f"new{n}")
                deliver_until(notifier, lambda: receivers.got(f"new{n}"))  # noqa: B023
                sent.append(f"new{n}")
        finally:
            notifier.close()
    expected = [(stream, "open") for stream in sent]
    assert receivers.webhook_kept() == expected
    assert receivers.mqtt_kept() == expected


class WithholdsAbnormal(SilentBroker):
    """Acknowledges each publish at once, but a stream's ``abnormal`` state only once another
    publish comes (or at :meth:`resume`)."""

    def answer(self, conn: socket.socket, head: int, body: bytes) -> bool:
        if head >> 4 == 3 and head & 6:  # PUBLISH, QoS 1
            topic = body[2 : 2 + int.from_bytes(body[:2])].decode()
            (self.acking.clear if topic.endswith("/abnormal") else self.acking.set)()
        return super().answer(conn, head, body)


def test_an_event_of_the_new_log_is_published_whole_where_the_old_ones_of_its_id_was_half_delivered(
    tmp_path: Path,
) -> None:
    """The old log's event got all its messages but ``abnormal`` acknowledged when the log was put
    aside; the new log's first event has the same id, and its messages were taken for those
    acknowledged: its ``<p>/events`` was never sent."""
    broker = WithholdsAbnormal()
    mqtt = MqttConfig(url=f"mqtt://127.0.0.1:{broker.port}", topic_prefix="haad-half", discovery=False,
                      client_id="haad-half", publish_timeout_s=0.3)  # fmt: skip
    sink = MqttSink(mqtt)
    events = []
    for stream in ("old", "new"):  # the first event of two logs: id 1 each
        write(tmp_path / f"{stream}.db", stream)
        with AlertStore(f"sqlite:///{tmp_path / stream}.db") as store, store.reading() as s:
            events += pending_events(s, 0, 1)
    try:
        assert sink.wait_connected(10)
        with pytest.raises(DeliveryError, match="not acknowledged"):
            sink.deliver(events[0])
        for _ in range(3):
            try:
                sink.deliver(events[1])
                break
            except DeliveryError:  # its abnormal held back as the old one's was
                broker.resume()
    finally:
        sink.close()
        broker.close()
    sent = [json.loads(p) for _, topic, p in broker.received if topic == "haad-half/events"]
    assert [(e["event_id"], e["alert"]["stream_id"]) for e in sent] == [(1, "old"), (1, "new")]
