"""A camera restarted inside a frontend group is counted, per stream: the daemon restarts (and
counts in haad_child_restarts_total) only a process that exits, so a camera of a group that failed
and came back over and over showed in no metric."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from prometheus_client import REGISTRY

from bus.pubsub import Subscriber
from config.bus import BusConfig
from config.edge import EdgeConfig
from config.frontend import StreamConfig, SyntheticSourceConfig, VideoSourceConfig
from config.supervisor import SupervisorConfig
from edge.daemon import Daemon
from pose_frontend.group import FrontendGroupProcess


def test_a_camera_restarted_inside_its_group_is_counted_for_its_stream(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).bytes(20_000))
    script = [{"motion": "walk_in_place", "seconds": 1.0}]
    streams = [
        StreamConfig(id="a", source=SyntheticSourceConfig(script=script, realtime=False)),  # type: ignore[arg-type]
        StreamConfig(id="broken", source=VideoSourceConfig(path=str(corrupt))),
    ]
    bus = BusConfig(endpoint=f"ipc://{tmp_path}/bus.sock")
    supervisor = SupervisorConfig(initial_backoff_s=0.05, max_backoff_s=0.1, give_up_after=4)
    daemon = Daemon(EdgeConfig(streams=streams, bus=bus, supervisor=supervisor, cameras_per_frontend=2))
    [child] = daemon.frontends
    group = child.make()
    assert isinstance(group, FrontendGroupProcess)
    child.process = group
    with Subscriber(bus.endpoint) as sub:
        group.start()
        try:
            while not group.finished_event.is_set() and group.is_alive():
                sub.recv(timeout_ms=200)
        finally:
            assert group.stop(10.0) == 0
    # restarted after its 1st, 2nd and 3rd failure, given up at its 4th; the other camera never failed
    assert {stream: count.value for stream, count in group.restarts.items()} == {"a": 0, "broken": 3}

    # and in /metrics, under the name /health gives a camera given up in a group
    def restarts(stream: str) -> float:
        return REGISTRY.get_sample_value("haad_child_restarts_total", {"child": f"frontend-{stream}"}) or 0.0

    before = {s: restarts(s) for s in ("a", "broken")}
    daemon._export_frontend_counters(child)
    daemon._export_frontend_counters(child)  # counted once
    assert {s: restarts(s) - before[s] for s in ("a", "broken")} == {"a": 0.0, "broken": 3.0}
