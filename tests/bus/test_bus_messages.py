"""The bus message codec without sockets: round trips, the documented wire layout, validation."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time

import numpy as np
import pytest

from bus.messages import (
    DROP_REASONS,
    SCHEMA_VERSION,
    MessageError,
    PersonSkeleton,
    SkeletonFrame,
    Watched,
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


def test_encode_matches_documented_wire_layout(pack_v2) -> None:
    frame = _person(seq=2**40)
    frame = SkeletonFrame(
        "cam1", 2**40, 12.25, frame.joints, frame.visibility, 1700000000.5, people_since=1.5e9
    )
    expected = pack_v2(
        "cam1", 2**40, 12.25, 1700000000.5, ((0, None, frame.joints, frame.visibility),), people_since=1.5e9
    )
    assert encode(frame) == expected
    assert encode(SkeletonFrame("cam1", 1, 3.0, None, None, 4.0)) == pack_v2(
        "cam1", 1, 3.0, 4.0, people_since=0.0
    )
    assert decode(expected).people_since == 1.5e9


def test_schema_2_frame_reads_with_people_since_unknown(pack_v2) -> None:
    # A frontend older than schema 3 is still heard; the worker then cannot tell its runs apart.
    frame = _person()
    out = decode(pack_v2("cam1", 5, 2.0, 3.0, ((4, None, frame.joints, frame.visibility),)))
    assert out.people_since == 0.0 and out.person_ids == (4,) and out.seq == 5
    np.testing.assert_array_equal(out.joints, frame.joints)


def test_schema_1_frame_reads_as_person_0_without_box(pack) -> None:
    joints = np.arange(60, dtype=np.float32).reshape(20, 3)
    out = decode(pack("cam1", 3, 2.0, 5.0, joints, np.ones(20)))
    assert out.person and out.person_id == 0 and out.box is None and out.others == ()
    np.testing.assert_array_equal(out.joints, joints)
    empty = decode(pack("cam1", 4, 2.5, 5.0, person=False))
    assert not empty.person and empty.people == ()


def test_several_people_round_trip_with_ids_and_boxes(pack_v2) -> None:
    a, b = _person().people[0], _person(seq=1).people[0]
    people = (
        PersonSkeleton(3, a.joints, a.visibility, (0.1, 0.2, 0.3, 0.9)),
        PersonSkeleton(7, b.joints * 2, b.visibility, None),
    )
    frame = SkeletonFrame.of_people("cam1", 9, 4.5, people, sent_at=6.0)
    parts = encode(frame)
    assert parts == pack_v2(
        "cam1",
        9,
        4.5,
        6.0,
        tuple((p.person_id, p.box, p.joints, p.visibility) for p in people),
        people_since=0.0,
    )
    out = decode(parts)
    assert [p.person_id for p in out.people] == [3, 7]
    assert out.people[0].box == pytest.approx((0.1, 0.2, 0.3, 0.9)) and out.people[1].box is None
    np.testing.assert_array_equal(out.people[1].joints, people[1].joints)
    assert out.of(7).person_id == 7 and out.of(7).others == ()
    assert not out.of(5).person  # someone not in this frame: no person, for their window
    assert (
        Watched("cam1", 7) == ("cam1", 7)
        and str(Watched("cam1", 7)) == "cam1#7"
        and str(Watched("cam1")) == "cam1"
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"person_id": -1},
        {"person_id": 2**32},
        {"box": (0.5, 0.0, 0.4, 1.0)},
        {"box": (0.0, 0.0, float("nan"), 1.0)},
        {"box": (0.0, 0.0, 1.0)},
    ],
    ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()),
)
def test_invalid_person_cannot_be_built(kwargs: dict) -> None:
    with pytest.raises(MessageError) as e:
        SkeletonFrame("cam1", 0, 0.0, np.zeros((20, 3)), np.ones(20), 0.0, **kwargs)
    assert e.value.reason == "bad_values"


def test_duplicate_person_ids_in_one_frame_are_refused() -> None:
    p = PersonSkeleton(1, np.zeros((20, 3)), np.ones(20))
    with pytest.raises(MessageError):
        SkeletonFrame.of_people("cam1", 0, 0.0, (p, p))


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
        {"joints": np.where(np.arange(60).reshape(20, 3) == 7, -np.inf, np.nan)},  # one Inf among NaNs
        {"visibility": np.where(np.arange(20) == 4, np.nan, 1.0)},
        {"visibility": np.where(np.arange(20) == 19, 1.01, 0.0)},
        {"others": []},
        {"joints": np.zeros((19, 3))},
        {"joints": np.zeros((20, 2))},
        {"visibility": np.full(20, -0.1)},
        {"visibility": np.ones(21)},
        {"visibility": None},
        {"timestamp": float("inf")},
        {"sent_at": float("nan")},
        {"people_since": float("nan")},
        {"people_since": -1.0},
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


def test_frame_accepts_missing_joints_and_huge_finite_ones() -> None:
    """The check's fast path (one dot product) must not refuse what is valid."""
    joints = np.full((20, 3), 3e38, np.float32)  # finite, but its dot product overflows to Inf
    joints[2] = np.nan
    frame = SkeletonFrame("cam1", 0, 0.0, joints, np.zeros(20), 0.0)
    assert frame.joints is not None and np.isnan(frame.joints[2]).all()


