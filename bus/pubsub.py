"""The two ends of the skeleton bus: frontends send, the window worker receives.

ZeroMQ PUSH/PULL, many frontends -> one worker: the worker's :class:`Subscriber` binds and every
frontend's :class:`Publisher` connects, over ``ipc://`` on one host or ``tcp://`` across hosts
(``tcp://`` only with CURVE keys, :mod:`bus.curve`). Both ends take the process's one
``zmq.Context`` (``zmq.Context.instance()`` unless given), close with linger 0 so a shutdown never
hangs on unsent frames, and must be used from the thread that created them.

Why PUSH/PULL and not PUB/SUB: a connecting PUSH queues frames (up to ``publisher_hwm``) while no
worker is there, so a worker restart loses only what was inside the dying worker; a full queue is
reported to the sender instead of being dropped silently. Drop policy (docs/bus.md): a live
camera never waits (:meth:`Publisher.publish` returns False and the frontend counts the drop), a
file source waits for room (``wait=``), so a replay at full speed is scored frame by frame. The
receiving end refuses and counts invalid messages, frames of streams it does not serve, and frames
that do not follow their stream (:mod:`bus.guard`). A frontend whose finite source (a file) ran out
says so after its last frame (:attr:`SkeletonFrame.ended`); the receiving end counts it per stream
(:attr:`Subscriber.ended`) instead of handing it on: it is no camera frame.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections import Counter
from collections.abc import Iterable
from types import TracebackType
from typing import Protocol, Self

import zmq

from bus.curve import AUTHENTICATORS, secure_client, secure_server, sender_streams
from bus.guard import StreamGuard
from bus.link import ReceiverLink, SenderLink
from bus.messages import MessageError, SkeletonFrame, decode, encode
from config.bus import BusConfig, StreamGuardConfig

log = logging.getLogger(__name__)

# A part above this size makes libzmq disconnect the sending peer instead of delivering the message.
# It is per part: a message of many smaller parts is received whole and refused as "malformed", so
# who may connect (ipc file mode, CURVE keys) is what keeps a peer from filling memory. Between
# MAX_MESSAGE_BYTES and this a message is delivered and counted as "oversized".
HARD_MESSAGE_LIMIT_BYTES = 1024 * 1024
# A receiving end with no stream list follows at most this many streams (later ones are refused).
MAX_STREAMS = 1024
_WAIT_SLICE_MS = 200
# A frame sent this far in the worker's future tells of a sender's clock ahead (NTP keeps hosts
# within milliseconds); it is said once per stream.
CLOCK_AHEAD_SAID_S = 1.0
IPC_MODES = {"owner": 0o600, "group": 0o660}  # file modes of an ipc:// socket (BusConfig.ipc_access)


class StopFlag(Protocol):
    def is_set(self) -> bool: ...


def _open(context: zmq.Context | None, kind: int, options: dict[int, int]) -> zmq.Socket:
    """A socket with linger 0 and ``options`` set (before it binds or connects: HWMs and CURVE
    apply only then); bind or connect with :func:`_attach`."""
    socket = (context if context is not None else zmq.Context.instance()).socket(kind)
    socket.setsockopt(zmq.LINGER, 0)
    for option, value in options.items():
        socket.setsockopt(option, value)
    return socket


class _SocketFile:
    """The file of an ipc socket bound here, as it was made: libzmq leaves it behind when the socket
    closes (a clean stop left bus.sock), so :meth:`remove` takes it away, unless another end has
    bound that path since (ZeroMQ then replaced the file, and removing it would cut that end off)."""

    def __init__(self, path: str) -> None:
        self.path = path
        made = os.stat(path)
        self._made = (made.st_dev, made.st_ino)

    def remove(self) -> None:
        with contextlib.suppress(OSError):  # gone already, or its folder with it
            now = os.stat(self.path)
            if (now.st_dev, now.st_ino) == self._made:
                os.unlink(self.path)


def _attach(
    socket: zmq.Socket, endpoint: str, bind: bool, ipc_mode: int = IPC_MODES["owner"]
) -> _SocketFile | None:
    """Bind or connect; an ipc socket bound here gets ``ipc_mode`` whatever the umask (connecting to
    a unix socket needs write permission on its file), from the moment it exists, and is returned
    (remove it after closing the socket)."""
    try:
        if bind and endpoint.startswith("ipc://"):
            umask = os.umask(0o777 & ~ipc_mode)
            try:
                socket.bind(endpoint)
            finally:
                os.umask(umask)
            os.chmod(endpoint.removeprefix("ipc://"), ipc_mode)
            return _SocketFile(endpoint.removeprefix("ipc://"))
        if bind:
            socket.bind(endpoint)
        else:
            socket.connect(endpoint)
    except zmq.ZMQError as e:
        socket.close(linger=0)
        raise zmq.ZMQError(e.errno, f"cannot {'bind' if bind else 'connect'} {endpoint}: {e}") from e
    return None


class Publisher:
    """A frontend's sending end (all of its streams)."""

    def __init__(
        self,
        endpoint: str,
        *,
        hwm: int = 1000,
        bind: bool = False,
        config: BusConfig | None = None,
        context: zmq.Context | None = None,
    ) -> None:
        self._socket = _open(context, zmq.PUSH, {zmq.SNDHWM: hwm})
        try:
            if config is not None and config.curve is not None:
                secure_client(self._socket, config.curve)
            self.link = SenderLink(self._socket, endpoint, connects=not bind)
        except (zmq.ZMQError, ValueError):
            self._socket.close(linger=0)  # an open socket would hang the context's term()
            raise
        try:
            self._file = _attach(
                self._socket, endpoint, bind, IPC_MODES[config.ipc_access if config is not None else "owner"]
            )
        except zmq.ZMQError:
            self.link.close()
            raise

    @classmethod
    def from_config(cls, config: BusConfig, *, context: zmq.Context | None = None) -> Publisher:
        """The sending side of ``config``'s topology (connects when the worker binds)."""
        return cls(
            config.endpoint,
            hwm=config.publisher_hwm,
            bind=not config.subscriber_binds,
            config=config,
            context=context,
        )

    def publish(self, frame: SkeletonFrame, *, wait: StopFlag | None = None) -> bool:
        """Queue ``frame``. Without ``wait`` it never blocks: False when the queue is full and the
        frame was dropped (the caller counts it). With ``wait`` it blocks until there is room (a file
        source) and returns False only if ``wait`` is set before that."""
        parts = encode(frame)
        while True:
            self.link.check()
            try:
                self._socket.send_multipart(parts, flags=zmq.NOBLOCK)
                self.link.sent()
                return True
            except zmq.Again:
                if wait is None or wait.is_set():
                    return False
                self._socket.poll(_WAIT_SLICE_MS, zmq.POLLOUT)

    def close(self) -> None:
        """Close at once. Frames still queued are lost (libzmq drops what a closing sender has in
        flight even with a linger), so keep the socket open until the worker has read them."""
        self.link.close()
        self._socket.close(linger=0)
        if self._file is not None:
            self._file.remove()
            self._file = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Subscriber:
    """The window worker's receiving end: one socket for every stream it serves.

    ``streams``: the stream ids it accepts (frames of others are refused as ``unknown_stream``);
    None accepts any, up to :data:`MAX_STREAMS`. ``drops`` counts refused messages by reason
    (messages.DROP_REASONS; ``seq_gap`` adds the frames missing between two received ones; on a
    CURVE bus ``refused_key`` and ``failed_handshake`` count refused connections, :mod:`bus.link`);
    ``received`` counts valid frames per stream; ``ended`` counts per stream the times its frontend
    said its finite source ran out (a frame with :attr:`SkeletonFrame.ended`, which follows the
    stream like any frame and is not returned). Per-stream state is kept only for accepted streams.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        streams: Iterable[str] | None = None,
        hwm: int = 10000,
        bind: bool = True,
        config: BusConfig | None = None,
        context: zmq.Context | None = None,
    ) -> None:
        self._streams = None if streams is None else frozenset(streams)
        if self._streams is not None and not self._streams:
            raise ValueError("streams must list at least one stream id, or be None for all streams")
        self.drops: Counter[str] = Counter()
        self.received: Counter[str] = Counter()
        self.ended: Counter[str] = Counter()
        self._guard = StreamGuard(config.guard if config is not None else StreamGuardConfig(), self.drops)
        self._warned: set[str] = set()
        self._clock_ahead: set[str] = set()  # streams whose sender's clock was said to be ahead
        self._socket = _open(context, zmq.PULL, {zmq.RCVHWM: hwm, zmq.MAXMSGSIZE: HARD_MESSAGE_LIMIT_BYTES})
        self._auth = None
        self.link: ReceiverLink | None = None  # a CURVE bus's refused peers, said in the log
        # sender key (ZAP User-Id) -> (its name, the streams it may send; None: any)
        self._senders: dict[str, tuple[str, frozenset[str] | None]] | None = None
        self._file: _SocketFile | None = None
        try:
            if config is not None and config.curve is not None:
                self._auth = secure_server(self._socket, config.curve)
                self._senders = sender_streams(config.curve)
                self.link = ReceiverLink(self._socket, denied=self._auth.denied, drops=self.drops)
            self._file = _attach(
                self._socket, endpoint, bind, IPC_MODES[config.ipc_access if config is not None else "owner"]
            )
        except (zmq.ZMQError, ValueError):
            self._close_link()
            self._socket.close(linger=0)
            self._stop_auth()
            raise

    @classmethod
    def from_config(
        cls,
        config: BusConfig,
        *,
        streams: Iterable[str] | None = None,
        context: zmq.Context | None = None,
    ) -> Subscriber:
        """The receiving side of ``config``'s topology."""
        return cls(
            config.endpoint,
            streams=streams,
            hwm=config.subscriber_hwm,
            bind=config.subscriber_binds,
            config=config,
            context=context,
        )

    def recv(self, timeout_ms: int) -> SkeletonFrame | None:
        """The next valid frame, or None once ``timeout_ms`` passes without one.

        Invalid messages are counted in ``drops`` and skipped; they never raise.
        """
        if self.link is not None:
            self.link.check()
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            remaining_s = deadline - time.monotonic()
            if not self._socket.poll(max(0, math.ceil(remaining_s * 1000))):
                return None
            frame = self._accept(*self._read())
            if frame is not None:
                return frame
            if remaining_s <= 0:
                return None

    def recv_batch(self, max_frames: int, timeout_ms: int) -> list[SkeletonFrame]:
        """Wait up to ``timeout_ms`` for a first frame, then take what is already queued.

        At most ``max_frames`` frames, and at most ``max_frames`` further messages read, so a flood
        of invalid messages cannot hold the caller.
        """
        if max_frames < 1:
            raise ValueError(f"max_frames must be >= 1; got {max_frames}")
        first = self.recv(timeout_ms)
        if first is None:
            return []
        batch = [first]
        for _ in range(max_frames - 1):
            try:
                message = self._read()
            except zmq.Again:
                break
            frame = self._accept(*message)
            if frame is not None:
                batch.append(frame)
        return batch

    def _read(self) -> tuple[list[bytes], str | None]:
        """The next message's parts and, on a CURVE bus, its sender's key (raises zmq.Again)."""
        if self._senders is None:
            return self._socket.recv_multipart(zmq.NOBLOCK), None
        frames = self._socket.recv_multipart(zmq.NOBLOCK, copy=False)
        sender = frames[0].get("User-Id")
        return [f.bytes for f in frames], sender if isinstance(sender, str) else None

    def _accept(self, parts: list[bytes], sender: str | None) -> SkeletonFrame | None:
        try:
            frame = decode(parts)
        except MessageError as e:
            self._drop(e.reason, str(e))
            return None
        sid = frame.stream_id
        known = sid in self._streams if self._streams is not None else sid in self.received
        if not known and (self._streams is not None or len(self.received) >= MAX_STREAMS):
            self._drop("unknown_stream", f"a frame of stream {sid!r}, which this worker does not serve")
            return None
        if self._senders is not None:
            name, allowed = self._senders.get(sender or "", ("an unknown key", frozenset()))
            if allowed is not None and sid not in allowed:
                self._drop(
                    "wrong_sender", f"a frame of stream {sid!r} from key {name!r}, which may not send it"
                )
                return None
        now = time.time()
        refused = self._guard.accept(frame, now)
        if refused is not None:
            # 15 digits: a live clock to the 10 µs, and 1e300 as 1e+300, not a 305-digit number
            detail = f"{sid}: seq {frame.seq}, t {frame.timestamp:.15g} refused"
            if refused == "bad_sent_at":
                off = frame.sent_at - now
                size = f"{abs(off):,.0f}" if abs(off) < 1e9 else f"{abs(off):.3g}"  # a junk sent_at: 1e+308
                detail += (
                    f": its host's clock is {size} s {'ahead of' if off > 0 else 'behind'} this worker's "
                    f"(over bus.guard.max_clock_skew_s, {self._guard.config.max_clock_skew_s:g}); sync both "
                    "hosts' clocks (NTP)"
                )
            self._warn_once(refused, detail)
            return None
        if frame.sent_at - now > CLOCK_AHEAD_SAID_S and sid not in self._clock_ahead:
            # Accepted, but alert times (in the sender's clock) and latency are off by as much. Only
            # ahead is sure: a frame behind may just have waited in a queue.
            self._clock_ahead.add(sid)
            log.warning(
                "stream %s: its host's clock is %.1f s ahead of this worker's: alert times are that far off "
                "and latency reads 0; sync both hosts' clocks (NTP)", sid, frame.sent_at - now,
            )  # fmt: skip
        if frame.ended:
            self.ended[sid] += 1
            log.info("stream %s: its source ended after the frame at t=%.3f (its frontend says)", sid,
                     frame.timestamp)  # fmt: skip
            return None
        self.received[sid] += 1
        return frame

    def _drop(self, reason: str, detail: str) -> None:
        self.drops[reason] += 1
        self._warn_once(reason, detail)

    def _warn_once(self, reason: str, detail: str) -> None:
        # The first drop of each kind is worth a warning; the rest only add to the counters.
        first = reason not in self._warned
        self._warned.add(reason)
        log.log(logging.WARNING if first else logging.DEBUG, "skeleton bus drop (%s): %s", reason, detail)

    def _stop_auth(self) -> None:
        if self._auth is not None:
            AUTHENTICATORS.release(self._auth)
            self._auth = None

    def _close_link(self) -> None:
        if self.link is not None:
            self.link.close()
            self.link = None

    def close(self) -> None:
        self._close_link()
        self._socket.close(linger=0)
        self._stop_auth()
        if self._file is not None:
            self._file.remove()
            self._file = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
