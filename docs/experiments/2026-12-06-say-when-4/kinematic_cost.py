"""Issue 24 (4): what the kinematic term costs the worker per batch, against the encoder's two scales.

One Kinder-Gator profile, batches of B windows: the encoder on the windows and on their 1 s crops
(what the worker does now) against the kinematic term added (the crops' raw-DCT features, their
distances to the raw-DCT support, their ratios); median of repeats, 1 thread.

    OMP_NUM_THREADS=1 python docs/experiments/2026-12-06-say-when-4/kinematic_cost.py
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from config.edge import EdgeConfig
from edge.backends import make_backend
from edge.enroll import build_profile
from edge.pipeline import Pipeline
from edge.short_scale import live_crops
from evaluation.stream_sets import kinder_gator_streams


def median_s(fn: Callable[[], None], repeats: int = 30) -> float:
    fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return float(np.median(out))


def main() -> None:
    cfg = EdgeConfig()
    backend = make_backend(cfg.worker.backend, Path(cfg.encoder) if cfg.encoder else None)
    stream = kinder_gator_streams(None)[0]
    profile = build_profile("normal", stream.support, backend, calibration=cfg.worker.calibration)
    pipe = Pipeline(cfg.worker, backend, [profile])
    scorer, short, kinematic = pipe.scorer, pipe.short_scorer, pipe.kinematic_scorer
    assert scorer is not None and short is not None and kinematic is not None
    for b in (16, 64):
        windows = np.resize(profile.windows, (b, *profile.windows.shape[1:])).astype(np.float32)  # repeats
        crops = live_crops(windows, [None] * b, cfg.worker.short_window_s, backend.spec)

        def encoder(w: np.ndarray = windows, c: np.ndarray = crops) -> None:
            scorer.score(backend.embed(w))
            short.score(backend.embed(c))

        def kinematic_term(c: np.ndarray = crops) -> None:
            kinematic.score(pipe._kinematic.embed(c)) / kinematic.thresholds

        enc, kin = median_s(encoder), median_s(kinematic_term)
        sys.stdout.write(
            f"B={b}: encoder, both scales {enc * 1e3:.2f} ms; kinematic term {kin * 1e3:.3f} ms (+{kin / enc:.1%})\n"
        )


if __name__ == "__main__":
    main()
