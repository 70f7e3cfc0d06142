"""The announcement at connect (availability, discovery, sensor states) against a broker that hangs
(the connection up, no acknowledgement) through several retries: each retry published the whole
announcement again while paho still held the earlier copies, and the broker got every copy (and
events queued behind them) once it answered again."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from mqtt_helpers import SilentBroker, new_alert, poll_until

from config.events import EventsConfig, MqttConfig
from edge.events.mqtt import MqttSink, Topics
from edge.events.notifier import Notifier
from edge.store import AlertStore

RETRIES = 4  # of each hang


@pytest.mark.parametrize(
    "hangs",
    [
        ["before_announcement"],  # from the connection on: the first announcement is retried
        ["after_announcement"],  # an event's messages held, then a reconnect announces in the hang
        ["before_announcement", "after_announcement"],  # twice
    ],
)
def test_a_broker_hung_through_retries_gets_each_announced_message_once_and_every_event_in_order(
    store: AlertStore, hangs: list[str]
) -> None:
    broker = SilentBroker()
    now = [datetime.now(UTC)]
    mqtt = MqttConfig(url=f"mqtt://127.0.0.1:{broker.port}", client_id=f"t{uuid.uuid4().hex[:8]}-n",
                      publish_timeout_s=0.3)  # fmt: skip
    topics = Topics(mqtt)
    sink = MqttSink(mqtt, ["cam1"])
    notifier = Notifier(EventsConfig(mqtt=mqtt), store, [sink], clock=lambda: now[0])

    def step() -> None:
        notifier.step()
        now[0] += timedelta(hours=1)  # past any back-off

    def step_till_delivered() -> None:
        deadline = time.monotonic() + 30
        while notifier.states()[0].pending or sink.needs_announce:
            assert time.monotonic() < deadline, notifier.states()[0].last_error
            step()

    try:
        if hangs[0] == "before_announcement":
            broker.acking.clear()
        assert sink.wait_connected(30)
        for hang in hangs:
            if hang == "before_announcement":
                broker.acking.clear()
                for _ in range(RETRIES):
                    step()
                store.write_alerts([new_alert("cam1")])  # an event in the hang
                for _ in range(RETRIES):
                    step()
            else:
                step_till_delivered()  # announced
                broker.acking.clear()
                store.write_alerts([new_alert("cam1")])
                step()  # its messages held
                before = len(broker.connections)
                broker.drop()
                poll_until(lambda: len(broker.connections) > before)  # noqa: B023 (called here)
                poll_until(lambda: sink.needs_announce)
                assert sink.wait_connected(30)
                for _ in range(RETRIES):
                    step()
            assert notifier.states()[0].pending == 1
            broker.resume()
            step_till_delivered()
        store.write_alerts([new_alert("cam1")])  # an event after the hangs
        step_till_delivered()
        [state] = notifier.states()
        assert (state.pending, state.skipped, state.delivered) == (0, 0, len(hangs) + 1)
        # Each message at most once a connection (paho sends again what a lost connection held).
        announced = [topics.available, topics.discovery("cam1")]
        copies = Counter((n, t) for n, t, _ in broker.received if t in announced)
        assert max(copies.values()) == 1, copies
        # A sensor's state: the announcement's and each event's, not one per retry.
        same = Counter(broker.received).most_common(1)
        assert same[0][1] <= 1 + len(hangs) + 1, same
        events = [(n, json.loads(p)["event_id"]) for n, t, p in broker.received if t == topics.events]
        assert max(Counter(events).values()) == 1, events
        ids = [event_id for _, event_id in events]
        assert sorted(set(ids)) == list(dict.fromkeys(ids)), ids  # in order
        assert len(set(ids)) == len(hangs) + 1
    finally:
        notifier.close()
        broker.close()
