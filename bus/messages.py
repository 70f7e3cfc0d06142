"""The skeleton bus message: one typed, versioned frame per camera frame, and its wire format.

Wire format (schema 3; docs/bus.md is the reference): a two-part ZeroMQ message

* part 0, the topic: ``b"skel/" + stream_id`` (ASCII), so SUB sockets can filter by stream;
* part 1, the payload: a little-endian fixed header, the stream id, then one block per person in
  view: the person's track id (uint32), box (4 float32, NaN when unknown), ``n_joints * 3`` float32
  joint coordinates (row-major ``(n_joints, 3)``) and ``n_joints`` float32 visibilities.

Schema 3 adds ``people_since``: when the frontend began giving person ids from 1, so the worker can
tell a restarted frontend's person 1 from the person 1 it had before, and one flag: ``FLAG_ENDED``
on a frame of nobody sent after a finite source's (a file's) last frame, so a worker on another
host can tell a recording that ended from a camera that stopped sending. A schema-3 reader older
than that flag refuses such a frame as ``malformed`` (unknown flag bits): a counted drop, after
every frame of the recording was read. Schema 2 frames (no
``people_since``: 0, not known) and schema 1 frames (one person at most, no id, no box) are still
read, the latter as person 0 without a box. The
header starts with the magic and the schema version so that any future layout can still be
recognised (and refused as ``wrong_version``) by this one. Numpy and struct only: no pickle, no torch.
"""

from __future__ import annotations

import math
import operator
import re
import struct
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from models.skeleton import NUM_JOINTS

SCHEMA_VERSION: int = 3
READABLE_VERSIONS: tuple[int, ...] = (1, 2, 3)
# A frame with MAX_PEOPLE people is at most 43 + 64 + 32 * (20 + 20 * 16) = 10987 bytes of payload;
# anything far beyond that is not ours. The limit is on topic + payload.
MAX_MESSAGE_BYTES: int = 16 * 1024
MAX_PEOPLE: int = 32
MAX_PERSON_ID: int = 2**32 - 1
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
    # connections the receiving end refused on a CURVE bus (bus.link), each counted once
    "refused_key",
    "failed_handshake",
)
TOPIC_PREFIX: bytes = b"skel/"
MAGIC: bytes = b"HSKL"
FLAG_PERSON: int = 0x1  # schema 1: somebody is in view
FLAG_ENDED: int = 0x1  # schema 3: the stream's finite source ran out (SkeletonFrame.ended)

_STREAM_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# magic, schema_version: the part every schema keeps, read before anything else.
_PREFIX = struct.Struct("<4sH")
# magic, schema_version, flags, seq, timestamp, sent_at, n_joints, stream_id length.
_HEADER_V1 = struct.Struct("<4sHHQddBB")
# magic, schema_version, flags (none defined), seq, timestamp, sent_at, n_joints, n_people, id length.
_HEADER_V2 = struct.Struct("<4sHHQddBBB")
# schema 2's, with people_since after sent_at.
_HEADER = struct.Struct("<4sHHQdddBBB")
_PERSON = struct.Struct("<I4f")  # track id, box x0, y0, x1, y1
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


# Stream ids found valid: a bus carries a few streams, and every frame names one (checked per frame).
_VALID_IDS: set[str] = set()
_MAX_VALID_IDS = 4096


def _check_stream_id(stream_id: object) -> str:
    if type(stream_id) is str and stream_id in _VALID_IDS:
        return stream_id
    if not isinstance(stream_id, str) or not _STREAM_ID.fullmatch(stream_id):
        raise _bad(f"stream id must match [A-Za-z0-9_.-]{{1,64}}; got {stream_id!r}")
    if type(stream_id) is str and len(_VALID_IDS) < _MAX_VALID_IDS:
        _VALID_IDS.add(stream_id)
    return stream_id


Box = tuple[float, float, float, float]
"""A person's image-space box ``(x0, y0, x1, y1)`` as fractions of the frame's width and height."""