def test_frame_copies_and_freezes_its_arrays() -> None:
    joints = np.zeros((20, 3), dtype=np.float64)
    frame = SkeletonFrame("cam1", 0, 0.0, joints, np.ones(20), 0.0)
    joints[0, 0] = 9.0
    assert frame.joints is not None and frame.joints[0, 0] == 0.0
    assert frame.joints.dtype == np.float32
    with pytest.raises(ValueError):
        frame.joints[0, 0] = 1.0


def test_frame_fields_are_frozen_and_sent_at_defaults_to_now() -> None:
    """The frame writes its checked fields past the frozen dataclass's __setattr__ (one dict update):
    they still cannot be set afterwards, and a missing or None ``sent_at`` is the time of building."""
    before = time.time()
    frame = SkeletonFrame("cam1", 3, 1.5, np.zeros((20, 3)), np.ones(20))
    assert before <= frame.sent_at <= time.time()
    assert before <= SkeletonFrame("cam1", 3, 1.5, None, None, None).sent_at <= time.time()
    with pytest.raises(dataclasses.FrozenInstanceError):
        frame.seq = 4  # type: ignore[misc]
    person = PersonSkeleton(2, np.zeros((20, 3)), np.ones(20), (0.1, 0.2, 0.3, 0.4))
    with pytest.raises(dataclasses.FrozenInstanceError):
        person.box = None  # type: ignore[misc]
    assert (person.person_id, person.box, person.pose_quality) == (2, (0.1, 0.2, 0.3, 0.4), (True, 1.0))
    assert person.joints.dtype == np.float32 and not person.joints.flags.writeable


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
    assert SCHEMA_VERSION == 3
    with pytest.raises(ValueError):
        MessageError("no_such_reason", "x")


def test_importing_the_bus_does_not_import_torch() -> None:
    # pose_frontend imports the bus and must stay free of torch.
    code = "import sys, bus; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_most_people_a_frontend_tracks_fit_in_one_frame() -> None:
    from bus.messages import MAX_MESSAGE_BYTES, MAX_PEOPLE
    from config.frontend import PeopleConfig

    most = PeopleConfig.model_fields["max_people"].metadata
    assert max(m.le for m in most if hasattr(m, "le")) == MAX_PEOPLE
    person = PersonSkeleton(1, np.zeros((20, 3)), np.ones(20), (0.0, 0.0, 1.0, 1.0))
    people = tuple(
        PersonSkeleton(i + 1, person.joints, person.visibility, person.box) for i in range(MAX_PEOPLE)
    )
    topic, payload = encode(SkeletonFrame.of_people("x" * 64, 1, 0.0, people))
    assert len(topic) + len(payload) <= MAX_MESSAGE_BYTES
    assert len(decode([topic, payload]).people) == MAX_PEOPLE


