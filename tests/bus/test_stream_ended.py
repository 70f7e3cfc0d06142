"""A frontend whose recording (a file) ran out says so on the bus: a frame of nobody marked ``ended``
after its last frame (schema 3, flags bit 0), counted per stream by the receiving end instead of
handed on. A worker on another host could not tell a recording that ended from a camera that stopped
sending: both went silent."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import numpy as np
import pytest

from bus.messages import FLAG_ENDED, MessageError, SkeletonFrame, decode, encode
from bus.pubsub import Subscriber
from config.bus import BusConfig
from config.frontend import SkeletonSourceConfig, StreamConfig
from config.supervisor import SupervisorConfig
from pose_frontend.group import FrontendGroupProcess
from pose_frontend.process import FrontendProcess


def _ended(seq: int = 7, timestamp: float = 2.5) -> SkeletonFrame:
    return SkeletonFrame("cam1", seq, timestamp, None, None, people_since=12.0, ended=True)


def test_an_ended_frame_is_flagged_on_the_wire_and_read_back() -> None:
    topic, payload = encode(_ended())
    assert payload[:8] == b"HSKL" + struct.pack("<HH", 3, FLAG_ENDED)  # schema 3: no new version
    frame = decode([topic, payload])
    assert (
        frame.ended
        and not frame.person
        and (frame.seq, frame.timestamp, frame.people_since) == (7, 2.5, 12.0)
    )
    assert not decode(encode(SkeletonFrame("cam1", 7, 2.5, None, None))).ended


def test_an_ended_frame_carries_nobody_and_other_flags_stay_refused() -> None:
    with pytest.raises(MessageError, match="carries nobody"):
        SkeletonFrame("cam1", 1, 0.0, np.zeros((20, 3)), np.ones(20), ended=True)
    person = encode(SkeletonFrame("cam1", 1, 0.0, np.zeros((20, 3)), np.ones(20)))
    for flags, reason in ((FLAG_ENDED, "bad_values"), (0x2, "malformed")):
        payload = person[1][:6] + struct.pack("<H", flags) + person[1][8:]
        with pytest.raises(MessageError) as e:
            decode([person[0], payload])
        assert e.value.reason == reason, flags


def _replay(tmp_path: Path, stream: str, frames: int, *, realtime: bool = False) -> StreamConfig:
    joints = np.random.default_rng(0).normal(size=(frames, 20, 3)).astype(np.float32)
    np.save(tmp_path / f"{stream}.npy", joints)
    source = SkeletonSourceConfig(path=str(tmp_path / f"{stream}.npy"), fps=10, realtime=realtime)
    return StreamConfig(id=stream, source=source)


def _receive_until(sub: Subscriber, done: object, timeout_s: float) -> dict[str, list[int]]:
    """The seqs received per stream until ``done()`` and the bus quiet, or ``timeout_s``."""
    seqs: dict[str, list[int]] = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        frame = sub.recv(timeout_ms=300)
        if frame is not None:
            seqs.setdefault(frame.stream_id, []).append(frame.seq)
        elif done():  # type: ignore[operator]
            break
    return seqs


def test_a_frontend_whose_file_ran_out_says_so_after_its_last_frame(tmp_path: Path) -> None:
    bus = BusConfig(endpoint=f"ipc://{tmp_path}/bus.sock")
    with Subscriber.from_config(bus) as sub:
        frontend = FrontendProcess(_replay(tmp_path, "replay", 12), bus)
        frontend.start()
        try:
            seqs = _receive_until(sub, frontend.finished_event.is_set, 60)
        finally:
            assert frontend.stop(10.0) == 0
        assert seqs == {"replay": list(range(1, 13))}  # every frame, none of them the end
        assert sub.ended == {"replay": 1} and sub.drops == {}


def test_a_recording_stopped_before_its_end_is_not_said_to_have_ended(tmp_path: Path) -> None:
    bus = BusConfig(endpoint=f"ipc://{tmp_path}/bus.sock")
    config = _replay(tmp_path, "replay", 600, realtime=True)  # 60 s at 10 fps: stopped long before
    with Subscriber.from_config(bus) as sub:
        frontend = FrontendProcess(config, bus)
        frontend.start()
        try:
            deadline = time.monotonic() + 60
            while sub.received["replay"] < 5 and time.monotonic() < deadline:
                sub.recv(timeout_ms=300)
        finally:
            assert frontend.stop(10.0) == 0
        _receive_until(sub, lambda: True, 5)  # what it sent before it stopped
        assert sub.received["replay"] >= 5 and sub.ended == {} and sub.drops == {}


def test_each_camera_of_a_group_says_its_own_file_ran_out(tmp_path: Path) -> None:
    bus = BusConfig(endpoint=f"ipc://{tmp_path}/bus.sock")
    streams = [_replay(tmp_path, "a", 5), _replay(tmp_path, "b", 9)]
    with Subscriber.from_config(bus) as sub:
        group = FrontendGroupProcess(streams, bus, SupervisorConfig(), pose_threads=1)
        group.start()
        try:
            seqs = _receive_until(sub, group.finished_event.is_set, 60)
        finally:
            assert group.stop(10.0) == 0
        assert seqs == {"a": list(range(1, 6)), "b": list(range(1, 10))}
        assert sub.ended == {"a": 1, "b": 1} and sub.drops == {}