class Watched(NamedTuple):
    """Who is watched: a camera stream and a person tracked in it. ``person`` 0 is the one person of
    a single-person frontend (and of every schema-1 frame); tracked people count from 1."""

    stream_id: str
    person: int = 0

    def __str__(self) -> str:
        return self.stream_id if self.person == 0 else f"{self.stream_id}#{self.person}"


def check_box(box: object, name: str = "box") -> Box | None:
    """None, or 4 finite floats with ``x0 <= x1`` and ``y0 <= y1`` (raises :class:`MessageError`)."""
    if box is None:
        return None
    try:
        values = tuple(float(v) for v in box)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise _bad(f"{name} must be 4 numbers; got {box!r}") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise _bad(f"{name} must be 4 finite numbers; got {box!r}")
    x0, y0, x1, y1 = values
    if x0 > x1 or y0 > y1:
        raise _bad(f"{name} must have x0 <= x1 and y0 <= y1; got {values}")
    return x0, y0, x1, y1


def _check_person_id(person_id: object) -> int:
    try:
        pid = operator.index(person_id)  # type: ignore[arg-type]
    except TypeError:
        raise _bad(f"person id must be an integer; got {person_id!r}") from None
    if isinstance(person_id, bool) or not 0 <= pid <= MAX_PERSON_ID:
        raise _bad(f"person id must be an integer in [0, 2**32); got {person_id!r}")
    return int(pid)


PoseQuality = tuple[bool, float | None]
"""(every joint finite, mean visibility of the joints present; None when no joint is present)."""
_NO_POSE: PoseQuality = (False, None)


def _checked_pose(joints: object, visibility: object) -> tuple[np.ndarray, np.ndarray, PoseQuality]:
    arr = _frozen_f32(joints, (NUM_JOINTS, 3), "joints")
    # Every frame of every person passes here: one dot product (finite unless a value is NaN, Inf or
    # huge) answers for the common complete frame.
    finite = math.isfinite(np.vdot(arr, arr))
    if not finite and np.isinf(arr).any():
        raise _bad("joints must not be infinite (NaN marks a missing joint)")
    vis = _frozen_f32(visibility, (NUM_JOINTS,), "visibility")
    v = vis.tolist()  # 20 values: Python's min/max beat numpy's per-call cost; a NaN makes the sum NaN
    total = sum(v)
    if not (min(v) >= 0.0 and max(v) <= 1.0 and math.isfinite(total)):
        raise _bad("visibility must lie in [0, 1]")
    if finite:
        return arr, vis, (True, total / NUM_JOINTS)
    present = np.isfinite(arr).all(axis=1)
    return arr, vis, (bool(present.all()), float(vis[present].mean()) if present.any() else None)


# init=False: the __init__ below checks, then writes every field at once, as SkeletonFrame's does
# (decoding builds one per person of every frame).
@dataclass(frozen=True, eq=False, init=False)
class PersonSkeleton:
    """One person of a frame: track id, ``(20, 3)`` joints, ``(20,)`` visibility, box (or None)."""

    person_id: int
    joints: np.ndarray
    visibility: np.ndarray
    box: Box | None

    def __init__(
        self, person_id: int, joints: np.ndarray, visibility: np.ndarray, box: Box | None = None
    ) -> None:
        person_id = _check_person_id(person_id)
        joints, visibility, quality = _checked_pose(joints, visibility)
        self.__dict__.update(
            person_id=person_id, joints=joints, visibility=visibility, box=check_box(box), _quality=quality
        )

    @property
    def pose_quality(self) -> PoseQuality:
        """Whether every joint is finite, and the mean visibility of those present (worked out once,
        by the check)."""
        return self._quality  # type: ignore[no-any-return,attr-defined]


def _check_others(person_id: int, others: object) -> None:
    """``others`` is a tuple of :class:`PersonSkeleton`, with ``person_id`` at most ``MAX_PEOPLE``
    people, ids distinct."""
    if not isinstance(others, tuple) or (others and not all(isinstance(p, PersonSkeleton) for p in others)):
        raise _bad("others must be a tuple of PersonSkeleton")
    if len(others) >= MAX_PEOPLE:
        raise _bad(f"{1 + len(others)} people in one frame; at most {MAX_PEOPLE}")
    if others:
        ids = [person_id, *(p.person_id for p in others)]
        if len(set(ids)) != len(ids):
            raise _bad(f"person ids must be distinct within a frame; got {ids}")


