"""The bus message codec without sockets: round trips, the documented wire layout, validation."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from bus.messages import (
    DROP_REASONS,
    SCHEMA_VERSION,
    MessageError,
    SkeletonFrame,
    decode,
    encode,
    topic_for,
)


def _person(stream_id: str = "cam1", seq: int = 7) -> SkeletonFrame:
    rng = np.random.default_rng(0)
    joints = rng.normal(size=(20, 3))
    joints[[3, 11]] = np.nan  # Head and HandRight not measured
    return SkeletonFrame(stream_id, seq, 12.25, joints, rng.uniform(size=20), sent_at=1700000000.5)


def test_person_frame_round_trips_with_nan_joints() -> None:
    frame = _person()
    out = decode(encode(frame))
    assert (out.stream_id, out.seq, out.timestamp, out.sent_at) == ("cam1", 7, 12.25, 1700000000.5)
    assert out.person
    assert out.joints is not None and out.visibility is not None
    assert out.joints.dtype == np.float32 and out.joints.shape == (20, 3)
    np.testing.assert_array_equal(out.joints, frame.joints)  # NaN positions compare equal
    assert np.isnan(out.joints[[3, 11]]).all() and not np.isnan(out.joints[[0, 1, 2]]).any()
    np.testing.assert_array_equal(out.visibility, frame.visibility)


def test_frame_without_person_round_trips() -> None:
    frame = SkeletonFrame("door.cam-2", 0, 0.0, None, None, sent_at=5.0)
    out = decode(encode(frame))
    assert not out.person
    assert out.joints is None and out.visibility is None
    assert (out.stream_id, out.seq, out.timestamp, out.sent_at) == ("door.cam-2", 0, 0.0, 5.0)


def test_encode_matches_documented_wire_layout(pack) -> None:
    frame = _person(seq=2**40)
    expected = pack("cam1", 2**40, 12.25, 1700000000.5, frame.joints, frame.visibility)
    assert encode(frame) == expected
    assert encode(SkeletonFrame("cam1", 1, 3.0, None, None, 4.0)) == pack("cam1", 1, 3.0, 4.0, person=False)


def test_topic_is_prefix_and_stream_id() -> None:
    assert topic_for("cam1") == b"skel/cam1"
    assert encode(_person("lobby_3"))[0] == b"skel/lobby_3"


def test_invalid_message_is_rejected_with_its_reason(bad_message) -> None:
    parts, reason = bad_message
    with pytest.raises(MessageError) as e:
        decode(parts)
    assert e.value.reason == reason


def test_decode_refuses_non_list_and_non_bytes_parts() -> None:
    for parts in (b"skel/cam1", [b"skel/cam1", "text payload"], None):
        with pytest.raises(MessageError) as e:
            decode(parts)  # type: ignore[arg-type]
        assert e.value.reason == "malformed"


def test_decode_refuses_unknown_flag_bits(pack) -> None:
    topic, payload = pack()
    payload = payload[:6] + (0x3).to_bytes(2, "little") + payload[8:]
    with pytest.raises(MessageError) as e:
        decode([topic, payload])
    assert e.value.reason == "malformed"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"joints": np.full((20, 3), np.inf)},
        {"joints": np.zeros((19, 3))},
        {"joints": np.zeros((20, 2))},
        {"visibility": np.full(20, -0.1)},
        {"visibility": np.ones(21)},
        {"visibility": None},
        {"timestamp": float("inf")},
        {"sent_at": float("nan")},
        {"seq": -1},
        {"seq": 1.5},
        {"stream_id": ""},
        {"stream_id": "x" * 65},
        {"stream_id": "cam/1"},
        {"stream_id": "kamera\u00e9"},
    ],
    ids=lambda kw: ",".join(kw),
)
def test_invalid_frame_cannot_be_built(kwargs: dict) -> None:
    valid = {"stream_id": "cam1", "seq": 0, "timestamp": 0.0, "joints": np.zeros((20, 3))}
    args = valid | {"visibility": np.ones(20), "sent_at": 0.0} | kwargs
    with pytest.raises(MessageError) as e:
        SkeletonFrame(**args)
    assert e.value.reason == "bad_values"


def test_frame_copies_and_freezes_its_arrays() -> None:
    joints = np.zeros((20, 3), dtype=np.float64)
    frame = SkeletonFrame("cam1", 0, 0.0, joints, np.ones(20), 0.0)
    joints[0, 0] = 9.0
    assert frame.joints is not None and frame.joints[0, 0] == 0.0
    assert frame.joints.dtype == np.float32
    with pytest.raises(ValueError):
        frame.joints[0, 0] = 1.0


def test_drop_reasons_cover_the_documented_set() -> None:
    expected = {
        "malformed",
        "oversized",
        "wrong_version",
        "bad_values",
        "wrong_topic",
        "seq_gap",
        "out_of_order",
    }
    assert expected <= set(DROP_REASONS)
    assert SCHEMA_VERSION == 1
    with pytest.raises(ValueError):
        MessageError("no_such_reason", "x")


def test_importing_the_bus_does_not_import_torch() -> None:
    # pose_frontend imports the bus and must stay free of torch.
    code = "import sys, bus; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
