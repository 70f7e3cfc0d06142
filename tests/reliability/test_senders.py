"""A valid key for one camera cannot change another camera's alerts: two camera hosts on a tcp://
bus with CURVE keys (real ZeroMQ sockets, real keys), each bound to its stream (bus.curve.senders),
scored by the worker's pipeline against the bundled demo-walk profile. Each host's key is then used
against the other camera: to forge an alert on the one that only walks, and to suppress the alert
of the one that jumps."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from bus.curve import make_client_keys, make_server_keys
from bus.messages import SkeletonFrame
from bus.pubsub import Publisher, Subscriber
from config.bus import BusConfig, CurveConfig
from config.frontend import MotionStep, SyntheticSourceConfig
from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.demo import PROFILES_DIR
from edge.pipeline import Pipeline
from edge.profiles import ProfileStore
from pose_frontend.sources import open_source
from tests.bus.conftest import free_tcp_endpoint
from tests.daemon_harness import walk_with


def performance(script: list[dict], seed: int) -> list[tuple[float, np.ndarray]]:
    config = SyntheticSourceConfig(script=[MotionStep(**s) for s in script], seed=seed, realtime=False)
    with open_source(config) as source:
        return list(source)


def test_a_valid_key_for_one_camera_can_neither_forge_nor_suppress_another_cameras_alerts(
    tmp_path: Path,
) -> None:
    keys = tmp_path / "keys"
    server_public, server_secret = make_server_keys(keys)
    _, walker_key = make_client_keys(keys, "walker-host")
    _, jumper_key = make_client_keys(keys, "jumper-host")
    endpoint = free_tcp_endpoint()

    def bus(client: Path) -> BusConfig:
        curve = CurveConfig(
            server_secret_key=str(server_secret), authorized_clients=str(keys / "authorized"),
            server_public_key=str(server_public), client_secret_key=str(client),
            senders={"walker-host": ["walker"], "jumper-host": ["jumper"]},
        )  # fmt: skip
        return BusConfig(endpoint=endpoint, curve=curve, subscriber_hwm=100_000, publisher_hwm=100_000)

    walking = performance([{"motion": "walk_in_place", "seconds": 22.0}], seed=1)
    jumping = performance(walk_with("jump_flail", 6.0, after=8.0), seed=7)
    flailing = performance([{"motion": "jump_flail", "seconds": 22.0}], seed=3)
    vis = np.ones(20, np.float32)
    with (
        Subscriber.from_config(bus(walker_key), streams=["walker", "jumper"]) as sub,
        Publisher.from_config(bus(walker_key)) as walker_host,
        Publisher.from_config(bus(jumper_key)) as jumper_host,
    ):
        for i, ((tw, jw), (tj, jj), (_, jf)) in enumerate(zip(walking, jumping, flailing, strict=False)):
            walker_host.publish(SkeletonFrame("walker", i + 1, tw, jw, vis))
            # the jumper's host, with its valid key, sends flailing as the walker: a forged alert
            jumper_host.publish(SkeletonFrame("walker", 10_000 + i, tw + 0.001, jf, vis))
            jumper_host.publish(SkeletonFrame("jumper", i + 1, tj, jj, vis))
            if i % 5 == 0:  # and the walker's host probes the jumper with absurd seqs: suppression
                walker_host.publish(SkeletonFrame("jumper", 2**62 + i, tj + 0.001, jw, vis))
        frames = []
        while batch := sub.recv_batch(max_frames=4096, timeout_ms=1000):
            frames += batch
        drops = Counter(sub.drops)
    pipeline = Pipeline(WorkerConfig(), make_backend(WorkerConfig().backend),
                        [ProfileStore(PROFILES_DIR).load("demo-walk")])  # fmt: skip
    opened: Counter[str] = Counter()
    for frame in frames:
        pipeline.push(frame)
        opened.update(e.episode.stream_id for b in pipeline.run_due(flush=True) for e in b.events
                      if e.kind == "opened")  # fmt: skip
    opened.update(e.episode.stream_id for e in pipeline.close_all() if e.kind == "opened")
    n = min(len(walking), len(jumping))
    assert opened["walker"] == 0, "forged"
    assert opened["jumper"] == 1, "suppressed"
    assert drops["wrong_sender"] == n + (n + 4) // 5
    print(
        f"sender-binding test: forged 0, suppressed 0; {drops['wrong_sender']} frames refused as wrong_sender"
    )