# eq=False: array fields have no single truth value. init=False: the __init__ below checks every
# field, then writes them all at once: a frozen dataclass's own __init__ and one object.__setattr__
# per checked field cost a third of building a frame, and every camera frame is built here.
@dataclass(frozen=True, eq=False, init=False)
class SkeletonFrame:
    """One camera frame's skeleton, validated on construction (raises :class:`MessageError`).

    ``joints`` is ``(20, 3)`` float32 in the canonical layout (models.skeleton), metres; NaN marks
    a joint that was not measured, Inf is refused. ``visibility`` is ``(20,)`` float32 in [0, 1].
    Both are None when no person is in view. Arrays are copied to float32 and made read-only.
    ``sent_at`` defaults to now (also when None). ``people_since``: when (the frontend host's wall
    clock) the frontend began giving person ids from 1; a different value on a stream means its
    ids name other people now (0: not said, as by a frontend older than schema 3). ``ended``: the
    stream's finite source (a file) ran out after the frame before: the last frame of a stream,
    carrying nobody, not a camera frame. ``person_id``
    and ``box`` belong to that person (0 and None from a single-person frontend); ``others`` are the further people a multi-person
    frontend saw in the same frame (ids distinct). :attr:`people` lists them all and :meth:`of`
    gives one person's view of the frame.
    """

    stream_id: str
    seq: int
    timestamp: float
    joints: np.ndarray | None
    visibility: np.ndarray | None
    sent_at: float
    person_id: int
    box: Box | None
    others: tuple[PersonSkeleton, ...]
    people_since: float
    ended: bool

    def __init__(
        self,
        stream_id: str,
        seq: int,
        timestamp: float,
        joints: np.ndarray | None,
        visibility: np.ndarray | None,
        sent_at: float | None = None,
        person_id: int = 0,
        box: Box | None = None,
        others: tuple[PersonSkeleton, ...] = (),
        people_since: float = 0.0,
        ended: bool = False,
    ) -> None:
        _check_stream_id(stream_id)
        try:
            checked_seq = operator.index(seq)
        except TypeError:
            raise _bad(f"seq must be an integer; got {seq!r}") from None
        if isinstance(seq, bool) or not 0 <= checked_seq < 2**64:
            raise _bad(f"seq must be an integer in [0, 2**64); got {seq!r}")
        if (joints is None) != (visibility is None):
            raise _bad("joints and visibility must both be set (person) or both be None (no person)")
        person_id = _check_person_id(person_id)
        box = check_box(box)
        _check_others(person_id, others)
        quality = _NO_POSE
        if joints is None:
            if others or box is not None:
                raise _bad("a frame without a person has no box and no others")
        elif ended:
            raise _bad("a frame that ends its stream carries nobody")
        else:
            joints, visibility, quality = _checked_pose(joints, visibility)
        since = _finite_float(people_since, "people_since")
        if since < 0:
            raise _bad(f"people_since must be >= 0; got {since}")
        self.__dict__.update(
            stream_id=stream_id,
            seq=checked_seq,
            timestamp=_finite_float(timestamp, "timestamp"),
            joints=joints,
            visibility=visibility,
            sent_at=_finite_float(time.time() if sent_at is None else sent_at, "sent_at"),
            person_id=person_id,
            box=box,
            others=others,
            people_since=since,
            ended=bool(ended),
            _quality=quality,
        )

    @property
    def pose_quality(self) -> PoseQuality:
        """The person's :data:`PoseQuality`, worked out once by the check (every window reads it for
        every frame); ``(False, None)`` when nobody is in view."""
        return self._quality  # type: ignore[no-any-return,attr-defined]

    @property
    def person(self) -> bool:
        """Whether anybody is in view."""
        return self.joints is not None

    @property
    def people(self) -> tuple[PersonSkeleton, ...]:
        """Every person in view, the first one's fields included (empty when nobody is)."""
        if self.joints is None or self.visibility is None:
            return ()
        first = PersonSkeleton(self.person_id, self.joints, self.visibility, self.box)
        return (first, *self.others)

    @classmethod
    def of_people(
        cls,
        stream_id: str,
        seq: int,
        timestamp: float,
        people: tuple[PersonSkeleton, ...],
        sent_at: float | None = None,
        people_since: float = 0.0,
    ) -> SkeletonFrame:
        """A frame of ``people`` (possibly none); ``sent_at`` defaults to now."""
        # checks the frame's own fields
        frame = cls(stream_id, seq, timestamp, None, None, sent_at, people_since=people_since)
        if not people:
            return frame
        p, *rest = people
        others = tuple(rest)
        if not isinstance(p, PersonSkeleton):
            raise _bad("people must be PersonSkeleton")
        _check_others(p.person_id, others)
        # The people were checked when they were built (bus decoding builds them first): checking
        # the first one's arrays again would add half the cost of decoding a frame.
        return frame._part(
            joints=p.joints, visibility=p.visibility, person_id=p.person_id, box=p.box, others=others,
            _quality=p.pose_quality,
        )  # fmt: skip

    @property
    def person_ids(self) -> tuple[int, ...]:
        """The ids of everybody in view, without building their skeletons (read per frame)."""
        if self.joints is None:
            return ()
        return (self.person_id, *(p.person_id for p in self.others))

    def of(self, person_id: int) -> SkeletonFrame:
        """This frame as ``person_id``'s window sees it: their skeleton, or no person when absent."""
        if self.person_id == person_id and not self.others:
            return self
        if self.joints is not None and self.person_id == person_id:
            return self._part(others=())
        for p in self.others:
            if p.person_id == person_id:
                return self._part(joints=p.joints, visibility=p.visibility, person_id=p.person_id, box=p.box,
                                  others=(), _quality=p.pose_quality)  # fmt: skip
        return self._part(joints=None, visibility=None, person_id=0, box=None, others=(), _quality=_NO_POSE)

    def _part(self, **changes: Any) -> SkeletonFrame:
        """This frame with ``changes`` drawn from its own validated parts: checking every person's
        arrays again, for every person of every frame, would double the per-frame cost."""
        frame = object.__new__(SkeletonFrame)  # a shallow copy, 4x faster than copy.copy
        frame.__dict__.update(self.__dict__, **changes)
        return frame


