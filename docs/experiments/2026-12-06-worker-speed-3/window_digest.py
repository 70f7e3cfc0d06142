"""A digest of everything the frame and window stages hand the encoder, to show that a change to
them changes no value: the raw windows of 8 replayed Kinder-Gator streams (the bench's replay,
through `Pipeline.push`), their normalised batches and 1 s crops, and every Kinder-Gator clip
resampled by `models.preprocess.clip_frames` (holes punched in some, to exercise gap filling). Run
it on two checkouts and compare the printed SHA-256 (bit-identical) lines:

    OMP_NUM_THREADS=1 python docs/experiments/2026-12-06-worker-speed-3/window_digest.py

Needs the Kinder-Gator data (../shared/data or HAAD_DATA).
"""

from __future__ import annotations

import hashlib
import sys

import numpy as np
from components import StubEncoder  # this folder's; run as a script, its folder is on sys.path

from config.worker import WorkerConfig
from edge.pipeline import Pipeline
from edge.short_scale import live_crops
from evaluation.bench_worker import frame_source, kinder_gator_clips
from models.preprocess import clip_frames
from training.datasets import load_dataset

STREAMS, FRAMES_PER_STREAM = 8, 3000


def main() -> None:
    _, replay, _ = kinder_gator_clips(None)
    sources = [frame_source(f"cam{i}", replay, seed=i) for i in range(STREAMS)]
    cfg = WorkerConfig()
    pipeline = Pipeline(cfg, StubEncoder(), [])
    pipeline.batcher.max_pending = 10**9
    for _ in range(FRAMES_PER_STREAM):
        for s in sources:
            pipeline.push(next(s))
    raw, batches, meta = hashlib.sha256(), hashlib.sha256(), hashlib.sha256()
    n = 0
    while (batch := pipeline.batcher.take()) is not None:
        for w in batch.items:
            raw.update(w.frames.tobytes())
            meta.update(repr((w.stream_id, w.segment, w.t_start, w.t_end, w.segment_frames)).encode())
        crops = live_crops(
            batch.windows, [w.segment_frames for w in batch.items], cfg.short_window_s, StubEncoder.spec
        )
        batches.update(batch.windows.tobytes())
        batches.update(crops.tobytes())
        n += len(batch.items)
    clips = hashlib.sha256()
    rng = np.random.default_rng(0)
    kg = load_dataset("kinder-gator", None)
    for c in kg.clips:
        joints = c.joints.copy()
        if rng.random() < 0.3:  # a hole of a few frames in one joint: filled by the rule
            start = int(rng.integers(len(joints)))
            joints[start : start + int(rng.integers(1, 8)), int(rng.integers(20))] = np.nan
        clips.update(clip_frames(joints, c.times, StubEncoder.spec).tobytes())
    sys.stdout.write(
        f"{n} windows\nraw windows {raw.hexdigest()}\nwindow meta {meta.hexdigest()}\n"
        f"batches+crops {batches.hexdigest()}\n{len(kg.clips)} clips {clips.hexdigest()}\n"
    )


if __name__ == "__main__":
    main()
