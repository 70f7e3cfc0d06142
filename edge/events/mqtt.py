"""MQTT: alert events, retained per-stream state and Home Assistant discovery (paho-mqtt).

Topics (``<p>`` = ``mqtt.topic_prefix``, default ``haad``):

* ``<p>/events``: every event as JSON ``{"type": "open"|"update"|"close", "alert": {...},
  "stream_open_alerts": n, ...}``, the alert with ``url`` and ``thumbnail_url`` (:mod:`edge.events.links`) (not retained: a log of changes, like Frigate's ``frigate/events``);
* ``<p>/<stream>/<profile>/state``: retained JSON of the stream's latest alert for that profile,
  ``"state": "ON"`` while its episode is open, ``"OFF"`` once it closed (an event of an older alert,
  a review, leaves it and ``<p>/<stream>/alert`` as they are: the event's ``newest``);
* ``<p>/<stream>/abnormal``: retained ``ON`` while any episode of the stream is open, else ``OFF``
  (the Home Assistant binary sensor's state); ``<p>/<stream>/alert``: retained JSON of its latest
  alert (the sensor's attributes);
* ``<p>/available``: retained ``online``; ``offline`` as the last will when the notifier goes away;
* ``<discovery_prefix>/binary_sensor/haad_<stream>/abnormal/config``: retained discovery of one
  binary sensor per stream (device class ``problem``), announced on every (re)connect for the
  configured streams and those with an open episode, and for any stream an event names.

The client speaks MQTT 5, whose acknowledgements say when the broker refused a publish; a broker
that answers "unsupported protocol version" is served MQTT 3.1.1 instead (with a warning: over
3.1.1 Mosquitto takes a publish its ACL denies or one over ``message_size_limit`` and drops it
without a word, so such a refusal is not seen), rather than getting no event at all. A broker that keeps no retained messages (Mosquitto's
``retain_available false``, which refuses a connection with a retained last will) is served
everything unretained, with a warning, rather than no event either. No more
publishes wait for their acknowledgement at a time than the broker's Receive Maximum (20 at most).

An event counts as delivered only when the broker acknowledged every publish of it (QoS 1 or 2),
within ``publish_timeout_s`` (no acknowledgement is no answer, as a broker down is: never skipped);
while disconnected nothing is attempted and the notifier retries. A retry sends only what the
broker has not acknowledged, and nothing paho still holds from an earlier try (paho sends that
itself once the broker answers): a broker hung for a while gets each message of an event once, and
of the announcement at connect once (a sensor's state changed meanwhile: its newer one after). QoS 1
is at least once all the same (a connection lost after the broker took a publish but before its
acknowledgement came back, a publish held past ``keepalive_s``): ``event_uid`` in ``<p>/events`` tells
copies apart (``event_id`` does only within one alert log); the other topics are retained states, a
copy changes nothing.
A broker that refuses one of an event's messages in its acknowledgement (MQTT 5: ``Not authorized``
for a topic its ACL denies, ``Quota exceeded``, ...) refuses that message at once, and so does one
that announced a maximum packet size the message is over (it is not sent). A broker that closes the
connection before acknowledging one of an event's messages (Mosquitto at one over
``message_size_limit``: its MQTT 5 answer, reason 0x95, is not a PUBACK reason paho can read),
``POISON_DROPS`` times in a row for that message, each time on a connection that had just taken
other publishes (the announcement at connect, the event's messages before it), refuses that message
too, and another of the event's messages then at its first such drop. After a drop an event's
messages go one at a time, to know which one it was. The event's other messages still go out (its
retained state, the sensor's ON or OFF), each refused one is counted once, however often it
is retried (``haad_drops_total{reason="mqtt_refused"}``), and the sink says which topics it refused and why:
the notifier gives up on the event. One of the announcement at connect (availability, discovery, a
sensor's state) is counted and logged the same way, once however many reconnects announce it again
(till the broker takes it), and the announcement goes on. A connection the broker refuses (its
CONNACK's reason: bad credentials, a client id it refuses, ...) is named in the error with the
setting to check, and MQTT 5 is kept (a refusal is no sign of a 3.1.1 broker). An outage does
not look like that: the broker going away thrice in a row, each time in the moment that one message
was in flight, and an unreachable broker, or one taking nothing on a new connection, counts nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from config.events import MqttConfig
from config.redaction import redact_url
from config.secrets import SecretError
from edge.events.sinks import Current, DeliveryError
from edge.events.tls import tls_context
from edge.store.outbox import OutboxEvent

log = logging.getLogger("haad.events.mqtt")
POISON_DROPS = 3  # connections an event lost in a row before it counts as refused (module docstring)
_UNSUPPORTED_PROTOCOL = 0x84  # a CONNACK's: paho gives an MQTT 3.1.1 broker's "unacceptable version" so
_INFLIGHT = 20  # unacknowledged publishes at most (paho's default), fewer where the broker says so
_PROTOCOL_ERROR = 0x82  # paho's disconnect reason for a packet it could not read
_RETAIN_NOT_SUPPORTED = 0x9A  # a CONNACK's: the broker keeps no retained message (our last will is one)
# What to check, by a CONNACK's refusal (MQTT 3.1.1's return codes 2-5 read as 0x85-0x88), for
# last_error (haad events status, /health) and the log: the broker's reason alone did not say which
# setting it was about.
_CONNACK_FIX = {
    0x85: "check mqtt.client_id: the broker's rules for client ids",  # Client identifier not valid
    0x86: "check the user in mqtt.url and mqtt.password",  # Bad user name or password
    # Mosquitto's answer to a wrong password too.
    0x87: "check the user in mqtt.url and mqtt.password, and that the broker lets that user connect",
    0x88: "the broker takes no clients now: retrying",  # Server unavailable
    0x89: "the broker takes no clients now: retrying",  # Server busy
    0x8A: "the broker banned this client: check its configuration",  # Banned
    0x8C: "the broker wants an authentication method other than a user and password",
    0x90: "check mqtt.topic_prefix: the broker refuses the last will's topic",  # Topic name invalid
    0x97: "the broker's quota for this client is used up: retrying",  # Quota exceeded
    0x9B: "check mqtt.qos: over the broker's maximum QoS",  # QoS not supported (the last will's)
    0x9C: "check mqtt.url: the broker says to use another server",  # Use another server
    0x9D: "check mqtt.url: the broker moved",  # Server moved
    0x9F: "the broker takes connections less often: retrying",  # Connection rate exceeded
}
_NODE = re.compile(r"[^a-z0-9_]")


def node_id(stream: str) -> str:
    """A stream id as a Home Assistant node and object id (``[a-z0-9_]``, what entity ids allow),
    distinct for distinct streams: one that needed changing (``a.b``, ``Cam``) gets a hash of the
    original, so ``a.b`` and ``a_b`` never share an entity."""
    slug = _NODE.sub("_", stream.lower())
    if slug != stream:
        slug += "_" + hashlib.sha1(stream.encode()).hexdigest()[:8]
    return "haad_" + slug


class Topics:
    def __init__(self, cfg: MqttConfig) -> None:
        self.prefix, self.discovery_prefix = cfg.topic_prefix, cfg.discovery_prefix

    @property
    def events(self) -> str:
        return f"{self.prefix}/events"

    @property
    def available(self) -> str:
        return f"{self.prefix}/available"

    def state(self, stream: str, profile: str) -> str:
        return f"{self.prefix}/{stream}/{profile}/state"

    def abnormal(self, stream: str) -> str:
        return f"{self.prefix}/{stream}/abnormal"

    def alert(self, stream: str) -> str:
        return f"{self.prefix}/{stream}/alert"

    def discovery(self, stream: str) -> str:
        return f"{self.discovery_prefix}/binary_sensor/{node_id(stream)}/abnormal/config"


def discovery_payload(topics: Topics, stream: str) -> dict[str, Any]:
    node = node_id(stream)
    return {
        "name": "Abnormal action",
        "unique_id": f"{node}_abnormal",
        # object_id stops working in Home Assistant 2026.4; default_entity_id names the domain too.
        "default_entity_id": f"binary_sensor.{node}_abnormal",
        "state_topic": topics.abnormal(stream),
        "payload_on": "ON",
        "payload_off": "OFF",
        "device_class": "problem",
        "json_attributes_topic": topics.alert(stream),
        "availability_topic": topics.available,
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": {
            "identifiers": [node],
            "name": f"haad {stream}",
            "manufacturer": "haad",
            "model": "camera stream",
        },
    }


# Topics sent by the current client, not acknowledged yet (paho sends them again itself on a
# reconnect): the publish, when, and its payload.
_Held = dict[str, tuple[mqtt.MQTTMessageInfo, float, str]]


@dataclass
class _Attempt:
    """One event's delivery across its tries, each message sent once per client: a retry sends
    only what the broker has not acknowledged and paho does not hold any more."""

    # The event's uid: its id may be another event's of a log put in its place since a try (its topics
    # taken for acknowledged and never sent).
    event_uid: str
    acked: set[str] = field(default_factory=set)  # topics the broker acknowledged
    inflight: _Held = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # topics the broker refused, why (module docstring)
    # Topics whose refusal was counted: an event retried for ever (give_up_after_s 0) is refused
    # again at each try, and counted each time one drop looked like many.
    counted: set[str] = field(default_factory=set)
    serial: bool = False  # a connection was lost at it: its publishes go one at a time


class MqttSink:
    name = "mqtt"

    def __init__(self, cfg: MqttConfig, streams: Sequence[str] = ()) -> None:
        self.cfg = cfg
        self.topics = Topics(cfg)
        self.streams = list(dict.fromkeys(streams))
        self.announced: set[str] = set()  # streams whose discovery went out since the last connect
        self.needs_announce = True  # availability, discovery and states are due (set on connect)
        self.connected_at: datetime | None = None  # the last connection's: ends the notifier's back-off
        self._renewed = False  # the next connection is one _renew asked for: the broker never went away
        self._connected = threading.Event()
        self._why = ""  # why the last connection attempt failed, for last_error (haad events status)
        self._refused_at_connect = False  # the broker's CONNACK refused the connection being closed
        self._drops = 0  # connections lost so far: one lost while publishes wait for their acknowledgement
        self._connections = 0  # connections made so far
        self._proven = -1  # the last connection on which the broker acknowledged publishes
        # The (event id, topic) that lost connections, how many in a row.
        self._lost: tuple[tuple[int, str] | None, int] = (None, 0)
        self._refused_streams: set[str] = set()  # of refused events: their sensor's state is due again
        self._attempt: _Attempt | None = None  # the event being delivered: what of it went out
        # The announcement's publishes paho holds: a retry against a hung broker published all of it
        # again, and the broker took every copy (and the events queued behind them) on resume.
        self._announcing: _Held = {}
        self._protocol = MQTTProtocolVersion.MQTTv5  # MQTT 3.1.1 once a broker said it speaks no other
        self._inflight = _INFLIGHT  # unacknowledged publishes at most: fewer where the broker says so
        self._retain = True  # False once the broker said it keeps no retained message
        # A client of other settings (MQTT 3.1.1, fewer in flight) is due: the notifier thread makes it.
        self._remake_due = False
        self._told: set[str] = set()  # the warnings, logged at a first connection, that refusals go unseen
        self._max_packet: int | None = None  # the largest packet the broker takes, as it said at connect
        self._refusals: dict[int, str] = {}  # message id -> why the broker refused that publish
        # Announcement topics the broker refuses, and why: announced again at every (re)connect, and
        # counted each time, one refusal looked like one per connection.
        self._announce_refused: dict[str, str] = {}
        url = urlsplit(cfg.url)
        self._tls = url.scheme == "mqtts"
        self._address = (url.hostname or "127.0.0.1", url.port or (8883 if url.scheme == "mqtts" else 1883))
        self.client = self._new_client()
        self._started = False

    def _new_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.cfg.client_id, protocol=self._protocol
        )
        client.will_set(self.topics.available, "offline", qos=self.cfg.qos, retain=self._retain)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_publish = self._on_publish
        client.max_inflight_messages_set(self._inflight)
        return client

    def _start(self) -> None:
        """Connect, at first use rather than at construction: a notifier standing by for another
        (same database, same client id) must stay off the broker, or the two take the client id from
        each other every second and each drop publishes the last will, flapping ``available``."""
        if not self._started:
            self._connect()
            self._started = True

    def _connect(self) -> None:
        if self._tls:
            try:
                self.client.tls_set_context(tls_context(self.cfg.ca_file))
            except OSError as e:  # an unreadable or invalid ca_file: a retry, not a crashed notifier
                raise DeliveryError(f"MQTT ca_file {self.cfg.ca_file}: {e}", unreachable=True) from None
        user = urlsplit(self.cfg.url).username
        if user:
            try:
                password = self.cfg.password.value() if self.cfg.password else None
            except SecretError as e:  # likewise (haad run checks it at start; a file may go later)
                raise DeliveryError(f"MQTT password: {e}", unreachable=True) from None
            self.client.username_pw_set(unquote(user), password)
        self.client.connect_async(*self._address, keepalive=self.cfg.keepalive_s)
        self.client.loop_start()  # a network thread that reconnects by itself

    # paho callbacks (network thread) -------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, props: Any) -> None:
        # paho reads its own CONNACK refusal as a protocol error (on_disconnect, next): not the answer
        # of a broker that speaks no MQTT 5.
        self._refused_at_connect = reason.is_failure
        if reason.is_failure:
            if reason == _UNSUPPORTED_PROTOCOL and self._protocol == MQTTProtocolVersion.MQTTv5:
                self._why = "the broker speaks only MQTT 3.1.1: connecting with it"
                self._protocol, self._remake_due = MQTTProtocolVersion.MQTTv311, True
                return
            if reason == _RETAIN_NOT_SUPPORTED and self._retain:
                # Mosquitto's retain_available false: the retained last will alone refused every
                # connection, and no event went out. Events matter more than retained states.
                self._why = "the broker keeps no retained messages: connecting without them"
                self._retain, self._remake_due = False, True
                return
            fix = _CONNACK_FIX.get(reason.value, "")
            moved_to = getattr(props, "ServerReference", None)  # MQTT 5: where to, with 0x9C, 0x9D
            self._why = (
                f"refused: {reason}" + (f"; {fix}" if fix else "") + (f" ({moved_to})" if moved_to else "")
            )
            log.error("MQTT broker refused the connection: %s", self._why.removeprefix("refused: "))
            return
        most = min(_INFLIGHT, getattr(props, "ReceiveMaximum", _INFLIGHT))
        if most < self._inflight:
            # paho sends up to 20 unacknowledged publishes whatever the broker said it takes (its
            # Receive Maximum), and takes a lower limit only before it connects: a broker that
            # enforces it closed the connection at the next one, every announcement.
            self._why = f"the broker takes {most} unacknowledged publishes at a time: connecting again so"
            self._inflight, self._remake_due = most, True
            return
        log.info("MQTT connected to %s", redact_url(self.cfg.url))
        if getattr(props, "RetainAvailable", 1) == 0:  # one that took the will but says so: likewise
            self._retain = False
        if not self._retain:
            self._tell("retain", "MQTT broker %s keeps no retained messages (retain_available false): events go "
                       "out, but Home Assistant gets discovery, availability and a sensor's state only while it "
                       "is connected when haad publishes them, none after its restart")  # fmt: skip
        if self._protocol != MQTTProtocolVersion.MQTTv5:
            self._tell("v3.1.1", "MQTT broker %s speaks only MQTT 3.1.1: haad cannot tell a publish it refuses "
                       "(a topic its ACL denies, one over its message_size_limit) from one it took, and counts "
                       "it delivered; a broker speaking MQTT 5 says so (Mosquitto 1.6 or later)")  # fmt: skip
        elif self.cfg.qos == 2:
            # paho reads a QoS 2 refusal (in PUBREC) as nothing, and the broker completes the exchange.
            self._tell("qos2", "MQTT qos 2 to %s: haad cannot tell a publish the broker refuses (a topic its ACL "
                       "denies) from one it took, and counts it delivered; qos 1 (the default) sees "
                       "refusals, and event_uid tells its copies apart")  # fmt: skip
        self._max_packet = getattr(props, "MaximumPacketSize", None)
        self._why = ""
        self._connections += 1
        self.announced.clear()  # a broker that lost its retained messages gets them again
        self.needs_announce = True
        if not self._renewed:  # else an event it closes the connection at was retried in a tight loop
            self.connected_at = datetime.now(UTC)
        self._renewed = False
        self._connected.set()

    def _tell(self, what: str, warning: str) -> None:
        if what not in self._told:
            self._told.add(what)
            log.warning(warning, redact_url(self.cfg.url))

    def _on_publish(
        self, _client: mqtt.Client, _userdata: Any, mid: int, reason: ReasonCode, _props: Any
    ) -> None:
        # Called before paho marks the publish acknowledged: _await finds the refusal when it looks.
        if reason.is_failure:
            self._refusals[mid] = str(reason)
        else:  # a message id is used again once acknowledged
            self._refusals.pop(mid, None)

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        # paho calls it inside its ``except OSError`` and swallows the error (an unknown host, a
        # refused port, a TLS certificate it cannot verify): keep it, or nobody ever sees it.
        e = sys.exception()
        self._why = str(e)
        # TLS to a plain listener: Mosquitto resets the connection, others answer what is not TLS.
        if self._tls and (isinstance(e, ConnectionResetError) or "WRONG_VERSION_NUMBER" in self._why):
            self._why += " (is that port TLS? mqtts:// needs the broker's TLS listener, 8883 usually)"

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        refused_at_connect, self._refused_at_connect = self._refused_at_connect, False
        if self._connected.is_set():
            log.warning("MQTT disconnected (%s); reconnecting", reason)  # MQTT 5: the broker's reason too
        elif refused_at_connect:
            # The broker said why (on_connect): a fall-back to MQTT 3.1.1 here lost that reason from
            # last_error, and with it MQTT 5's refusals of publishes once connected.
            pass
        elif reason == _PROTOCOL_ERROR and self._protocol == MQTTProtocolVersion.MQTTv5:
            # An answer paho cannot read as MQTT 5: a 3.1.1 broker that ignored the version asked for
            # (its CONNACK lacks MQTT 5's properties); 3.1.1 is tried (on a service that is not MQTT
            # it fails as well, and says so).
            self._why = f"the broker's answer to MQTT 5 was not MQTT 5 ({reason}): connecting with MQTT 3.1.1"
            self._protocol, self._remake_due = MQTTProtocolVersion.MQTTv311, True
        elif not self._why:  # a refusal's reason stays; else only "not connected" was ever said
            # A broker past its max_connections, a service that is not MQTT, one that never answers.
            self._why = f"connection closed before the broker accepted it: {reason}"
            if not self._tls:  # a TLS listener drops a CONNECT that is not a TLS handshake
                self._why += " (a TLS port? its URL is mqtts://; or the broker is past its max_connections)"
        self._drops += 1
        self._connected.clear()

    # delivery (notifier thread) ------------------------------------------------------------------

    def wait_connected(self, timeout_s: float) -> bool:
        self._start()
        deadline = time.monotonic() + timeout_s
        while not self._connected.wait(min(0.05, max(0.0, deadline - time.monotonic()))):
            if self._remake_due:
                self._remake()
            if time.monotonic() >= deadline:
                return False
        return True

    def wants(self, event: OutboxEvent) -> bool:
        return True

    def deliver(self, event: OutboxEvent) -> None:
        self._require_connection()
        messages = self.messages(event)
        if self._attempt is None or self._attempt.event_uid != event.uid:
            self._attempt = _Attempt(event.uid)
        attempt = self._attempt
        self._publish_all([m for m in messages if m[0] not in attempt.acked | attempt.refused.keys()], event)
        self._lost = (None, 0)
        self.announced.update([*self.streams, event.stream_id])
        # Cleared: an event not given up on (give_up_after_s 0) tries the refused ones again.
        refused, attempt.refused = sorted(attempt.refused.items()), {}
        if refused:
            raise DeliveryError(
                f"MQTT broker refused the publish to {'; '.join(f'{t} ({why})' for t, why in refused)}; "
                "the event's other messages were delivered",
                refused=True,
            )
        self._attempt = None

    def messages(self, event: OutboxEvent) -> list[tuple[str, str, bool]]:
        """(topic, payload, retained) of each publish ``event`` makes, in order."""
        messages: list[tuple[str, str, bool]] = []
        for stream in [*self.streams, event.stream_id]:
            if self.cfg.discovery and stream not in self.announced:
                messages.append(
                    (self.topics.discovery(stream), json.dumps(discovery_payload(self.topics, stream)), True)
                )
        alert = event.payload["alert"]
        newest = event.payload.get("newest", {"stream": True, "profile": True})  # events written before it
        body = {"event_id": event.id, "event_uid": event.uid, **event.payload}
        messages.append((self.topics.events, json.dumps(body), False))
        if newest["profile"]:
            messages.append((self.topics.state(event.stream_id, event.profile), _state(alert), True))
        if newest["stream"]:
            messages.append((self.topics.alert(event.stream_id), json.dumps(alert), True))
        messages.append(
            (
                self.topics.abnormal(event.stream_id),
                "ON" if event.payload["stream_open_alerts"] > 0 else "OFF",
                True,
            )
        )
        return messages

    def announce(self, current: Current) -> None:
        """Availability, discovery and the current state of the configured streams and of every
        stream with an open episode (``current``: the alert log now; a notifier-only host configures
        no stream, another host's cameras are not in its config), without an event: at start and on
        reconnect, for a broker that lost its retained messages. The state is the retained topics an
        event sets: each profile's ``state`` and the stream's ``alert`` (the sensor's attributes, its
        newest alert), then ``abnormal``."""
        self._require_connection()
        messages = [(self.topics.available, "online", True)]
        # A refused abnormal message left its stream's sensor as it was: the store says what it is.
        streams = list(dict.fromkeys([*self.streams, *current.open_alerts, *self._refused_streams]))
        for stream in streams:
            if self.cfg.discovery:
                messages.append(
                    (self.topics.discovery(stream), json.dumps(discovery_payload(self.topics, stream)), True)
                )
            alerts = [alert for (of, _), alert in current.newest.items() if of == stream]
            messages += [(self.topics.state(stream, a["profile"]), _state(a), True) for a in alerts]
            if alerts:
                newest = max(alerts, key=lambda a: a["id"])  # written last, as Current.newest's are
                messages.append((self.topics.alert(stream), json.dumps(newest), True))
            messages.append(
                (self.topics.abnormal(stream), "ON" if current.open_alerts.get(stream, 0) else "OFF", True)
            )
        self._publish_all(messages)
        self.announced.update(streams)
        self._refused_streams.clear()
        self.needs_announce = False

    def _require_connection(self) -> None:
        """Connect at first use (waiting for it up to ``publish_timeout_s``); DeliveryError, with why
        the last attempt failed, while not connected."""
        if not self._started or self._remake_due:  # the broker asked for other settings: likewise
            self.wait_connected(self.cfg.publish_timeout_s)
        # _connected too: paho says connected before on_connect has counted the connection.
        if not (self._connected.is_set() and self.client.is_connected()):
            why = f" ({self._why})" if self._why else ""
            raise DeliveryError(
                f"MQTT broker {redact_url(self.cfg.url)} not connected{why}", unreachable=True
            )

    def _publish_all(
        self, messages: Sequence[tuple[str, str, bool]], event: OutboxEvent | None = None
    ) -> None:
        drops, connection = self._drops, self._connections
        attempt = self._attempt if event is not None else None
        held = attempt.inflight if attempt is not None else self._announcing
        deadline = time.monotonic() + self.cfg.publish_timeout_s
        # After a connection lost at this event: one publish at a time, or the one the broker closed
        # it at is not known (the acknowledgement of the one before may not have gone out either).
        serial = attempt is not None and attempt.serial
        for batch in [[m] for m in messages] if serial else [messages]:
            sendable = []
            for topic, payload, retain in batch:
                size = _publish_size(topic, payload, self.cfg.qos)
                if self._max_packet is not None and size > self._max_packet:  # it would close the connection
                    self._refuse(topic, f"{size} bytes, over the max_packet_size of {self._max_packet} bytes "
                                        "the broker announced", event)  # fmt: skip
                else:
                    sendable.append((topic, payload, retain))
            infos = [self._send(t, payload, r, held) for t, payload, r in sendable]
            self._await(sendable, infos, drops, connection, deadline, event)

    def _await(
        self,
        messages: Sequence[tuple[str, str, bool]],
        infos: Sequence[mqtt.MQTTMessageInfo],
        drops: int,
        connection: int,
        deadline: float,
        event: OutboxEvent | None,
    ) -> None:
        attempt = self._attempt if event is not None else None
        held = attempt.inflight if attempt is not None else self._announcing
        for (topic, payload, _), info in zip(messages, infos, strict=True):
            try:
                # In short waits: a connection lost meanwhile is over for these publishes at once.
                while not info.is_published() and self._drops == drops and time.monotonic() < deadline:
                    info.wait_for_publish(0.05)
            except (RuntimeError, ValueError) as e:
                held.pop(topic, None)
                # paho's failure, not the broker's refusal: "not connected" in the moment between the
                # socket's close and on_disconnect, its queue full. Counted a refusal, such moments a
                # day apart skipped an event the broker never saw.
                raise DeliveryError(f"MQTT publish to {topic} failed: {e}", unreachable=True) from None
            if info.is_published():
                held.pop(topic, None)
                self._proven = connection
                refusal = self._refusals.pop(info.mid, None)
                if refusal is not None:
                    self._refuse(topic, refusal, event)
                    continue
                self._announce_refused.pop(topic, None)  # taken now: a later refusal is a new one
                if attempt is not None:
                    attempt.acked.add(topic)
                continue
            if self._drops != drops:
                counts = event if connection == self._proven else None  # else not "other traffic is fine"
                if attempt is not None:
                    attempt.serial = True
                error = self._dropped(topic, len(payload.encode()), counts)
                self._renew()
                raise error
            # No answer, not a refusal (a broker refuses by closing the connection): a hung broker
            # had every event skipped at its next retry once give_up_after_s had passed.
            raise DeliveryError(
                f"MQTT publish to {topic} not acknowledged within {self.cfg.publish_timeout_s}s",
                unreachable=True,
            )

    def _send(self, topic: str, payload: str, retain: bool, held: _Held) -> mqtt.MQTTMessageInfo:
        """Publish, unless paho still holds this message (``held``: the event's, the announcement's)
        from a try that timed out: it sends that one when the broker answers again (a hung broker),
        and a second copy went out as well. One held for ``keepalive_s`` on a connection that stayed
        up (the broker answers pings) is taken for lost and sent again; a newer payload (a sensor's
        state changed meanwhile) goes out after it."""
        now = time.monotonic()
        sent = held.get(topic)
        if sent is not None and sent[2] == payload and now - sent[1] < self.cfg.keepalive_s:
            return sent[0]
        info = self.client.publish(topic, payload, qos=self.cfg.qos, retain=retain and self._retain)
        held[topic] = (info, now, payload)
        return info

    def _dropped(self, topic: str, size: int, event: OutboxEvent | None) -> DeliveryError:
        """The broker closed the connection before acknowledging: an outage, unless ``event`` (None:
        a drop that counts for none) has done it ``POISON_DROPS`` times in a row (then refused: see
        the module docstring)."""
        why = f"MQTT broker closed the connection before acknowledging the publish to {topic} ({size} bytes)"
        if event is None:
            return DeliveryError(why, unreachable=True)
        lost, times = self._lost
        times = times + 1 if lost == (event.id, topic) else 1
        # Once the broker refused one of the event's messages, a lost connection at another is
        # refused at once: POISON_DROPS for each one held later events back for minutes of back-off.
        if self._attempt is None or times < (1 if self._attempt.refused else POISON_DROPS):
            self._lost = ((event.id, topic), times)
            return DeliveryError(why, unreachable=True)
        self._lost = (None, 0)
        self._refuse(topic, f"it closed the connection at it {times} time(s) in a row: over its message_size_limit "
                            "or max_packet_size, or a topic its ACL denies?", event)  # fmt: skip
        return DeliveryError(f"{why}, {times} times in a row: refused; the event's other messages go next",
                             unreachable=True)  # fmt: skip

    def _refuse(self, topic: str, why: str, event: OutboxEvent | None) -> None:
        """The broker refused the publish to ``topic``: counted; an event's is named when the sink
        gives it up (deliver), the announcement's is logged here and the announcement goes on."""
        # Imported here: the daemon's start checks import this module before they point
        # prometheus_client at the folder every process shares (edge.metrics).
        from edge import metrics

        if event is None or self._attempt is None:
            if self._announce_refused.get(topic) != why:  # counted and logged once, not per connection
                self._announce_refused[topic] = why
                metrics.DROPS.labels("mqtt_refused").inc()
                log.error("MQTT broker refused the publish to %s (%s); skipped", topic, why)
            return
        if topic not in self._attempt.counted:
            metrics.DROPS.labels("mqtt_refused").inc()
            self._attempt.counted.add(topic)
        self._attempt.refused[topic] = why
        if topic == self.topics.abnormal(event.stream_id):  # its sensor's state is announced again
            self._refused_streams.add(event.stream_id)

    def _remake(self) -> None:
        """A client of the protocol and in-flight limit the broker asked for (MQTT 3.1.1, its Receive
        Maximum) in place of the one it refused."""
        self._remake_due = False
        self._why = ""  # the old client's failure: from now on the new one's, if it fails too, is the news
        self._renew(renewed=False)  # the new client's first connection ends any back-off

    def _renew(self, *, renewed: bool = True) -> None:
        """A new client, after a connection lost with publishes unacknowledged: paho sends those
        again first thing on reconnect, so one the broker closes the connection for (too large, a
        denied topic) closed every later connection as well, forever, and no event went out again.
        What is still due the notifier sends again itself."""
        old = self.client
        old.on_connect = old.on_disconnect = old.on_connect_fail = old.on_publish = None
        old.disconnect()  # if it reconnected meanwhile: a clean goodbye, no last will
        # Its thread may sleep a second before it sees the stop: not this thread's second.
        threading.Thread(target=old.loop_stop, name="mqtt-old-client", daemon=True).start()
        self._connected.clear()
        if self._attempt is not None:  # what the old client held goes with it
            self._attempt.inflight.clear()
        self._announcing.clear()
        self._refusals.clear()  # the new client numbers its messages anew
        self.client = self._new_client()
        self._renewed = renewed
        self._started = False
        self._start()

    def close(self) -> None:
        if not self._started:
            return
        was_connected = self._connected.is_set()
        self._connected.clear()  # a disconnect from here on is ours, not worth a warning
        if was_connected and self.client.is_connected():
            info = self.client.publish(
                self.topics.available, "offline", qos=self.cfg.qos, retain=self._retain
            )
            try:
                info.wait_for_publish(2.0)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()


def _state(alert: dict[str, Any]) -> str:
    """``<p>/<stream>/<profile>/state``: the alert, ``ON`` while its episode is open."""
    return json.dumps({"state": "ON" if alert["ended_at"] is None else "OFF", **alert})


def _publish_size(topic: str, payload: str, qos: int) -> int:
    """The size of an MQTT 5 PUBLISH as paho sends it: header byte, remaining length (7 bits a
    byte), topic, packet id (QoS 1, 2), no properties (their length, 0), payload."""
    rest = 2 + len(topic.encode()) + (2 if qos else 0) + 1 + len(payload.encode())
    return 1 + (1 if rest < 128 else 2 if rest < 16_384 else 3 if rest < 2_097_152 else 4) + rest
