"""CPU microseconds of the worker's frame and window stages, each alone, median of many rounds:

* frame build: the bench's replay (`frame_source`) building a validated SkeletonFrame per camera frame;
* decode: `bus.messages.decode` of the same frames encoded (what the worker really does per frame);
* push: `Pipeline.push` (windowing and resampling; a stub encoder, so nothing is scored), per frame
  and per window it queues;
* take: `WindowBatcher.take` (stack and normalise a batch of 64) and `live_crops` (the 1 s crops of
  that batch), per window.

Process CPU time: on a shared host wall time counts the other processes, CPU time far less. Runs on
any checkout of the project (only public pieces), for A/B comparisons:

    OMP_NUM_THREADS=1 python docs/experiments/2026-12-06-worker-speed-3/components.py [--rounds 9]

Needs the Kinder-Gator data (../shared/data or HAAD_DATA), as `haad bench worker` does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

from bus.messages import decode, encode
from config.worker import WorkerConfig
from edge.pipeline import Pipeline
from edge.short_scale import live_crops
from evaluation.bench_worker import frame_source, kinder_gator_clips
from models.preprocess import WindowSpec

STREAMS, FRAMES_PER_STREAM = 8, 1500


class StubEncoder:
    spec = WindowSpec()
    name = model_version = "stub"
    embedding_dim = 8
    calibration_prior = None

    def embed(self, windows: np.ndarray) -> np.ndarray:
        return np.zeros((len(windows), self.embedding_dim), np.float32)


def one_round(replay: list, seed: int) -> dict[str, float]:
    n = STREAMS * FRAMES_PER_STREAM
    sources = [frame_source(f"cam{i}", replay, seed=seed + i) for i in range(STREAMS)]
    t = time.process_time()
    frames = [next(s) for _ in range(FRAMES_PER_STREAM) for s in sources]
    build = (time.process_time() - t) / n
    wire = [encode(f) for f in frames]
    t = time.process_time()
    for parts in wire:
        decode(parts)
    dec = (time.process_time() - t) / n
    cfg = WorkerConfig()
    pipeline = Pipeline(cfg, StubEncoder(), [])
    pipeline.batcher.max_pending = 10**9  # keep every window: they are counted below
    t = time.process_time()
    for f in frames:
        pipeline.push(f)
    push = time.process_time() - t
    windows = len(pipeline.batcher)
    batcher = pipeline.batcher
    take = crops = 0.0
    taken = 0
    while len(batcher) >= cfg.max_batch:
        t = time.process_time()
        batch = batcher.take()
        t1 = time.process_time()
        live_crops(batch.windows, [w.segment_frames for w in batch.items], cfg.short_window_s, batcher.spec)
        crops += time.process_time() - t1
        take += t1 - t
        taken += len(batch.items)
    return {
        "frame build, us/frame": build * 1e6,
        "decode, us/frame": dec * 1e6,
        "push, us/frame": push / n * 1e6,
        "push, us/window": push / windows * 1e6,
        "take (stack + normalise), us/window": take / taken * 1e6,
        "live_crops, us/window": crops / taken * 1e6,
        "frames per window": n / windows,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    _, replay, _ = kinder_gator_clips(None)
    load = [os.getloadavg()[0]]
    runs = []
    for r in range(args.rounds):
        runs.append(one_round(replay, seed=r))
        load.append(os.getloadavg()[0])
    sys.stdout.write(
        f"{args.rounds} rounds of {STREAMS} x {FRAMES_PER_STREAM} frames; load {min(load):.1f}-{max(load):.1f}\n"
    )
    for k in runs[0]:
        v = [r[k] for r in runs]
        sys.stdout.write(
            f"  {k:<38} median {statistics.median(v):7.2f}  (min {min(v):.2f}, max {max(v):.2f})\n"
        )


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
