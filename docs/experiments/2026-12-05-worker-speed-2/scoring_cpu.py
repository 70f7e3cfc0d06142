"""CPU microseconds per encoder row of the worker's scoring path (normalise and crop, encoder, scores,
episodes; the alert commit left out), with the bundled encoder on ONNX Runtime, one thread, and the
1 s scale on: each 3 s window and its crop are two rows, as `haad bench worker` counts them.

Frames of 8 replayed Kinder-Gator streams (the bench's replay) fill the batcher first; then every
queued window is scored in the worker's batches (max_batch 64) under a process-time clock. Process
time, best of several rounds: on a shared host wall time counts the other processes, CPU time far
less. Runs on any checkout of the project (only the bench's public pieces), for A/B comparisons:

    OMP_NUM_THREADS=1 python docs/experiments/2026-12-05-worker-speed-2/scoring_cpu.py

Needs the Kinder-Gator data (../shared/data or HAAD_DATA), as `haad bench worker` does.
"""

from __future__ import annotations

import os
import sys
import time

from config.backend import OnnxRuntimeConfig
from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.enroll import build_profile
from edge.pipeline import SCORING_STAGES, Pipeline
from evaluation.bench_worker import frame_source, kinder_gator_clips

STREAMS, ROUNDS, REPEATS = 8, 1200, 5


def main() -> None:
    cfg = WorkerConfig()
    backend = make_backend(OnnxRuntimeConfig(), None)
    support, replay, _ = kinder_gator_clips(None)
    profile = build_profile(
        "bench", support, backend, calibration=cfg.calibration, min_segment_s=cfg.min_segment_s
    )
    frames = []
    sources = [frame_source(f"cam{i}", replay, seed=i) for i in range(STREAMS)]
    for _ in range(ROUNDS):
        frames += [next(s) for s in sources]
    best = float("inf")
    share: dict[str, float] = {}
    for _ in range(REPEATS):
        pipeline = Pipeline(cfg, backend, [profile])
        pipeline.batcher.max_pending = 10**9  # keep every window: all are scored below
        for f in frames:
            pipeline.push(f)
        t = time.process_time()
        pipeline.run_due(flush=True)
        cpu = time.process_time() - t
        stats = pipeline.stats
        rows = stats.windows_scored + stats.crops_scored
        if cpu / rows < best:
            best = cpu / rows
            wall = sum(stats.stage_s.values())
            share = {k: stats.stage_s[k] / wall for k in SCORING_STAGES}
    stages = ", ".join(f"{k} {v:.0%}" for k, v in share.items())
    sys.stdout.write(
        f"{best * 1e6:.1f} CPU us per row ({rows} rows in batches of {cfg.max_batch} windows; "
        f"wall-time shares: {stages}); load {os.getloadavg()[0]:.2f}\n"
    )


if __name__ == "__main__":
    main()
