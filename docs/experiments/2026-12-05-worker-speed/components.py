"""CPU microseconds of the worker's per-frame and per-window Python: building frames as the bench's
replay does, Pipeline.push (windowing, resampling; a stub encoder, so no scoring) and
normalise_windows on a batch of 64. Process CPU time, best of several rounds: a loaded host
inflates it far less than wall time.

    OMP_NUM_THREADS=1 python docs/experiments/2026-12-05-worker-speed/components.py

Needs the Kinder-Gator data (../shared/data or HAAD_DATA), as `haad bench worker` does.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from config.worker import WorkerConfig
from edge.pipeline import Pipeline
from evaluation.bench_worker import frame_source, kinder_gator_clips
from models.preprocess import WindowSpec, normalise_windows

STREAMS, ROUNDS, REPEATS = 8, 2000, 5


class StubEncoder:
    spec = WindowSpec()
    name = model_version = "stub"
    embedding_dim = 8
    calibration_prior = None

    def embed(self, windows: np.ndarray) -> np.ndarray:
        return np.zeros((len(windows), self.embedding_dim), np.float32)


def main() -> None:
    _, replay, _ = kinder_gator_clips(None)
    n = STREAMS * ROUNDS
    build = push = norm = float("inf")
    for _ in range(REPEATS):
        sources = [frame_source(f"cam{i}", replay, seed=i) for i in range(STREAMS)]
        t = time.process_time()
        frames = [next(s) for _ in range(ROUNDS) for s in sources]
        build = min(build, (time.process_time() - t) / n)
        pipeline = Pipeline(WorkerConfig(), StubEncoder(), [])
        pipeline.batcher.max_pending = 10**9  # keep every window: they are counted below
        t = time.process_time()
        for f in frames:
            pipeline.push(f)
        push = min(push, (time.process_time() - t) / n)
        windows = np.stack([w.frames for w in list(pipeline.batcher.queued())[:64]])
        t = time.process_time()
        for _ in range(50):
            normalise_windows(windows, StubEncoder.spec)
        norm = min(norm, (time.process_time() - t) / 50 / 64)
    per_window = n / len(pipeline.batcher)
    sys.stdout.write(
        f"frame build {build * 1e6:.2f} us/frame; push {push * 1e6:.2f} us/frame "
        f"({per_window:.2f} frames per window); normalise {norm * 1e6:.2f} us/window\n"
    )


if __name__ == "__main__":
    main()
