"""Events link back: the URL in an alert's MQTT event (through the real Mosquitto broker) opens that
alert on a running review server."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx
from review_helpers import AUTH, Seeded, demo_alert, mqtt_subscriber

from config.events import EventsConfig, MqttConfig
from edge.events.mqtt import MqttSink
from edge.events.notifier import Notifier
from edge.store import AlertStore


def test_the_mqtt_events_url_opens_that_alert_on_the_review_server(live_server: str, seeded: Seeded) -> None:
    p = f"haadlink{uuid.uuid4().hex[:8]}"
    mqtt = MqttConfig(url="mqtt://127.0.0.1:1883", topic_prefix=p, client_id=f"{p}-n", discovery=False)
    cfg = EventsConfig(mqtt=mqtt, public_url=live_server + "/")
    sub = mqtt_subscriber("127.0.0.1", 1883, [f"{p}/events"])
    with AlertStore(seeded.url) as store:
        sink = MqttSink(mqtt)
        notifier = Notifier(cfg, store, [sink], snapshot_streams=["door"])
        try:
            assert sink.wait_connected(10)
            [alert_id] = store.write_alerts(
                [demo_alert("door", "demo-walk", datetime.now(UTC).replace(microsecond=0), seed=9)]
            )
            assert notifier.step() == 2  # a closed alert written at once: open and close
            event = json.loads(sub.wait_for(f"{p}/events", type="open")[1])
        finally:
            notifier.close()
            sub.close()
    url = event["alert"]["url"]
    assert url == f"{live_server}/alerts/{alert_id}"
    assert event["alert"]["thumbnail_url"] == f"{live_server}/api/v1/alerts/{alert_id}/thumbnail.jpg"
    page = httpx.get(url, headers=AUTH)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert f'data-alert-id="{alert_id}"' in page.text
    api = httpx.get(f"{live_server}/api/v1/alerts/{alert_id}", headers=AUTH).json()
    assert (api["id"], api["stream_id"]) == (alert_id, "door")
