"""The skeleton bus message: one typed, versioned frame per camera frame, and its wire format.

Wire format (schema 1; docs/bus.md is the reference): a two-part ZeroMQ message

* part 0, the topic: ``b"skel/" + stream_id`` (ASCII), so SUB sockets can filter by stream;
* part 1, the payload: a little-endian fixed header, the stream id, then, when a person is in view,
  ``n_joints * 3`` float32 joint coordinates (row-major ``(n_joints, 3)``) followed by ``n_joints``
  float32 visibilities.

The header starts with the magic and the schema version so that any future layout can still be
recognised (and refused as ``wrong_version``) by this one. Numpy and struct only: no pickle, no torch.
"""

from __future__ import annotations

import math
import operator
import re
import struct
import time
from dataclasses import dataclass, field

import numpy as np

from models.skeleton import NUM_JOINTS

SCHEMA_VERSION: int = 1
# A schema-1 frame is at most 34 + 64 + 20 * 16 = 418 bytes of payload; anything far beyond that is
# not ours. The limit is on topic + payload.
MAX_MESSAGE_BYTES: int = 16 * 1024
DROP_REASONS: tuple[str, ...] = (
    # decode (this module)
    "malformed",
    "oversized",
    "wrong_version",
    "bad_values",
    "wrong_topic",
    # the receiving end (bus.pubsub, bus.guard)
    "unknown_stream",
    "wrong_sender",
    "bad_sent_at",
    "seq_gap",
    "seq_jump",
    "out_of_order",
    "time_backwards",
    "time_jump",
)
TOPIC_PREFIX: bytes = b"skel/"
MAGIC: bytes = b"HSKL"
FLAG_PERSON: int = 0x1

_STREAM_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# magic, schema_version: the part every schema keeps, read before anything else.
_PREFIX = struct.Struct("<4sH")
# magic, schema_version, flags, seq, timestamp, sent_at, n_joints, stream_id length.
_HEADER = struct.Struct("<4sHHQddBB")
_BYTES_PER_JOINT = 4 * 4  # x, y, z, visibility as float32
_F32_LE = np.dtype("<f4")


class MessageError(ValueError):
    """A message that cannot be accepted; ``reason`` is one of :data:`DROP_REASONS`."""

    def __init__(self, reason: str, detail: str) -> None:
        if reason not in DROP_REASONS:
            raise ValueError(f"unknown drop reason {reason!r}")
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def _bad(detail: str) -> MessageError:
    return MessageError("bad_values", detail)


def _frozen_f32(values: object, shape: tuple[int, ...], name: str) -> np.ndarray:
    try:
        arr = np.array(values, dtype=np.float32)  # always a copy: the frame must not alias caller data
    except (TypeError, ValueError) as e:
        raise _bad(f"{name} is not numeric: {e}") from None
    if arr.shape != shape:
        raise _bad(f"{name} must have shape {shape}; got {arr.shape}")
    arr.setflags(write=False)
    return arr


def _finite_float(value: object, name: str) -> float:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise _bad(f"{name} must be a number; got {value!r}") from None
    if not math.isfinite(f):
        raise _bad(f"{name} must be finite; got {f}")
    return f


def _check_stream_id(stream_id: object) -> str:
    if not isinstance(stream_id, str) or not _STREAM_ID.fullmatch(stream_id):
        raise _bad(f"stream id must match [A-Za-z0-9_.-]{{1,64}}; got {stream_id!r}")
    return stream_id


@dataclass(frozen=True, eq=False)  # eq=False: array fields have no single truth value
class SkeletonFrame:
    """One camera frame's skeleton, validated on construction (raises :class:`MessageError`).

    ``joints`` is ``(20, 3)`` float32 in the canonical layout (models.skeleton), metres; NaN marks
    a joint that was not measured, Inf is refused. ``visibility`` is ``(20,)`` float32 in [0, 1].
    Both are None when no person is in view. Arrays are copied to float32 and made read-only.
    """

    stream_id: str
    seq: int
    timestamp: float
    joints: np.ndarray | None
    visibility: np.ndarray | None
    sent_at: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        _check_stream_id(self.stream_id)
        try:
            seq = operator.index(self.seq)
        except TypeError:
            raise _bad(f"seq must be an integer; got {self.seq!r}") from None
        if isinstance(self.seq, bool) or not 0 <= seq < 2**64:
            raise _bad(f"seq must be an integer in [0, 2**64); got {self.seq!r}")
        object.__setattr__(self, "seq", seq)
        object.__setattr__(self, "timestamp", _finite_float(self.timestamp, "timestamp"))
        object.__setattr__(self, "sent_at", _finite_float(self.sent_at, "sent_at"))
        if (self.joints is None) != (self.visibility is None):
            raise _bad("joints and visibility must both be set (person) or both be None (no person)")
        if self.joints is None:
            return
        joints = _frozen_f32(self.joints, (NUM_JOINTS, 3), "joints")
        if np.isinf(joints).any():
            raise _bad("joints must not be infinite (NaN marks a missing joint)")
        visibility = _frozen_f32(self.visibility, (NUM_JOINTS,), "visibility")
        if not ((visibility >= 0) & (visibility <= 1)).all():
            raise _bad("visibility must lie in [0, 1]")
        object.__setattr__(self, "joints", joints)
        object.__setattr__(self, "visibility", visibility)

    @property
    def person(self) -> bool:
        return self.joints is not None


