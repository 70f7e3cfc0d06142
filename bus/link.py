"""What a bus socket's monitor says of its peers, said in the logs.

Without it a frontend whose key the worker refuses, or that holds a wrong server key, or whose
worker is down, queues its frames without a word, and the worker sees nothing at all. A sender
(:class:`SenderLink`) says when it reaches the worker, when the worker refuses its key or the
handshake fails, and when no worker has answered for a while; each once, until the link changes. A
receiver (:class:`ReceiverLink`) says when it refuses a peer. libzmq never retries a handshake the
worker refused, so a sender reconnects itself after :data:`RETRY_REFUSED_S`: authorizing its key and
restarting the worker is enough, the frontend needs no restart.
"""

from __future__ import annotations

import logging
import socket
import time
from collections import Counter, deque
from collections.abc import Callable

import zmq
from zmq.utils.monitor import recv_monitor_message

log = logging.getLogger(__name__)

UP = zmq.EVENT_HANDSHAKE_SUCCEEDED
REFUSED = zmq.EVENT_HANDSHAKE_FAILED_AUTH  # the worker's ZAP handler does not know the key
FAILED = zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL  # e.g. wrong server key
DOWN = zmq.EVENT_DISCONNECTED
NO_WORKER_S = 10.0  # a link down this long is said (a worker restart takes 2-3 s)
RETRY_REFUSED_S = 5.0
CHECK_EVERY_S = 0.5  # the monitor is read at most this often from a sender's publish loop
REFUSALS_SAID_EVERY_S = 60.0
_NAMED = 3  # refused peers named in one line


def _events(monitor: zmq.Socket) -> list[int]:
    out = []
    while True:
        try:
            out.append(recv_monitor_message(monitor, flags=zmq.NOBLOCK)["event"])
        except zmq.Again:
            return out


def _unresolved(endpoint: str) -> tuple[str, str] | None:
    """``(host, why)`` when ``endpoint`` is ``tcp://`` to a host name that does not resolve: libzmq
    then retries in silence, as it does for a worker that is down. Asked once per silence of
    :data:`NO_WORKER_S` (a name server that does not answer holds the caller up to its timeout)."""
    if not endpoint.startswith("tcp://"):
        return None
    address = endpoint.removeprefix("tcp://").rsplit(":", 1)[0]
    host = address.rsplit(";", 1)[-1].strip("[]")  # "source;host": the host connected to
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        return host, e.strerror or str(e)
    except UnicodeError as e:  # a name no resolver can encode (an empty label, over 63 characters)
        return host, str(e)
    return None


