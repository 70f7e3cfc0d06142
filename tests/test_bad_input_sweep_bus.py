"""A seeded sweep of bad messages on a real ZeroMQ bus into the worker's receiving end and scoring
path (Subscriber -> Pipeline, in this process; raw-DCT embeddings, so no encoder to load), sent
while the camera they target is raising an alert: random bytes, truncated and grown copies of its
frames, bytes flipped in them, a wrong schema version, frames it could never have sent (seq
replayed or jumped, time going back or jumping, sent_at skewed, a stream nobody serves). Each is
a counted drop; the alert is the one raised without them, to the window. Then the camera itself
sends broken frames (NaN, huge, invisible or collapsed joints) in the middle of its alert: the
worker goes on and the alert stays one alert."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import zmq

from bus.messages import SkeletonFrame, encode
from bus.pubsub import Subscriber
from clips import Clip
from config.frontend import MotionStep, SyntheticSourceConfig
from config.worker import WorkerConfig
from edge.backends.raw_dct import RawDctBackend
from edge.enroll import build_profile
from edge.episodes import EpisodeEvent
from edge.pipeline import Pipeline
from edge.profiles import Profile
from models.preprocess import WindowSpec
from pose_frontend.sources import open_source

_FPS = 20.0


def _performance(motions: list[tuple[str, float]], seed: int) -> list[tuple[float, np.ndarray]]:
    script = [MotionStep(motion=m, seconds=s) for m, s in motions]  # type: ignore[arg-type]
    with open_source(SyntheticSourceConfig(script=script, seed=seed, fps=_FPS, realtime=False)) as source:
        return list(source)


@pytest.fixture(scope="module")
def profile() -> Profile:
    walk = _performance([("walk_in_place", 12.0)], seed=1)
    clip = Clip(np.stack([j for _, j in walk]), np.array([t for t, _ in walk]), "", "s", "walk")
    return build_profile("walk", [clip], RawDctBackend(WindowSpec()), calibration=WorkerConfig().calibration)


@pytest.fixture(scope="module")
def camera() -> list[SkeletonFrame]:
    """A walker who flails for 6 s: the frames of stream cam (sent_at set as they are sent)."""
    moves = _performance([("walk_in_place", 5.0), ("jump_flail", 6.0), ("walk_in_place", 5.0)], seed=7)
    vis = np.ones(20, np.float32)
    return [SkeletonFrame("cam", i + 1, 100.0 + t, j, vis, 0.0) for i, (t, j) in enumerate(moves)]


def _sent(frame: SkeletonFrame, **changes: object) -> SkeletonFrame:
    """``frame`` as sent now (its sent_at the wall clock), with ``changes``."""
    fields = {"stream_id": frame.stream_id, "seq": frame.seq, "timestamp": frame.timestamp,
              "joints": frame.joints, "visibility": frame.visibility, "sent_at": time.time()}  # fmt: skip
    fields.update(changes)
    return SkeletonFrame(**fields)  # type: ignore[arg-type]


@contextmanager
def _bus(tmp_path: Path) -> Iterator[tuple[zmq.Socket, Subscriber]]:
    tmp_path.mkdir(exist_ok=True)
    endpoint = f"ipc://{tmp_path / 'bus.sock'}"
    with Subscriber(endpoint, streams=["cam"]) as sub, zmq.Context() as ctx:
        push = ctx.socket(zmq.PUSH)
        push.setsockopt(zmq.SNDHWM, 0)  # nothing is lost on the sending side: every drop is the worker's
        push.setsockopt(zmq.LINGER, 0)
        push.connect(endpoint)
        try:
            yield push, sub
        finally:
            push.close()


def _alerts(
    tmp_path: Path,
    profile: Profile,
    camera: list[SkeletonFrame],
    messages_after: Callable[[int, SkeletonFrame], list[list[bytes]]],
) -> tuple[list[EpisodeEvent], Subscriber]:
    """The episode events of ``camera`` sent over a real bus, each frame followed by what
    ``messages_after(i, frame)`` gives; the subscriber, for its counters."""
    pipeline = Pipeline(WorkerConfig(), RawDctBackend(WindowSpec()), [profile])
    events: list[EpisodeEvent] = []
    with _bus(tmp_path) as (push, sub):
        for i, frame in enumerate(camera):
            sent = _sent(frame)
            for parts in [encode(sent), *messages_after(i, sent)]:
                push.send_multipart(parts)
            if i % 20 == 19:  # read as the worker does: what is queued, scored when due
                for got in sub.recv_batch(max_frames=4096, timeout_ms=1000):
                    pipeline.push(got)
                events += [e for b in pipeline.run_due() for e in b.events]
        while got_more := sub.recv_batch(max_frames=4096, timeout_ms=300):
            for got in got_more:
                pipeline.push(got)
    events += [e for b in pipeline.run_due(flush=True) for e in b.events]
    return events + pipeline.close_all(), sub


def _spans(events: list[EpisodeEvent]) -> list[tuple[str, float, float]]:
    return [(e.kind, round(e.episode.start, 3), round(e.episode.end, 3)) for e in events]


def _hostile(rng: random.Random, frame: SkeletonFrame, last: int) -> list[list[bytes]]:
    """Messages after ``frame`` that no frontend of stream cam sends, each one refused."""
    topic, payload = encode(frame)
    flipped = bytearray(payload)
    for _ in range(rng.randint(1, 6)):  # anywhere but seq (bytes 8-15): this frame's seq is taken
        at = rng.choice([*range(8), *range(16, len(flipped))])
        flipped[at] ^= 1 << rng.randrange(8)
    return [
        [rng.randbytes(rng.randint(0, 64)) for _ in range(rng.randint(1, 3))],
        [topic, payload[: rng.randrange(len(payload))]],
        [topic, payload + rng.randbytes(rng.randint(1, 32))],
        [topic, bytes(flipped)],
        [topic, payload[:4] + bytes([rng.choice([0, 4, 9, 255]), 0]) + payload[6:]],  # schema version
        [topic, payload, b"extra"],
        encode(_sent(frame, seq=max(1, frame.seq - rng.randint(0, last)))),  # replayed
        encode(_sent(frame, seq=frame.seq + 1, timestamp=frame.timestamp + rng.choice([-5.0, 1e6, 1e12]))),
        encode(_sent(frame, seq=frame.seq + 1, sent_at=time.time() + rng.choice([-1, 1]) * 1e5)),
        encode(_sent(frame, seq=frame.seq + 10**9)),  # seq jump, its frame hours ahead
        encode(_sent(frame, stream_id=f"x{rng.randrange(10**6)}")),
    ]


def test_bad_messages_on_the_bus_are_counted_drops_and_leave_an_open_alert_as_it_was(
    tmp_path: Path, profile: Profile, camera: list[SkeletonFrame]
) -> None:
    clean, _ = _alerts(tmp_path / "clean", profile, camera, lambda i, f: [])
    assert [e.kind for e in clean if e.kind != "updated"] == ["opened", "closed"]  # one alert
    rng = random.Random(20261207)
    hostile, sub = _alerts(tmp_path / "hostile", profile, camera, lambda i, f: _hostile(rng, f, i))
    assert _spans(hostile) == _spans(clean)
    assert sub.received["cam"] == len(camera)
    refused = {"malformed", "wrong_version", "bad_values", "out_of_order", "time_backwards", "time_jump",
               "bad_sent_at", "seq_jump", "unknown_stream"}  # fmt: skip
    assert refused <= set(sub.drops), sub.drops
    assert sum(sub.drops.values()) >= 9 * len(camera)  # all but the few flipped copies that still decode


_BROKEN: tuple[Callable[[np.ndarray], np.ndarray], ...] = (
    lambda j: np.full_like(j, np.nan),  # nobody's joints
    lambda j: np.where(np.arange(20)[:, None] % 3 == 0, np.nan, j),  # a third of them missing
    lambda j: j * np.float32(1e30),
    lambda j: np.full_like(j, 3e38),  # resampled, it overflows
    lambda j: np.ones_like(j),  # every joint at one point
    lambda j: np.zeros_like(j),
)


def test_a_camera_sending_broken_frames_mid_alert_keeps_one_alert(
    tmp_path: Path, profile: Profile, camera: list[SkeletonFrame]
) -> None:
    clean, _ = _alerts(tmp_path / "clean", profile, camera, lambda i, f: [])
    opened, closed = (e for e in clean if e.kind != "updated")
    # 12 of the frames of 3 s within the alert broken, each some way: NaN, huge, collapsed
    inside = [
        f.timestamp for f in camera if opened.episode.end + 1.0 <= f.timestamp < opened.episode.end + 4.0
    ]
    assert len(inside) == 60 and inside[-1] < closed.episode.end
    rng = random.Random(3)
    at = {inside[k]: rng.choice(_BROKEN) for k in rng.sample(range(len(inside)), 12)}
    glitching = []
    for f in camera:
        if f.timestamp in at:
            assert f.joints is not None
            f = _sent(f, joints=at[f.timestamp](f.joints.copy()))
        glitching.append(f)
    events, sub = _alerts(tmp_path / "glitching", profile, glitching, lambda i, f: [])
    assert [e.kind for e in events if e.kind != "updated"] == ["opened", "closed"]
    assert _spans([e for e in events if e.kind == "opened"]) == _spans([opened])
    assert next(e for e in events if e.kind == "closed").episode.end >= inside[-1]
    assert sub.received["cam"] == len(camera)
