"""Where a frontend camera's memory goes: RSS / USS / anonymous memory of this process
(/proc/self/smaps_rollup) after each step of bringing up N cameras the way pose_frontend/group.py
does (a video source and a legacy MediaPipe graph per camera, each run on its own thread).

    python docs/experiments/2026-12-05-frontend-memory/measure.py [--cameras 3] [--graphs N] [--frames 60]

Run it under MALLOC_ARENA_MAX=... to see the allocator's share.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from pathlib import Path

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"


def mem() -> dict[str, float]:
    out = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        key, value = line.split(":")
        out[key] = int(value.split()[0]) / 1024
    return {
        "rss": out["Rss"],
        "uss": out["Private_Clean"] + out["Private_Dirty"],
        "anon": out["Anonymous"],
    }


def show(step: str, before: dict[str, float] | None = None) -> dict[str, float]:
    m = mem()
    delta = "" if before is None else "  (+" + ", +".join(f"{k} {m[k] - before[k]:.1f}" for k in m) + ")"
    sys.stdout.write(
        f"{step:<44} rss {m['rss']:7.1f}  uss {m['uss']:7.1f}  anon {m['anon']:7.1f} MB{delta}\n"
    )
    return m


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cameras", type=int, default=3)
    p.add_argument("--graphs", type=int, default=0, help="legacy graphs shared by the cameras; 0 = one each")
    p.add_argument(
        "--pool", type=int, default=0, help="instead: shared models (pose_frontend/shared_pose.py)"
    )
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--subgraphs", action="store_true", help="instead: build each model graph twice, idle")
    p.add_argument("--video", default=str(DATA / "mediapipe_pose_testdata" / "pose_1.mp4"))
    a = p.parse_args()
    m = show("python")
    import cv2  # noqa: F401
    import numpy as np  # noqa: F401
    import zmq  # noqa: F401

    m = show("+ numpy, cv2, zmq", m)
    import mediapipe  # noqa: F401

    from config.frontend import EstimatorConfig, VideoSourceConfig
    from pose_frontend.estimator import LegacyPoseEstimator
    from pose_frontend.shared_pose import PoseModelPool, SharedModelPoseEstimator
    from pose_frontend.sources import open_source

    m = show("+ import mediapipe, haad frontend", m)
    if a.subgraphs:
        import time

        from pose_frontend.shared_pose import PersonRegions, RawLandmarks, SharedModelPoseEstimator

        kept: list[object] = []
        for name, make in [
            ("detector", lambda: PersonRegions(0.5)),
            ("landmark model", lambda: RawLandmarks(0.5)),
        ] * 2 + [("filter", lambda: SharedModelPoseEstimator(EstimatorConfig(), PoseModelPool(1)))]:
            kept.append(make())  # held while measured
            time.sleep(1.0)  # the graph opens its calculators on its own threads
            m = show(f"{name} graph built", m)
        return
    graphs = [LegacyPoseEstimator(EstimatorConfig()) for _ in range(a.graphs)]
    pool = PoseModelPool(a.pool)
    lock = threading.Lock() if not a.pool else contextlib.nullcontext()
    others: list = []
    for cam in range(a.cameras):
        src = open_source(VideoSourceConfig(path=a.video, realtime=False, loop=True), pose_fps=20)
        frames = iter(src.__enter__())
        m = show(f"camera {cam}: source opened", m)
        if a.pool:
            graphs.append(SharedModelPoseEstimator(EstimatorConfig(), pool))
            m = show(f"camera {cam}: filter graph built", m)
        elif not a.graphs:
            graphs.append(LegacyPoseEstimator(EstimatorConfig()))
            m = show(f"camera {cam}: graph built", m)
        graph = graphs[cam % len(graphs)]

        def work(frames=frames, graph=graph) -> None:
            for _ in range(a.frames):
                t, rgb = next(frames)
                with lock:
                    graph.estimate(rgb, t)

        # With a pool, the cameras so far run side by side, so every slot they can use is built.
        threads = [threading.Thread(target=work, args=(frames, graph))]
        threads += [threading.Thread(target=work, args=(f, g)) for f, g in others] if a.pool else []
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        others.append((frames, graph))
        m = show(f"camera {cam}: {a.frames} frames on a new thread", m)


if __name__ == "__main__":
    main()
