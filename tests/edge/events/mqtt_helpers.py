"""Helpers of the events tests (also used by the review end-to-end test): alerts to raise, a real
MQTT subscriber, and a Mosquitto of a test's own."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.store import NewAlert

BROKER = ("127.0.0.1", 1883)


def new_alert(stream: str = "cam1", *, closed: bool = False, profile: str = "walk") -> NewAlert:
    start = datetime.now(UTC).replace(microsecond=0)
    rng = np.random.default_rng(0)
    return NewAlert(
        episode_key=uuid.uuid4().hex, stream_id=stream, profile=profile, profile_version=1, started_at=start,
        ended_at=start + timedelta(seconds=4) if closed else None, peak_score=1.8, mean_score=1.4,
        threshold=1.2, n_windows=5, model_version="m", windows=rng.normal(size=(2, 60, 20, 3)).astype(np.float32),
        window_times=np.array([[0.0, 3.0], [0.25, 3.25]]), window_scores=np.array([1.3, 1.8]),
    )  # fmt: skip


def closed(a: NewAlert) -> NewAlert:
    return NewAlert(**{**a.__dict__, "ended_at": a.started_at + timedelta(seconds=4)})


class Subscriber:
    """A real MQTT client keeping every (topic, payload, retained) it receives, in order."""

    def __init__(self, host: str, port: int, topics: list[str], *, client_id: str | None = None,
                 clean_start: bool = True) -> None:  # fmt: skip
        self.received: list[tuple[str, str, bool]] = []
        self.taken: set[int] = set()
        self.cond = threading.Condition()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"t-{uuid.uuid4().hex[:8]}",
            clean_session=clean_start,
        )
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in topics]) and None
        self.client.reconnect_delay_set(1, 2)
        self.client.connect(host, port)
        self.client.loop_start()

    def _on_message(self, _c: object, _u: object, m: mqtt.MQTTMessage) -> None:
        with self.cond:
            self.received.append((m.topic, m.payload.decode(), bool(m.retain)))
            self.cond.notify_all()

    def wait_for(
        self, topic: str, timeout_s: float = 20.0, payload: str | None = None, **match: object
    ) -> tuple[str, str, bool]:
        """The first message on ``topic`` (equal to ``payload``, or whose JSON has ``match``) not
        returned before."""
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while True:
                for i, (t, body, retained) in enumerate(self.received):
                    if i in self.taken or t != topic or (payload is not None and body != payload):
                        continue
                    if match and any(json.loads(body).get(k) != v for k, v in match.items()):
                        continue
                    self.taken.add(i)
                    return t, body, retained
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"nothing on {topic} {match or ''} within {timeout_s} s")
                self.cond.wait(left)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def poll_until(done: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, f"not so within {timeout_s} s"
        time.sleep(0.02)


def broker_up(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


class PrivateBroker:
    """A Mosquitto of our own (persistence on, so queued QoS 1 messages survive its restart)."""

    def __init__(self, folder: Path) -> None:
        self.exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(self.exe).exists():
            pytest.fail("mosquitto is not installed")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {folder}/\n"
            # Started as root, Mosquitto becomes user mosquitto, who cannot enter pytest's tmp folder
            # (0700): it saved nothing and "persistence on" had no effect. As any other user it
            # stays that user and this line does nothing.
            "user root\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([self.exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 30
        while not broker_up("127.0.0.1", self.port):
            assert time.monotonic() < deadline, "private mosquitto did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: Mosquitto saves its persistence file (queued messages, sessions) and exits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class FakeBroker:
    """A broker on loopback that reads MQTT packets and answers each as :meth:`answer` says (False:
    close the connection); pings are answered, a DISCONNECT closes."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        stream = conn.makefile("rb")
        with conn, stream:
            while head := stream.read(1):
                length, shift = 0, 0
                while True:  # the remaining length, 7 bits a byte
                    byte = stream.read(1)[0]
                    length, shift = length | (byte & 127) << shift, shift + 7
                    if not byte & 128:
                        break
                body = stream.read(length)
                kind = head[0] >> 4
                if kind == 12:  # PINGREQ
                    conn.sendall(b"\xd0\x00")
                elif kind == 14 or not self.answer(conn, head[0], body):  # DISCONNECT
                    return

    def answer(self, conn: socket.socket, head: int, body: bytes) -> bool:
        """Answer a packet (``head``: its first byte, the type in the high 4 bits); False: close."""
        raise NotImplementedError

    def close(self) -> None:
        self.server.close()


class SilentBroker(FakeBroker):
    """A broker that accepts connections and answers pings but, while ``acking`` is clear, holds
    back the acknowledgement of each publish (till :meth:`resume`): hung behind a full disk, a stuck
    bridge."""

    def __init__(self) -> None:
        self.acking = threading.Event()
        self.acking.set()
        self.lock = threading.Lock()
        self.held: list[tuple[socket.socket, bytes]] = []
        self.published: list[str] = []  # the topic of every publish it read, in order
        # (connection number, topic, payload) of every publish it read, in order.
        self.received: list[tuple[int, str, bytes]] = []
        self.connections: list[socket.socket] = []  # in the order they connected
        self.versions: list[int] = []  # each one's MQTT version (4: 3.1.1)
        super().__init__()

    def answer(self, conn: socket.socket, head: int, body: bytes) -> bool:
        kind = head >> 4
        if kind == 1:  # CONNECT
            with self.lock:
                self.connections.append(conn)
                self.versions.append(body[6])  # after the protocol's name, "MQTT"
            conn.sendall(b"\x20\x02\x00\x00")
        elif kind == 3 and head & 6:  # PUBLISH, QoS 1
            topic_end = 2 + int.from_bytes(body[:2])
            topic = body[2:topic_end].decode()
            with self.lock:
                connection = self.connections.index(conn)
                # After its packet id, and MQTT 5's properties (none from paho: their length, 0).
                payload = body[topic_end + (3 if self.versions[connection] == 5 else 2) :]
                self.published.append(topic)
                self.received.append((connection, topic, payload))
                self.held.append((conn, body[topic_end : topic_end + 2]))
            if self.acking.is_set():
                self.resume()
        return True

    def resume(self) -> None:
        with self.lock:
            self.acking.set()
            for conn, packet_id in self.held:
                conn.sendall(b"\x40\x02" + packet_id)  # PUBACK
            self.held.clear()

    def drop(self) -> None:
        """Close every connection: what it held unacknowledged is lost with it."""
        with self.lock:
            for conn in self.connections:
                with contextlib.suppress(OSError):  # one closed already
                    conn.shutdown(socket.SHUT_RDWR)
            self.held.clear()