def test_each_persons_view_of_a_frame_carries_that_persons_pose_quality() -> None:
    """The window reads the quality the check worked out; a person's view must carry theirs."""
    gappy = np.zeros((20, 3))
    gappy[4] = np.nan
    vis = np.linspace(0.0, 1.0, 20)
    frame = SkeletonFrame.of_people(
        "cam1", 0, 0.0,
        (PersonSkeleton(1, np.zeros((20, 3)), np.full(20, 0.25)), PersonSkeleton(2, gappy, vis),
         PersonSkeleton(3, np.full((20, 3), np.nan), np.ones(20))),
    )  # fmt: skip
    assert frame.pose_quality == (True, pytest.approx(0.25))
    assert frame.of(2).pose_quality == (False, pytest.approx(np.delete(vis, 4).mean()))
    assert frame.of(3).pose_quality == (False, None)
    assert frame.of(9).pose_quality == (False, None)
    assert SkeletonFrame("cam1", 0, 0.0, None, None).pose_quality == (False, None)


def test_a_frame_of_people_checks_the_set_but_takes_each_person_as_checked() -> None:
    a = PersonSkeleton(1, np.zeros((20, 3)), np.ones(20))
    frame = SkeletonFrame.of_people("cam1", 0, 0.0, (a, PersonSkeleton(2, np.ones((20, 3)), np.ones(20))))
    assert frame.joints is a.joints and frame.person_ids == (1, 2)  # no second copy of a's arrays
    with pytest.raises(MessageError, match="distinct"):
        SkeletonFrame.of_people("cam1", 0, 0.0, (a, a))
    with pytest.raises(MessageError, match="PersonSkeleton"):
        SkeletonFrame.of_people("cam1", 0, 0.0, (object(), a))  # type: ignore[arg-type]
    with pytest.raises(MessageError, match="stream id"):
        SkeletonFrame.of_people("cam/1", 0, 0.0, (a,))


def test_a_frame_of_a_newer_schema_is_a_counted_drop_saying_to_upgrade_workers_first(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    # The rule an older worker keeps with a newer frontend (a schema-3 worker with a schema-4 one, as
    # a schema-2 worker with today's): every frame refused as wrong_version, counted, the worker up,
    # its log naming both versions and which end to upgrade. Before, it said only the versions.
    from collections import Counter

    import zmq

    from bus.pubsub import Subscriber

    def now(seq: int) -> list[bytes]:  # sent now: the guard takes it
        return encode(SkeletonFrame("cam1", seq, seq / 20, np.zeros((20, 3)), np.ones(20)))

    def newer(seq: int) -> list[bytes]:
        topic, payload = now(seq)
        return [topic, payload[:4] + (SCHEMA_VERSION + 1).to_bytes(2, "little") + payload[6:] + bytes(8)]

    endpoint = f"ipc://{tmp_path}/bus.sock"
    push = zmq.Context.instance().socket(zmq.PUSH)
    push.linger = 0
    push.connect(endpoint)
    try:
        with caplog.at_level("DEBUG", "bus.pubsub"), Subscriber(endpoint) as sub:
            for parts in (now(1), newer(2), newer(3), newer(4), now(5)):
                push.send_multipart(parts)
            got = [sub.recv(30_000), sub.recv(30_000)]
            assert [f.seq for f in got if f is not None] == [1, 5]
            # the refused frames are also frames the stream lost (seq_gap), as any refused frame is
            assert sub.drops == Counter({"wrong_version": 3, "seq_gap": 3})
    finally:
        push.close(linger=0)
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warned == [
        f"skeleton bus drop (wrong_version): wrong_version: schema version {SCHEMA_VERSION + 1}; this build "
        "reads 1, 2, 3: "
        "the frontend is newer than this worker; upgrade workers before frontends"
    ]
    with pytest.raises(MessageError, match=r"^wrong_version: schema version 0; this build reads 1, 2, 3$"):
        topic, payload = encode(_person())
        decode([topic, payload[:4] + bytes(2) + payload[6:]])  # no frontend sends it: no advice
