"""ZeroMQ PUB/SUB ends of the skeleton bus: frontends publish, the window worker subscribes.

Default topology: the worker's :class:`Subscriber` binds and every frontend's :class:`Publisher`
connects (many -> one), over ``ipc://`` on one host or ``tcp://`` across hosts. Both ends take the
process's one ``zmq.Context`` (``zmq.Context.instance()`` unless given), close with linger 0 so a
shutdown never hangs on unsent frames, and must be used from the thread that created them.

Drop policy (docs/bus.md): nothing here ever blocks a camera. A publisher whose queue to a slow
subscriber is full (``hwm``) drops new frames, as PUB sockets do; the subscriber counts every
rejected message in ``drops`` by reason and counts frames lost upstream from sequence gaps.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Sequence
from types import TracebackType
from typing import Self

import zmq

from bus.messages import TOPIC_PREFIX, MessageError, SkeletonFrame, decode, encode, topic_for
from config.bus import BusConfig

log = logging.getLogger(__name__)

# Above this size libzmq disconnects the sending peer instead of delivering the message: a guard
# against a stray or hostile tcp peer filling memory. Between MAX_MESSAGE_BYTES and this a message
# is delivered and counted as "oversized".
HARD_MESSAGE_LIMIT_BYTES = 1024 * 1024


def _open(
    context: zmq.Context | None, kind: int, endpoint: str, bind: bool, options: dict[int, int]
) -> zmq.Socket:
    """A socket with linger 0 and ``options`` set before it binds or connects (HWMs apply only then)."""
    socket = (context if context is not None else zmq.Context.instance()).socket(kind)
    try:
        socket.setsockopt(zmq.LINGER, 0)
        for option, value in options.items():
            socket.setsockopt(option, value)
        if bind:
            socket.bind(endpoint)
        else:
            socket.connect(endpoint)
    except zmq.ZMQError as e:
        socket.close(linger=0)
        raise zmq.ZMQError(e.errno, f"cannot {'bind' if bind else 'connect'} {endpoint}: {e}") from e
    return socket


class Publisher:
    """One stream's (or one frontend process's) sending end."""

    def __init__(
        self, endpoint: str, *, hwm: int = 1000, bind: bool = False, context: zmq.Context | None = None
    ) -> None:
        self._socket = _open(context, zmq.PUB, endpoint, bind, {zmq.SNDHWM: hwm})

    @classmethod
    def from_config(cls, config: BusConfig, *, context: zmq.Context | None = None) -> Publisher:
        """The publisher side of ``config``'s topology (connects when the subscriber binds)."""
        return cls(
            config.endpoint, hwm=config.publisher_hwm, bind=not config.subscriber_binds, context=context
        )

    def publish(self, frame: SkeletonFrame) -> None:
        """Queue ``frame``; never blocks (a PUB socket at its HWM drops the frame instead)."""
        self._socket.send_multipart(encode(frame), flags=zmq.NOBLOCK)

    def close(self) -> None:
        self._socket.close(linger=0)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Subscriber:
    """The window worker's receiving end: one socket for all streams (or the listed ``streams``).

    ``drops`` counts rejected messages by reason (messages.DROP_REASONS); ``seq_gap`` adds the
    number of frames missing between two received ones. ``received`` counts valid frames per stream.
    Per stream, a ``seq`` not above the last accepted one is dropped as ``out_of_order`` and becomes
    the new reference, so a restarted frontend (counting from 0 again) is followed after one frame.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        streams: Sequence[str] | None = None,
        hwm: int = 10000,
        bind: bool = True,
        context: zmq.Context | None = None,
    ) -> None:
        if streams is not None and not streams:
            raise ValueError("streams must list at least one stream id, or be None for all streams")
        topics = [TOPIC_PREFIX] if streams is None else [topic_for(s) for s in streams]
        # Topic filtering is by prefix: skel/cam1 also matches skel/cam10, which recv skips.
        self._streams = None if streams is None else frozenset(streams)
        self.drops: Counter[str] = Counter()
        self.received: Counter[str] = Counter()
        self._last_seq: dict[str, int] = {}
        self._socket = _open(
            context, zmq.SUB, endpoint, bind, {zmq.RCVHWM: hwm, zmq.MAXMSGSIZE: HARD_MESSAGE_LIMIT_BYTES}
        )
        for topic in topics:
            self._socket.setsockopt(zmq.SUBSCRIBE, topic)

    @classmethod
    def from_config(
        cls,
        config: BusConfig,
        *,
        streams: Sequence[str] | None = None,
        context: zmq.Context | None = None,
    ) -> Subscriber:
        """The subscriber side of ``config``'s topology."""
        return cls(
            config.endpoint,
            streams=streams,
            hwm=config.subscriber_hwm,
            bind=config.subscriber_binds,
            context=context,
        )

    def recv(self, timeout_ms: int) -> SkeletonFrame | None:
        """The next valid frame, or None once ``timeout_ms`` passes without one.

        Invalid messages are counted in ``drops`` and skipped; they never raise.
        """
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            remaining_s = deadline - time.monotonic()
            if not self._socket.poll(max(0, math.ceil(remaining_s * 1000))):
                return None
            frame = self._accept(self._socket.recv_multipart(zmq.NOBLOCK))
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
                parts = self._socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            frame = self._accept(parts)
            if frame is not None:
                batch.append(frame)
        return batch

    def _accept(self, parts: list[bytes]) -> SkeletonFrame | None:
        try:
            frame = decode(parts)
        except MessageError as e:
            self._drop(e.reason, 1, str(e))
            return None
        sid = frame.stream_id
        if self._streams is not None and sid not in self._streams:
            return None
        last = self._last_seq.get(sid)
        self._last_seq[sid] = frame.seq
        if last is not None:
            if frame.seq <= last:
                self._drop("out_of_order", 1, f"{sid}: seq {frame.seq} after {last}")
                return None
            if frame.seq > last + 1:
                self._drop("seq_gap", frame.seq - last - 1, f"{sid}: seq {last} -> {frame.seq}")
        self.received[sid] += 1
        return frame

    def _drop(self, reason: str, count: int, detail: str) -> None:
        first = reason not in self.drops
        self.drops[reason] += count
        # The first drop of each kind is worth a warning; the rest only add to the counters.
        log.log(logging.WARNING if first else logging.DEBUG, "skeleton bus drop (%s)", detail)

    def close(self) -> None:
        self._socket.close(linger=0)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