def topic_for(stream_id: str) -> bytes:
    """The ZeroMQ topic of a stream, ``b"skel/<stream_id>"``."""
    return TOPIC_PREFIX + _check_stream_id(stream_id).encode("ascii")


def encode(frame: SkeletonFrame) -> list[bytes]:
    """``frame`` -> ``[topic, payload]`` (the frame was validated when it was built)."""
    sid = frame.stream_id.encode("ascii")
    people = frame.people
    n_joints = NUM_JOINTS if people else 0
    header = _HEADER.pack(
        MAGIC, SCHEMA_VERSION, FLAG_ENDED if frame.ended else 0, frame.seq, frame.timestamp, frame.sent_at, frame.people_since, n_joints,
        len(people), len(sid),
    )  # fmt: skip
    payload = [header, sid]
    for p in people:
        payload += [
            _PERSON.pack(p.person_id, *(p.box if p.box is not None else (math.nan,) * 4)),
            p.joints.astype(_F32_LE).tobytes(),
            p.visibility.astype(_F32_LE).tobytes(),
        ]
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
    if version not in READABLE_VERSIONS:
        # A newer frontend than worker is the one way a real sender gets here: say which end to move.
        newer = version > SCHEMA_VERSION
        raise MessageError(
            "wrong_version",
            f"schema version {version}; this build reads {', '.join(map(str, READABLE_VERSIONS))}"
            + (": the frontend is newer than this worker; upgrade workers before frontends" if newer else ""),
        )
    if version == 1:
        return _decode_v1(topic, payload)
    header = _HEADER_V2 if version == 2 else _HEADER
    if len(payload) < header.size:
        raise MessageError("malformed", f"payload of {len(payload)} bytes is shorter than the header")
    if version == 2:
        _, _, flags, seq, timestamp, sent_at, n_joints, n_people, sid_len = _HEADER_V2.unpack_from(payload)
        people_since = 0.0
    else:
        _, _, flags, seq, timestamp, sent_at, people_since, n_joints, n_people, sid_len = _HEADER.unpack_from(
            payload
        )
    if flags & ~(FLAG_ENDED if version == 3 else 0):
        raise MessageError("malformed", f"unknown flag bits {flags:#x}")
    if n_people > MAX_PEOPLE:
        raise _bad(f"{n_people} people in one frame; at most {MAX_PEOPLE}")
    block = _PERSON.size + n_joints * _BYTES_PER_JOINT
    expected = header.size + sid_len + n_people * block
    if len(payload) != expected:
        raise MessageError("malformed", f"payload is {len(payload)} bytes; its header implies {expected}")
    stream_id = _stream_id(payload, header.size, sid_len)
    if n_people and n_joints != NUM_JOINTS:
        raise _bad(f"{n_joints} joints; the canonical skeleton has {NUM_JOINTS}")
    if not n_people and n_joints:
        raise _bad(f"a frame without a person carries n_joints={n_joints}")
    people = []
    offset = header.size + sid_len
    for _ in range(n_people):
        person_id, *box = _PERSON.unpack_from(payload, offset)
        joints, visibility = _arrays(payload, offset + _PERSON.size, n_joints)
        has_box = not all(math.isnan(v) for v in box)
        people.append(PersonSkeleton(person_id, joints, visibility, tuple(box) if has_box else None))  # type: ignore[arg-type]
        offset += block
    if flags & FLAG_ENDED:
        if people:
            raise _bad("a frame that ends its stream carries nobody")
        frame = SkeletonFrame(
            stream_id, seq, timestamp, None, None, sent_at, people_since=people_since, ended=True
        )
    else:
        frame = SkeletonFrame.of_people(stream_id, seq, timestamp, tuple(people), sent_at, people_since)
    if topic != topic_for(stream_id):
        raise MessageError("wrong_topic", f"topic {topic!r} does not match stream id {stream_id!r}")
    return frame