class SenderLink:
    """A frontend's link to the worker, read from ``socket``'s monitor (``socket`` connects to
    ``endpoint`` when ``connects``, else binds it). Call :meth:`check` often; it never blocks."""

    def __init__(
        self,
        socket: zmq.Socket,
        endpoint: str,
        *,
        connects: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._socket = socket
        self._endpoint = endpoint
        self._connects = connects
        self._clock = clock
        self._monitor = socket.get_monitor_socket(UP | REFUSED | FAILED | DOWN)
        self.up = False
        self.unconfirmed = 0  # frames queued since the link was last up: lost if it never comes back
        self._down_since = clock()
        self._said: str | None = None  # the state last logged
        self._retry_at: float | None = None
        self._checked_at = -CHECK_EVERY_S
        self._closing = False

    def check(self) -> None:
        now = self._clock()
        if now - self._checked_at < CHECK_EVERY_S:
            return
        self._checked_at = now
        for event in _events(self._monitor):
            self._on(event, now)
        if not self.up and self._said is None and now - self._down_since >= NO_WORKER_S:
            unresolved = _unresolved(self._endpoint) if self._connects else None
            if unresolved is not None:
                self._say("unresolved", logging.ERROR,
                          "the worker's host %r in bus.endpoint %s does not resolve (%s): is the name right? "
                          "Frames queue (bus.publisher_hwm) meanwhile; it connects once the name resolves",
                          *unresolved, self._endpoint)  # fmt: skip
            else:
                self._say("absent", logging.WARNING,
                          "no worker has answered at %s for %.0f s: frames queue (bus.publisher_hwm), then a "
                          "live camera drops them and a file waits", self._endpoint, now - self._down_since)  # fmt: skip
        if self._retry_at is not None and now >= self._retry_at:
            self._retry_at = None
            self._socket.disconnect(self._endpoint)
            self._socket.connect(self._endpoint)

    def _on(self, event: int, now: float) -> None:
        if event == UP:
            self.up = True
            self.unconfirmed = 0  # a link that comes up takes the queue along
            if self._closing:  # read only now (no frame was sent to read it before): no news on the way out
                self._said = "up"
            else:
                self._say("up", logging.INFO, "connected to the worker at %s", self._endpoint)
            return
        if self.up:
            self.up = False
            self._down_since = now
        if event == REFUSED:
            self._say("refused", logging.ERROR,
                      "the worker at %s refused this frontend's key (bus.curve.client_secret_key): add its "
                      "public key to the worker's bus.curve.authorized_clients and restart the worker; "
                      "retrying every %.0f s", self._endpoint, RETRY_REFUSED_S)  # fmt: skip
            if self._connects:
                self._retry_at = now + RETRY_REFUSED_S
        elif event & FAILED:
            self._say("failed", logging.ERROR,
                      "the handshake with the worker at %s failed: is bus.curve.server_public_key the "
                      "worker's key?", self._endpoint)  # fmt: skip
        elif event == DOWN and self._said == "up":
            self._said = None  # a worker restart is quiet unless it stays down NO_WORKER_S

    def _say(self, state: str, level: int, message: str, *args: object) -> None:
        if self._said != state:
            log.log(level, "bus: " + message, *args)
        self._said = state

    def sent(self) -> None:
        """A frame was queued."""
        self.unconfirmed += not self.up

    def close(self) -> None:
        self._checked_at = -CHECK_EVERY_S
        self._closing = True
        self.check()
        if not self.up and self.unconfirmed:
            log.warning("bus: closing with no worker connected at %s: %d frame(s) queued since it was last "
                        "connected are lost", self._endpoint, self.unconfirmed)  # fmt: skip
        self._socket.disable_monitor()
        self._monitor.close(linger=0)


class ReceiverLink:
    """The worker's view of the peers it refuses, read from ``socket``'s monitor: the first refusal
    is logged at once, later ones at most every :data:`REFUSALS_SAID_EVERY_S` with their count.
    ``denied`` (the ZAP handler's, appended by its thread): the hosts and keys refused, named too.
    Each refusal also counts in ``drops`` (the Subscriber's, which the worker's metrics read):
    ``refused_key`` (a key not authorized) or ``failed_handshake``."""

    def __init__(
        self,
        socket: zmq.Socket,
        *,
        denied: deque[tuple[str, str]] | None = None,
        drops: Counter[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._socket = socket
        self._denied = denied if denied is not None else deque()
        self._drops: Counter[str] = drops if drops is not None else Counter()
        self._clock = clock
        self._monitor = socket.get_monitor_socket(REFUSED | FAILED)
        self.refused = 0  # handshakes refused or failed since start
        self._unsaid: Counter[int] = Counter()  # REFUSED or FAILED
        self._since_start: Counter[int] = Counter()  # each kind apart: a failing key retries fast
        self._who: dict[tuple[str, str], None] = {}  # the denied peers not said yet, in order
        self._said_at: float | None = None

    def check(self) -> None:
        events = _events(self._monitor)
        if events:  # called per received frame: nothing more than this test when no peer was refused
            self.refused += len(events)
            kinds = Counter(REFUSED if e == REFUSED else FAILED for e in events)
            self._unsaid.update(kinds)
            self._since_start.update(kinds)
            self._drops.update({"refused_key": kinds[REFUSED], "failed_handshake": kinds[FAILED]})
        while self._denied:
            self._who[self._denied.popleft()] = None
        now = self._clock()
        if self._unsaid and (self._said_at is None or now - self._said_at >= REFUSALS_SAID_EVERY_S):
            if self._unsaid[REFUSED]:
                who = ", ".join(f"{host} with key {key}" for host, key in list(self._who)[:_NAMED])
                more = len(self._who) - _NAMED
                log.warning(
                    "bus: refused %d connection(s) whose key is not in bus.curve.authorized_clients%s (%d "
                    "since start): authorize the key or stop that frontend", self._unsaid[REFUSED],
                    f": from {who}{f' and {more} more' if more > 0 else ''}" if who else "",
                    self._since_start[REFUSED],
                )  # fmt: skip
            if self._unsaid[FAILED]:
                log.warning(
                    "bus: refused %d connection(s) whose handshake failed (%d since start): a frontend whose "
                    "bus.curve.server_public_key is not this worker's public key, or one not using CURVE", self._unsaid[FAILED],
                    self._since_start[FAILED],
                )  # fmt: skip
            self._unsaid.clear()
            self._who.clear()
            self._said_at = now

    def close(self) -> None:
        self._socket.disable_monitor()
        self._monitor.close(linger=0)
