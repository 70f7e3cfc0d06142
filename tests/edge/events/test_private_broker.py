"""The tests' own Mosquitto (mqtt_helpers.PrivateBroker) keeps what it promises: the outage tests
rely on its persistence for a subscriber's queued messages and for retained topics."""

from __future__ import annotations

import paho.mqtt.client as mqtt
from conftest import NewBroker
from mqtt_helpers import Subscriber
from paho.mqtt.enums import CallbackAPIVersion


def test_the_private_broker_keeps_retained_messages_across_a_restart(new_broker: NewBroker) -> None:
    """Started as root it became user mosquitto, could not write its persistence file in pytest's
    tmp folder, and came back from a stop empty: "persistence on" tested nothing."""
    broker = new_broker()
    broker.start()
    c = mqtt.Client(CallbackAPIVersion.VERSION2)
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    c.publish("kept/topic", "still here", qos=1, retain=True).wait_for_publish(5)
    c.disconnect()
    c.loop_stop()
    broker.stop()  # SIGTERM: saves its database
    assert (broker.conf.parent / "mosquitto.db").is_file()
    broker.start()
    sub = Subscriber("127.0.0.1", broker.port, ["kept/topic"])
    try:
        assert sub.wait_for("kept/topic", timeout_s=5) == ("kept/topic", "still here", True)
    finally:
        sub.close()