def _stream_id(payload: bytes, offset: int, length: int) -> str:
    try:
        return payload[offset : offset + length].decode("ascii")
    except UnicodeDecodeError:
        raise MessageError("malformed", "stream id is not ASCII") from None


def _arrays(payload: bytes, offset: int, n_joints: int) -> tuple[np.ndarray, np.ndarray]:
    joints = np.frombuffer(payload, _F32_LE, n_joints * 3, offset).reshape(n_joints, 3)
    visibility = np.frombuffer(payload, _F32_LE, n_joints, offset + n_joints * 3 * 4)
    return joints, visibility


def _decode_v1(topic: bytes, payload: bytes) -> SkeletonFrame:
    """A schema-1 frame (at most one person, no id, no box): person 0."""
    if len(payload) < _HEADER_V1.size:
        raise MessageError("malformed", f"payload of {len(payload)} bytes is shorter than the header")
    _, _, flags, seq, timestamp, sent_at, n_joints, sid_len = _HEADER_V1.unpack_from(payload)
    if flags & ~FLAG_PERSON:
        raise MessageError("malformed", f"unknown flag bits {flags:#x}")
    person = bool(flags & FLAG_PERSON)
    expected = _HEADER_V1.size + sid_len + (n_joints * _BYTES_PER_JOINT if person else 0)
    if len(payload) != expected:
        raise MessageError("malformed", f"payload is {len(payload)} bytes; its header implies {expected}")
    stream_id = _stream_id(payload, _HEADER_V1.size, sid_len)
    joints = visibility = None
    if person:
        if n_joints != NUM_JOINTS:
            raise _bad(f"{n_joints} joints; the canonical skeleton has {NUM_JOINTS}")
        joints, visibility = _arrays(payload, _HEADER_V1.size + sid_len, n_joints)
    elif n_joints:
        raise _bad(f"a frame without a person carries n_joints={n_joints}")
    frame = SkeletonFrame(stream_id, seq, timestamp, joints, visibility, sent_at)
    if topic != topic_for(stream_id):
        raise MessageError("wrong_topic", f"topic {topic!r} does not match stream id {stream_id!r}")
    return frame