def topic_for(stream_id: str) -> bytes:
    """The ZeroMQ topic of a stream, ``b"skel/<stream_id>"``."""
    return TOPIC_PREFIX + _check_stream_id(stream_id).encode("ascii")


def encode(frame: SkeletonFrame) -> list[bytes]:
    """``frame`` -> ``[topic, payload]`` (the frame was validated when it was built)."""
    sid = frame.stream_id.encode("ascii")
    flags = FLAG_PERSON if frame.person else 0
    n_joints = NUM_JOINTS if frame.person else 0
    header = _HEADER.pack(
        MAGIC, SCHEMA_VERSION, flags, frame.seq, frame.timestamp, frame.sent_at, n_joints, len(sid)
    )
    payload = [header, sid]
    if frame.joints is not None and frame.visibility is not None:
        payload += [frame.joints.astype(_F32_LE).tobytes(), frame.visibility.astype(_F32_LE).tobytes()]
    return [topic_for(frame.stream_id), b"".join(payload)]


def decode(parts: list[bytes]) -> SkeletonFrame:
    """``[topic, payload]`` -> frame; raises :class:`MessageError` with the drop reason."""
    if not isinstance(parts, list | tuple) or len(parts) != 2:
        n = len(parts) if isinstance(parts, list | tuple) else type(parts).__name__
        raise MessageError("malformed", f"expected 2 message parts (topic, payload); got {n}")
    if not all(isinstance(p, bytes | bytearray | memoryview) for p in parts):
        raise MessageError("malformed", "message parts must be bytes")
    topic, payload = (bytes(p) for p in parts)
    if len(topic) + len(payload) > MAX_MESSAGE_BYTES:
        raise MessageError("oversized", f"{len(topic) + len(payload)} bytes > {MAX_MESSAGE_BYTES}")
    if len(payload) < _PREFIX.size or payload[:4] != MAGIC:
        raise MessageError("malformed", "payload does not start with the skeleton-bus magic")
    _, version = _PREFIX.unpack_from(payload)
    if version != SCHEMA_VERSION:
        raise MessageError("wrong_version", f"schema version {version}; this build reads {SCHEMA_VERSION}")
    if len(payload) < _HEADER.size:
        raise MessageError("malformed", f"payload of {len(payload)} bytes is shorter than the header")
    _, _, flags, seq, timestamp, sent_at, n_joints, sid_len = _HEADER.unpack_from(payload)
    if flags & ~FLAG_PERSON:
        raise MessageError("malformed", f"unknown flag bits {flags:#x}")
    person = bool(flags & FLAG_PERSON)
    expected = _HEADER.size + sid_len + (n_joints * _BYTES_PER_JOINT if person else 0)
    if len(payload) != expected:
        raise MessageError("malformed", f"payload is {len(payload)} bytes; its header implies {expected}")
    try:
        stream_id = payload[_HEADER.size : _HEADER.size + sid_len].decode("ascii")
    except UnicodeDecodeError:
        raise MessageError("malformed", "stream id is not ASCII") from None
    joints = visibility = None
    if person:
        if n_joints != NUM_JOINTS:
            raise _bad(f"{n_joints} joints; the canonical skeleton has {NUM_JOINTS}")
        offset = _HEADER.size + sid_len
        joints = np.frombuffer(payload, _F32_LE, n_joints * 3, offset).reshape(n_joints, 3)
        visibility = np.frombuffer(payload, _F32_LE, n_joints, offset + n_joints * 3 * 4)
    elif n_joints:
        raise _bad(f"a frame without a person carries n_joints={n_joints}")
    frame = SkeletonFrame(stream_id, seq, timestamp, joints, visibility, sent_at)
    if topic != topic_for(stream_id):
        raise MessageError("wrong_topic", f"topic {topic!r} does not match stream id {stream_id!r}")
    return frame
