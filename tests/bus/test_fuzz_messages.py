"""Randomised, seeded fuzz of the bus decoder: whatever bytes arrive, ``decode`` either gives a frame
``encode`` can send again or raises :class:`MessageError` (a counted drop), never anything else."""

from __future__ import annotations

import math
import random
import struct

import numpy as np

from bus.messages import DROP_REASONS, MessageError, PersonSkeleton, SkeletonFrame, decode, encode

_POSE = np.random.default_rng(0).normal(size=(20, 3))
_VIS = np.linspace(0, 1, 20)
_ODD_F64 = (math.nan, math.inf, -math.inf, 1e308, -1e30, 0.0, -0.0, 2.0**64)
_ODD_F32 = (math.nan, math.inf, -math.inf, 1e30, 3.4e38, -1.0, 1.5, 1e-45)


def _valid(pack) -> list[list[bytes]]:
    return [
        encode(SkeletonFrame("cam1", 5, 1.0, _POSE, _VIS, people_since=1.7e9)),
        encode(SkeletonFrame("c", 2**64 - 1, 0.0, None, None)),
        encode(
            SkeletonFrame.of_people(
                "cam.x-1",
                7,
                2.0,
                (PersonSkeleton(3, _POSE, _VIS, (0, 0, 1, 1)), PersonSkeleton(2**32 - 1, _POSE, _VIS)),
            )
        ),
        pack(joints=_POSE, visibility=_VIS),  # schema 1
        pack(person=False),
    ]


def _mutate(rng: random.Random, parts: list[bytes]) -> list[bytes]:
    out = [bytearray(p) for p in parts]
    p = out[rng.randrange(len(out))]
    kind = rng.randrange(8)
    if kind == 0:  # flip bytes (the header's fields among them)
        for _ in range(rng.randint(1, 8)):
            p[rng.randrange(len(p))] = rng.randrange(256)
    elif kind == 1:  # truncate
        del p[rng.randrange(len(p) + 1) :]
    elif kind == 2:  # grow
        p += rng.randbytes(rng.randint(1, 64))
    elif kind == 3 and len(p) >= 8:  # an odd float64 anywhere (timestamp, sent_at, people_since: 16, 24, 32)
        at = rng.choice([16, 24, 32, rng.randrange(len(p) - 7)])
        p[at : at + 8] = struct.pack("<d", rng.choice(_ODD_F64))
    elif kind == 4 and len(p) >= 4:  # an odd float32 anywhere (joints, visibility, box)
        at = rng.randrange(len(p) - 3)
        p[at : at + 4] = struct.pack("<f", rng.choice(_ODD_F32))
    elif kind == 5 and len(p) >= 43:  # a header count at its extremes (schema 2's and 3's)
        p[rng.choice([32, 33, 34, 40, 41, 42])] = rng.choice([0, 1, 19, 20, 21, 32, 33, 255])
    elif kind == 6:  # parts missing, added or random
        return [rng.randbytes(rng.randint(0, 48)) for _ in range(rng.randint(0, 3))]
    elif kind == 7:  # the right magic and a readable version, then random bytes
        out[1] = bytearray(
            struct.pack("<4sH", b"HSKL", rng.choice([1, 2, 3])) + rng.randbytes(rng.randint(0, 600))
        )
    return [bytes(x) for x in out]


def test_decode_of_random_and_mutated_messages_only_ever_raises_message_error(pack) -> None:
    rng = random.Random(20261206)
    valid = _valid(pack)
    reasons: set[str] = set()
    decoded = 0
    for _ in range(15_000):
        parts = _mutate(rng, rng.choice(valid))
        try:
            frame = decode(parts)
        except MessageError as e:
            assert e.reason in DROP_REASONS
            reasons.add(e.reason)
            continue
        decoded += 1
        again = decode(encode(frame))  # a frame accepted is one this build could have sent
        assert (again.stream_id, again.seq, again.person_ids) == (
            frame.stream_id,
            frame.seq,
            frame.person_ids,
        )
    # The fuzz reached past the first checks: some mutations decode, most are refused for varied reasons.
    assert decoded > 100
    assert {"malformed", "bad_values", "wrong_version", "wrong_topic"} <= reasons
